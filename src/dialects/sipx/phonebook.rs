//! Phonebooks: the admin's `phonebook` (list) and `phonebook/{name}` (CSV first, then XML), and
//! the subscriber's `my/phonebook`, `my/phonebook/entry/{id}`, `my/pagedphonebook` and
//! `my/search/phonebook`. Phonebook XML, unlike XStream's, starts with an XML declaration.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::repr::{self, Doc, Fields, Item, Media, PROLOG};
use super::{Answer, Mine, Refusal, document, phonebook_csv};
use crate::core::actor::Actor;
use crate::core::phonebooks::{ENTRY_CONTACT_FIELDS, Entry, EntryPage};
use crate::server::AppState;

fn text_response(media: Media, body: String) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
    response
}

fn negotiate(headers: &axum::http::HeaderMap, offered: &[Media]) -> Result<Media, Refusal> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    repr::negotiate(accept, offered).map_err(|m| Refusal::new(StatusCode::NOT_ACCEPTABLE, m))
}

/// `GET phonebook`: `<phonebooks><phonebook name="..."/></phonebooks>`.
pub async fn list(state: &AppState, actor: &Actor, headers: &axum::http::HeaderMap) -> Answer {
    let media = negotiate(headers, &[Media::Xml, Media::Json])?;
    let books = state.core.list_phonebooks(actor).await?;
    let body = match media {
        Media::Json => repr::bare_json(&Item::Record(vec![(
            "phonebooks",
            Item::List {
                item: "phonebook",
                items: books
                    .iter()
                    .map(|b| Item::Record(vec![("name", Item::text(&b.name))]))
                    .collect(),
            },
        )])),
        _ if books.is_empty() => format!("{PROLOG}<phonebooks/>"),
        _ => {
            let mut out = format!("{PROLOG}<phonebooks>\n");
            for b in &books {
                let _ = writeln!(
                    out,
                    "  <phonebook name=\"{}\"/>",
                    quick_xml::escape::escape(b.name.as_str())
                );
            }
            out.push_str("</phonebooks>");
            out
        }
    };
    Ok(text_response(media, body))
}

fn entry_fields(e: &Entry, with_id: bool) -> Vec<(&'static str, Item)> {
    let mut fields = Vec::with_capacity(5);
    if with_id {
        fields.push(("id", Item::Int(e.id.unwrap_or_default())));
    }
    fields.push(("first-name", Item::text(&e.first_name)));
    fields.push(("last-name", Item::text(&e.last_name)));
    fields.push(("number", Item::text(&e.number)));
    if with_id {
        let contact = ENTRY_CONTACT_FIELDS
            .iter()
            .filter_map(|k| e.contact.get(*k).map(|v| (*k, Item::text(v))))
            .collect();
        fields.push(("contact-information", Item::Record(contact)));
    }
    fields
}

fn entries_item(entries: &[Entry], with_id: bool) -> Item {
    Item::List {
        item: "entry",
        items: entries
            .iter()
            .map(|e| Item::Record(entry_fields(e, with_id)))
            .collect(),
    }
}

/// `GET phonebook/{name}`: CSV unless XML or JSON is asked for.
pub async fn get_shared(
    state: &AppState,
    actor: &Actor,
    headers: &axum::http::HeaderMap,
    name: &str,
) -> Answer {
    let media = negotiate(headers, &[Media::Csv, Media::Xml, Media::Json])?;
    let entries = state
        .core
        .phonebook_entries(actor, name.to_string())
        .await?;
    let body = match media {
        Media::Csv => phonebook_csv::write(&entries),
        _ => Doc::dom("phonebook", entries_item(&entries, false)).render(media),
    };
    Ok(text_response(media, body))
}

fn query_params(query: Option<&str>) -> BTreeMap<String, String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn row_param(params: &BTreeMap<String, String>, name: &str) -> Result<Option<i64>, Refusal> {
    params
        .get(name)
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                Refusal::bad_request(format!(
                    "'{name}' must be a row number (0 or more), not '{v}'"
                ))
            })
        })
        .transpose()
}

async fn page(
    mine: &Mine<'_>,
    offset: i64,
    limit: i64,
    filter: Option<String>,
) -> Result<EntryPage, Refusal> {
    Ok(mine
        .state
        .core
        .my_phonebook(&mine.actor, mine.subscriber_id, offset, limit, filter)
        .await?)
}

/// `GET my/phonebook` and `GET my/search/phonebook?query=`.
pub async fn get_mine(mine: &Mine<'_>, search: bool) -> Answer {
    let media = mine.accept(&[Media::Xml, Media::Json])?;
    let params = query_params(mine.query);
    let filter = if search {
        Some(
            params
                .get("query")
                .filter(|q| !q.trim().is_empty())
                .cloned()
                .ok_or_else(|| Refusal::bad_request("search needs ?query=<text>"))?,
        )
    } else {
        None
    };
    let page = page(mine, 0, crate::core::MAX_PAGE, filter).await?;
    let doc = Doc::dom("phonebook", entries_item(&page.entries, true));
    Ok(text_response(media, doc.render(media)))
}

/// `GET my/pagedphonebook?start=&end=&filter=`: rows `start` up to (not including) `end`.
pub async fn get_paged(mine: &Mine<'_>) -> Answer {
    let media = mine.accept(&[Media::Xml, Media::Json])?;
    let params = query_params(mine.query);
    let start = row_param(&params, "start")?.unwrap_or(0);
    let end = row_param(&params, "end")?;
    if end.is_some_and(|e| e < start) {
        return Err(Refusal::bad_request("'end' must not be below 'start'"));
    }
    let limit = end.map_or(crate::core::MAX_PAGE, |e| {
        (e - start).min(crate::core::MAX_PAGE)
    });
    let filter = params.get("filter").filter(|f| !f.is_empty()).cloned();
    let page = page(mine, start, limit, filter).await?;
    let end_row = start + i64::try_from(page.entries.len()).unwrap_or(0);
    let doc = Doc::dom(
        "phonebook",
        Item::Record(vec![
            ("size", Item::Int(page.size)),
            ("filtered-size", Item::Int(page.filtered_size)),
            ("start-row", Item::Int(start)),
            ("end-row", Item::Int(end_row)),
            ("show-on-phone", Item::Bool(true)),
            ("entries", entries_item(&page.entries, true)),
        ]),
    );
    Ok(text_response(media, doc.render(media)))
}

fn parse_entry(content: &serde_json::Value) -> Result<Entry, String> {
    let fields = Fields(content);
    let text = |k: &str| fields.text(k).map(Option::unwrap_or_default);
    let mut entry = Entry {
        first_name: text("first-name")?,
        last_name: text("last-name")?,
        number: text("number")?,
        ..Entry::default()
    };
    if let Some(contact) = fields.get("contact-information").filter(|c| c.is_object()) {
        let contact = Fields(contact);
        for k in ENTRY_CONTACT_FIELDS {
            if let Some(v) = contact.text(k)?.filter(|v| !v.is_empty()) {
                entry.contact.insert(k.to_string(), v);
            }
        }
    }
    Ok(entry)
}

fn entry_doc(media: Media, entry: &Entry) -> Response {
    document(
        media,
        &Doc::new("entry", Item::Record(entry_fields(entry, true))),
    )
}

/// `POST my/phonebook`: adds an entry and answers it with its id.
pub async fn add(mine: &Mine<'_>) -> Answer {
    let media = mine.accept(&[Media::Xml, Media::Json])?;
    let content = mine.parse(&["entry"])?;
    let entry = parse_entry(&content).map_err(Refusal::bad_request)?;
    let core = &mine.state.core;
    let id = core
        .add_my_phonebook_entry(&mine.actor, mine.subscriber_id, entry)
        .await?;
    let stored = core
        .my_phonebook_entry(&mine.actor, mine.subscriber_id, id)
        .await?;
    Ok(entry_doc(media, &stored))
}

fn entry_id(text: &str) -> Result<i64, Refusal> {
    text.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Refusal::bad_request(format!("'{text}' is not an entry id")))
}

pub async fn get_entry(mine: &Mine<'_>, id: &str) -> Answer {
    let media = mine.accept(&[Media::Xml, Media::Json])?;
    let entry = mine
        .state
        .core
        .my_phonebook_entry(&mine.actor, mine.subscriber_id, entry_id(id)?)
        .await?;
    Ok(entry_doc(media, &entry))
}

/// `PUT`/`POST my/phonebook/entry/{id}`: replaces one of the subscriber's own entries.
pub async fn update_entry(mine: &Mine<'_>, id: &str) -> Answer {
    let id = entry_id(id)?;
    let content = mine.parse(&["entry"])?;
    let entry = parse_entry(&content).map_err(Refusal::bad_request)?;
    mine.state
        .core
        .update_my_phonebook_entry(&mine.actor, mine.subscriber_id, id, entry)
        .await?;
    Ok(super::done())
}

/// `DELETE my/phonebook/entry/{id}`, or `DELETE my/phonebook` (all own entries).
pub async fn delete(mine: &Mine<'_>, id: Option<&str>) -> Answer {
    let id = id.map(entry_id).transpose()?;
    mine.state
        .core
        .delete_my_phonebook_entries(&mine.actor, mine.subscriber_id, id)
        .await?;
    Ok(super::done())
}

//! Phonebooks (sipXconfig): shared phonebooks, owned by a node of the customer tree and filled
//! by an admin (import replaces every entry), and each subscriber's own entries. A subscriber's
//! phonebook is its own entries and those of the shared phonebooks of its customer and the
//! customers above it.

use std::collections::BTreeMap;

use serde_json::json;

use super::actor::Actor;
use super::audit::Event;
use super::call_sequence::check_subscriber;
use super::{Core, CoreError, CoreResult, Done, permissions};
use crate::db;

/// The most entries one phonebook import holds.
pub const MAX_IMPORT: usize = 10_000;
/// The longest name of a phonebook.
const MAX_NAME: usize = 64;
/// The longest first name, last name, number or contact field.
const MAX_TEXT: usize = 255;
/// Contact fields an entry may carry, in the order they are shown.
pub const ENTRY_CONTACT_FIELDS: [&str; 8] = [
    "jobTitle",
    "companyName",
    "cellPhoneNumber",
    "homePhoneNumber",
    "faxNumber",
    "emailAddress",
    "alternateEmailAddress",
    "imId",
];

/// One phonebook entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// None for an entry not stored yet.
    pub id: Option<i64>,
    pub first_name: String,
    pub last_name: String,
    pub number: String,
    /// Values of [`ENTRY_CONTACT_FIELDS`].
    pub contact: BTreeMap<String, String>,
    /// Whether it is the subscriber's own entry (else from a shared phonebook).
    pub private: bool,
}

/// A page of a subscriber's phonebook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPage {
    pub entries: Vec<Entry>,
    /// Entries in the whole phonebook.
    pub size: i64,
    /// Entries matching the filter.
    pub filtered_size: i64,
}

/// A shared phonebook's name and how many entries it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhonebookSummary {
    pub name: String,
    pub entries: i64,
}

fn check_name(name: &str) -> CoreResult<()> {
    if name.is_empty()
        || name.len() > MAX_NAME
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(CoreError::invalid(
            "name",
            format!("'{name}' must be 1 to {MAX_NAME} letters, digits, '-', '_' or '.'"),
        ));
    }
    Ok(())
}

fn check_text(field: &str, value: &str) -> CoreResult<()> {
    if value.len() > MAX_TEXT || value.chars().any(char::is_control) {
        return Err(CoreError::invalid(
            field,
            format!("must be at most {MAX_TEXT} bytes without control characters"),
        ));
    }
    Ok(())
}

/// Checks an entry; `at` names it in messages (`entry 3`).
pub fn check_entry(entry: &Entry, at: &str) -> CoreResult<()> {
    check_text(&format!("{at}.first-name"), &entry.first_name)?;
    check_text(&format!("{at}.last-name"), &entry.last_name)?;
    check_text(&format!("{at}.number"), &entry.number)?;
    if entry.number.trim().is_empty() {
        return Err(CoreError::invalid(&format!("{at}.number"), "is required"));
    }
    if entry.first_name.trim().is_empty() && entry.last_name.trim().is_empty() {
        return Err(CoreError::invalid(
            &format!("{at}.first-name"),
            "a first or a last name is required",
        ));
    }
    for (k, v) in &entry.contact {
        if !ENTRY_CONTACT_FIELDS.contains(&k.as_str()) {
            return Err(CoreError::invalid(
                &format!("{at}.contact-information.{k}"),
                format!("is not one of {}", ENTRY_CONTACT_FIELDS.join(", ")),
            ));
        }
        check_text(&format!("{at}.contact-information.{k}"), v)?;
    }
    Ok(())
}

impl Core {
    /// Creates the shared phonebook `name`, or replaces every entry of it.
    pub async fn import_phonebook(
        &self,
        actor: &Actor,
        name: String,
        entries: Vec<Entry>,
    ) -> CoreResult<usize> {
        let checked = check_name(&name).and_then(|()| {
            if entries.len() > MAX_IMPORT {
                return Err(CoreError::invalid(
                    "entries",
                    format!("at most {MAX_IMPORT} entries in one phonebook"),
                ));
            }
            entries
                .iter()
                .enumerate()
                .try_for_each(|(i, e)| check_entry(e, &format!("entry {}", i + 1)))
        });
        if let Err(e) = checked {
            return self.refuse(actor, Event::PhonebookImported, e).await;
        }
        self.mutate(actor, Event::PhonebookImported, move |tx, actor, now| {
            let book = if let Some(book) = db::phonebooks::by_name(tx, &name)? {
                permissions::may_manage_phonebook(&actor.principal, Some(&book.owner_path))?;
                book.id
            } else {
                permissions::may_manage_phonebook(&actor.principal, None)?;
                let owner = permissions::phonebook_owner(&actor.principal)?;
                db::phonebooks::create(tx, &name, owner, now)?
            };
            db::phonebooks::replace_entries(tx, book, &entries, now)?;
            Ok(Done {
                value: entries.len(),
                target: format!("phonebook:{name}"),
                detail: json!({ "entries": entries.len() }).to_string(),
            })
        })
        .await
    }

    /// The shared phonebooks the principal manages, by name.
    pub async fn list_phonebooks(&self, actor: &Actor) -> CoreResult<Vec<PhonebookSummary>> {
        let acting = actor.clone();
        self.query(actor, Event::PhonebookRead, move |conn| {
            permissions::may_manage_phonebook(&acting.principal, None)?;
            let books = db::phonebooks::list(conn)?;
            Ok(books
                .into_iter()
                .filter(|(_, path)| {
                    permissions::may_manage_phonebook(&acting.principal, Some(path)).is_ok()
                })
                .map(|(summary, _)| summary)
                .collect())
        })
        .await
    }

    /// The entries of the shared phonebook `name`.
    pub async fn phonebook_entries(&self, actor: &Actor, name: String) -> CoreResult<Vec<Entry>> {
        let acting = actor.clone();
        self.query(actor, Event::PhonebookRead, move |conn| {
            let what = || CoreError::NotFound(format!("phonebook '{name}'"));
            let book = db::phonebooks::by_name(conn, &name)?.ok_or_else(what)?;
            permissions::may_manage_phonebook(&acting.principal, Some(&book.owner_path)).map_err(
                |e| match e {
                    CoreError::OutOfScope(_) => {
                        CoreError::OutOfScope(format!("phonebook '{name}'"))
                    }
                    other => other,
                },
            )?;
            Ok(db::phonebooks::book_entries(conn, book.id)?)
        })
        .await
    }

    /// A page of the subscriber's phonebook (`offset`, at most `limit` entries), its entries
    /// matching `filter` (in a name or the number) when given.
    pub async fn my_phonebook(
        &self,
        actor: &Actor,
        id: i64,
        offset: i64,
        limit: i64,
        filter: Option<String>,
    ) -> CoreResult<EntryPage> {
        let acting = actor.clone();
        self.query(actor, Event::PhonebookRead, move |conn| {
            check_subscriber(conn, &acting, id)?;
            Ok(db::phonebooks::subscriber_page(
                conn,
                id,
                offset.max(0),
                limit.clamp(0, super::MAX_PAGE),
                filter.as_deref(),
            )?)
        })
        .await
    }

    /// One entry of the subscriber's phonebook (its own, or from a shared phonebook it sees).
    pub async fn my_phonebook_entry(
        &self,
        actor: &Actor,
        id: i64,
        entry_id: i64,
    ) -> CoreResult<Entry> {
        let acting = actor.clone();
        self.query(actor, Event::PhonebookRead, move |conn| {
            check_subscriber(conn, &acting, id)?;
            db::phonebooks::subscriber_entry(conn, id, entry_id)?
                .ok_or_else(|| CoreError::NotFound(format!("phonebook entry {entry_id}")))
        })
        .await
    }

    /// Adds an entry to the subscriber's own phonebook; returns its id.
    pub async fn add_my_phonebook_entry(
        &self,
        actor: &Actor,
        id: i64,
        entry: Entry,
    ) -> CoreResult<i64> {
        if let Err(e) = check_entry(&entry, "entry") {
            return self.refuse(actor, Event::PhonebookEntryCreated, e).await;
        }
        self.mutate(actor, Event::PhonebookEntryCreated, move |tx, actor, _| {
            check_subscriber(tx, actor, id)?;
            let entry_id = db::phonebooks::insert_private(tx, id, &entry)?;
            Ok(Done {
                value: entry_id,
                target: format!("subscriber:{id}"),
                detail: json!({ "entry": entry_id, "number": entry.number }).to_string(),
            })
        })
        .await
    }

    /// Replaces one of the subscriber's own entries (entries of shared phonebooks are the
    /// admin's).
    pub async fn update_my_phonebook_entry(
        &self,
        actor: &Actor,
        id: i64,
        entry_id: i64,
        entry: Entry,
    ) -> CoreResult<()> {
        if let Err(e) = check_entry(&entry, "entry") {
            return self.refuse(actor, Event::PhonebookEntryUpdated, e).await;
        }
        self.mutate(actor, Event::PhonebookEntryUpdated, move |tx, actor, _| {
            check_subscriber(tx, actor, id)?;
            own_entry(tx, id, entry_id)?;
            db::phonebooks::update_private(tx, entry_id, &entry)?;
            Ok(Done {
                value: (),
                target: format!("subscriber:{id}"),
                detail: json!({ "entry": entry_id, "number": entry.number }).to_string(),
            })
        })
        .await
    }

    /// Deletes one of the subscriber's own entries, or with `entry_id` None all of them.
    pub async fn delete_my_phonebook_entries(
        &self,
        actor: &Actor,
        id: i64,
        entry_id: Option<i64>,
    ) -> CoreResult<usize> {
        self.mutate(actor, Event::PhonebookEntryDeleted, move |tx, actor, _| {
            check_subscriber(tx, actor, id)?;
            if let Some(entry_id) = entry_id {
                own_entry(tx, id, entry_id)?;
            }
            let deleted = db::phonebooks::delete_private(tx, id, entry_id)?;
            Ok(Done {
                value: deleted,
                target: format!("subscriber:{id}"),
                detail: json!({ "entry": entry_id, "deleted": deleted }).to_string(),
            })
        })
        .await
    }
}

/// Refuses unless `entry_id` is one of the subscriber's own entries: a shared one is the admin's.
fn own_entry(conn: &crate::db::Conn<'_>, id: i64, entry_id: i64) -> CoreResult<()> {
    match db::phonebooks::subscriber_entry(conn, id, entry_id)? {
        Some(e) if e.private => Ok(()),
        Some(_) => Err(CoreError::Forbidden(format!(
            "entry {entry_id} belongs to a shared phonebook, which only an admin changes"
        ))),
        None => Err(CoreError::NotFound(format!("phonebook entry {entry_id}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_entries_are_checked() {
        assert!(check_name("sales").is_ok());
        assert!(check_name("sales team").is_err());
        assert!(check_name("").is_err());
        let entry = Entry {
            first_name: "Alice".into(),
            number: "1001".into(),
            ..Entry::default()
        };
        assert!(check_entry(&entry, "e").is_ok());
        let no_number = Entry {
            number: " ".into(),
            ..entry.clone()
        };
        assert!(check_entry(&no_number, "e").is_err());
        let mut odd = entry;
        odd.contact.insert("shoeSize".into(), "44".into());
        assert!(check_entry(&odd, "e").is_err());
    }
}

//! `/api/callforwards/`, `/api/subscriberpreferences/` and `/api/subscriberpreferencedefs/`:
//! C5's views of the core's forwarding and preferences, keyed by the subscriber's id.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::hal::{self, Relation};
use super::patch::{ALL_OPS, REPLACE_COPY};
use super::{Call, body_object, content_type_for, json_response, paging, wants_representation};
use crate::core::CoreError;
use crate::core::forwarding::{Destination, ForwardRule, Forwarding, KINDS, PartySet, TimeEntry};
use crate::core::records::ListRequest;

/// The feature collections and their verbs (besides OPTIONS and HEAD).
pub enum Feature {
    CallForwards,
    Preferences,
    PreferenceDefs,
}

impl Feature {
    pub fn find(name: &str) -> Option<Self> {
        match name {
            "callforwards" => Some(Self::CallForwards),
            "subscriberpreferences" => Some(Self::Preferences),
            "subscriberpreferencedefs" => Some(Self::PreferenceDefs),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::CallForwards => "callforwards",
            Self::Preferences => "subscriberpreferences",
            Self::PreferenceDefs => "subscriberpreferencedefs",
        }
    }

    pub fn item_verbs(&self) -> &'static [&'static str] {
        match self {
            Self::CallForwards => &["GET", "PUT", "PATCH", "DELETE"],
            Self::Preferences => &["GET", "PUT", "PATCH"],
            Self::PreferenceDefs => &[],
        }
    }

    fn patch_ops(&self) -> &'static [&'static str] {
        match self {
            Self::CallForwards => REPLACE_COPY,
            _ => ALL_OPS,
        }
    }
}

/// The parts of a time entry, in C5's order.
const TIME_PARTS: [&str; 6] = ["year", "month", "mday", "wday", "hour", "minute"];

/// The feature collections as `GET /api/` and OPTIONS list them: (name, verbs, item verbs).
pub const FEATURES: [(&str, &[&str], &[&str]); 3] = [
    ("callforwards", &["GET"], &["GET", "PUT", "PATCH", "DELETE"]),
    ("subscriberpreferences", &["GET"], &["GET", "PUT", "PATCH"]),
    ("subscriberpreferencedefs", &["GET"], &[]),
];

/// The core's refusal in C5's words; items here are named by their subscriber.
fn not_found(e: &CoreError) -> ApiError {
    super::core_error(e, "subscriber", None)
}

// ---- call forwards ----------------------------------------------------------------------------

fn party_json(set: Option<&PartySet>, key: &str, out: &mut Map<String, Value>, plural: &str) {
    let entries: Vec<Value> = set
        .map(|s| s.entries.iter().map(|e| json!({ key: e })).collect())
        .unwrap_or_default();
    out.insert(plural.into(), Value::Array(entries));
    out.insert(
        format!("{plural}_mode"),
        set.map_or(Value::Null, |s| {
            json!(if s.whitelist {
                "whitelist"
            } else {
                "blacklist"
            })
        }),
    );
    out.insert(
        format!("{plural}_is_regex"),
        json!(set.is_some_and(|s| s.is_regex)),
    );
}

/// The callforwards item's fields: every type, unset ones `{}`.
fn forwarding_fields(f: &Forwarding) -> Map<String, Value> {
    let mut out = Map::new();
    for kind in KINDS {
        let Some(rule) = f.rules.get(kind) else {
            out.insert(kind.into(), json!({}));
            continue;
        };
        let mut r = Map::new();
        let destinations: Vec<Value> = rule
            .destinations
            .iter()
            .map(|d| {
                json!({
                    "destination": d.destination,
                    "simple_destination": f.simple_destination(&d.destination),
                    "priority": d.priority,
                    "timeout": d.timeout,
                    "announcement_id": d.announcement_id,
                })
            })
            .collect();
        r.insert("destinations".into(), Value::Array(destinations));
        let times: Vec<Value> = rule
            .times
            .iter()
            .flatten()
            .map(|t| {
                // Every part is shown, null where the entry does not limit it, as C5 does.
                let parts: Map<String, Value> = TIME_PARTS
                    .iter()
                    .map(|p| {
                        (
                            (*p).to_string(),
                            t.parts.get(*p).map_or(Value::Null, |v| json!(v)),
                        )
                    })
                    .collect();
                Value::Object(parts)
            })
            .collect();
        r.insert("times".into(), Value::Array(times));
        party_json(rule.sources.as_ref(), "source", &mut r, "sources");
        party_json(rule.bnumbers.as_ref(), "bnumber", &mut r, "bnumbers");
        for set in ["destinationset", "timeset", "sourceset", "bnumberset"] {
            r.insert(set.into(), Value::Null);
        }
        if kind == "cft" {
            r.insert("ringtimeout".into(), json!(f.ringtimeout));
        }
        out.insert(kind.into(), Value::Object(r));
    }
    out
}

fn forwarding_item(f: &Forwarding) -> Value {
    let id = f.subscriber_id;
    hal::item(
        "callforwards",
        id,
        forwarding_fields(f),
        &[Relation::ngcp("subscribers", id)],
    )
}

/// An integer given as a JSON integer or a digit string; anything else is a 422 naming `field`.
fn int_field(v: Option<&Value>, field: &str, default: i64) -> Result<i64, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64().unwrap_or(default)),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s
            .parse()
            .map_err(|_| ApiError::validation(field, s.as_str(), "must be an integer")),
        Some(other) => Err(ApiError::validation(field, other, "must be an integer")),
    }
}

fn party_set(
    kind: &str,
    rule: &Map<String, Value>,
    plural: &str,
    key: &str,
) -> Result<Option<PartySet>, ApiError> {
    let entries = match rule.get(plural) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) if items.is_empty() => return Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item.get(key).unwrap_or(item) {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(ApiError::validation(
                    &format!("{kind}.{plural}"),
                    other,
                    &format!("entries must be {{\"{key}\": \"...\"}}"),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(other) => {
            return Err(ApiError::validation(
                &format!("{kind}.{plural}"),
                other,
                "must be an array",
            ));
        }
    };
    let mode_key = format!("{plural}_mode");
    let whitelist = match rule.get(&mode_key) {
        None | Some(Value::Null) => true,
        Some(Value::String(m)) if m == "whitelist" => true,
        Some(Value::String(m)) if m == "blacklist" => false,
        Some(other) => {
            return Err(ApiError::validation(
                &format!("{kind}.{mode_key}"),
                other,
                "must be whitelist or blacklist",
            ));
        }
    };
    let is_regex = matches!(
        rule.get(&format!("{plural}_is_regex")),
        Some(Value::Bool(true))
    ) || rule
        .get(&format!("{plural}_is_regex"))
        .and_then(Value::as_i64)
        == Some(1);
    Ok(Some(PartySet {
        entries,
        whitelist,
        is_regex,
    }))
}

/// Reads a callforwards document: the rules it sets and the cft ring timeout.
fn parse_forwarding(
    doc: &Map<String, Value>,
) -> Result<(BTreeMap<String, ForwardRule>, Option<i64>), ApiError> {
    let mut rules = BTreeMap::new();
    let mut ringtimeout = None;
    for kind in KINDS {
        let rule = match doc.get(kind) {
            None | Some(Value::Null) => continue,
            Some(Value::Object(rule)) => rule,
            Some(other) => return Err(ApiError::validation(kind, other, "must be an object")),
        };
        if kind == "cft" {
            ringtimeout = match rule.get("ringtimeout") {
                None | Some(Value::Null) => None,
                v => Some(int_field(v, "cft.ringtimeout", 0)?),
            };
        }
        let destinations = match rule.get("destinations") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let field = format!("{kind}.destinations.{i}");
                    let Value::Object(d) = d else {
                        return Err(ApiError::validation(&field, d, "must be an object"));
                    };
                    let destination = match d.get("destination") {
                        Some(Value::String(s)) => s.clone(),
                        Some(Value::Number(n)) => n.to_string(),
                        other => {
                            return Err(ApiError::validation(
                                &format!("{field}.destination"),
                                other.unwrap_or(&Value::Null),
                                "is required: a number, a SIP URI or a special destination",
                            ));
                        }
                    };
                    Ok(Destination {
                        destination,
                        priority: int_field(d.get("priority"), &format!("{field}.priority"), 1)?,
                        timeout: int_field(d.get("timeout"), &format!("{field}.timeout"), 300)?,
                        announcement_id: match d.get("announcement_id") {
                            None | Some(Value::Null) => None,
                            v => Some(int_field(v, &format!("{field}.announcement_id"), 0)?),
                        },
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(other) => {
                return Err(ApiError::validation(
                    &format!("{kind}.destinations"),
                    other,
                    "must be an array",
                ));
            }
        };
        let times = match rule.get("times") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) if items.is_empty() => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        let field = format!("{kind}.times.{i}");
                        let Value::Object(parts) = t else {
                            return Err(ApiError::validation(&field, t, "must be an object"));
                        };
                        let mut out = BTreeMap::new();
                        for (part, value) in parts {
                            let text = match value {
                                Value::Null => continue,
                                Value::String(s) if s.is_empty() => continue,
                                Value::String(s) => s.clone(),
                                Value::Number(n) => n.to_string(),
                                other => {
                                    return Err(ApiError::validation(
                                        &field,
                                        other,
                                        "time parts are values or ranges like \"8-18\"",
                                    ));
                                }
                            };
                            out.insert(part.clone(), text);
                        }
                        Ok(TimeEntry { parts: out })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(other) => {
                return Err(ApiError::validation(
                    &format!("{kind}.times"),
                    other,
                    "must be an array or null",
                ));
            }
        };
        if destinations.is_empty() {
            continue;
        }
        rules.insert(
            kind.to_string(),
            ForwardRule {
                destinations,
                times,
                sources: party_set(kind, rule, "sources", "source")?,
                bnumbers: party_set(kind, rule, "bnumbers", "bnumber")?,
            },
        );
    }
    Ok((rules, ringtimeout))
}

// ---- preferences ------------------------------------------------------------------------------

fn preferences_item(id: i64, prefs: &BTreeMap<String, Vec<Value>>, multi: &[String]) -> Value {
    let mut fields = Map::new();
    fields.insert("id".into(), json!(id));
    fields.insert("subscriber_id".into(), json!(id));
    for (name, values) in prefs {
        let value = if multi.contains(name) {
            Value::Array(values.clone())
        } else {
            values.first().cloned().unwrap_or(Value::Null)
        };
        fields.insert(name.clone(), value);
    }
    hal::item(
        "subscriberpreferences",
        id,
        fields,
        &[Relation::ngcp("subscribers", id)],
    )
}

async fn multi_valued(call: &Call<'_>) -> Result<Vec<String>, ApiError> {
    Ok(call
        .state
        .core
        .preference_defs()
        .await
        .map_err(|e| not_found(&e))?
        .into_iter()
        .filter(|d| d.max_occur != 1)
        .map(|d| d.name)
        .collect())
}

async fn read_item(call: &Call<'_>, feature: &Feature, id: i64) -> Result<Value, ApiError> {
    let core = &call.state.core;
    match feature {
        Feature::CallForwards => core
            .get_forwarding(&call.actor, id)
            .await
            .map(|f| forwarding_item(&f))
            .map_err(|e| not_found(&e)),
        Feature::Preferences | Feature::PreferenceDefs => {
            let prefs = core
                .get_preferences(&call.actor, id)
                .await
                .map_err(|e| not_found(&e))?;
            Ok(preferences_item(id, &prefs, &multi_valued(call).await?))
        }
    }
}

/// Writes a whole document; returns the names of unknown preferences (ignored).
async fn write_item(
    call: &Call<'_>,
    feature: &Feature,
    id: i64,
    doc: &Map<String, Value>,
) -> Result<Vec<String>, ApiError> {
    let core = &call.state.core;
    match feature {
        Feature::CallForwards => {
            let (rules, ringtimeout) = parse_forwarding(doc)?;
            core.set_forwarding(&call.actor, id, rules, ringtimeout)
                .await
                .map_err(|e| super::core_error(&e, "subscriber", Some(doc)))?;
            Ok(Vec::new())
        }
        Feature::Preferences | Feature::PreferenceDefs => {
            let given: BTreeMap<String, Value> = doc
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "id" | "subscriber_id" | "_links"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            core.set_preferences(&call.actor, id, given, true)
                .await
                .map_err(|e| not_found(&e))
        }
    }
}

async fn answer_write(
    call: &Call<'_>,
    feature: &Feature,
    id: i64,
    unknown: &[String],
) -> Result<Response, ApiError> {
    let mut resp = if wants_representation(call) {
        let item = read_item(call, feature, id).await?;
        let mut r = json_response(StatusCode::OK, content_type_for(call), &item, Vec::new());
        r.headers_mut().insert(
            "preference-applied",
            HeaderValue::from_static("return=representation"),
        );
        r
    } else {
        let mut r = StatusCode::NO_CONTENT.into_response();
        r.headers_mut().insert(
            "preference-applied",
            HeaderValue::from_static("return=minimal"),
        );
        r
    };
    if !unknown.is_empty() {
        // Beyond C5: unknown preference names are ignored, but said, so a typo is visible.
        let warning = format!(
            "299 switchyard \"unknown preferences ignored: {}\"",
            unknown.join(", ")
        );
        if let Ok(v) = HeaderValue::from_str(&warning) {
            resp.headers_mut().insert("warning", v);
        }
    }
    Ok(resp)
}

/// `GET|PUT|PATCH|DELETE /api/<feature>/<subscriber id>`.
pub async fn item(
    call: &Call<'_>,
    feature: &Feature,
    id: i64,
    verb: &str,
) -> Result<Response, ApiError> {
    match verb {
        "GET" => {
            let doc = read_item(call, feature, id).await?;
            let links = hal::link_headers(&doc, true);
            Ok(json_response(
                StatusCode::OK,
                content_type_for(call),
                &doc,
                links,
            ))
        }
        "PUT" => {
            let doc = body_object(call)?;
            let unknown = write_item(call, feature, id, &doc).await?;
            answer_write(call, feature, id, &unknown).await
        }
        "PATCH" => {
            let content_type = call
                .headers
                .get(axum::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            let ops = super::patch::parse(content_type, &call.body, feature.patch_ops())?;
            let mut doc = read_item(call, feature, id).await?;
            if let Value::Object(map) = &mut doc {
                map.remove("_links");
            }
            super::patch::apply(&mut doc, &ops)?;
            let Value::Object(doc) = doc else {
                return Err(ApiError::unprocessable(
                    "The entity could not be processed: the patched document is not an object",
                ));
            };
            let unknown = write_item(call, feature, id, &doc).await?;
            answer_write(call, feature, id, &unknown).await
        }
        _ => {
            write_item(call, feature, id, &Map::new()).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    }
}

/// `GET /api/<feature>/`: a page, one item per subscriber the caller reaches.
pub async fn collection(call: &Call<'_>, feature: &Feature) -> Result<Response, ApiError> {
    if let Feature::PreferenceDefs = feature {
        return definitions(call).await;
    }
    let query = paging::parse(call.uri.query())?;
    let request = ListRequest {
        offset: i64::try_from(query.offset()).unwrap_or(i64::MAX),
        limit: i64::try_from(query.fetch_rows()).unwrap_or(i64::MAX),
        order_by: query.order_by.clone(),
        descending: query.descending,
        count: !query.no_count,
        filters: query.params.clone(),
    };
    let core = &call.state.core;
    let (items, total): (Vec<(i64, Value)>, Option<i64>) = match feature {
        Feature::CallForwards => {
            let (rows, total) = core
                .list_forwarding(&call.actor, request)
                .await
                .map_err(|e| not_found(&e))?;
            (
                rows.iter()
                    .map(|f| (f.subscriber_id, forwarding_item(f)))
                    .collect(),
                total,
            )
        }
        Feature::Preferences | Feature::PreferenceDefs => {
            let multi = multi_valued(call).await?;
            let (rows, total) = core
                .list_preferences(&call.actor, request)
                .await
                .map_err(|e| not_found(&e))?;
            (
                rows.iter()
                    .map(|(id, prefs)| (*id, preferences_item(*id, prefs, &multi)))
                    .collect(),
                total,
            )
        }
    };
    let (has_next, total) = match total {
        Some(t) => {
            let t = u64::try_from(t).unwrap_or_default();
            (paging::has_next_counted(&query, t), Some(t))
        }
        None => (paging::has_next_uncounted(&query, items.len()), None),
    };
    let shown = usize::try_from(query.rows).unwrap_or(usize::MAX);
    let items = items.into_iter().take(shown).collect();
    let nav = paging::nav(feature.name(), &query, has_next);
    let doc = hal::collection(feature.name(), items, &nav, total);
    let links = hal::link_headers(&doc, false);
    Ok(json_response(
        StatusCode::OK,
        content_type_for(call),
        &doc,
        links,
    ))
}

/// `GET /api/subscriberpreferencedefs/`: one object keyed by preference name.
async fn definitions(call: &Call<'_>) -> Result<Response, ApiError> {
    let defs = call
        .state
        .core
        .preference_defs()
        .await
        .map_err(|e| not_found(&e))?;
    let mut doc = Map::new();
    for d in defs {
        doc.insert(
            d.name.clone(),
            json!({
                "label": d.label,
                "description": d.description,
                "preference_group": d.preference_group,
                "data_type": d.data_type,
                "max_occur": d.max_occur,
                "read_only": d.read_only,
                "enum_values": d.enum_values,
            }),
        );
    }
    doc.insert(
        "_links".into(),
        json!({
            "self": {"href": "/api/subscriberpreferencedefs/"},
            "profile": {"href": hal::PROFILE},
        }),
    );
    Ok(json_response(
        StatusCode::OK,
        content_type_for(call),
        &Value::Object(doc),
        Vec::new(),
    ))
}

#[cfg(test)]
mod tests {
    use super::{FEATURES, Feature};

    #[test]
    fn the_listed_verbs_are_the_served_ones() {
        // `GET /api/`, OPTIONS and `dialects::c5::routes` list FEATURES; `feature_item` serves
        // `Feature::item_verbs`.
        for (name, _, item_verbs) in FEATURES {
            let feature = Feature::find(name).expect("a served feature");
            assert_eq!(feature.name(), name);
            assert_eq!(feature.item_verbs(), item_verbs, "{name}");
        }
    }
}

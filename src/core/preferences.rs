//! Subscriber preferences: typed values checked against a table of definitions (label,
//! description, data type, how many values, read-only, enum values). SIP2SIP's DND, privacy and
//! accept/reject lists will be preferences of this table, not a second store.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::actor::Actor;
use super::audit::Event;
use super::forwarding::reachable_subscriber;
use super::{Core, CoreError, CoreResult, Done};
use crate::db;

/// The longest string value, as C5 allows.
pub const MAX_STRING: usize = 128;
/// The most values of a multi-valued preference.
const MAX_VALUES: usize = 256;

pub use db::preferences::PreferenceDef;

/// A subscriber's preferences: name → values (one for a single-valued preference).
pub type Preferences = BTreeMap<String, Vec<Json>>;

/// Checks one value against its definition and returns it as stored.
fn check_value(def: &PreferenceDef, value: &Json) -> CoreResult<Json> {
    let name = &def.name;
    let type_error = |expected: &str| {
        CoreError::Unprocessable(format!(
            "Invalid data type for element in preference '{name}', expected '{expected}'"
        ))
    };
    match def.data_type.as_str() {
        "boolean" => match value {
            Json::Bool(b) => Ok(json!(b)),
            Json::Number(n) if n.as_i64().is_some_and(|v| v == 0 || v == 1) => {
                Ok(json!(n.as_i64() == Some(1)))
            }
            _ => Err(type_error("boolean")),
        },
        "int" => value
            .as_i64()
            .map(|n| json!(n))
            .ok_or_else(|| type_error("int")),
        "enum" => {
            let given = match value {
                Json::String(s) => s.clone(),
                Json::Number(n) => n.to_string(),
                _ => return Err(type_error("string")),
            };
            let known = def
                .enum_values
                .as_array()
                .is_some_and(|vs| vs.iter().any(|v| v["value"].as_str() == Some(&given)));
            if known {
                Ok(json!(given))
            } else {
                Err(CoreError::Unprocessable(format!(
                    "Invalid enum value in preference '{name}'"
                )))
            }
        }
        _ => {
            let text = match value {
                Json::String(s) => s.clone(),
                Json::Number(n) => n.to_string(),
                _ => return Err(type_error("string")),
            };
            if text.chars().count() > MAX_STRING {
                return Err(CoreError::Unprocessable(format!(
                    "Preference '{name}' exceeds maximum length of {MAX_STRING} characters"
                )));
            }
            if text.chars().any(char::is_control) {
                return Err(CoreError::invalid(name, "contains control characters"));
            }
            Ok(json!(text))
        }
    }
}

/// The values to store, by name, and the names no definition knows.
type Checked = (Vec<(String, Vec<Json>)>, Vec<String>);

/// Checks the given preferences against the definitions. Returns the values to store (empty:
/// delete) and the names no definition knows, which are ignored as C5 does.
fn check_all(defs: &[PreferenceDef], given: &BTreeMap<String, Json>) -> CoreResult<Checked> {
    let mut values = Vec::new();
    let mut unknown = Vec::new();
    for (name, value) in given {
        let Some(def) = defs.iter().find(|d| &d.name == name) else {
            unknown.push(name.clone());
            continue;
        };
        if def.read_only {
            return Err(CoreError::Unprocessable(format!(
                "Preference '{name}' is read-only"
            )));
        }
        let items: Vec<&Json> = match value {
            Json::Null => Vec::new(),
            Json::Array(items) if def.max_occur != 1 => items.iter().collect(),
            Json::Array(_) => {
                return Err(CoreError::Unprocessable(format!(
                    "Preference '{name}' takes one value, not a list"
                )));
            }
            other => vec![other],
        };
        if items.len() > MAX_VALUES {
            return Err(CoreError::invalid(
                name,
                format!("at most {MAX_VALUES} values"),
            ));
        }
        let checked = items
            .into_iter()
            .map(|v| check_value(def, v))
            .collect::<CoreResult<Vec<_>>>()?;
        values.push((name.clone(), checked));
    }
    Ok((values, unknown))
}

/// The longest do-not-disturb period with an end: one year, in minutes.
pub const MAX_DND_MINUTES: i64 = 525_600;

/// Do not disturb with an end (`dnd_until`, Unix seconds) ends by itself: once that time has
/// passed, neither preference is shown, in any dialect.
fn drop_lapsed_dnd(prefs: &mut Preferences, now_secs: i64) {
    let lapsed = prefs
        .get("dnd_until")
        .and_then(|v| v.first())
        .and_then(Json::as_i64)
        .is_some_and(|until| until <= now_secs);
    if lapsed {
        prefs.remove("dnd");
        prefs.remove("dnd_until");
    }
}

impl Core {
    /// Switches do not disturb on (for `minutes`, or until switched off when None) or off.
    pub async fn set_dnd(
        &self,
        actor: &Actor,
        id: i64,
        on: bool,
        minutes: Option<i64>,
    ) -> CoreResult<()> {
        if minutes.is_some_and(|m| !(1..=MAX_DND_MINUTES).contains(&m)) {
            let e = CoreError::invalid(
                "duration",
                format!("must be 1 to {MAX_DND_MINUTES} minutes"),
            );
            return self.refuse(actor, Event::PreferencesChanged, e).await;
        }
        let until = minutes.map(|m| self.now() / 1000 + m * 60);
        let values = vec![
            (
                "dnd".to_string(),
                if on { vec![json!(true)] } else { Vec::new() },
            ),
            (
                "dnd_until".to_string(),
                until
                    .filter(|_| on)
                    .map(|u| vec![json!(u)])
                    .unwrap_or_default(),
            ),
        ];
        let detail = json!({ "resource": "dnd", "on": on, "until": until }).to_string();
        self.mutate(actor, Event::PreferencesChanged, move |tx, actor, _| {
            reachable_subscriber(tx, &actor.principal, id)?;
            db::preferences::replace(tx, id, &values, false)?;
            Ok(Done {
                value: (),
                target: format!("subscriber:{id}"),
                detail,
            })
        })
        .await
    }

    /// The preference definitions, by name.
    pub async fn preference_defs(&self) -> CoreResult<Vec<PreferenceDef>> {
        self.db
            .read(|conn| Ok::<_, CoreError>(db::preferences::defs(conn)?))
            .await
    }

    pub async fn get_preferences(&self, actor: &Actor, id: i64) -> CoreResult<Preferences> {
        let acting = actor.clone();
        let now_secs = self.now() / 1000;
        self.query(actor, Event::PreferencesRead, move |conn| {
            reachable_subscriber(conn, &acting.principal, id)?;
            let mut prefs: Preferences = db::preferences::values(conn, &[id])?
                .into_iter()
                .map(|(_, name, values)| (name, values))
                .collect();
            drop_lapsed_dnd(&mut prefs, now_secs);
            Ok(prefs)
        })
        .await
    }

    /// A page of preferences, one entry per subscriber the caller reaches, ordered like
    /// subscribers; one query for the page's values.
    pub async fn list_preferences(
        &self,
        actor: &Actor,
        request: super::records::ListRequest,
    ) -> CoreResult<(Vec<(i64, Preferences)>, Option<i64>)> {
        let page = self
            .list_records(actor, super::resources::Collection::Subscribers, request)
            .await?;
        let ids: Vec<i64> = page.records.iter().map(|r| r.id).collect();
        let values = self
            .db
            .read({
                let ids = ids.clone();
                move |conn| Ok::<_, CoreError>(db::preferences::values(conn, &ids)?)
            })
            .await?;
        let mut by_id: BTreeMap<i64, Preferences> =
            ids.iter().map(|id| (*id, Preferences::new())).collect();
        for (id, name, vals) in values {
            if let Some(prefs) = by_id.get_mut(&id) {
                prefs.insert(name, vals);
            }
        }
        let now_secs = self.now() / 1000;
        for prefs in by_id.values_mut() {
            drop_lapsed_dnd(prefs, now_secs);
        }
        Ok((
            ids.iter().filter_map(|id| by_id.remove_entry(id)).collect(),
            page.total,
        ))
    }

    /// Sets preferences of a subscriber. With `replace`, preferences not given are deleted (C5's
    /// PUT); otherwise only the given ones change (null deletes one). Returns the names that no
    /// definition knows, which are ignored.
    pub async fn set_preferences(
        &self,
        actor: &Actor,
        id: i64,
        given: BTreeMap<String, Json>,
        replace: bool,
    ) -> CoreResult<Vec<String>> {
        let defs = self.preference_defs().await?;
        let (values, unknown) = match check_all(&defs, &given) {
            Ok(checked) => checked,
            Err(e) => return self.refuse(actor, Event::PreferencesChanged, e).await,
        };
        let names: Vec<&String> = values.iter().map(|(n, _)| n).collect();
        let detail =
            json!({ "resource": "subscriberpreferences", "set": names, "replace": replace })
                .to_string();
        self.mutate(actor, Event::PreferencesChanged, move |tx, actor, _| {
            reachable_subscriber(tx, &actor.principal, id)?;
            db::preferences::replace(tx, id, &values, replace)?;
            Ok(Done {
                value: unknown,
                target: format!("subscriber:{id}"),
                detail,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, data_type: &str, max_occur: i64) -> PreferenceDef {
        PreferenceDef {
            name: name.into(),
            label: String::new(),
            description: String::new(),
            preference_group: String::new(),
            data_type: data_type.into(),
            max_occur,
            read_only: false,
            enum_values: json!([{"label": "a", "value": "0", "default_val": 1}]),
        }
    }

    #[test]
    fn values_are_checked_with_c5_messages() {
        let defs = vec![
            def("concurrent_max", "int", 1),
            def("block_in_list", "string", 0),
            def("lock", "enum", 1),
            def("clir", "boolean", 1),
        ];
        let given =
            |pairs: Json| -> BTreeMap<String, Json> { serde_json::from_value(pairs).unwrap() };
        let err = check_all(&defs, &given(json!({"concurrent_max": "five"}))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid data type for element in preference 'concurrent_max', expected 'int'"
        );
        let err = check_all(&defs, &given(json!({"lock": "9"}))).unwrap_err();
        assert_eq!(err.to_string(), "Invalid enum value in preference 'lock'");
        let long = "x".repeat(129);
        let err = check_all(&defs, &given(json!({"block_in_list": [long]}))).unwrap_err();
        assert!(err.to_string().contains("exceeds maximum length of 128"));
        let (values, unknown) = check_all(
            &defs,
            &given(json!({"block_in_list": ["431*", 4_366_412_345_i64], "clir": true, "typo": 1})),
        )
        .unwrap();
        assert_eq!(unknown, vec!["typo".to_string()]);
        assert_eq!(values[0].1, vec![json!("431*"), json!("4366412345")]);
    }
}

//! Forwarding, DND, privacy and accept/reject rules as SIP2SIP shows them: views of the core's
//! forwarding rules and preferences (ARCHITECTURE.md, "Call forwarding and preferences").
//!
//! | SIP2SIP | core |
//! |---|---|
//! | FUNC | `cfu` without a time set |
//! | FUNV | `cfu` with a time set (the hours the accept rules make "not available"; empty: none yet) |
//! | FBUS / FNOA / FNOL | `cfb` / `cft` / `cfna` |
//! | `<voice-mailbox>` | the `voicebox` destination |
//! | DND | preferences `dnd` and `dnd_until` |
//! | privacy | preference `clir` |
//! | reject rules | `block_in_list` in blacklist mode (`block_in_mode` false) |

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{Call, core_error, outcome, reply};
use crate::core::forwarding::{Destination, ForwardRule, Forwarding};

/// The five diversions in the order SIP2SIP lists them.
const KEYS: [&str; 5] = ["FUNC", "FNOL", "FBUS", "FNOA", "FUNV"];
const VOICE_MAILBOX: &str = "<voice-mailbox>";
const MOBILE_NUMBER: &str = "<mobile-number>";
/// Seconds a new destination rings when the rule had none (C5's default).
const DEFAULT_TIMEOUT: i64 = 300;

/// The core rule type behind a diversion key.
fn kind(key: &str) -> &'static str {
    match key {
        "FBUS" => "cfb",
        "FNOA" => "cft",
        "FNOL" => "cfna",
        _ => "cfu",
    }
}

/// The rule a key shows, if it is set: FUNC and FUNV share `cfu`, told apart by the time set.
fn rule_of<'a>(f: &'a Forwarding, key: &str) -> Option<&'a ForwardRule> {
    let rule = f.rules.get(kind(key))?;
    match key {
        "FUNC" if rule.times.is_some() => None,
        "FUNV" if rule.times.is_none() => None,
        _ => Some(rule),
    }
}

/// A destination as SIP2SIP writes it: `sip:` stripped, voicemail as `<voice-mailbox>`.
fn show(destination: &str) -> String {
    if destination == "voicebox" {
        return VOICE_MAILBOX.to_string();
    }
    destination
        .strip_prefix("sip:")
        .or_else(|| destination.strip_prefix("sips:"))
        .unwrap_or(destination)
        .to_string()
}

pub async fn get(call: &Call<'_>) -> Response {
    match call
        .state
        .core
        .get_forwarding(&call.actor, call.subscriber_id)
        .await
    {
        Ok(f) => {
            let map: serde_json::Map<String, Value> = KEYS
                .iter()
                .map(|key| {
                    let value = rule_of(&f, key)
                        .and_then(|r| r.destinations.first())
                        .map_or(Value::Null, |d| json!(show(&d.destination)));
                    ((*key).to_string(), value)
                })
                .collect();
            reply(StatusCode::OK, &Value::Object(map))
        }
        Err(e) => core_error(&e),
    }
}

/// A target as given, completed the SIP2SIP way: keywords resolved, `@domain` added to a number
/// or user name without one, `sip:` in front.
fn target(given: &str, domain: Option<&str>, mobile: Option<&str>) -> Result<String, String> {
    match given {
        VOICE_MAILBOX => return Ok("voicebox".into()),
        MOBILE_NUMBER => {
            return mobile.map_or_else(
                || Err("Error: the account has no mobile number".into()),
                |m| target(m, domain, None),
            );
        }
        _ => {}
    }
    let bare = given
        .strip_prefix("sip:")
        .or_else(|| given.strip_prefix("sips:"))
        .unwrap_or(given);
    if bare.contains('@') {
        return Ok(format!("sip:{bare}"));
    }
    match domain {
        Some(d) => Ok(format!("sip:{bare}@{d}")),
        None => Ok(format!("sip:{bare}")),
    }
}

pub async fn set(call: &Call<'_>) -> Response {
    let core = &call.state.core;
    let sent: Vec<(&str, &str)> = KEYS
        .iter()
        .filter_map(|k| call.params.get(k).map(|v| (*k, v.trim())))
        .collect();
    if sent.is_empty() {
        return outcome(
            false,
            "Error: give at least one of FUNC, FNOL, FBUS, FNOA, FUNV",
        );
    }
    if sent
        .iter()
        .filter(|(k, v)| matches!(*k, "FUNC" | "FUNV") && !v.is_empty())
        .count()
        > 1
    {
        return outcome(
            false,
            "Error: FUNC and FUNV cannot both be set: both are the unconditional rule, FUNV \
             limited to the hours the accept rules make you unavailable",
        );
    }
    let current = match core.get_forwarding(&call.actor, call.subscriber_id).await {
        Ok(f) => f,
        Err(e) => return core_error(&e),
    };
    let mobile = if sent.iter().any(|(_, v)| *v == MOBILE_NUMBER) {
        match core.identity(&call.actor, call.subscriber_id).await {
            Ok(i) => i.phone,
            Err(e) => return core_error(&e),
        }
    } else {
        None
    };
    let mut changes: BTreeMap<String, Option<ForwardRule>> = BTreeMap::new();
    // Clearing first, so that `FUNC=&FUNV=x` sets FUNV whichever order they came in.
    for (key, _) in sent.iter().filter(|(_, v)| v.is_empty()) {
        if rule_of(&current, key).is_some() {
            changes.insert(kind(key).to_string(), None);
        }
    }
    for (key, value) in sent.iter().filter(|(_, v)| !v.is_empty()) {
        let destination = match target(value, current.domain.as_deref(), mobile.as_deref()) {
            Ok(d) => d,
            Err(message) => return outcome(false, message),
        };
        let kind = kind(key);
        let existing = current.rules.get(kind);
        let timeout = existing
            .and_then(|r| r.destinations.first())
            .map_or(DEFAULT_TIMEOUT, |d| d.timeout);
        let times = match *key {
            "FUNC" => None,
            "FUNV" => Some(existing.and_then(|r| r.times.clone()).unwrap_or_default()),
            _ => existing.and_then(|r| r.times.clone()),
        };
        let rule = ForwardRule {
            destinations: vec![Destination {
                destination,
                priority: 1,
                timeout,
                announcement_id: None,
            }],
            times,
            sources: existing.and_then(|r| r.sources.clone()),
            bnumbers: existing.and_then(|r| r.bnumbers.clone()),
        };
        changes.insert(kind.to_string(), Some(rule));
    }
    let keys: Vec<&str> = sent.iter().map(|(k, _)| *k).collect();
    match core
        .update_forwarding(&call.actor, call.subscriber_id, changes)
        .await
    {
        Ok(true) => outcome(true, format!("Changed diversions {}", keys.join(", "))),
        Ok(false) => outcome(true, "Diversions remained the same"),
        Err(crate::core::CoreError::Invalid { message, .. }) => {
            outcome(false, format!("Error: invalid diversion target: {message}"))
        }
        Err(e) => core_error(&e),
    }
}

/// A boolean preference's value (absent: false).
fn flag(prefs: &crate::core::preferences::Preferences, name: &str) -> bool {
    prefs
        .get(name)
        .and_then(|v| v.first())
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

pub async fn accept_rules(call: &Call<'_>) -> Response {
    let core = &call.state.core;
    let prefs = match core.get_preferences(&call.actor, call.subscriber_id).await {
        Ok(p) => p,
        Err(e) => return core_error(&e),
    };
    let temporary = if flag(&prefs, "dnd") {
        // Minutes left, rounded up; 0 with no end, as the original shows a permanent rule.
        let left = prefs
            .get("dnd_until")
            .and_then(|v| v.first())
            .and_then(Value::as_i64)
            .map_or(0, |until| (until - core.now() / 1000 + 59) / 60);
        json!({ "groups": ["nobody"], "duration": left })
    } else {
        json!({ "groups": ["everybody"], "duration": 0 })
    };
    let groups: Vec<&str> = if flag(&prefs, "clir") {
        vec!["anonymous"]
    } else {
        Vec::new()
    };
    reply(
        StatusCode::OK,
        &json!({ "persistent": {}, "temporary": temporary, "groups": groups }),
    )
}

pub async fn reject_rules(call: &Call<'_>) -> Response {
    let core = &call.state.core;
    let prefs = match core.get_preferences(&call.actor, call.subscriber_id).await {
        Ok(p) => p,
        Err(e) => return core_error(&e),
    };
    let domain = match core.get_forwarding(&call.actor, call.subscriber_id).await {
        Ok(f) => f.domain,
        Err(e) => return core_error(&e),
    };
    // In whitelist mode the list names who is let through, not who is rejected.
    let entries = if flag(&prefs, "block_in_mode") {
        Vec::new()
    } else {
        prefs.get("block_in_list").cloned().unwrap_or_default()
    };
    let uris: Vec<String> = entries
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|e| target(e, domain.as_deref(), None).ok())
        .collect();
    reply(StatusCode::OK, &json!(uris))
}

pub async fn dnd(call: &Call<'_>, on: bool) -> Response {
    let minutes = match call.params.get("duration").map(str::trim) {
        None | Some("") => None,
        Some(_) if !on => None,
        Some(text) => match text.parse::<i64>() {
            Ok(m) if m > 0 => Some(m),
            _ => {
                return outcome(
                    false,
                    format!(
                        "Error: invalid duration '{text}': give a whole number of minutes above 0"
                    ),
                );
            }
        },
    };
    match call
        .state
        .core
        .set_dnd(&call.actor, call.subscriber_id, on, minutes)
        .await
    {
        Ok(()) if !on => outcome(true, "Do not disturb has been disabled"),
        Ok(()) => match minutes {
            Some(m) => outcome(
                true,
                format!("Do not disturb has been enabled for {m} minutes"),
            ),
            None => outcome(true, "Do not disturb has been enabled"),
        },
        Err(e) => core_error(&e),
    }
}

pub async fn privacy(call: &Call<'_>, on: bool) -> Response {
    let given = BTreeMap::from([("clir".to_string(), json!(on))]);
    match call
        .state
        .core
        .set_preferences(&call.actor, call.subscriber_id, given, false)
        .await
    {
        Ok(_) if on => outcome(true, "Caller-ID is now hidden for outgoing calls"),
        Ok(_) => outcome(true, "Caller-ID is now visible for outgoing calls"),
        Err(e) => core_error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_completed_the_sip2sip_way() {
        let d = Some("example.com");
        assert_eq!(
            target("0031201234", d, None).unwrap(),
            "sip:0031201234@example.com"
        );
        assert_eq!(
            target("+31201234", d, None).unwrap(),
            "sip:+31201234@example.com"
        );
        assert_eq!(target("bob", d, None).unwrap(), "sip:bob@example.com");
        assert_eq!(
            target("sip:bob@other.org", d, None).unwrap(),
            "sip:bob@other.org"
        );
        assert_eq!(target("<voice-mailbox>", d, None).unwrap(), "voicebox");
        assert_eq!(
            target("<mobile-number>", d, Some("0612")).unwrap(),
            "sip:0612@example.com"
        );
        assert!(target("<mobile-number>", d, None).is_err());
        assert_eq!(show("sip:bob@example.com"), "bob@example.com");
        assert_eq!(show("voicebox"), "<voice-mailbox>");
    }
}

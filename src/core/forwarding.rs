//! Call forwarding, one model for every dialect: per subscriber and type (C5's cfu, cfb, cft,
//! cfna, cfs, cfr, cfo) an ordered destination set, an optional time set, and optional source
//! and B-number sets. SIP2SIP's FUNC/FBUS/FNOL/FNOA/FUNV and sipXconfig's forward rings are
//! translations of these rules, not copies beside them (see ARCHITECTURE.md).

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::actor::{Actor, Principal};
use super::audit::Event;
use super::permissions;
use super::records::ListRequest;
use super::resources::Collection;
use super::{Core, CoreError, CoreResult, Done};
use crate::db::{self, Conn};

/// The forwarding types, in C5's order.
pub const KINDS: [&str; 7] = ["cfu", "cfb", "cft", "cfna", "cfs", "cfr", "cfo"];

/// Destinations that name a service rather than a number or address.
pub const SPECIAL_DESTINATIONS: &[&str] = &[
    "voicebox",
    "fax2mail",
    "conference",
    "callingcard",
    "callthrough",
    "autoattendant",
    "officehours",
    "customhours",
    "managersecretary",
];

/// The most destinations, time entries or set entries one rule holds.
const MAX_ENTRIES: usize = 100;
/// The longest destination or set entry, in bytes.
const MAX_TEXT: usize = 255;

/// One destination of a rule, tried in order of `priority` (then position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// A SIP URI, or one of [`SPECIAL_DESTINATIONS`].
    pub destination: String,
    pub priority: i64,
    /// Seconds to ring it.
    pub timeout: i64,
    pub announcement_id: Option<i64>,
}

/// Callers (sources) or called numbers (B-numbers) a rule is limited to or excludes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartySet {
    pub entries: Vec<String>,
    /// true: only these; false: all but these.
    pub whitelist: bool,
    pub is_regex: bool,
}

/// When a time entry applies: each part a value or a range like "8-18"; absent parts match all.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TimeEntry {
    pub parts: BTreeMap<String, String>,
}

/// The parts of a time entry and their ranges.
const TIME_PARTS: [(&str, u32, u32); 6] = [
    ("year", 1970, 2200),
    ("month", 1, 12),
    ("mday", 1, 31),
    ("wday", 1, 7),
    ("hour", 0, 23),
    ("minute", 0, 59),
];

/// One forwarding type's rule.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ForwardRule {
    pub destinations: Vec<Destination>,
    /// None: always.
    pub times: Option<Vec<TimeEntry>>,
    pub sources: Option<PartySet>,
    pub bnumbers: Option<PartySet>,
}

/// A subscriber's whole forwarding: the rules that are set, and the ring timeout for cft.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Forwarding {
    pub subscriber_id: i64,
    /// The subscriber's SIP domain, used to complete plain numbers.
    pub domain: Option<String>,
    pub rules: BTreeMap<String, ForwardRule>,
    /// The `ringtimeout` preference.
    pub ringtimeout: Option<i64>,
}

impl Forwarding {
    /// What a stored destination looks like written simply: the user part of a SIP URI in the
    /// subscriber's own domain, a special word as it is, other URIs without the scheme.
    pub fn simple_destination(&self, destination: &str) -> String {
        let Some(rest) = destination.strip_prefix("sip:") else {
            return destination.to_string();
        };
        match (rest.split_once('@'), &self.domain) {
            (Some((user, domain)), Some(own)) if domain == own => user.to_string(),
            _ => rest.to_string(),
        }
    }
}

fn invalid(field: &str, message: impl Into<String>) -> CoreError {
    CoreError::invalid(field, message)
}

/// Checks and completes a destination: a known special word, a SIP URI, `user@host`, or a
/// number (completed to `sip:<number>@<domain>`).
pub fn normalize_destination(text: &str, domain: Option<&str>, field: &str) -> CoreResult<String> {
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_TEXT || text.chars().any(char::is_control) {
        return Err(invalid(
            field,
            "must be a number, a SIP URI or a special destination",
        ));
    }
    if SPECIAL_DESTINATIONS.contains(&text) {
        return Ok(text.to_string());
    }
    if let Some(rest) = text
        .strip_prefix("sip:")
        .or_else(|| text.strip_prefix("sips:"))
    {
        if rest.is_empty() || rest.contains(char::is_whitespace) {
            return Err(invalid(field, format!("'{text}' is not a SIP URI")));
        }
        return Ok(text.to_string());
    }
    let digits = text.strip_prefix('+').unwrap_or(text);
    if !digits.is_empty()
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
    {
        return Ok(match domain {
            Some(d) => format!("sip:{text}@{d}"),
            None => format!("sip:{text}"),
        });
    }
    if text.contains('@') && !text.contains(char::is_whitespace) {
        return Ok(format!("sip:{text}"));
    }
    Err(invalid(
        field,
        format!(
            "'{text}' is not a number, a SIP URI or one of: {}",
            SPECIAL_DESTINATIONS.join(", ")
        ),
    ))
}

fn check_time_entry(entry: &TimeEntry, field: &str) -> CoreResult<()> {
    for (part, value) in &entry.parts {
        let Some((_, lo, hi)) = TIME_PARTS.iter().find(|(p, _, _)| p == part) else {
            return Err(invalid(
                field,
                format!("unknown time part '{part}': use year, month, mday, wday, hour, minute"),
            ));
        };
        let bounds = value
            .split_once('-')
            .map_or((value.as_str(), value.as_str()), |(a, b)| (a, b));
        let parse = |s: &str| {
            s.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (*lo..=*hi).contains(n))
        };
        match (parse(bounds.0), parse(bounds.1)) {
            (Some(_), Some(_)) => {}
            _ => {
                return Err(invalid(
                    field,
                    format!("{part} '{value}' must be a value or range within {lo}-{hi}"),
                ));
            }
        }
    }
    Ok(())
}

fn check_party_set(set: &PartySet, field: &str) -> CoreResult<()> {
    if set.entries.len() > MAX_ENTRIES {
        return Err(invalid(field, format!("at most {MAX_ENTRIES} entries")));
    }
    if set
        .entries
        .iter()
        .any(|e| e.is_empty() || e.len() > MAX_TEXT || e.chars().any(char::is_control))
    {
        return Err(invalid(
            field,
            format!("entries must be 1 to {MAX_TEXT} bytes"),
        ));
    }
    Ok(())
}

/// Checks a rule and completes its destinations.
fn check_rule(kind: &str, rule: &mut ForwardRule, domain: Option<&str>) -> CoreResult<()> {
    if rule.destinations.len() > MAX_ENTRIES {
        return Err(invalid(kind, format!("at most {MAX_ENTRIES} destinations")));
    }
    for (i, d) in rule.destinations.iter_mut().enumerate() {
        let field = format!("{kind}.destinations.{i}");
        d.destination =
            normalize_destination(&d.destination, domain, &format!("{field}.destination"))?;
        if !(1..=3600).contains(&d.timeout) {
            return Err(invalid(
                &format!("{field}.timeout"),
                "must be 1 to 3600 seconds",
            ));
        }
        if !(0..=1000).contains(&d.priority) {
            return Err(invalid(&format!("{field}.priority"), "must be 0 to 1000"));
        }
        if d.announcement_id.is_some() && d.destination != "customhours" {
            return Err(invalid(
                &format!("{field}.announcement_id"),
                "only the customhours destination takes an announcement",
            ));
        }
    }
    if let Some(times) = &rule.times {
        if times.len() > MAX_ENTRIES {
            return Err(invalid(
                &format!("{kind}.times"),
                format!("at most {MAX_ENTRIES} entries"),
            ));
        }
        for (i, t) in times.iter().enumerate() {
            check_time_entry(t, &format!("{kind}.times.{i}"))?;
        }
    }
    if let Some(s) = &rule.sources {
        check_party_set(s, &format!("{kind}.sources"))?;
    }
    if let Some(b) = &rule.bnumbers {
        check_party_set(b, &format!("{kind}.bnumbers"))?;
    }
    Ok(())
}

/// The forwarding of the subscribers `ids`, read with a fixed number of queries.
pub(crate) fn read_many(conn: &Conn<'_>, ids: &[i64]) -> CoreResult<Vec<Forwarding>> {
    let mut by_id: BTreeMap<i64, Forwarding> = ids
        .iter()
        .map(|id| {
            (
                *id,
                Forwarding {
                    subscriber_id: *id,
                    ..Forwarding::default()
                },
            )
        })
        .collect();
    for (id, domain) in db::forwarding::domains(conn, ids)? {
        if let Some(f) = by_id.get_mut(&id) {
            f.domain = domain;
        }
    }
    for (id, kind, rule) in db::forwarding::rules(conn, ids)? {
        if let Some(f) = by_id.get_mut(&id) {
            f.rules.insert(kind, rule);
        }
    }
    for (id, value) in db::preferences::ints(conn, ids, "ringtimeout")? {
        if let Some(f) = by_id.get_mut(&id) {
            f.ringtimeout = Some(value);
        }
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// The subscriber `id` if the principal reaches it.
pub(crate) fn reachable_subscriber(
    conn: &Conn<'_>,
    principal: &Principal,
    id: i64,
) -> CoreResult<()> {
    let node = db::accounts::node_by_id(conn, id)?
        .ok_or_else(|| CoreError::NotFound(format!("subscriber {id}")))?;
    permissions::sees_subscriber(principal, id, &node.customer_path)
}

fn audit_rules(rules: &BTreeMap<String, ForwardRule>, ringtimeout: Option<i64>) -> String {
    let summary: serde_json::Map<String, Json> = rules
        .iter()
        .map(|(kind, r)| {
            let destinations: Vec<&str> = r
                .destinations
                .iter()
                .map(|d| d.destination.as_str())
                .collect();
            (
                kind.clone(),
                json!({ "destinations": destinations, "timed": r.times.is_some() }),
            )
        })
        .collect();
    json!({ "resource": "callforwards", "set": summary, "ringtimeout": ringtimeout }).to_string()
}

impl Core {
    pub async fn get_forwarding(&self, actor: &Actor, id: i64) -> CoreResult<Forwarding> {
        let acting = actor.clone();
        self.query(actor, Event::ForwardingRead, move |conn| {
            reachable_subscriber(conn, &acting.principal, id)?;
            read_many(conn, &[id])?
                .pop()
                .ok_or_else(|| CoreError::NotFound(format!("subscriber {id}")))
        })
        .await
    }

    /// A page of forwarding, one per subscriber the caller reaches, ordered like subscribers.
    pub async fn list_forwarding(
        &self,
        actor: &Actor,
        request: ListRequest,
    ) -> CoreResult<(Vec<Forwarding>, Option<i64>)> {
        let page = self
            .list_records(actor, Collection::Subscribers, request)
            .await?;
        let ids: Vec<i64> = page.records.iter().map(|r| r.id).collect();
        let rows = self.db.read(move |conn| read_many(conn, &ids)).await?;
        Ok((rows, page.total))
    }

    /// Replaces a subscriber's whole forwarding with `rules` (types left out are cleared);
    /// `ringtimeout` Some sets the cft ring timeout, None leaves it.
    pub async fn set_forwarding(
        &self,
        actor: &Actor,
        id: i64,
        mut rules: BTreeMap<String, ForwardRule>,
        ringtimeout: Option<i64>,
    ) -> CoreResult<()> {
        if let Some(kind) = rules.keys().find(|k| !KINDS.contains(&k.as_str())) {
            let e = invalid(kind, "is not a forwarding type");
            return self.refuse(actor, Event::ForwardingChanged, e).await;
        }
        if ringtimeout.is_some_and(|t| !(1..=3600).contains(&t)) {
            let e = invalid("cft.ringtimeout", "must be 1 to 3600 seconds");
            return self.refuse(actor, Event::ForwardingChanged, e).await;
        }
        self.mutate(actor, Event::ForwardingChanged, move |tx, actor, _| {
            reachable_subscriber(tx, &actor.principal, id)?;
            let domain = db::forwarding::domains(tx, &[id])?
                .pop()
                .and_then(|(_, d)| d);
            for (kind, rule) in &mut rules {
                check_rule(kind, rule, domain.as_deref())?;
            }
            db::forwarding::replace(tx, id, &rules)?;
            if let Some(t) = ringtimeout {
                db::preferences::replace(tx, id, &[("ringtimeout".into(), vec![json!(t)])], false)?;
            }
            Ok(Done {
                value: (),
                target: format!("subscriber:{id}"),
                detail: audit_rules(&rules, ringtimeout),
            })
        })
        .await
    }
}

impl Core {
    /// Changes only the types in `changes` (a rule sets that type, None clears it) and leaves the
    /// others as they are. Returns whether anything changed.
    pub async fn update_forwarding(
        &self,
        actor: &Actor,
        id: i64,
        mut changes: BTreeMap<String, Option<ForwardRule>>,
    ) -> CoreResult<bool> {
        if let Some(kind) = changes.keys().find(|k| !KINDS.contains(&k.as_str())) {
            let e = invalid(kind, "is not a forwarding type");
            return self.refuse(actor, Event::ForwardingChanged, e).await;
        }
        let before = self.get_forwarding(actor, id).await?;
        let domain = before.domain.clone();
        for (kind, rule) in &mut changes {
            if let Some(rule) = rule
                && let Err(e) = check_rule(kind, rule, domain.as_deref())
            {
                return self.refuse(actor, Event::ForwardingChanged, e).await;
            }
        }
        if changes
            .iter()
            .all(|(kind, rule)| before.rules.get(kind) == rule.as_ref())
        {
            return Ok(false);
        }
        let set: BTreeMap<String, ForwardRule> = changes
            .iter()
            .filter_map(|(k, r)| r.clone().map(|r| (k.clone(), r)))
            .collect();
        let cleared: Vec<String> = changes
            .iter()
            .filter(|(_, r)| r.is_none())
            .map(|(k, _)| k.clone())
            .collect();
        let detail = json!({ "changed": audit_rules(&set, None), "cleared": cleared }).to_string();
        self.mutate(actor, Event::ForwardingChanged, move |tx, actor, _| {
            reachable_subscriber(tx, &actor.principal, id)?;
            db::forwarding::replace_kinds(tx, id, &changes)?;
            Ok(Done {
                value: true,
                target: format!("subscriber:{id}"),
                detail,
            })
        })
        .await
    }
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_completed_with_the_domain_and_specials_kept() {
        let d = Some("voip.example.com");
        assert_eq!(
            normalize_destination("5678", d, "x").unwrap(),
            "sip:5678@voip.example.com"
        );
        assert_eq!(
            normalize_destination("+4366610001", None, "x").unwrap(),
            "sip:+4366610001"
        );
        assert_eq!(
            normalize_destination("voicebox", d, "x").unwrap(),
            "voicebox"
        );
        assert_eq!(
            normalize_destination("bob@example.org", d, "x").unwrap(),
            "sip:bob@example.org"
        );
        assert!(normalize_destination("voicemail please", d, "x").is_err());
        assert!(normalize_destination("", d, "x").is_err());
    }

    #[test]
    fn time_entries_take_values_and_ranges_within_bounds() {
        let entry = |pairs: &[(&str, &str)]| TimeEntry {
            parts: pairs
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
        };
        assert!(check_time_entry(&entry(&[("hour", "8-18"), ("wday", "2-6")]), "t").is_ok());
        assert!(check_time_entry(&entry(&[("hour", "8-25")]), "t").is_err());
        assert!(check_time_entry(&entry(&[("second", "1")]), "t").is_err());
        assert!(check_time_entry(&entry(&[("month", "x")]), "t").is_err());
    }

    #[test]
    fn simple_destinations_drop_the_own_domain() {
        let f = Forwarding {
            domain: Some("d.example".into()),
            ..Forwarding::default()
        };
        assert_eq!(f.simple_destination("sip:5678@d.example"), "5678");
        assert_eq!(
            f.simple_destination("sip:5678@other.example"),
            "5678@other.example"
        );
        assert_eq!(f.simple_destination("voicebox"), "voicebox");
    }
}

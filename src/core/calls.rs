//! Call history (CDRs) and registered devices. switchyard is not the SIP proxy: records and
//! registrations are fed to it in batches (`POST /feed/...`, `switchyard cdr import`), checked
//! here row by row, and written all or nothing. SIP2SIP's `get_history`, `get_devices` and
//! `get_monthly_usage` and Sippy's CDR and registration methods read the same rows.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::json;

use super::actor::Actor;
use super::audit::Event;
use super::permissions;
use super::{Core, CoreError, CoreResult, Done};
use crate::db::calls::{CdrOwner, FedAccount, NewCdr, RegistrationRow};
use crate::db::{self, Conn};

pub use crate::db::calls::{CdrKind, CdrRow as Cdr, ListedCdr, RegistrationRow as Registration};

/// The most rows one batch may hold.
pub const MAX_BATCH: usize = 1_000_000;
/// The longest text field of a fed row, in bytes.
const MAX_TEXT: usize = 255;
/// The longest call a record may describe: ten days, in seconds.
const MAX_DURATION: i64 = 864_000;
/// The longest a registration may be said to last, in seconds (one week).
const MAX_EXPIRES: i64 = 604_800;

/// One call record as a feed gives it (`POST /feed/cdrs`, `switchyard cdr import`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CdrInput {
    pub call_id: String,
    /// `user@domain` of the subscriber the record belongs to.
    pub account: String,
    /// `placed` or `received`.
    pub direction: String,
    pub remote_party: String,
    #[serde(default)]
    pub display_name: String,
    /// RFC 3339.
    pub start_time: String,
    /// Seconds.
    pub duration: i64,
    pub status: String,
    #[serde(default)]
    pub price: Option<f64>,
}

/// One registration as a feed gives it (`POST /feed/registrations`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationInput {
    pub account: String,
    pub contact: String,
    #[serde(default)]
    pub public_contact: String,
    /// Seconds from now; 0 removes the registration.
    pub expires: i64,
    #[serde(default)]
    pub user_agent: String,
    #[serde(default)]
    pub transport: String,
}

/// A fed row and where it came from ("item 3", "line 7"), for error messages.
#[derive(Debug, Clone)]
pub struct Fed<T> {
    pub place: String,
    pub row: T,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    pub received: usize,
    /// Rows that were new; the rest were already there (same call id) and changed nothing.
    pub inserted: usize,
}

/// A subscriber's recent calls, newest first, for `get_history`.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub placed: Vec<Cdr>,
    pub received: Vec<Cdr>,
}

fn bad(place: &str, field: &str, message: impl Into<String>) -> CoreError {
    CoreError::invalid(&format!("{place}: {field}"), message)
}

fn check_text(place: &str, field: &str, value: &str, required: bool) -> CoreResult<()> {
    if required && value.trim().is_empty() {
        return Err(bad(place, field, "must not be empty"));
    }
    if value.len() > MAX_TEXT {
        return Err(bad(place, field, format!("longer than {MAX_TEXT} bytes")));
    }
    if value.chars().any(char::is_control) {
        return Err(bad(place, field, "contains control characters"));
    }
    Ok(())
}

/// Parses an RFC 3339 time to milliseconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Resolves `user@domain` to a subscriber the actor may feed, caching lookups for the batch.
fn fed_account(
    conn: &Conn<'_>,
    actor: &Actor,
    cache: &mut HashMap<String, i64>,
    place: &str,
    account: &str,
) -> CoreResult<i64> {
    if let Some(id) = cache.get(account) {
        return Ok(*id);
    }
    let Some((user, domain)) = account.rsplit_once('@') else {
        return Err(bad(
            place,
            "account",
            format!("'{account}' is not user@domain"),
        ));
    };
    let FedAccount { id, customer_path } = db::calls::account_by_address(conn, user, domain)?
        .ok_or_else(|| bad(place, "account", format!("no subscriber '{account}'")))?;
    if !permissions::sees_account(&actor.principal, id, &customer_path) {
        // Outside the caller's scope reads exactly like a missing subscriber.
        return Err(bad(place, "account", format!("no subscriber '{account}'")));
    }
    cache.insert(account.to_string(), id);
    Ok(id)
}

/// Checks a record; returns its start time in milliseconds.
fn check_cdr(place: &str, cdr: &CdrInput) -> CoreResult<i64> {
    check_text(place, "call_id", &cdr.call_id, true)?;
    if !matches!(cdr.direction.as_str(), "placed" | "received") {
        return Err(bad(
            place,
            "direction",
            format!("'{}' must be placed or received", cdr.direction),
        ));
    }
    check_text(place, "remote_party", &cdr.remote_party, true)?;
    check_text(place, "display_name", &cdr.display_name, false)?;
    check_text(place, "status", &cdr.status, true)?;
    let start = parse_rfc3339(&cdr.start_time).ok_or_else(|| {
        bad(
            place,
            "start_time",
            format!("'{}' is not an RFC 3339 time", cdr.start_time),
        )
    })?;
    if !(0..=MAX_DURATION).contains(&cdr.duration) {
        return Err(bad(
            place,
            "duration",
            format!("must be 0 to {MAX_DURATION} seconds"),
        ));
    }
    if cdr.price.is_some_and(|p| !p.is_finite() || p < 0.0) {
        return Err(bad(place, "price", "must be a number not below 0"));
    }
    Ok(start)
}

/// Only callers that manage subscribers may feed records for them.
fn may_feed(actor: &Actor) -> CoreResult<()> {
    match &actor.principal {
        super::actor::Principal::Login(l)
            if matches!(l.scope, super::actor::Scope::Subscriber { .. }) =>
        {
            Err(CoreError::Forbidden(
                "a subscriber may not feed call records or registrations".into(),
            ))
        }
        super::actor::Principal::Anonymous { .. } => {
            Err(CoreError::Forbidden("not authenticated".into()))
        }
        _ => Ok(()),
    }
}

/// The subscriber `id` if the actor may see it: itself, or an account of the actor's customer
/// subtree (Sippy's account scope, so a customer login reads its accounts' calls).
fn visible_subscriber(conn: &Conn<'_>, actor: &Actor, id: i64) -> CoreResult<()> {
    let node = db::accounts::node_by_id(conn, id)?
        .ok_or_else(|| CoreError::NotFound(format!("subscriber {id}")))?;
    if permissions::sees_account(&actor.principal, id, &node.customer_path) {
        Ok(())
    } else {
        Err(CoreError::OutOfScope(format!("subscriber {id}")))
    }
}

impl Core {
    /// Imports call records, all or nothing: a bad row (named by its place) refuses the batch.
    /// A record already imported (same call id, subscriber and direction) changes nothing.
    pub async fn import_cdrs(
        &self,
        actor: &Actor,
        rows: Vec<Fed<CdrInput>>,
    ) -> CoreResult<ImportSummary> {
        if rows.len() > MAX_BATCH {
            let e = CoreError::invalid("batch", format!("at most {MAX_BATCH} records"));
            return self.refuse(actor, Event::CdrsImported, e).await;
        }
        if let Err(e) = may_feed(actor) {
            return self.refuse(actor, Event::CdrsImported, e).await;
        }
        let mut starts = Vec::with_capacity(rows.len());
        for fed in &rows {
            match check_cdr(&fed.place, &fed.row) {
                Ok(start) => starts.push(start),
                Err(e) => return self.refuse(actor, Event::CdrsImported, e).await,
            }
        }
        self.mutate(actor, Event::CdrsImported, move |tx, actor, now| {
            let mut cache = HashMap::new();
            let mut inserted = 0;
            for (fed, start_time) in rows.iter().zip(starts) {
                let cdr = &fed.row;
                let subscriber_id = fed_account(tx, actor, &mut cache, &fed.place, &cdr.account)?;
                let new = NewCdr {
                    call_id: &cdr.call_id,
                    subscriber_id,
                    direction: &cdr.direction,
                    remote_party: &cdr.remote_party,
                    display_name: &cdr.display_name,
                    start_time,
                    duration: cdr.duration,
                    status: &cdr.status,
                    price: cdr.price,
                };
                if db::calls::insert_cdr(tx, &new, now)? {
                    inserted += 1;
                }
            }
            let summary = ImportSummary {
                received: rows.len(),
                inserted,
            };
            Ok(Done {
                value: summary,
                target: "cdrs".into(),
                detail: json!({ "received": summary.received, "inserted": inserted }).to_string(),
            })
        })
        .await
    }

    /// Records registrations, all or nothing. `expires` 0 removes one.
    pub async fn push_registrations(
        &self,
        actor: &Actor,
        rows: Vec<Fed<RegistrationInput>>,
    ) -> CoreResult<usize> {
        if rows.len() > MAX_BATCH {
            let e = CoreError::invalid("batch", format!("at most {MAX_BATCH} registrations"));
            return self.refuse(actor, Event::RegistrationsPushed, e).await;
        }
        if let Err(e) = may_feed(actor) {
            return self.refuse(actor, Event::RegistrationsPushed, e).await;
        }
        for fed in &rows {
            let (place, r) = (&fed.place, &fed.row);
            let checked = check_text(place, "contact", &r.contact, true)
                .and_then(|()| check_text(place, "public_contact", &r.public_contact, false))
                .and_then(|()| check_text(place, "user_agent", &r.user_agent, false))
                .and_then(|()| check_text(place, "transport", &r.transport, false))
                .and_then(|()| {
                    if (0..=MAX_EXPIRES).contains(&r.expires) {
                        Ok(())
                    } else {
                        Err(bad(
                            place,
                            "expires",
                            format!("must be 0 to {MAX_EXPIRES} seconds"),
                        ))
                    }
                });
            if let Err(e) = checked {
                return self.refuse(actor, Event::RegistrationsPushed, e).await;
            }
        }
        self.mutate(actor, Event::RegistrationsPushed, move |tx, actor, now| {
            let mut cache = HashMap::new();
            for fed in &rows {
                let r = &fed.row;
                let id = fed_account(tx, actor, &mut cache, &fed.place, &r.account)?;
                let row = RegistrationRow {
                    contact: r.contact.clone(),
                    public_contact: r.public_contact.clone(),
                    expires_at: now + r.expires * 1000,
                    user_agent: r.user_agent.clone(),
                    transport: r.transport.clone(),
                };
                db::calls::upsert_registration(tx, id, &row, now)?;
            }
            Ok(Done {
                value: rows.len(),
                target: "registrations".into(),
                detail: json!({ "received": rows.len() }).to_string(),
            })
        })
        .await
    }

    /// A subscriber's calls since `since` (ms), at most `limit` of each direction, newest first;
    /// placed calls with status `skip_status` are left out.
    pub async fn call_history(
        &self,
        actor: &Actor,
        id: i64,
        since: i64,
        limit: i64,
        skip_status: &'static str,
    ) -> CoreResult<History> {
        let acting = actor.clone();
        self.query(actor, Event::CallHistoryRead, move |conn| {
            visible_subscriber(conn, &acting, id)?;
            Ok(History {
                placed: db::calls::recent(conn, id, "placed", since, skip_status, limit)?,
                received: db::calls::recent(conn, id, "received", since, "", limit)?,
            })
        })
        .await
    }

    /// How many calls a subscriber placed in [from, to) (ms) and their total price.
    pub async fn call_usage(
        &self,
        actor: &Actor,
        id: i64,
        from: i64,
        to: i64,
    ) -> CoreResult<(i64, f64)> {
        let acting = actor.clone();
        self.query(actor, Event::CallHistoryRead, move |conn| {
            visible_subscriber(conn, &acting, id)?;
            Ok(db::calls::usage(conn, id, from, to)?)
        })
        .await
    }

    /// Records of one subscriber, or of every subscriber below a customer, of `kind`, started in
    /// [from, to) (ms), oldest first.
    pub async fn list_cdrs(
        &self,
        actor: &Actor,
        owner: CdrScope,
        kind: CdrKind,
        (from, to): (i64, i64),
        offset: Option<i64>,
        limit: Option<i64>,
    ) -> CoreResult<Vec<ListedCdr>> {
        let (offset, limit) = match super::page(offset, limit) {
            Ok(page) => page,
            Err(e) => return self.refuse(actor, Event::CallHistoryRead, e).await,
        };
        let acting = actor.clone();
        self.query(actor, Event::CallHistoryRead, move |conn| match owner {
            CdrScope::Subscriber(id) => {
                visible_subscriber(conn, &acting, id)?;
                let owner = CdrOwner::Subscriber(id);
                Ok(db::calls::list(
                    conn, &owner, kind, from, to, offset, limit,
                )?)
            }
            CdrScope::Customer(id) => {
                let what = format!("customer {id}");
                let node = db::customers::node_by_id(conn, id)?
                    .ok_or_else(|| CoreError::NotFound(what.clone()))?;
                if !permissions::sees_customer(&acting.principal, &node.path) {
                    return Err(CoreError::OutOfScope(what));
                }
                let owner = CdrOwner::Subtree(&node.path);
                Ok(db::calls::list(
                    conn, &owner, kind, from, to, offset, limit,
                )?)
            }
        })
        .await
    }

    /// A subscriber's registrations that have not lapsed.
    pub async fn devices(&self, actor: &Actor, id: i64) -> CoreResult<Vec<Registration>> {
        let acting = actor.clone();
        let now = self.now();
        self.query(actor, Event::CallHistoryRead, move |conn| {
            visible_subscriber(conn, &acting, id)?;
            Ok(db::calls::active_registrations(conn, id, now)?)
        })
        .await
    }
}

/// Whose records [`Core::list_cdrs`] lists.
#[derive(Debug, Clone, Copy)]
pub enum CdrScope {
    Subscriber(i64),
    /// Every subscriber of this customer and the customers below it.
    Customer(i64),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cdr() -> CdrInput {
        CdrInput {
            call_id: "c1".into(),
            account: "alice@example.com".into(),
            direction: "placed".into(),
            remote_party: "sip:bob@example.com".into(),
            display_name: String::new(),
            start_time: "2025-11-20T10:00:00Z".into(),
            duration: 61,
            status: "200".into(),
            price: Some(0.12),
        }
    }

    #[test]
    fn records_are_checked_field_by_field_with_their_place() {
        assert_eq!(check_cdr("item 0", &cdr()).unwrap(), 1_763_632_800_000);
        let with = |f: fn(&mut CdrInput)| {
            let mut c = cdr();
            f(&mut c);
            check_cdr("item 4", &c).unwrap_err().to_string()
        };
        assert!(with(|c| c.direction = "sideways".into()).contains("item 4: direction"));
        assert!(with(|c| c.start_time = "yesterday".into()).contains("RFC 3339"));
        assert!(with(|c| c.duration = -1).contains("duration"));
        assert!(with(|c| c.price = Some(f64::NAN)).contains("price"));
        assert!(with(|c| c.call_id = " ".into()).contains("call_id"));
        assert!(with(|c| c.remote_party = "a\u{0}b".into()).contains("control"));
    }

    #[test]
    fn rfc3339_times_with_offsets_are_read_as_utc() {
        assert_eq!(
            parse_rfc3339("2025-11-20T11:00:00+01:00"),
            parse_rfc3339("2025-11-20T10:00:00Z")
        );
        assert_eq!(parse_rfc3339("2026-11-20 10:00:00"), None);
    }
}

//! The audit log, newest first, paged in the database (by id, backwards), filtered by login,
//! action and time. Root sees every row; other logins see the rows they caused (the core
//! decides).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::{Chrome, Flash, Signed, render, status_of, utc};
use crate::core::CoreError;
use crate::core::audit::{AuditFilter, AuditRecord};
use crate::server::AppState;

const PAGE_SIZE: u32 = 50;

/// The filter form's fields, as given (also used to build the "older" link).
#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
pub struct AuditQuery {
    login: String,
    action: String,
    from: String,
    until: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    before: String,
}

/// One audit row, ready to show.
pub struct Row {
    pub id: i64,
    pub at: String,
    pub principal: String,
    /// `action_by` when it names someone other than the principal (trusted mode's audit_info).
    pub on_behalf_of: Option<String>,
    pub from: String,
    pub dialect: String,
    pub auth_method: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub event: i64,
    pub detail: String,
}

impl From<AuditRecord> for Row {
    fn from(r: AuditRecord) -> Self {
        let on_behalf_of = r.action_by.filter(|by| *by != r.principal);
        let from = match (&r.user_ip, &r.peer_ip) {
            (Some(user), Some(peer)) if user != peer => format!("{user} (via {peer})"),
            (Some(ip), _) | (None, Some(ip)) => ip.clone(),
            (None, None) => "local".into(),
        };
        Self {
            id: r.id,
            at: utc(r.at_millis),
            principal: r.principal,
            on_behalf_of,
            from,
            dialect: r.dialect,
            auth_method: r.auth_method,
            action: r.method,
            target: r.target,
            outcome: r.outcome,
            event: r.event,
            detail: r.detail,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    chrome: Chrome,
    flash: Option<Flash>,
    query: AuditQuery,
    rows: Vec<Row>,
    /// The address of the next (older) page, if there may be one.
    older: Option<String>,
    sees_everything: bool,
    /// Actions the page itself records, offered as suggestions in the filter.
    known_actions: &'static [&'static str],
}

const KNOWN_ACTIONS: &[&str] = &[
    "sign-in",
    "sign-out",
    "set-api-permission",
    "set-allow-api-calls",
    "change-api-password",
    "change-web-password",
    "create-customer",
    "add-trusted-host",
    "remove-trusted-host",
    "createCustomer",
    "updateCustomer",
    "createAccount",
    "updateAccount",
];

/// Parses a filter time given in UTC: `YYYY-MM-DD`, or with `THH:MM` or `THH:MM:SS` (what a
/// browser's date-time field sends; a space instead of the `T` is accepted too).
fn parse_utc(name: &str, text: &str) -> Result<Option<i64>, CoreError> {
    use time::macros::format_description as fd;
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let normal = text.replacen(' ', "T", 1);
    let parsed = time::PrimitiveDateTime::parse(
        &normal,
        fd!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
    )
    .or_else(|_| {
        time::PrimitiveDateTime::parse(&normal, fd!("[year]-[month]-[day]T[hour]:[minute]"))
    })
    .or_else(|_| time::Date::parse(&normal, fd!("[year]-[month]-[day]")).map(time::Date::midnight))
    .map_err(|_| {
        CoreError::invalid(
            name,
            format!("'{text}' is not a UTC date and time such as 2026-11-01T14:30"),
        )
    })?;
    let millis = parsed.assume_utc().unix_timestamp_nanos() / 1_000_000;
    Ok(i64::try_from(millis).ok())
}

fn filter_of(query: &AuditQuery) -> Result<AuditFilter, CoreError> {
    let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let before_id = match query.before.trim() {
        "" => None,
        id => Some(
            id.parse::<i64>()
                .map_err(|_| CoreError::invalid("before", "must be an entry number"))?,
        ),
    };
    Ok(AuditFilter {
        principal: text(&query.login),
        method: text(&query.action),
        since_millis: parse_utc("from", &query.from)?,
        until_millis: parse_utc("until", &query.until)?,
        before_id,
        limit: PAGE_SIZE,
    })
}

/// `GET /admin/audit?login=&action=&from=&until=&before=`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let (rows, flash, status) = match filter_of(&query) {
        Ok(filter) => match state
            .core
            .audit_log(&signed.actor("view-audit-log"), filter)
            .await
        {
            Ok(rows) => (rows, None, StatusCode::OK),
            Err(e) => (Vec::new(), Some(Flash::error(e.to_string())), status_of(&e)),
        },
        Err(e) => (Vec::new(), Some(Flash::error(e.to_string())), status_of(&e)),
    };
    let older = (rows.len() == PAGE_SIZE as usize)
        .then(|| rows.last().map(|r| r.id))
        .flatten()
        .and_then(|last| {
            let mut next = query.clone();
            next.before = last.to_string();
            serde_urlencoded::to_string(&next).ok()
        })
        .map(|q| format!("/admin/audit?{q}"));
    let page = AuditPage {
        chrome: Chrome::new(&signed.session, "audit"),
        flash,
        query,
        rows: rows.into_iter().map(Row::from).collect(),
        older,
        sees_everything: signed.session.sees_whole_audit_log,
        known_actions: KNOWN_ACTIONS,
    };
    render(status, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_times_are_utc() {
        assert_eq!(parse_utc("from", "").unwrap(), None);
        assert_eq!(parse_utc("from", "1970-01-02").unwrap(), Some(86_400_000));
        assert_eq!(parse_utc("from", "1970-01-01T00:01").unwrap(), Some(60_000));
        assert_eq!(
            parse_utc("from", "1970-01-01 00:00:02").unwrap(),
            Some(2_000)
        );
        let e = parse_utc("until", "yesterday").unwrap_err().to_string();
        assert!(e.contains("'yesterday' is not a UTC date"), "{e}");
    }
}

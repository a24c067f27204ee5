//! The reading actions (identity, aliases, history, devices, balances) and the two other
//! changes (add_alias, add_balance), in the original's shapes.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use serde::Serialize;

use super::{Call, core_error, outcome, reply, reply_text};
use crate::core::calls::Cdr;

/// `get_history` looks back this far, and lists at most this many calls of each direction.
const HISTORY_DAYS: i64 = 14;
const HISTORY_LIMIT: i64 = 50;
/// Placed calls with this status are not shown (cdrtool leaves out 435).
const HIDDEN_PLACED_STATUS: &str = "435";
/// `get_balance_history` shows at most this many changes.
const BALANCE_HISTORY_LIMIT: i64 = 200;
const DAY_MILLIS: i64 = 86_400_000;

/// `YYYY-MM-DD hh:mm:ss` in UTC, the history and balance time format.
fn datetime(millis: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

fn address(user: &str, domain: Option<&str>) -> String {
    match domain {
        Some(d) => format!("{user}@{d}").to_lowercase(),
        None => user.to_lowercase(),
    }
}

pub async fn identity(call: &Call<'_>) -> Response {
    let core = &call.state.core;
    let (identity, prefs) = match (
        core.identity(&call.actor, call.subscriber_id).await,
        core.get_preferences(&call.actor, call.subscriber_id).await,
    ) {
        (Ok(i), Ok(p)) => (i, p),
        (Err(e), _) | (_, Err(e)) => return core_error(&e),
    };
    let pref = |name: &str| prefs.get(name).and_then(|v| v.first()).cloned();
    reply(
        StatusCode::OK,
        &json!({
            "sip_address": address(&identity.username, identity.domain.as_deref()),
            "email": identity.email,
            "first": identity.first_name,
            "lastname": identity.last_name,
            "pstn_caller_id": pref("cli").or_else(|| identity.numbers.first().map(|n| json!(n))),
            "mobile_number": identity.phone,
            "timezone": identity.timezone,
            "no_answer_timeout": pref("ringtimeout"),
            "quick_dial": Value::Null,
        }),
    )
}

pub async fn aliases(call: &Call<'_>) -> Response {
    match call
        .state
        .core
        .identity(&call.actor, call.subscriber_id)
        .await
    {
        Ok(i) => {
            let mut list: Vec<String> = i
                .numbers
                .iter()
                .map(|n| address(n, i.domain.as_deref()))
                .collect();
            list.sort();
            list.truncate(crate::core::identity::MAX_ALIASES);
            reply(StatusCode::OK, &json!(list))
        }
        Err(e) => core_error(&e),
    }
}

pub async fn add_alias(call: &Call<'_>) -> Response {
    let Some(name) = call.params.get("username").filter(|n| !n.trim().is_empty()) else {
        return outcome(false, "Error: missing username");
    };
    match call
        .state
        .core
        .add_alias(&call.actor, call.subscriber_id, name)
        .await
    {
        Ok(name) => outcome(true, format!("Added alias {name}")),
        Err(e) => core_error(&e),
    }
}

pub async fn enum_numbers(call: &Call<'_>) -> Response {
    match call
        .state
        .core
        .identity(&call.actor, call.subscriber_id)
        .await
    {
        Ok(i) => {
            let numbers: Vec<String> = i
                .numbers
                .iter()
                .map(|n| n.trim_start_matches('+'))
                .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .map(|n| format!("+{n}"))
                .take(10)
                .collect();
            reply(StatusCode::OK, &json!(numbers))
        }
        Err(e) => core_error(&e),
    }
}

pub async fn devices(call: &Call<'_>) -> Response {
    let core = &call.state.core;
    match core.devices(&call.actor, call.subscriber_id).await {
        Ok(list) if list.is_empty() => reply(StatusCode::OK, &Value::Null),
        Ok(list) => {
            let now = core.now();
            let items: Vec<Value> = list
                .iter()
                .map(|r| {
                    json!({
                        "contact": r.contact,
                        "publicContact": r.public_contact,
                        "expires": (r.expires_at - now + 999) / 1000,
                        "user_agent": r.user_agent,
                        "transport": r.transport,
                    })
                })
                .collect();
            reply(StatusCode::OK, &json!(items))
        }
        Err(e) => core_error(&e),
    }
}

/// One call of `get_history`, serialized straight to text: a reply holds up to 100 of them, and
/// building them as `json!` maps cost most of the call (allocation and map inserts, by a profile).
#[derive(Serialize)]
struct HistoryItem<'a> {
    #[serde(rename = "remoteParty")]
    remote_party: &'a str,
    #[serde(rename = "displayName")]
    display_name: &'a str,
    #[serde(rename = "startTime")]
    start_time: String,
    #[serde(rename = "stopTime")]
    stop_time: String,
    timezone: &'static str,
    duration: i64,
    status: &'a str,
    /// Placed calls only: the price as text, or null; received calls have no member at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<Value>,
    #[serde(rename = "sessionId")]
    session_id: &'a str,
    #[serde(rename = "fromTag")]
    from_tag: &'static str,
    #[serde(rename = "toTag")]
    to_tag: &'static str,
    #[serde(rename = "proxyIP")]
    proxy_ip: &'static str,
    media: [(); 0],
}

impl<'a> HistoryItem<'a> {
    fn new(cdr: &'a Cdr, placed: bool) -> Self {
        Self {
            remote_party: &cdr.remote_party,
            display_name: if placed { "" } else { &cdr.display_name },
            start_time: datetime(cdr.start_time),
            stop_time: datetime(cdr.start_time + cdr.duration * 1000),
            timezone: "UTC",
            duration: cdr.duration,
            status: &cdr.status,
            price: placed.then(|| cdr.price.map_or(Value::Null, |p| json!(format!("{p:.4}")))),
            session_id: &cdr.call_id,
            from_tag: "",
            to_tag: "",
            proxy_ip: "",
            media: [],
        }
    }
}

#[derive(Serialize)]
struct HistoryReply<'a> {
    success: bool,
    placed: Vec<HistoryItem<'a>>,
    received: Vec<HistoryItem<'a>>,
}

pub async fn history(call: &Call<'_>) -> Response {
    let core = &call.state.core;
    let since = core.now() - HISTORY_DAYS * DAY_MILLIS;
    match core
        .call_history(
            &call.actor,
            call.subscriber_id,
            since,
            HISTORY_LIMIT,
            HIDDEN_PLACED_STATUS,
        )
        .await
    {
        Ok(h) if h.placed.is_empty() && h.received.is_empty() => {
            reply(StatusCode::OK, &Value::Null)
        }
        Ok(h) => {
            let body = HistoryReply {
                success: true,
                placed: h.placed.iter().map(|c| HistoryItem::new(c, true)).collect(),
                received: h
                    .received
                    .iter()
                    .map(|c| HistoryItem::new(c, false))
                    .collect(),
            };
            match serde_json::to_string(&body) {
                Ok(text) => reply_text(StatusCode::OK, text),
                Err(e) => outcome(false, format!("Error: cannot write the history: {e}")),
            }
        }
        Err(e) => core_error(&e),
    }
}

pub async fn prepaid(call: &Call<'_>) -> Response {
    match call
        .state
        .core
        .prepaid(&call.actor, call.subscriber_id, 0)
        .await
    {
        Ok(p) => reply(
            StatusCode::OK,
            &json!({ "balance": p.credit, "currency": p.currency, "sessions": [] }),
        ),
        Err(e) => core_error(&e),
    }
}

/// What a balance change is called in the history.
fn action_name(kind: &str) -> &'static str {
    match kind {
        "add_funds" => "Add balance",
        "credit" => "Credit balance",
        _ => "Debit balance",
    }
}

pub async fn balance_history(call: &Call<'_>) -> Response {
    let view = match call
        .state
        .core
        .prepaid(&call.actor, call.subscriber_id, BALANCE_HISTORY_LIMIT)
        .await
    {
        Ok(v) => v,
        Err(e) => return core_error(&e),
    };
    if call.params.get("csv") == Some("1") {
        let identity = match call
            .state
            .core
            .identity(&call.actor, call.subscriber_id)
            .await
        {
            Ok(i) => i,
            Err(e) => return core_error(&e),
        };
        let account = address(&identity.username, identity.domain.as_deref());
        let mut out = csv::Writer::from_writer(Vec::new());
        let mut rows = vec![
            [
                "Id",
                "Account",
                "Date",
                "Action",
                "Description",
                "Value",
                "Final Balance",
            ]
            .map(String::from),
        ];
        rows.extend(view.history.iter().map(|(e, value, after)| {
            [
                e.id.to_string(),
                account.clone(),
                datetime(e.payment_time),
                action_name(&e.kind).to_string(),
                e.notes.clone(),
                format!("{value:.4}"),
                format!("{after:.4}"),
            ]
        }));
        for row in &rows {
            if out.write_record(row).is_err() {
                return outcome(false, "Error: cannot write CSV");
            }
        }
        let body = out.into_inner().unwrap_or_default();
        let mut r = (StatusCode::OK, body).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        r.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"balance_history.csv\""),
        );
        return r;
    }
    let items: Vec<Value> = view
        .history
        .iter()
        .map(|(e, value, after)| {
            json!({
                "date": datetime(e.payment_time),
                "action": action_name(&e.kind),
                "description": e.notes,
                "value": value,
                "balance": after,
            })
        })
        .collect();
    reply(StatusCode::OK, &json!(items))
}

/// The start of the current calendar month (UTC) in milliseconds.
fn month_start(now: i64) -> i64 {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(now.div_euclid(1000)) else {
        return 0;
    };
    t.replace_day(1)
        .map(|d| d.replace_time(time::Time::MIDNIGHT))
        .map_or(0, |d| d.unix_timestamp() * 1000)
}

pub async fn monthly_usage(call: &Call<'_>) -> Response {
    let core = &call.state.core;
    let now = core.now();
    match core
        .call_usage(&call.actor, call.subscriber_id, month_start(now), now + 1)
        .await
    {
        Ok((calls, price)) => reply(StatusCode::OK, &json!({ "calls": calls, "price": price })),
        Err(e) => core_error(&e),
    }
}

pub async fn add_balance(call: &Call<'_>) -> Response {
    let Some(id) = call
        .params
        .get("id")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return outcome(false, "Error: missing id");
    };
    let Some(number) = call
        .params
        .get("number")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return outcome(false, "Error: missing number");
    };
    let Ok(id) = id.parse::<i64>() else {
        return outcome(
            false,
            format!("Error: invalid id '{id}': give the card's number id"),
        );
    };
    match call
        .state
        .core
        .redeem_voucher(&call.actor, call.subscriber_id, id, number.to_string())
        .await
    {
        Ok(credit) => outcome(
            true,
            format!("The prepaid card has been added; the balance is now {credit:.2}"),
        ),
        Err(e) => core_error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_the_original_does() {
        assert_eq!(datetime(1_763_632_800_000), "2025-11-20 10:00:00");
        assert_eq!(month_start(1_763_632_800_000), 1_761_955_200_000);
    }
}

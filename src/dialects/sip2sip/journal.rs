//! The replication journal actions (notes B3): `put_journal_entries`, `get_journal_entries`,
//! `delete_journal_entries`, as Blink uses them. Timestamps go out as epoch integers (Blink
//! compares them as numbers); `after_timestamp` is taken as epoch seconds or as a
//! `YYYY-MM-DD hh:mm:ss` UTC time. The upstream bugs of notes B5 are not reproduced.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{Call, core_error, reply};
use crate::core::CoreError;
use crate::core::journal::{JournalPut, JournalQuery};

/// The source every entry reports (the original's only one).
const SOURCE: &str = "default";

/// `{"success": false, "error_message": message, "results": []}`: a refused put or read.
fn refused(message: impl Into<String>) -> Response {
    reply(
        StatusCode::OK,
        &json!({ "success": false, "error_message": message.into(), "results": [] }),
    )
}

/// A core refusal of a put, with the empty `results` of the original's error replies; storage
/// trouble stays the server's (503).
fn refused_by_core(e: &CoreError) -> Response {
    match e {
        CoreError::StorageFull
        | CoreError::Busy
        | CoreError::StorageFailed(_)
        | CoreError::Storage(_) => core_error(e),
        _ => refused(format!("Error: {e}")),
    }
}

/// A client's id for an entry: a string, or a number written as one.
fn client_id(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One entry of `data`: `{id, data, action}`; in the object form the key stands in for `id`.
fn entry(n: usize, key: Option<&str>, value: &Value) -> Result<JournalPut, String> {
    let Value::Object(fields) = value else {
        return Err(format!("Entry {n} is not an object"));
    };
    let id = client_id(fields.get("id"))
        .or_else(|| key.map(str::to_string))
        .ok_or_else(|| format!("Entry {n} has no id"))?;
    match fields
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("add")
    {
        "add" => match fields.get("data") {
            Some(Value::String(data)) => Ok(JournalPut::Add {
                client_id: id,
                data: data.clone(),
            }),
            Some(_) => Err(format!("Entry {id}: data must be a string")),
            None => Err(format!("Entry {id}: missing data")),
        },
        "remove" => Ok(JournalPut::Remove { client_id: id }),
        other => Err(format!(
            "Entry {id}: action must be add or remove, not '{}'",
            other.chars().take(20).collect::<String>()
        )),
    }
}

/// `data` as a list of entries: a JSON array, or an object keyed by message id (Blink).
fn entries(data: &str) -> Result<Vec<JournalPut>, String> {
    let value: Value = serde_json::from_str(data).map_err(|_| "Json decode error".to_string())?;
    match &value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(n, v)| entry(n, None, v))
            .collect(),
        Value::Object(map) => map
            .iter()
            .enumerate()
            .map(|(n, (k, v))| entry(n, Some(k), v))
            .collect(),
        _ => Err("data must be a JSON array or object".into()),
    }
}

pub async fn put(call: &Call<'_>) -> Response {
    let Some(uuid) = call.params.get("uuid").filter(|u| !u.is_empty()) else {
        return refused("Missing uuid");
    };
    let Some(data) = call.params.get("data").filter(|d| !d.is_empty()) else {
        return refused("Missing data");
    };
    let puts = match entries(data) {
        Ok(p) => p,
        Err(message) => return refused(message),
    };
    match call
        .state
        .core
        .put_journal_entries(&call.actor, call.subscriber_id, uuid.to_string(), puts)
        .await
    {
        Ok(results) => {
            let results: Vec<Value> = results
                .into_iter()
                .map(|r| {
                    json!({
                        "id": r.client_id,
                        "journal_id": r.journal_id.map_or_else(String::new, |j| j.to_string()),
                        "source": SOURCE,
                    })
                })
                .collect();
            reply(
                StatusCode::OK,
                &json!({ "results": results, "success": true }),
            )
        }
        Err(e) => refused_by_core(&e),
    }
}

/// An integer parameter, or Err naming it.
fn integer(call: &Call<'_>, name: &str) -> Result<Option<i64>, String> {
    call.params
        .get(name)
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| format!("Invalid {name}"))
        })
        .transpose()
}

/// `after_timestamp` as epoch seconds: a number, or `YYYY-MM-DD hh:mm:ss` in UTC.
fn after_timestamp(call: &Call<'_>) -> Result<Option<i64>, String> {
    let Some(raw) = call
        .params
        .get("after_timestamp")
        .map(str::trim)
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    if let Ok(secs) = raw.parse::<i64>() {
        return Ok(Some(secs));
    }
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::PrimitiveDateTime::parse(raw, &format)
        .map(|t| Some(t.assume_utc().unix_timestamp()))
        .map_err(|_| "Invalid after_timestamp: use epoch seconds or YYYY-MM-DD hh:mm:ss".into())
}

fn query(call: &Call<'_>) -> Result<JournalQuery, String> {
    let after_id = integer(call, "after_id")?;
    let limit = match integer(call, "limit")? {
        Some(l) if l < 1 => return Err("Invalid limit: at least 1".into()),
        Some(l) => Some(usize::try_from(l).unwrap_or(usize::MAX)),
        None => None,
    };
    Ok(JournalQuery {
        except_uuid: call
            .params
            .get("except_uuid")
            .filter(|u| !u.is_empty())
            .map(str::to_string),
        after_id,
        after_timestamp: after_timestamp(call)?,
        limit,
        summary: call
            .params
            .get("summary")
            .is_some_and(|s| s == "1" || s.eq_ignore_ascii_case("true")),
    })
}

pub async fn get(call: &Call<'_>) -> Response {
    let query = match query(call) {
        Ok(q) => q,
        Err(message) => return refused(message),
    };
    let page = match call
        .state
        .core
        .get_journal_entries(&call.actor, call.subscriber_id, query)
        .await
    {
        Ok(p) => p,
        Err(e) => return core_error(&e),
    };
    let account = call.actor.principal.audit_name();
    let results: Vec<Value> = page
        .entries
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "source": SOURCE,
                "timestamp": e.timestamp,
                "account": account,
                "uuid": e.uuid,
                "ip_address": e.ip_address,
                "data": e.data,
            })
        })
        .collect();
    let mut body = Map::new();
    body.insert("success".into(), json!(true));
    body.insert("error_message".into(), json!(""));
    body.insert("rows".into(), json!(results.len()));
    body.insert("results".into(), Value::Array(results));
    if let Some(summary) = page.summary {
        let summary: Vec<Value> = summary
            .into_iter()
            .map(|(id, timestamp)| json!({ "journal_id": id.to_string(), "timestamp": timestamp }))
            .collect();
        body.insert("summary".into(), Value::Array(summary));
    }
    reply(StatusCode::OK, &Value::Object(body))
}

/// Journal ids from `data` (a JSON list of ids, as strings or numbers) or `journal_id`.
fn journal_ids(call: &Call<'_>) -> Result<Vec<i64>, String> {
    let parse = |v: &Value| match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    if let Some(data) = call.params.get("data").filter(|d| !d.is_empty()) {
        let value: Value =
            serde_json::from_str(data).map_err(|_| "Json decode error".to_string())?;
        let Value::Array(items) = value else {
            return Err("data must be a JSON list of journal ids".into());
        };
        return items
            .iter()
            .map(|v| parse(v).ok_or_else(|| format!("Invalid journal id {v}")))
            .collect();
    }
    match call.params.get("journal_id").filter(|j| !j.is_empty()) {
        Some(id) => parse(&json!(id))
            .map(|id| vec![id])
            .ok_or_else(|| "Invalid journal_id".to_string()),
        None => Err("Missing data".into()),
    }
}

pub async fn delete(call: &Call<'_>) -> Response {
    let ids = match journal_ids(call) {
        Ok(ids) => ids,
        Err(message) => {
            return reply(
                StatusCode::OK,
                &json!({ "success": false, "error_message": message }),
            );
        }
    };
    match call
        .state
        .core
        .delete_journal_entries(&call.actor, call.subscriber_id, ids)
        .await
    {
        Ok(_) => reply(StatusCode::OK, &json!({ "success": true })),
        Err(e) => core_error(&e),
    }
}

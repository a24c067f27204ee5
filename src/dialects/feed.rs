//! `POST /feed/cdrs` and `POST /feed/registrations`: the proxy and registrar (or whatever collects
//! their records) push call records and registrations, as an admin API login. The body is one
//! JSON object or an array of them; a bad row is answered 400 with its array index, and nothing
//! of that batch is written.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::auth::{AuthOutcome, RequestMeta};
use crate::core::CoreError;
use crate::core::calls::Fed;
use crate::server::{AppState, ConnInfo};

const DIALECT: &str = "feed";
/// The feeds served under `/feed/`.
const KINDS: [&str; 2] = ["cdrs", "registrations"];

/// `POST /feed/{kind}` for each of [`KINDS`].
pub fn routes() -> Vec<crate::dialects::RouteSpec> {
    KINDS
        .iter()
        .map(|kind| crate::dialects::RouteSpec::new(DIALECT, "POST", format!("/feed/{kind}"), true))
        .collect()
}

fn answer(status: StatusCode, value: &Value) -> Response {
    let mut r = (status, value.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    answer(
        status,
        &json!({ "code": status.as_u16(), "message": message.into() }),
    )
}

fn core_error(e: &CoreError) -> Response {
    let status = match e {
        CoreError::Forbidden(_) | CoreError::ReadOnly => StatusCode::FORBIDDEN,
        CoreError::NotFound(_) | CoreError::OutOfScope(_) => StatusCode::NOT_FOUND,
        // 507 Insufficient Storage: the batch was not stored for want of disk space.
        CoreError::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
        CoreError::Busy | CoreError::StorageFailed(_) | CoreError::Storage(_) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::BAD_REQUEST,
    };
    error(status, e.to_string())
}

/// The rows of a body: one object or an array of objects, each read as `T` and named by its
/// array index.
pub fn rows<T: DeserializeOwned>(body: &[u8]) -> Result<Vec<Fed<T>>, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let items = match value {
        Value::Array(items) => items,
        object @ Value::Object(_) => vec![object],
        _ => return Err("the body must be a JSON object or an array of objects".into()),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let place = format!("item {i}");
            serde_json::from_value(item)
                .map(|row| Fed {
                    place: place.clone(),
                    row,
                })
                .map_err(|e| format!("{place}: {e}"))
        })
        .collect()
}

pub async fn endpoint(
    State(state): State<Arc<AppState>>,
    Extension(conn): Extension<ConnInfo>,
    Path(kind): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let meta = RequestMeta::from_http(&conn, &method, &uri, &headers, !body.is_empty());
    let (principal, auth_method) = match state.auth.authenticate(&meta, DIALECT, false).await {
        AuthOutcome::Authenticated {
            principal,
            auth_method,
        } => (principal, auth_method),
        AuthOutcome::Challenge { stale } => {
            let mut r = error(StatusCode::UNAUTHORIZED, "authentication required");
            super::add_challenges(&mut r, state.auth.challenges(stale));
            return r;
        }
        AuthOutcome::Refused { reason } => return error(StatusCode::FORBIDDEN, reason),
        AuthOutcome::Throttled { retry_after_secs } => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many failed logins from your address; retry in {retry_after_secs} s"),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            return r;
        }
    };
    if !KINDS.contains(&kind.as_str()) {
        return error(
            StatusCode::NOT_FOUND,
            "no such feed: use /feed/cdrs or /feed/registrations",
        );
    }
    if method != Method::POST {
        let mut r = error(StatusCode::METHOD_NOT_ALLOWED, "use POST");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|t| {
            t.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !json_body {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the rows as application/json",
        );
    }
    let mut actor = meta.actor(principal, auth_method, DIALECT);
    actor.method = format!("POST /feed/{kind}");
    if kind == "cdrs" {
        let rows = match rows(&body) {
            Ok(r) => r,
            Err(message) => return error(StatusCode::BAD_REQUEST, message),
        };
        match state.core.import_cdrs(&actor, rows).await {
            Ok(s) => answer(
                StatusCode::OK,
                &json!({ "received": s.received, "inserted": s.inserted }),
            ),
            Err(e) => core_error(&e),
        }
    } else {
        let rows = match rows(&body) {
            Ok(r) => r,
            Err(message) => return error(StatusCode::BAD_REQUEST, message),
        };
        match state.core.push_registrations(&actor, rows).await {
            Ok(n) => answer(StatusCode::OK, &json!({ "received": n })),
            Err(e) => core_error(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::calls::RegistrationInput;

    #[test]
    fn a_body_is_one_object_or_an_array_and_bad_rows_are_named_by_index() {
        let one = br#"{"account":"a@b","contact":"sip:a@1.2.3.4","expires":60}"#;
        let parsed: Vec<Fed<RegistrationInput>> = rows(one).unwrap();
        assert_eq!((parsed.len(), parsed[0].place.as_str()), (1, "item 0"));
        let two =
            br#"[{"account":"a@b","contact":"c","expires":1},{"account":"a@b","contact":"c"}]"#;
        let err = rows::<RegistrationInput>(two).unwrap_err();
        assert!(
            err.starts_with("item 1: ") && err.contains("expires"),
            "{err}"
        );
        assert!(
            rows::<RegistrationInput>(b"42")
                .unwrap_err()
                .contains("object")
        );
        assert!(
            rows::<RegistrationInput>(b"{")
                .unwrap_err()
                .contains("not JSON")
        );
    }
}

//! Sippy-style XML-RPC at `POST /xmlapi/xmlapi` (seeds 000 and 003, notes/sippy.md): a thin
//! translation. It authenticates through [`crate::auth`], parses with [`codec`], calls the core
//! through [`methods`], and answers every outcome of a call as an XML-RPC response or fault over
//! HTTP 200; other HTTP statuses only for transport (401, 405, 413).

pub mod codec;
pub mod convert;
pub mod methods;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::auth::{AuthOutcome, RequestMeta};
use crate::core::actor::AuditInfo;
use crate::server::{AppState, ConnInfo};
use codec::{INVALID_PARAMS, METHOD_NOT_FOUND, ParseFault as Fault, Value};
use convert::Args;
use methods::{Ctx, METHODS};

const DIALECT: &str = "xmlrpc";

fn xml(body: String) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"))],
        body,
    )
        .into_response()
}

fn fault_response(f: &Fault) -> Response {
    xml(codec::render_fault(f.code, &f.message))
}

/// The `/xmlapi/xmlapi` endpoint.
pub async fn endpoint(
    State(state): State<Arc<AppState>>,
    Extension(conn): Extension<ConnInfo>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::POST {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "POST")],
            "XML-RPC calls are made with POST\n",
        )
            .into_response();
    }
    let meta = RequestMeta::from_http(&conn, &method, &uri, &headers, !body.is_empty());
    let (principal, auth_method) = match state.auth.authenticate(&meta, DIALECT, true).await {
        AuthOutcome::Authenticated {
            principal,
            auth_method,
        } => (principal, auth_method),
        AuthOutcome::Challenge { stale } => return challenge(&state, stale),
        AuthOutcome::Refused { reason } => return fault_response(&Fault::new(403, reason)),
        AuthOutcome::Throttled { retry_after_secs } => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, retry_after_secs.to_string())],
                format!(
                    "too many failed logins from your address; retry in {retry_after_secs} s\n"
                ),
            )
                .into_response();
        }
    };
    // Small bodies parse in microseconds; large ones go to a blocking thread.
    let parsed = if body.len() > LARGE_BODY {
        let limits = state.xml_limits;
        tokio::task::spawn_blocking(move || codec::parse_method_call(&body, &limits))
            .await
            .unwrap_or_else(|_| {
                Err(Fault::new(
                    codec::INTERNAL_ERROR,
                    "the request could not be parsed",
                ))
            })
    } else {
        codec::parse_method_call(&body, &state.xml_limits)
    };
    let call = match parsed {
        Ok(call) => call,
        Err(f) => return fault_response(&f),
    };
    let actor = meta.actor(principal, auth_method, DIALECT);
    let ctx = Ctx {
        core: &state.core,
        actor,
    };
    match call_method(&ctx, &call.method, call.params, true).await {
        Ok(value) if is_large(&value) => {
            let rendered =
                tokio::task::spawn_blocking(move || codec::render_response(&value)).await;
            match rendered {
                Ok(body) => xml(body),
                Err(_) => fault_response(&Fault::new(
                    codec::INTERNAL_ERROR,
                    "the reply could not be rendered",
                )),
            }
        }
        Ok(value) => xml(codec::render_response(&value)),
        Err(f) => fault_response(&f),
    }
}

/// Bodies above this many bytes are parsed on a blocking thread.
const LARGE_BODY: usize = 64 * 1024;

/// Whether a reply holds a long list (a list call's page, a multicall), worth rendering on a
/// blocking thread.
fn is_large(value: &Value) -> bool {
    const LONG: usize = 200;
    match value {
        Value::Array(items) => items.len() > LONG,
        Value::Struct(members) => members
            .values()
            .any(|v| matches!(v, Value::Array(a) if a.len() > LONG)),
        _ => false,
    }
}

fn challenge(state: &AppState, is_stale: bool) -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        "authentication required: HTTP Digest with the Web Login and API Password\n",
    )
        .into_response();
    crate::dialects::add_challenges(&mut response, state.auth.challenges(is_stale));
    response
}

/// Runs one call: a `system.*` method or a Sippy method.
async fn call_method(
    ctx: &Ctx<'_>,
    name: &str,
    params: Vec<Value>,
    top_level: bool,
) -> Result<Value, Fault> {
    match name {
        "system.listMethods" => {
            let mut names: Vec<Value> = METHODS.iter().map(|m| Value::Str(m.name.into())).collect();
            names.extend(SYSTEM_METHODS.iter().map(|(n, _)| Value::Str((*n).into())));
            Ok(Value::Array(names))
        }
        "system.methodHelp" => {
            let wanted = single_string(name, &params)?;
            METHODS
                .iter()
                .map(|m| (m.name, m.help))
                .chain(SYSTEM_METHODS.iter().copied())
                .find(|(n, _)| *n == wanted)
                .map(|(_, help)| Value::Str(help.into()))
                .ok_or_else(|| not_supported(&wanted))
        }
        "system.methodSignature" => {
            let wanted = single_string(name, &params)?;
            if METHODS.iter().any(|m| m.name == wanted) {
                let sig = vec![Value::Str("struct".into()), Value::Str("struct".into())];
                Ok(Value::Array(vec![Value::Array(sig)]))
            } else if SYSTEM_METHODS.iter().any(|(n, _)| *n == wanted) {
                Ok(Value::Str("undef".into()))
            } else {
                Err(not_supported(&wanted))
            }
        }
        "system.getCapabilities" => Ok(capabilities()),
        "system.multicall" if top_level => multicall(ctx, params).await,
        "system.multicall" => Err(Fault::new(
            INVALID_PARAMS,
            "system.multicall cannot be nested",
        )),
        _ => {
            let mut args = Args::from_params(name, params)?;
            let audit_info = parse_audit_info(args.take("audit_info"))?;
            let mut actor = ctx.actor.clone();
            actor.method = name.to_string();
            actor.apply_audit_info(audit_info);
            let inner = Ctx {
                core: ctx.core,
                actor,
            };
            methods::dispatch(&inner, name, args).await
        }
    }
}

const SYSTEM_METHODS: &[(&str, &str)] = &[
    (
        "system.listMethods",
        "The names of every method this server serves.",
    ),
    ("system.methodHelp", "The help text of the named method."),
    (
        "system.methodSignature",
        "The signatures of the named method.",
    ),
    (
        "system.multicall",
        "Run several calls in one request; each is its own transaction.",
    ),
    (
        "system.getCapabilities",
        "The XML-RPC specifications this server follows.",
    ),
];

/// The fault for a method this server does not serve.
pub fn not_supported(method: &str) -> Fault {
    Fault::new(
        METHOD_NOT_FOUND,
        format!("method '{method}' is not supported"),
    )
}

fn single_string(method: &str, params: &[Value]) -> Result<String, Fault> {
    match params {
        [Value::Str(s)] => Ok(s.clone()),
        _ => Err(Fault::new(
            INVALID_PARAMS,
            format!("{method} takes one string parameter"),
        )),
    }
}

fn capabilities() -> Value {
    let spec = |url: &str, version: i64| {
        Value::Struct(BTreeMap::from([
            ("specUrl".into(), Value::Str(url.into())),
            ("specVersion".into(), Value::Int(version)),
        ]))
    };
    Value::Struct(BTreeMap::from([
        ("xmlrpc".into(), spec("http://www.xmlrpc.com/spec", 1)),
        (
            "faults_interop".into(),
            spec(
                "http://xmlrpc-epi.sourceforge.net/specs/rfc.fault_codes.php",
                20_010_516,
            ),
        ),
        (
            "system.multicall".into(),
            spec("http://www.xmlrpc.com/discuss/msgReader$1208", 1),
        ),
        (
            "nil".into(),
            spec("http://ontosys.com/xml-rpc/extensions.php", 20_010_518),
        ),
    ]))
}

/// `system.multicall`: success is a one-element array, failure a fault struct, in order.
async fn multicall(ctx: &Ctx<'_>, params: Vec<Value>) -> Result<Value, Fault> {
    const MAX_CALLS: usize = 1000;
    let Some(Value::Array(calls)) = params.into_iter().next() else {
        return Err(Fault::new(
            INVALID_PARAMS,
            "system.multicall takes one array of calls",
        ));
    };

    if calls.len() > MAX_CALLS {
        return Err(Fault::new(
            INVALID_PARAMS,
            format!("at most {MAX_CALLS} calls per multicall"),
        ));
    }
    let mut results = Vec::with_capacity(calls.len());
    for call in calls {
        let outcome = match call {
            Value::Struct(mut s) => match (s.remove("methodName"), s.remove("params")) {
                (Some(Value::Str(name)), Some(Value::Array(params))) => {
                    Box::pin(call_method(ctx, &name, params, false)).await
                }
                (Some(Value::Str(name)), None) => {
                    Box::pin(call_method(ctx, &name, Vec::new(), false)).await
                }
                _ => Err(Fault::new(
                    INVALID_PARAMS,
                    "each call needs methodName (string) and params (array)",
                )),
            },
            other => Err(Fault::new(
                INVALID_PARAMS,
                format!("each call is a struct, got {}", other.type_name()),
            )),
        };
        results.push(match outcome {
            Ok(value) => Value::Array(vec![value]),
            Err(f) => Value::Struct(BTreeMap::from([
                ("faultCode".into(), Value::Int(i64::from(f.code))),
                ("faultString".into(), Value::Str(f.message)),
            ])),
        });
    }
    Ok(Value::Array(results))
}

/// Reads `audit_info` (`user_ip`, `user_agent`, `action_by`, each an optional string).
fn parse_audit_info(info: Option<Value>) -> Result<AuditInfo, Fault> {
    let Some(info) = info else {
        return Ok(AuditInfo::default());
    };
    let Value::Struct(mut info) = info else {
        return Err(convert::bad_param("audit_info", "expected a struct"));
    };
    let mut text = |name: &str| -> Result<Option<String>, Fault> {
        match info.remove(name) {
            None | Some(Value::Nil) => Ok(None),
            Some(Value::Str(s)) if s.len() <= 256 => Ok(Some(s)),
            Some(_) => Err(convert::bad_param(
                &format!("audit_info.{name}"),
                "expected a string up to 256 bytes",
            )),
        }
    };
    let parsed = AuditInfo {
        user_ip: text("user_ip")?,
        user_agent: text("user_agent")?,
        action_by: text("action_by")?,
    };
    if let Some(extra) = info.keys().next() {
        return Err(convert::bad_param(
            &format!("audit_info.{extra}"),
            "unknown member",
        ));
    }
    Ok(parsed)
}

/// The methods this dialect serves, from `methods::METHODS` and the `system.*` table.
/// `system.multicall` changes nothing by itself: each sub-call is the route it names.
pub fn routes() -> Vec<crate::dialects::RouteSpec> {
    METHODS
        .iter()
        .map(|m| crate::dialects::RouteSpec::new(DIALECT, "CALL", m.name, m.mutates))
        .chain(
            SYSTEM_METHODS
                .iter()
                .map(|(name, _)| crate::dialects::RouteSpec::new(DIALECT, "CALL", *name, false)),
        )
        .collect()
}

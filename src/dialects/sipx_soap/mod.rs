//! sipXconfig-style SOAP at `/sipxconfig/services/{Port}` (notes/sipx_sip2sip.md A5): SOAP 1.1,
//! document/literal, one WSDL for every port at `?wsdl`. A thin translation: requests are checked
//! against the WSDL ([`schema`]), handlers ([`users`], [`phones`], [`features`]) turn them into core calls, answers are
//! checked against the WSDL again before they are written ([`envelope`]). Every failure is a SOAP
//! fault over HTTP 500: `soap:Client` for the caller's mistakes, `soap:Server` otherwise.

pub mod envelope;
pub mod features;
pub mod phones;
pub mod schema;
pub mod users;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::auth::{AuthOutcome, RequestMeta};
use crate::core::CoreError;
use crate::core::actor::Actor;
use crate::server::{AppState, ConnInfo};
use envelope::{Element, Fault, Limits};
use schema::SCHEMA;

const DIALECT: &str = "sipx-soap";
/// Bodies above this many bytes are parsed on a blocking thread.
const LARGE_BODY: usize = 64 * 1024;

fn xml(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/xml; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

fn fault_response(fault: &Fault) -> Response {
    xml(
        StatusCode::INTERNAL_SERVER_ERROR,
        envelope::write_fault(fault),
    )
}

/// A core refusal as a SOAP fault: the caller's mistakes are `soap:Client`; storage trouble,
/// a full disk included, is `soap:Server` (SOAP 1.1 has no finer code) with the core's message.
pub fn core_fault(e: &CoreError) -> Fault {
    match e {
        CoreError::StorageFull
        | CoreError::Busy
        | CoreError::StorageFailed(_)
        | CoreError::Storage(_) => Fault::server(e.to_string()),
        _ => Fault::client(e.to_string()),
    }
}

/// The WSDL with its addresses pointing where it was fetched from.
fn wsdl(conn: &ConnInfo, headers: &HeaderMap) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
        })
        .map_or_else(|| conn.local.to_string(), str::to_string);
    let scheme = if conn.tls { "https" } else { "http" };
    let body = schema::WSDL.replace(
        "SOAP_ADDRESS",
        &format!("{scheme}://{host}/sipxconfig/services"),
    );
    xml(StatusCode::OK, body)
}

/// `/sipxconfig/services/{port}`.
pub async fn endpoint(
    State(state): State<Arc<AppState>>,
    Extension(conn): Extension<ConnInfo>,
    Path(port): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !SCHEMA.has_port(&port) {
        return (
            StatusCode::NOT_FOUND,
            format!(
                "no SOAP service '{port}' here; services: UserService, PhoneService, \
                 PermissionService, CallGroupService, ParkOrbitService, SystemService\n"
            ),
        )
            .into_response();
    }
    let asks_wsdl = uri
        .query()
        .is_some_and(|q| q.split('&').any(|p| p.eq_ignore_ascii_case("wsdl")));
    if method == Method::GET && asks_wsdl {
        return wsdl(&conn, &headers);
    }
    if method != Method::POST {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "POST")],
            "SOAP calls are made with POST; the WSDL is at ?wsdl\n",
        )
            .into_response();
    }
    let meta = RequestMeta::from_http(&conn, &method, &uri, &headers, !body.is_empty());
    let actor = match state.auth.authenticate(&meta, DIALECT, false).await {
        AuthOutcome::Authenticated {
            principal,
            auth_method,
        } => meta.actor(principal, auth_method, DIALECT),
        AuthOutcome::Challenge { stale } => return challenge(&state, stale),
        AuthOutcome::Refused { reason } => return fault_response(&Fault::client(reason)),
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
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/xml");
    if !content_type.to_ascii_lowercase().contains("xml") {
        return fault_response(&Fault::client(format!(
            "Content-Type '{content_type}' is not XML; send text/xml"
        )));
    }
    let limits = Limits::default();
    let parsed = if body.len() > LARGE_BODY {
        tokio::task::spawn_blocking(move || envelope::parse_request(&body, &limits))
            .await
            .unwrap_or_else(|_| Err(Fault::server("the request could not be parsed")))
    } else {
        envelope::parse_request(&body, &limits)
    };
    let request = match parsed {
        Ok(r) => r,
        Err(f) => return fault_response(&f),
    };
    match call(&state, actor, &port, &request).await {
        Ok(answer) => xml(StatusCode::OK, envelope::write_response(answer.as_ref())),
        Err(f) => fault_response(&f),
    }
}

fn challenge(state: &AppState, is_stale: bool) -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        "authentication required: HTTP Digest, or Basic over HTTPS, with an API login\n",
    )
        .into_response();
    crate::dialects::add_challenges(&mut response, state.auth.challenges(is_stale));
    response
}

/// Finds the operation, checks the request and the answer against the WSDL, runs the handler.
async fn call(
    state: &AppState,
    mut actor: Actor,
    port: &str,
    request: &Element,
) -> Result<Option<Element>, Fault> {
    let Some(op) = SCHEMA.operation(port, request) else {
        let elsewhere = SCHEMA
            .operations
            .iter()
            .find(|o| request.ns.as_deref() == Some(schema::NS) && o.input == request.name);
        return Err(Fault::client(match elsewhere {
            Some(o) => format!(
                "{} is an operation of {}, not of {port}",
                request.name, o.port
            ),
            None => format!(
                "{} is not an operation of {port}; see {port}?wsdl",
                request.qualified()
            ),
        }));
    };
    SCHEMA.validate(request).map_err(Fault::client)?;
    actor.method = format!("{port}.{}", op.name);
    let view = SCHEMA.view(request);
    let core = &state.core;
    let answer = match op.name.as_str() {
        "addUser" => users::add_user(core, &actor, view).await,
        "findUser" => users::find_user(core, &actor, view).await,
        "manageUser" => users::manage_user(core, &actor, view).await,
        "systemInfo" => users::system_info(core, &actor).await,
        "addPhone" => phones::add_phone(core, &actor, view).await,
        "findPhone" => phones::find_phone(core, &actor, view).await,
        "managePhone" => phones::manage_phone(core, &actor, view).await,
        "addCallGroup" => features::add_call_group(core, &actor, view).await,
        "getCallGroups" => features::get_call_groups(core, &actor).await,
        "manageCallGroup" => features::manage_call_group(core, &actor, view).await,
        "addParkOrbit" => features::add_park_orbit(core, &actor, view).await,
        "getParkOrbits" => features::get_park_orbits(core, &actor).await,
        "addPermission" => features::add_permission(core, &actor, view).await,
        "findPermission" => features::find_permission(core, &actor, view).await,
        "managePermission" => features::manage_permission(core, &actor, view).await,
        other => Err(Fault::server(format!("operation {other} has no handler"))),
    }?;
    let expected = op.output.as_deref();
    match (&answer, expected) {
        (Some(a), Some(name)) if a.name == name => {
            SCHEMA.validate(a).map_err(|e| {
                tracing::error!(error = %e, operation = %op.name, "answer does not match the WSDL");
                Fault::server("the answer could not be rendered")
            })?;
        }
        (None, None) => {}
        _ => {
            tracing::error!(operation = %op.name, "answer element does not match the WSDL");
            return Err(Fault::server("the answer could not be rendered"));
        }
    }
    Ok(answer)
}

/// Every operation of every port, from the WSDL the dispatcher reads (`schema::SCHEMA`), and
/// the WSDL itself. sipXconfig's names say what changes: `add*` and `manage*` write, `find*`,
/// `get*` and `systemInfo` read.
pub fn routes() -> Vec<crate::dialects::RouteSpec> {
    use crate::dialects::RouteSpec;
    let mut out = vec![RouteSpec::new(
        DIALECT,
        "GET",
        "/sipxconfig/services/{port}?wsdl",
        false,
    )];
    out.extend(SCHEMA.operations.iter().map(|op| {
        let mutates = op.name.starts_with("add") || op.name.starts_with("manage");
        RouteSpec::new(DIALECT, "CALL", format!("{}.{}", op.port, op.name), mutates)
    }));
    out
}

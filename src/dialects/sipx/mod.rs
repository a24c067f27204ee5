//! sipXconfig-style REST at `/sipxconfig/rest/` (seed 001, notes/sipx_sip2sip.md part A): a
//! subscriber's own forwarding, contact details, phonebook, conferences, click-to-call and
//! credentials under `my/...` (also `private/{key}/...` and `call/{to}`), and the admin's
//! phonebooks. A thin translation: it authenticates through [`crate::auth`], reads paths and
//! bodies, calls the core, and renders the answer as XML, JSON or CSV. No SQL, no permission
//! decision, no audit write here.

mod auth;
mod call;
mod conferences;
mod contact;
mod credentials;
mod forward;
mod phonebook;
pub mod phonebook_csv;
pub mod repr;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::auth::RequestMeta;
use crate::core::CoreError;
use crate::core::actor::Actor;
use crate::server::{AppState, ConnInfo};
use repr::{Doc, Media};

const DIALECT: &str = "sipx";
/// Where the dialect is mounted.
pub const PREFIX: &str = "/sipxconfig/rest/";

/// An answer that is not a document: a status and a message for people.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

impl Refusal {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }
}

impl From<CoreError> for Refusal {
    /// The core's refusal with seed 001's status codes (502 for a data store failure).
    fn from(e: CoreError) -> Self {
        let status = match &e {
            CoreError::Missing(_) | CoreError::Invalid { .. } | CoreError::Unprocessable(_) => {
                StatusCode::BAD_REQUEST
            }
            CoreError::NotFound(_) | CoreError::OutOfScope(_) => StatusCode::NOT_FOUND,
            CoreError::ReadOnly | CoreError::Forbidden(_) => StatusCode::FORBIDDEN,
            CoreError::Duplicate(_) | CoreError::Conflict(_) | CoreError::InUse(_) => {
                StatusCode::CONFLICT
            }
            CoreError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            // A full disk is told apart from a failing store: 507 Insufficient Storage.
            CoreError::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            CoreError::StorageFailed(_) | CoreError::Storage(_) => StatusCode::BAD_GATEWAY,
        };
        Self::new(status, e.to_string())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = (self.status, format!("{}\n", self.message)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=UTF-8"),
        );
        response
    }
}

pub type Answer = Result<Response, Refusal>;

/// A document as the negotiated media type.
pub fn document(media: Media, doc: &Doc) -> Response {
    let mut response = (StatusCode::OK, doc.render(media)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
    response
}

/// A change that answers nothing but success.
pub fn done() -> Response {
    StatusCode::OK.into_response()
}

/// One authenticated request of a subscriber on itself.
pub struct Mine<'a> {
    pub state: &'a AppState,
    pub actor: Actor,
    pub subscriber_id: i64,
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    pub query: Option<&'a str>,
    pub body: &'a Bytes,
}

impl Mine<'_> {
    pub fn accept(&self, offered: &[Media]) -> Result<Media, Refusal> {
        let accept = self
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok());
        repr::negotiate(accept, offered).map_err(|m| Refusal::new(StatusCode::NOT_ACCEPTABLE, m))
    }

    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
    }

    /// The body's root content, if the root is one of `roots`.
    pub fn parse(&self, roots: &[&str]) -> Result<serde_json::Value, Refusal> {
        if repr::is_dummy_body(self.body) {
            return Err(Refusal::bad_request(format!(
                "this request needs a body: a '{}' document in XML or JSON",
                roots[0]
            )));
        }
        repr::parse_body(self.body, self.content_type(), roots).map_err(Refusal::bad_request)
    }
}

fn method_not_allowed(allowed: &str) -> Response {
    let mut response = Refusal::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method not allowed here; use {allowed}"),
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(allowed) {
        response.headers_mut().insert(header::ALLOW, v);
    }
    response
}

/// Splits the path below [`PREFIX`] into decoded segments (an empty last segment, from a
/// trailing slash as in the seed's `my/forward/`, is dropped).
fn segments(path: &str) -> Result<Vec<String>, Refusal> {
    let rest = path.strip_prefix(PREFIX).unwrap_or_default();
    rest.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(std::borrow::Cow::into_owned)
                .map_err(|_| Refusal::bad_request("the path is not UTF-8"))
        })
        .collect()
}

/// Routes whose last segment is a secret (a new PIN or password).
const SECRET_ROUTES: [&str; 2] = ["voicemail/pin/", "portal/password/"];

/// A path as it may be logged or audited: secrets in it (a new PIN in the path, a private user
/// key) replaced by `***`.
pub fn redacted(path: &str) -> std::borrow::Cow<'_, str> {
    let mut out = std::borrow::Cow::Borrowed(path);
    if let Some(at) = path.find("/private/").map(|i| i + "/private/".len()) {
        let end = path[at..].find('/').map_or(path.len(), |i| at + i);
        out = std::borrow::Cow::Owned(format!("{}***{}", &path[..at], &path[end..]));
    }
    for route in SECRET_ROUTES {
        if let Some(at) = out.find(route).map(|i| i + route.len()) {
            out = std::borrow::Cow::Owned(format!("{}***", &out[..at]));
        }
    }
    out
}

pub async fn endpoint(
    State(state): State<Arc<AppState>>,
    Extension(conn): Extension<ConnInfo>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut meta = RequestMeta::from_http(&conn, &method, &uri, &headers, !body.is_empty());
    // A failed authentication is audited with the path: never with a new PIN or a key in it.
    meta.audit_uri = redacted(&meta.audit_uri).into_owned();
    let answer = match segments(uri.path()) {
        Ok(path) => route(&state, &meta, &method, &uri, &headers, &body, path).await,
        Err(refusal) => Err(refusal),
    };
    answer.unwrap_or_else(IntoResponse::into_response)
}

async fn route(
    state: &AppState,
    meta: &RequestMeta,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    path: Vec<String>,
) -> Answer {
    let segs: Vec<&str> = path.iter().map(String::as_str).collect();
    let (who, rest): (auth::Subscriber, Vec<&str>) = match segs.as_slice() {
        ["my", rest @ ..] => match auth::subscriber(state, meta).await {
            Ok(who) => (who, rest.to_vec()),
            Err(response) => return Ok(response),
        },
        ["call", to] => match auth::subscriber(state, meta).await {
            Ok(who) => (who, vec!["call", to]),
            Err(response) => return Ok(response),
        },
        ["private", key, rest @ ..] => match auth::private_key(state, meta, key).await {
            Ok(who) => (who, rest.to_vec()),
            Err(response) => return Ok(response),
        },
        ["phonebook", rest @ ..] if rest.len() <= 1 => {
            return admin_route(state, meta, method, headers, rest.first().copied()).await;
        }
        _ => return Err(Refusal::not_found(&format!("resource {}", uri.path()))),
    };
    let mut actor = who.actor;
    actor.method = format!("{method} {}", redacted(&rest.join("/")));
    let mine = Mine {
        state,
        actor,
        subscriber_id: who.subscriber_id,
        method,
        headers,
        query: uri.query(),
        body,
    };
    my_route(&mine, &rest).await
}

/// The admin routes: `phonebook` and `phonebook/{name}`, GET only.
async fn admin_route(
    state: &AppState,
    meta: &RequestMeta,
    method: &Method,
    headers: &HeaderMap,
    name: Option<&str>,
) -> Answer {
    let mut actor = match auth::admin(state, meta).await {
        Ok(actor) => actor,
        Err(response) => return Ok(response),
    };
    actor.method = format!(
        "{method} phonebook{}",
        name.map(|n| format!("/{n}")).unwrap_or_default()
    );
    if *method != Method::GET && *method != Method::HEAD {
        return Ok(method_not_allowed("GET"));
    }
    match name {
        None => phonebook::list(state, &actor, headers).await,
        Some(name) => phonebook::get_shared(state, &actor, headers, name).await,
    }
}

/// What a `my/...` route runs; [`MY_ROUTES`] names each one.
#[derive(Clone, Copy)]
enum Handler {
    GetForward,
    PutForward,
    GetCallfwd,
    PutCallfwd,
    GetContact,
    PutContact,
    PutVoicemailPin,
    PutPortalPassword,
    GetLoginDetails,
    GetPhonebook,
    AddPhonebookEntry,
    DeletePhonebook,
    GetPhonebookEntry,
    UpdatePhonebookEntry,
    DeletePhonebookEntry,
    GetPagedPhonebook,
    SearchPhonebook,
    Call,
    ListConferences,
    GetConference,
    PutConference,
    GetConferenceDetails,
}

/// One subscriber route below `my/` (and `private/{key}/`; `call/{to}` too): a pattern whose
/// `{…}` segment is a parameter, the methods it answers (GET also answers HEAD), and what it
/// runs. The first route matching path and method wins; a path matching with another method is
/// answered 405 with the methods of every route of that pattern, in table order.
struct MyRoute {
    pattern: &'static str,
    methods: &'static [&'static str],
    handler: Handler,
}

const fn my(pattern: &'static str, methods: &'static [&'static str], handler: Handler) -> MyRoute {
    MyRoute {
        pattern,
        methods,
        handler,
    }
}

const MY_ROUTES: &[MyRoute] = &[
    my("forward", &["GET"], Handler::GetForward),
    my("forward", &["PUT"], Handler::PutForward),
    my("callfwd", &["GET"], Handler::GetCallfwd),
    my("callfwd", &["PUT"], Handler::PutCallfwd),
    my("contact-information", &["GET"], Handler::GetContact),
    my("contact-information", &["PUT"], Handler::PutContact),
    my("voicemail/pin/{pin}", &["PUT"], Handler::PutVoicemailPin),
    my(
        "portal/password/{password}",
        &["PUT"],
        Handler::PutPortalPassword,
    ),
    my("logindetails", &["GET"], Handler::GetLoginDetails),
    my("phonebook", &["GET"], Handler::GetPhonebook),
    my("phonebook", &["POST"], Handler::AddPhonebookEntry),
    my("phonebook", &["DELETE"], Handler::DeletePhonebook),
    my("phonebook/entry/{id}", &["GET"], Handler::GetPhonebookEntry),
    my(
        "phonebook/entry/{id}",
        &["POST", "PUT"],
        Handler::UpdatePhonebookEntry,
    ),
    my(
        "phonebook/entry/{id}",
        &["DELETE"],
        Handler::DeletePhonebookEntry,
    ),
    my("pagedphonebook", &["GET"], Handler::GetPagedPhonebook),
    my("search/phonebook", &["GET"], Handler::SearchPhonebook),
    my("call/{to}", &["PUT"], Handler::Call),
    my("conferences", &["GET"], Handler::ListConferences),
    my("conferences/{name}", &["GET"], Handler::GetConference),
    my("conferences/{name}", &["PUT"], Handler::PutConference),
    my(
        "conferencedetails/{name}",
        &["GET"],
        Handler::GetConferenceDetails,
    ),
];

/// The path's parameter if `path` matches `pattern` (`Some("")` when the pattern has none).
fn match_pattern<'a>(pattern: &str, path: &[&'a str]) -> Option<&'a str> {
    let parts: Vec<&str> = pattern.split('/').collect();
    if parts.len() != path.len() {
        return None;
    }
    let mut param = "";
    for (part, seg) in parts.iter().zip(path) {
        if part.starts_with('{') {
            param = seg;
        } else if part != seg {
            return None;
        }
    }
    Some(param)
}

fn answers(route: &MyRoute, method: &Method) -> bool {
    let method = if *method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    route.methods.contains(&method)
}

async fn my_route(mine: &Mine<'_>, rest: &[&str]) -> Answer {
    let mut allowed: Vec<&str> = Vec::new();
    for route in MY_ROUTES {
        let Some(param) = match_pattern(route.pattern, rest) else {
            continue;
        };
        if answers(route, mine.method) {
            return run(mine, route.handler, param).await;
        }
        allowed.extend(route.methods);
    }
    if allowed.is_empty() {
        return Err(Refusal::not_found(&format!(
            "resource my/{}",
            rest.join("/")
        )));
    }
    Ok(method_not_allowed(&allowed.join(", ")))
}

async fn run(mine: &Mine<'_>, handler: Handler, param: &str) -> Answer {
    match handler {
        Handler::GetForward => forward::get_forward(mine).await,
        Handler::PutForward => forward::put_forward(mine).await,
        Handler::GetCallfwd => forward::get_callfwd(mine).await,
        Handler::PutCallfwd => forward::put_callfwd(mine).await,
        Handler::GetContact => contact::get(mine).await,
        Handler::PutContact => contact::put(mine).await,
        Handler::PutVoicemailPin => credentials::put_voicemail_pin(mine, param).await,
        Handler::PutPortalPassword => credentials::put_portal_password(mine, param).await,
        Handler::GetLoginDetails => credentials::get_login_details(mine).await,
        Handler::GetPhonebook => phonebook::get_mine(mine, false).await,
        Handler::AddPhonebookEntry => phonebook::add(mine).await,
        Handler::DeletePhonebook => phonebook::delete(mine, None).await,
        Handler::GetPhonebookEntry => phonebook::get_entry(mine, param).await,
        Handler::UpdatePhonebookEntry => phonebook::update_entry(mine, param).await,
        Handler::DeletePhonebookEntry => phonebook::delete(mine, Some(param)).await,
        Handler::GetPagedPhonebook => phonebook::get_paged(mine).await,
        Handler::SearchPhonebook => phonebook::get_mine(mine, true).await,
        Handler::Call => call::put(mine, param).await,
        Handler::ListConferences => conferences::list(mine).await,
        Handler::GetConference => conferences::get(mine, param).await,
        Handler::PutConference => conferences::put(mine, param).await,
        Handler::GetConferenceDetails => conferences::details(mine, param).await,
    }
}

/// The admin routes (`phonebook`, `phonebook/{name}`: GET only) and every `my/` route, also
/// reachable as `private/{key}/…` (and `call/{to}` without `my/`).
pub fn routes() -> Vec<crate::dialects::RouteSpec> {
    use crate::dialects::RouteSpec;
    let mut out = vec![
        RouteSpec::new(DIALECT, "GET", format!("{PREFIX}phonebook"), false),
        RouteSpec::new(DIALECT, "GET", format!("{PREFIX}phonebook/{{name}}"), false),
    ];
    for route in MY_ROUTES {
        for method in route.methods {
            out.push(RouteSpec::new(
                DIALECT,
                method,
                format!("{PREFIX}my/{}", route.pattern),
                *method != "GET",
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_route_table_matches_paths_and_lists_methods_in_order() {
        assert_eq!(
            super::match_pattern("phonebook/entry/{id}", &["phonebook", "entry", "7"]),
            Some("7")
        );
        assert_eq!(super::match_pattern("forward", &["forward"]), Some(""));
        assert_eq!(super::match_pattern("forward", &["forward", "x"]), None);
        // What a 405 lists: every method of the routes with that pattern, in table order.
        let allowed = |pattern: &str| {
            super::MY_ROUTES
                .iter()
                .filter(|r| r.pattern == pattern)
                .flat_map(|r| r.methods.iter().copied())
                .collect::<Vec<_>>()
                .join(", ")
        };
        assert_eq!(allowed("phonebook/entry/{id}"), "GET, POST, PUT, DELETE");
        assert_eq!(allowed("phonebook"), "GET, POST, DELETE");
        assert_eq!(allowed("conferences/{name}"), "GET, PUT");
        assert_eq!(allowed("voicemail/pin/{pin}"), "PUT");
    }

    #[test]
    fn secrets_in_paths_are_redacted() {
        assert_eq!(
            super::redacted("/sipxconfig/rest/my/portal/password/s3cret"),
            "/sipxconfig/rest/my/portal/password/***"
        );
        assert_eq!(super::redacted("voicemail/pin/1234"), "voicemail/pin/***");
        assert_eq!(
            super::redacted("/sipxconfig/rest/private/0123abcd/voicemail/pin/1"),
            "/sipxconfig/rest/private/***/voicemail/pin/***"
        );
        assert_eq!(
            super::redacted("/sipxconfig/rest/my/forward"),
            "/sipxconfig/rest/my/forward"
        );
    }
}

//! Sipwise-C5-style REST at `/api/` (seed 004, notes/c5.md): HAL+JSON over the core's
//! reseller-shaped collections. A thin translation: it authenticates through [`crate::auth`],
//! parses paths, queries and bodies, calls the core, and renders the answer or the refusal as C5
//! does. No SQL, no permission decision, no audit write here.

pub mod error;
mod features;
pub mod hal;
pub mod paging;
pub mod patch;
pub mod resources;

use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::auth::{AuthOutcome, RequestMeta};
use crate::core::CoreError;
use crate::core::actor::Actor;
use crate::core::records::ListRequest;
use crate::server::{AppState, ConnInfo, pki};
use error::ApiError;
use resources::{RESOURCES, Resource};

const DIALECT: &str = "c5";
/// The Basic realm C5 clients are configured for: LWP sends credentials only after a challenge
/// naming it.
const BASIC_REALM: &str = "api_admin_http";
const OVERRIDE_HEADERS: [&str; 4] = [
    "x-http-method",
    "x-http-method-override",
    "x-method-override",
    "x-tunneled-method",
];

/// What a path names.
enum Target {
    Root,
    OpenApi,
    /// `POST /api/admincerts/`: a client certificate for the caller, as a zip.
    AdminCerts,
    Collection(&'static Resource),
    Item(&'static Resource, Result<i64, ()>),
    FeatureCollection(features::Feature),
    FeatureItem(features::Feature, Result<i64, ()>),
}

/// `/api/...` with repeated slashes collapsed (upstream tests build `//api/...`).
fn target(path: &str) -> Option<Target> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["api"] => Some(Target::Root),
        ["api", "openapi.json"] => Some(Target::OpenApi),
        ["api", "admincerts"] => Some(Target::AdminCerts),
        ["api", name] => resources::find(name)
            .map(Target::Collection)
            .or_else(|| features::Feature::find(name).map(Target::FeatureCollection)),
        ["api", name, id] => {
            let id = id.parse::<i64>().ok().filter(|n| *n > 0).ok_or(());
            resources::find(name)
                .map(|r| Target::Item(r, id))
                .or_else(|| features::Feature::find(name).map(|f| Target::FeatureItem(f, id)))
        }
        _ => None,
    }
}

/// Whether a request path belongs to this dialect (the router sends `//api/...` here too).
pub fn owns(path: &str) -> bool {
    path.split('/').find(|s| !s.is_empty()) == Some("api")
}

fn header_text(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn respond(status: StatusCode, content_type: &str, body: String) -> Response {
    let mut r = (status, body).into_response();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

fn error_response(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    respond(status, error::JSON, e.body())
}

/// The core's refusal in C5's words, with the request's own value for validation errors.
fn core_error(e: &CoreError, entity: &str, doc: Option<&Map<String, Value>>) -> ApiError {
    // A field may name a nested value (`cfu.destinations.0.timeout`): look it up as a path.
    let input = |name: &str| {
        let pointer = format!("/{}", name.replace('.', "/"));
        doc.and_then(|d| Value::Object(d.clone()).pointer(&pointer).cloned())
            .unwrap_or(Value::Null)
    };
    match e {
        CoreError::Missing(name) => ApiError::validation(name, &input(name), "field is required"),
        CoreError::Invalid { name, message } => ApiError::validation(name, &input(name), message),
        CoreError::NotFound(_) | CoreError::OutOfScope(_) => ApiError::entity_not_found(entity),
        CoreError::Duplicate(m) | CoreError::Conflict(m) | CoreError::Unprocessable(m) => {
            ApiError::unprocessable(m.clone())
        }
        CoreError::InUse(m) => ApiError::locked(m.clone()),
        CoreError::Forbidden(m) => ApiError::forbidden(m.clone()),
        CoreError::ReadOnly => ApiError::forbidden("Invalid HTTP method for read-only user"),
        // 507 Insufficient Storage (RFC 4918): the change could not be stored; unlike 503 it
        // says that retrying soon will not help until space is freed.
        CoreError::StorageFull => ApiError::new(507, e.to_string()),
        CoreError::Busy => ApiError::new(503, e.to_string()),
        // The cause (read-only, I/O, corrupt) is the operator's to see; still a 500.
        CoreError::StorageFailed(_) => ApiError::new(500, e.to_string()),
        CoreError::Storage(_) => ApiError::internal(),
    }
}

/// Everything a handler needs about the request.
struct Call<'a> {
    state: &'a AppState,
    actor: Actor,
    verb: String,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    body: Bytes,
}

/// The `/api/` endpoint: every method, every resource.
pub async fn endpoint(
    State(state): State<Arc<AppState>>,
    Extension(conn): Extension<ConnInfo>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let verb = OVERRIDE_HEADERS
        .iter()
        .find_map(|h| header_text(&headers, *h))
        .map_or_else(|| method.to_string(), |v| v.trim().to_ascii_uppercase());
    let meta = RequestMeta::from_http(&conn, &method, &uri, &headers, !body.is_empty());
    let (principal, auth_method) = match state.auth.authenticate(&meta, DIALECT, false).await {
        AuthOutcome::Authenticated {
            principal,
            auth_method,
        } => (principal, auth_method),
        AuthOutcome::Challenge { stale } => return challenge(&state, stale),
        AuthOutcome::Refused { reason } => return error_response(&ApiError::forbidden(reason)),
        AuthOutcome::Throttled { retry_after_secs } => {
            let mut r = error_response(&ApiError::new(
                429,
                format!("Too many failed logins from your address; retry in {retry_after_secs} s"),
            ));
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            return r;
        }
    };
    let mut actor = meta.actor(principal, auth_method, DIALECT);
    actor.method = format!("{verb} {}", uri.path());
    let call = Call {
        state: &state,
        actor,
        verb,
        uri: &uri,
        headers: &headers,
        body,
    };
    match target(uri.path()) {
        Some(Target::Root) => root(&call),
        Some(Target::OpenApi) if call.verb == "GET" || call.verb == "HEAD" => json_response(
            StatusCode::OK,
            error::JSON,
            &resources::openapi(),
            Vec::new(),
        ),
        Some(Target::AdminCerts) => admin_cert(&call).await,
        Some(Target::Collection(r)) => collection(&call, r).await,
        Some(Target::Item(_, Err(())) | Target::FeatureItem(_, Err(()))) => {
            error_response(&ApiError::invalid_id())
        }
        Some(Target::FeatureCollection(f)) => feature_collection(&call, &f).await,
        Some(Target::FeatureItem(f, Ok(id))) => feature_item(&call, &f, id).await,
        Some(Target::Item(r, Ok(id))) => item(&call, r, id).await,
        _ => error_response(&ApiError::not_found_path()),
    }
}

/// Issues a client certificate to the calling login (read-only logins too, as in C5) and answers
/// with C5's zip: the certificate and its key in one PEM, and a README.
async fn admin_cert(call: &Call<'_>) -> Response {
    match call.verb.as_str() {
        "OPTIONS" => {
            let mut resp = json_response(
                StatusCode::OK,
                error::JSON,
                &json!({ "methods": ["OPTIONS", "POST"] }),
                Vec::new(),
            );
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("OPTIONS, POST"));
            resp
        }
        "POST" => {
            match pki::issue_admin_cert_zip(&call.state.core, &call.actor, &call.state.client_ca)
                .await
            {
                Ok(issued) => {
                    let mut resp = (StatusCode::CREATED, issued.zip).into_response();
                    resp.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/zip"),
                    );
                    let disposition = format!(
                        "attachment; filename=\"NGCP-API-client-certificate-{}.zip\"",
                        issued.serial
                    );
                    if let Ok(v) = HeaderValue::from_str(&disposition) {
                        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
                    }
                    resp
                }
                Err(pki::IssueError::Core(e)) => error_response(&core_error_plain(&e)),
                Err(pki::IssueError::Pki(reason)) => {
                    tracing::error!(%reason, "client certificate not issued");
                    error_response(&ApiError::internal())
                }
            }
        }
        _ => error_response(&ApiError::not_found_path()),
    }
}

/// A core refusal outside any resource (no entity name to report).
fn core_error_plain(e: &CoreError) -> ApiError {
    match e {
        CoreError::Forbidden(m) => ApiError::forbidden(m.clone()),
        CoreError::StorageFull => ApiError::new(507, e.to_string()),
        CoreError::Busy => ApiError::new(503, e.to_string()),
        // The cause (read-only, I/O, corrupt) is the operator's to see; still a 500.
        CoreError::StorageFailed(_) => ApiError::new(500, e.to_string()),
        CoreError::Storage(_) => ApiError::internal(),
        other => ApiError::unprocessable(other.to_string()),
    }
}

fn challenge(state: &AppState, is_stale: bool) -> Response {
    let mut r = error_response(&ApiError::new(401, "Unauthorized"));
    // Basic first: LWP answers the first challenge it supports and stops there.
    let basic = format!("Basic realm=\"{BASIC_REALM}\"");
    super::add_challenges(
        &mut r,
        std::iter::once(basic).chain(state.auth.challenges(is_stale)),
    );
    r
}

/// A JSON document with `Link` headers. The HAL type is used unless the client asked for plain
/// JSON, which C5 echoes.
fn json_response(
    status: StatusCode,
    content_type: &str,
    doc: &Value,
    links: Vec<String>,
) -> Response {
    let mut r = respond(status, content_type, hal::to_pretty(doc));
    for link in links {
        if let Ok(v) = HeaderValue::from_str(&link) {
            r.headers_mut().append(header::LINK, v);
        }
    }
    r
}

fn content_type_for(call: &Call<'_>) -> &'static str {
    let wants_json = header_text(call.headers, header::ACCEPT)
        .is_some_and(|a| error::media_type_matches(&a, error::JSON));
    if wants_json {
        error::JSON
    } else {
        hal::HAL_CONTENT_TYPE
    }
}

async fn feature_collection(call: &Call<'_>, f: &features::Feature) -> Response {
    match call.verb.as_str() {
        "OPTIONS" => options(call, f.name(), &["GET"]),
        "GET" | "HEAD" => features::collection(call, f)
            .await
            .unwrap_or_else(|e| error_response(&e)),
        _ => error_response(&ApiError::not_found_path()),
    }
}

async fn feature_item(call: &Call<'_>, f: &features::Feature, id: i64) -> Response {
    let verb = match call.verb.as_str() {
        "OPTIONS" => return options(call, f.name(), f.item_verbs()),
        "HEAD" => "GET",
        other => other,
    };
    if !f.item_verbs().contains(&verb) {
        return error_response(&ApiError::not_found_path());
    }
    features::item(call, f, id, verb)
        .await
        .unwrap_or_else(|e| error_response(&e))
}

fn options(call: &Call<'_>, name: &str, verbs: &[&'static str]) -> Response {
    let allowed = resources::allowed(verbs, call.actor.principal.is_read_only());
    let mut resp = json_response(
        StatusCode::OK,
        error::JSON,
        &json!({ "methods": allowed }),
        Vec::new(),
    );
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&allowed.join(", ")) {
        h.insert(header::ALLOW, v);
    }
    let accept_post = format!("application/hal+json; profile={}#rel-{name}", hal::PROFILE);
    if let Ok(v) = HeaderValue::from_str(&accept_post) {
        h.insert("accept-post", v);
    }
    resp
}

fn root(call: &Call<'_>) -> Response {
    match call.verb.as_str() {
        "OPTIONS" => {
            let allowed = ["GET", "HEAD", "OPTIONS"];
            let links = RESOURCES
                .iter()
                .map(|r| r.name)
                .chain(features::FEATURES.iter().map(|(name, _, _)| *name))
                .chain(["admincerts"])
                .map(|name| {
                    format!(
                        "</api/{name}/>; rel=\"collection {}#rel-{name}\"",
                        hal::PROFILE
                    )
                })
                .collect();
            let mut resp = json_response(
                StatusCode::OK,
                error::JSON,
                &json!({ "methods": allowed }),
                links,
            );
            resp.headers_mut().insert(
                header::ALLOW,
                HeaderValue::from_static("GET, HEAD, OPTIONS"),
            );
            resp
        }
        "GET" | "HEAD" => {
            let wants_json = content_type_for(call) == error::JSON;
            if wants_json {
                let mut doc: Map<String, Value> = RESOURCES
                    .iter()
                    .map(|r| (r.name.to_string(), r.describe()))
                    .collect();
                for (name, actions, item_actions) in features::FEATURES {
                    doc.insert(
                        name.into(),
                        json!({"actions": resources::allowed(actions, false),
                               "item_actions": resources::allowed(item_actions, false),
                               "fields": [{"name": "id", "types": ["Int"], "readonly": true}],
                               "sorting_cols": ["id"], "query_params": []}),
                    );
                }
                doc.insert(
                    "admincerts".into(),
                    json!({"actions": ["OPTIONS", "POST"], "item_actions": [], "fields": [],
                           "sorting_cols": [], "query_params": []}),
                );
                json_response(StatusCode::OK, error::JSON, &Value::Object(doc), Vec::new())
            } else {
                let mut html = String::from(
                    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
                     <title>switchyard /api/</title></head><body><h1>switchyard /api/</h1>\
                     <p>HAL+JSON collections (ask with <code>Accept: application/json</code> for \
                     their fields; <a href=\"/api/openapi.json\">OpenAPI 3.1</a>):</p><ul>",
                );
                for r in RESOURCES {
                    let _ = write!(html, "<li><a href=\"/api/{0}/\">{0}</a></li>", r.name);
                }
                html.push_str("</ul></body></html>\n");
                respond(StatusCode::OK, "text/html; charset=utf-8", html)
            }
        }
        _ => error_response(&ApiError::not_found_path()),
    }
}

async fn collection(call: &Call<'_>, r: &'static Resource) -> Response {
    let verb = call.verb.as_str();
    if verb == "OPTIONS" {
        return options(call, r.name, r.collection_verbs);
    }
    let verb = if verb == "HEAD" { "GET" } else { verb };
    if !r.collection_verbs.contains(&verb) {
        return error_response(&ApiError::not_found_path());
    }
    match verb {
        // C5 redirects a collection named without its trailing slash to the slashed one.
        "GET" if !call.uri.path().ends_with('/') => {
            let query = call
                .uri
                .query()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            let to = format!("/api/{}/{query}", r.name);
            let mut resp = StatusCode::MOVED_PERMANENTLY.into_response();
            if let Ok(v) = HeaderValue::from_str(&to) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            resp
        }
        "GET" => list(call, r).await,
        _ => create(call, r).await,
    }
}

async fn list(call: &Call<'_>, r: &'static Resource) -> Response {
    let query = match paging::parse(call.uri.query()) {
        Ok(q) => q,
        Err(e) => return error_response(&e),
    };
    let request = ListRequest {
        offset: i64::try_from(query.offset()).unwrap_or(i64::MAX),
        limit: i64::try_from(query.fetch_rows()).unwrap_or(i64::MAX),
        order_by: query.order_by.clone(),
        descending: query.descending,
        count: !query.no_count,
        filters: query.params.clone(),
    };
    let page = match call
        .state
        .core
        .list_records(&call.actor, r.collection, request)
        .await
    {
        Ok(page) => page,
        Err(e) => return error_response(&core_error(&e, r.collection.noun(), None)),
    };
    let (has_next, total) = match page.total {
        Some(total) => {
            let total = u64::try_from(total).unwrap_or_default();
            (paging::has_next_counted(&query, total), Some(total))
        }
        None => (paging::has_next_uncounted(&query, page.records.len()), None),
    };
    let shown = usize::try_from(query.rows).unwrap_or(usize::MAX);
    let items = page
        .records
        .iter()
        .take(shown)
        .map(|rec| (rec.id, r.item(rec)))
        .collect();
    let nav = paging::nav(r.name, &query, has_next);
    let doc = hal::collection(r.name, items, &nav, total);
    let links = hal::link_headers(&doc, false);
    json_response(StatusCode::OK, content_type_for(call), &doc, links)
}

/// The request body as a JSON object, checked as C5 does.
fn body_object(call: &Call<'_>) -> Result<Map<String, Value>, ApiError> {
    let content_type = header_text(call.headers, header::CONTENT_TYPE);
    match error::parse_json_body(content_type.as_deref(), &call.body, &[error::JSON])? {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::bad_request(
            "The entity is not a well-formed 'application/json' document. It must be a JSON \
             object.",
        )),
    }
}

/// `Prefer: return=representation` (anything else, or nothing, is minimal).
fn wants_representation(call: &Call<'_>) -> bool {
    call.headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("return=representation"))
}

async fn create(call: &Call<'_>, r: &'static Resource) -> Response {
    let doc = match body_object(call) {
        Ok(doc) => doc,
        Err(e) => return error_response(&e),
    };
    let fields = r.fields_from(&doc);
    let id = match call
        .state
        .core
        .create_record(&call.actor, r.collection, fields)
        .await
    {
        Ok(id) => id,
        Err(e) => return error_response(&core_error(&e, r.collection.noun(), Some(&doc))),
    };
    let location = format!("/api/{}/{id}", r.name);
    let mut resp = if wants_representation(call) {
        match representation(call, r, id).await {
            Ok(item) => json_response(
                StatusCode::CREATED,
                content_type_for(call),
                &item,
                Vec::new(),
            ),
            Err(e) => return error_response(&e),
        }
    } else {
        let mut empty = Response::new(Body::empty());
        *empty.status_mut() = StatusCode::CREATED;
        empty
    };
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

async fn representation(call: &Call<'_>, r: &'static Resource, id: i64) -> Result<Value, ApiError> {
    call.state
        .core
        .get_record(&call.actor, r.collection, id)
        .await
        .map(|rec| r.item(&rec))
        .map_err(|e| core_error(&e, r.collection.noun(), None))
}

async fn item(call: &Call<'_>, r: &'static Resource, id: i64) -> Response {
    let verb = call.verb.as_str();
    if verb == "OPTIONS" {
        return options(call, r.name, r.item_verbs);
    }
    let verb = if verb == "HEAD" { "GET" } else { verb };
    if !r.item_verbs.contains(&verb) {
        return error_response(&ApiError::not_found_path());
    }
    let result = match verb {
        "GET" => representation(call, r, id).await.map(|doc| {
            let links = hal::link_headers(&doc, true);
            json_response(StatusCode::OK, content_type_for(call), &doc, links)
        }),
        "PUT" => match body_object(call) {
            Ok(doc) => replace(call, r, id, doc).await,
            Err(e) => Err(e),
        },
        "PATCH" => patch(call, r, id).await,
        _ => call
            .state
            .core
            .delete_record(&call.actor, r.collection, id)
            .await
            .map(|()| StatusCode::NO_CONTENT.into_response())
            .map_err(|e| core_error(&e, r.collection.noun(), None)),
    };
    result.unwrap_or_else(|e| error_response(&e))
}

async fn replace(
    call: &Call<'_>,
    r: &'static Resource,
    id: i64,
    doc: Map<String, Value>,
) -> Result<Response, ApiError> {
    let fields = r.fields_from(&doc);
    call.state
        .core
        .replace_record(&call.actor, r.collection, id, fields)
        .await
        .map_err(|e| core_error(&e, r.collection.noun(), Some(&doc)))?;
    if wants_representation(call) {
        let item = representation(call, r, id).await?;
        let mut resp = json_response(StatusCode::OK, content_type_for(call), &item, Vec::new());
        resp.headers_mut().insert(
            "preference-applied",
            HeaderValue::from_static("return=representation"),
        );
        Ok(resp)
    } else {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        resp.headers_mut().insert(
            "preference-applied",
            HeaderValue::from_static("return=minimal"),
        );
        Ok(resp)
    }
}

async fn patch(call: &Call<'_>, r: &'static Resource, id: i64) -> Result<Response, ApiError> {
    let content_type = header_text(call.headers, header::CONTENT_TYPE);
    let ops = patch::parse(content_type.as_deref(), &call.body, r.patch_ops)?;
    let current = call
        .state
        .core
        .get_record(&call.actor, r.collection, id)
        .await
        .map_err(|e| core_error(&e, r.collection.noun(), None))?;
    let mut doc = Value::Object(r.fields_json(&current));
    patch::apply(&mut doc, &ops)?;
    let Value::Object(doc) = doc else {
        return Err(ApiError::unprocessable(
            "The entity could not be processed: the patched document is not an object",
        ));
    };
    replace(call, r, id, doc).await
}

/// Every `/api/` route with its verbs, from the same tables `target` and the verb checks use:
/// the root, the OpenAPI document, admincerts, `resources::RESOURCES` and `features::FEATURES`.
pub fn routes() -> Vec<crate::dialects::RouteSpec> {
    use crate::dialects::RouteSpec;
    let spec = |verb: &'static str, route: String| {
        RouteSpec::new(
            DIALECT,
            verb,
            route,
            !matches!(verb, "GET" | "HEAD" | "OPTIONS"),
        )
    };
    let mut out = vec![
        spec("GET", "/api/".into()),
        spec("HEAD", "/api/".into()),
        spec("OPTIONS", "/api/".into()),
        spec("GET", "/api/openapi.json".into()),
        spec("POST", "/api/admincerts/".into()),
        spec("OPTIONS", "/api/admincerts/".into()),
    ];
    let tables = RESOURCES
        .iter()
        .map(|r| (r.name, r.collection_verbs, r.item_verbs))
        .chain(features::FEATURES);
    for (name, verbs, item_verbs) in tables {
        for verb in resources::allowed(verbs, false) {
            out.push(spec(verb, format!("/api/{name}/")));
        }
        if !item_verbs.is_empty() {
            for verb in resources::allowed(item_verbs, false) {
                out.push(spec(verb, format!("/api/{name}/{{id}}")));
            }
        }
    }
    out
}

//! The admin web page at `/admin/`: another dialect. It reads forms, calls the core and renders
//! askama templates; it never touches storage and never decides who may do what (the core
//! answers a change the caller may not make with a refusal, which the page shows).
//!
//! Sessions live in the database (`core::sessions`), named by a cookie that is `Secure`,
//! `HttpOnly`, `SameSite=Strict` and expiring. Every form carries the session's CSRF token; the
//! sign-in form, before there is a session, carries a token that must match a short-lived cookie
//! of its own. The page is served over HTTPS only and works without JavaScript.

mod audit;
mod customers;
mod dashboard;
mod phonebooks;
mod preferences;
mod session;
mod trusted_hosts;
mod vouchers;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};

use crate::core::CoreError;
use crate::core::actor::Actor;
use crate::core::sessions::AdminSession;
use crate::server::{AppState, ConnInfo};

pub use session::Signed;

const DIALECT: &str = "admin";

/// One page route: method, path, whether a successful post changes data, and its handler.
type Page = (
    &'static str,
    &'static str,
    bool,
    MethodRouter<Arc<AppState>>,
);

/// Every admin route; [`routes`] mounts them and [`route_specs`] lists them.
fn pages() -> Vec<Page> {
    vec![
        (
            "GET",
            "/admin",
            false,
            get(|| async { Redirect::permanent("/admin/") }),
        ),
        ("GET", "/admin/", false, get(dashboard::home)),
        ("POST", "/admin/sign-in", true, post(session::sign_in)),
        ("POST", "/admin/sign-out", true, post(session::sign_out)),
        ("GET", "/admin/preferences", false, get(preferences::show)),
        (
            "POST",
            "/admin/preferences/allow-api-calls",
            true,
            post(preferences::set_allow_api_calls),
        ),
        (
            "POST",
            "/admin/preferences/api-password",
            true,
            post(preferences::change_api_password),
        ),
        (
            "POST",
            "/admin/preferences/web-password",
            true,
            post(preferences::change_web_password),
        ),
        ("GET", "/admin/customers", false, get(customers::list)),
        ("POST", "/admin/customers", true, post(customers::create)),
        ("GET", "/admin/customers/{id}", false, get(customers::show)),
        (
            "POST",
            "/admin/customers/{id}/api-permission",
            true,
            post(customers::set_api_permission),
        ),
        (
            "POST",
            "/admin/customers/{id}/allow-api-calls",
            true,
            post(customers::set_allow_api_calls),
        ),
        (
            "GET",
            "/admin/trusted-hosts",
            false,
            get(trusted_hosts::list),
        ),
        (
            "POST",
            "/admin/trusted-hosts",
            true,
            post(trusted_hosts::add),
        ),
        (
            "POST",
            "/admin/trusted-hosts/remove",
            true,
            post(trusted_hosts::remove),
        ),
        ("GET", "/admin/phonebooks", false, get(phonebooks::list)),
        ("POST", "/admin/phonebooks", true, post(phonebooks::import)),
        ("GET", "/admin/vouchers", false, get(vouchers::list)),
        ("POST", "/admin/vouchers", true, post(vouchers::create)),
        ("GET", "/admin/audit", false, get(audit::list)),
        ("GET", "/admin/static/admin.css", false, get(stylesheet)),
    ]
}

/// The admin page's routes, merged into `server::router` (routes of one path with different
/// methods merge into one).
pub fn routes() -> Router<Arc<AppState>> {
    pages()
        .into_iter()
        .fold(Router::new(), |router, (_, path, _, handler)| {
            router.route(path, handler)
        })
        .route_layer(middleware::from_fn(guard))
}

/// Every admin route, from the table [`routes`] mounts.
pub fn route_specs() -> Vec<crate::dialects::RouteSpec> {
    pages()
        .into_iter()
        .map(|(method, path, mutates, _)| {
            crate::dialects::RouteSpec::new(DIALECT, method, path, mutates)
        })
        .collect()
}

/// Refuses plain HTTP (passwords and session cookies travel only over TLS) and sets the headers
/// every admin response carries: no framing, no scripts, nothing cached.
async fn guard(request: Request, next: Next) -> Response {
    let tls = request
        .extensions()
        .get::<ConnInfo>()
        .is_some_and(|c| c.tls);
    let mut response = if tls {
        next.run(request).await
    } else {
        plain(
            StatusCode::FORBIDDEN,
            "HTTPS only",
            "The admin page is served over HTTPS only. Open it on the HTTPS listener.",
        )
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("../../static/admin.css"),
    )
}

/// The navigation and identity shown on every signed-in page.
pub struct Chrome {
    pub login: String,
    pub customer_name: String,
    pub csrf: String,
    /// Root's privileges: trusted hosts and prepaid vouchers (the core checks each change again).
    pub may_manage_trusted_hosts: bool,
    /// Which tab is current: "dashboard", "customers", "preferences", "trusted-hosts",
    /// "phonebooks", "audit".
    pub active: &'static str,
    pub version: &'static str,
}

impl Chrome {
    fn new(session: &AdminSession, active: &'static str) -> Self {
        Self {
            login: session.login.clone(),
            customer_name: session.customer_name.clone(),
            csrf: session.csrf_token.clone(),
            may_manage_trusted_hosts: session.may_manage_trusted_hosts,
            active,
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// A message shown at the top of a page: what just happened, or what went wrong.
pub struct Flash {
    pub error: bool,
    pub text: String,
}

impl Flash {
    fn error(text: impl Into<String>) -> Self {
        Self {
            error: true,
            text: text.into(),
        }
    }

    fn notice(text: impl Into<String>) -> Self {
        Self {
            error: false,
            text: text.into(),
        }
    }

    /// The confirmation for a `?done=` code a handler redirected with. Only these fixed texts
    /// are shown, never text taken from the address.
    fn done(code: Option<&str>) -> Option<Self> {
        let text = match code? {
            "api-permission-on" => "Saved: the API box is ticked.",
            "api-permission-off" => "Saved: the API box is cleared.",
            "allow-api-calls-on" => "Saved: Allow API Calls is on.",
            "allow-api-calls-off" => "Saved: Allow API Calls is off.",
            "api-password" => "Saved: the API password is changed.",
            "web-password" => "Saved: the web password is changed; other sessions are signed out.",
            "customer-created" => "Created the customer.",
            "host-added" => "Added the trusted host.",
            "host-removed" => "Removed the trusted host.",
            "phonebook-imported" => "Imported the phonebook.",
            "signed-out" => "Signed out.",
            _ => return None,
        };
        Some(Self {
            error: false,
            text: text.into(),
        })
    }
}

/// The HTTP status a core error is shown with.
fn status_of(e: &CoreError) -> StatusCode {
    match e {
        CoreError::Missing(_) | CoreError::Invalid { .. } | CoreError::Unprocessable(_) => {
            StatusCode::BAD_REQUEST
        }
        CoreError::Forbidden(_) | CoreError::ReadOnly => StatusCode::FORBIDDEN,
        CoreError::NotFound(_) | CoreError::OutOfScope(_) => StatusCode::NOT_FOUND,
        CoreError::Duplicate(_) | CoreError::Conflict(_) | CoreError::InUse(_) => {
            StatusCode::CONFLICT
        }
        // 507 Insufficient Storage: the page says the disk is full, not "try again later".
        CoreError::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
        CoreError::Busy => StatusCode::SERVICE_UNAVAILABLE,
        CoreError::StorageFailed(_) | CoreError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Renders a template, with `status`.
fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering an admin page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "page unavailable\n").into_response()
        }
    }
}

/// A page with only a title and a message, for answers given before there is a session.
#[derive(Template)]
#[template(path = "admin/plain.html")]
struct PlainPage<'a> {
    title: &'a str,
    message: &'a str,
}

fn plain(status: StatusCode, title: &str, message: &str) -> Response {
    render(status, &PlainPage { title, message })
}

/// A signed-in page that shows only an error (the thing asked for is not there, or not yours).
#[derive(Template)]
#[template(path = "admin/error.html")]
struct ErrorPage {
    chrome: Chrome,
    flash: Option<Flash>,
    title: String,
    message: String,
}

fn error_page(signed: &Signed, active: &'static str, e: &CoreError) -> Response {
    let status = status_of(e);
    let title = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::BAD_REQUEST => "Bad request",
        _ => "Not done",
    };
    let page = ErrorPage {
        chrome: Chrome::new(&signed.session, active),
        flash: None,
        title: title.into(),
        message: e.to_string(),
    };
    render(status, &page)
}

/// See-other redirect after a successful form post (post/redirect/get).
fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// What the audit log records about a request, before the principal is known.
fn request_actor(
    conn: &ConnInfo,
    headers: &HeaderMap,
    principal: crate::core::actor::Principal,
    auth_method: &'static str,
    method: &str,
) -> Actor {
    Actor {
        principal,
        auth_method,
        peer_ip: Some(conn.peer.ip()),
        user_ip: None,
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect()),
        action_by: None,
        dialect: DIALECT,
        method: method.to_string(),
    }
}

/// Formats milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc(millis: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .map_or_else(|| millis.to_string(), |t| format!("{t} UTC"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_941_321_600_000), "2031-07-09 00:00:00 UTC");
    }

    #[test]
    fn only_known_confirmations_are_shown() {
        assert!(Flash::done(Some("host-added")).is_some());
        assert!(Flash::done(Some("<script>")).is_none());
        assert!(Flash::done(None).is_none());
    }
}

//! Signing in and out, the session cookie, and the [`Signed`] extractor every signed-in page
//! takes.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Extension, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{Flash, render, request_actor, see_other, status_of};
use crate::core::actor::{Actor, Principal};
use crate::core::sessions::{self, AdminSession, SignInError};
use crate::server::{AppState, ConnInfo};

/// The session cookie. `__Host-` makes browsers insist on Secure, Path=/ and no Domain.
const SESSION_COOKIE: &str = "__Host-switchyard-session";
/// Before signing in: a random value the sign-in form must echo (a double-submitted token), so a
/// foreign site cannot sign a browser in to an account of its choosing.
const SIGN_IN_COOKIE: &str = "__Host-switchyard-sign-in";
const SIGN_IN_COOKIE_SECS: i64 = 60 * 60;

/// The value of cookie `name` in the request, if it looks like one of our tokens.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| {
            (16..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// A `Set-Cookie` value with the flags every cookie of the admin page has.
fn set_cookie(name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let text = format!(
        "{name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

fn tokens_match(a: &str, b: &str) -> bool {
    !a.is_empty() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A request from a signed-in browser: its session, and what the audit log records of it.
pub struct Signed {
    pub(super) session: AdminSession,
    token: String,
    conn: ConnInfo,
    headers: HeaderMap,
}

impl Signed {
    /// The actor for a core call made by this request; `method` names the action in the log.
    pub(super) fn actor(&self, method: &str) -> Actor {
        request_actor(
            &self.conn,
            &self.headers,
            self.session.principal.clone(),
            "web-session",
            method,
        )
    }

    /// The refusal of a form that does not carry this session's CSRF token; None when it does.
    pub(super) fn csrf_refusal(&self, given: &str) -> Option<Response> {
        if tokens_match(given, &self.session.csrf_token) {
            None
        } else {
            Some(super::plain(
                StatusCode::FORBIDDEN,
                "Form refused",
                "The form did not carry this session's security token, so nothing was changed. \
                 Go back, reload the page and try again.",
            ))
        }
    }
}

/// Why a request has no session.
pub enum NoSession {
    /// No session cookie at all.
    NoCookie,
    /// A cookie whose session has expired, was signed out, or was never ours.
    Ended,
}

async fn from_parts(
    parts: &Parts,
    state: &Arc<AppState>,
) -> Result<Result<Signed, NoSession>, Response> {
    let conn = parts
        .extensions
        .get::<ConnInfo>()
        .cloned()
        .ok_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())?;
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(Err(NoSession::NoCookie));
    };
    let session = state.core.admin_session(token).await.map_err(|e| {
        super::plain(
            status_of(&e),
            "Unavailable",
            &format!("The session could not be checked: {e}"),
        )
    })?;
    Ok(match session {
        Some(session) => Ok(Signed {
            session,
            token: token.to_string(),
            conn,
            headers: parts.headers.clone(),
        }),
        None => Err(NoSession::Ended),
    })
}

/// Signed-in pages: without a session the browser is sent to the sign-in page.
impl FromRequestParts<Arc<AppState>> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Response> {
        match from_parts(parts, state).await? {
            Ok(signed) => Ok(signed),
            Err(NoSession::Ended) => Err(see_other("/admin/?done=session-ended")),
            Err(NoSession::NoCookie) => Err(see_other("/admin/")),
        }
    }
}

/// For `/admin/`, which shows the sign-in page when there is no session.
pub struct MaybeSigned(pub Result<Signed, NoSession>);

impl FromRequestParts<Arc<AppState>> for MaybeSigned {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Response> {
        from_parts(parts, state).await.map(Self)
    }
}

#[derive(Template)]
#[template(path = "admin/sign_in.html")]
struct SignInPage {
    csrf: String,
    login: String,
    flash: Option<Flash>,
    version: &'static str,
}

/// The sign-in page, with the sign-in token cookie (kept if the browser already has one).
pub(super) fn sign_in_page(
    headers: &HeaderMap,
    status: StatusCode,
    login: &str,
    flash: Option<Flash>,
) -> Response {
    let token = match cookie(headers, SIGN_IN_COOKIE) {
        Some(t) => t.to_string(),
        None => match sessions::new_token() {
            Ok(t) => t,
            Err(e) => return super::plain(status_of(&e), "Unavailable", &e.to_string()),
        },
    };
    let page = SignInPage {
        csrf: token.clone(),
        login: login.to_string(),
        flash,
        version: env!("CARGO_PKG_VERSION"),
    };
    let mut response = render(status, &page);
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SIGN_IN_COOKIE, &token, SIGN_IN_COOKIE_SECS),
    );
    response
}

/// `GET /admin/` without a session.
pub(super) fn signed_out_home(
    headers: &HeaderMap,
    why: &NoSession,
    done: Option<&str>,
) -> Response {
    let flash = match (why, done) {
        (NoSession::Ended, _) | (_, Some("session-ended")) => Some(Flash::error(
            "Your session has ended. Please sign in again.",
        )),
        (NoSession::NoCookie, other) => Flash::done(other),
    };
    let mut response = sign_in_page(headers, StatusCode::OK, "", flash);
    if matches!(why, NoSession::Ended) {
        response
            .headers_mut()
            .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0));
    }
    response
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignInForm {
    csrf: String,
    login: String,
    password: String,
}

/// `POST /admin/sign-in`.
pub async fn sign_in(
    State(state): State<Arc<AppState>>,
    Extension(conn): Extension<ConnInfo>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let expected = cookie(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    if !tokens_match(&form.csrf, expected) {
        let flash = Some(Flash::error(
            "The sign-in form was too old or did not come from this page. Please sign in again.",
        ));
        return sign_in_page(&headers, StatusCode::FORBIDDEN, &form.login, flash);
    }
    let login = form.login.trim();
    if login.is_empty() || form.password.is_empty() {
        let flash = Some(Flash::error("Enter your login and your web password."));
        return sign_in_page(&headers, StatusCode::BAD_REQUEST, login, flash);
    }
    let actor = request_actor(
        &conn,
        &headers,
        Principal::Anonymous {
            claimed_login: None,
        },
        "web-password",
        "sign-in",
    );
    match state.core.sign_in(&actor, login, &form.password).await {
        Ok(signed) => {
            let max_age = (signed.expires_at_millis - state.core.now()).max(0) / 1000;
            let mut response = see_other("/admin/");
            let cookies = response.headers_mut();
            cookies.append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &signed.token, max_age),
            );
            cookies.append(header::SET_COOKIE, set_cookie(SIGN_IN_COOKIE, "", 0));
            response
        }
        Err(SignInError::Throttled { retry_after_secs }) => {
            let flash = Some(Flash::error(format!(
                "Too many failed sign-ins from your address. Try again in {} minute(s).",
                retry_after_secs.div_ceil(60)
            )));
            let mut response = sign_in_page(&headers, StatusCode::TOO_MANY_REQUESTS, login, flash);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            response
        }
        Err(SignInError::WrongCredentials) => sign_in_page(
            &headers,
            StatusCode::FORBIDDEN,
            login,
            Some(Flash::error("Wrong login or password.")),
        ),
        Err(SignInError::Blocked) => sign_in_page(
            &headers,
            StatusCode::FORBIDDEN,
            login,
            Some(Flash::error(
                "This customer is blocked; its login cannot sign in.",
            )),
        ),
        Err(SignInError::Core(e)) => sign_in_page(
            &headers,
            status_of(&e),
            login,
            Some(Flash::error(e.to_string())),
        ),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CsrfForm {
    pub csrf: String,
}

/// `POST /admin/sign-out`: ends the session everywhere and drops the cookie.
pub async fn sign_out(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = signed.csrf_refusal(&form.csrf) {
        return refused;
    }
    if let Err(e) = state
        .core
        .sign_out(&signed.actor("sign-out"), &signed.token)
        .await
    {
        return super::error_page(&signed, "dashboard", &e);
    }
    let mut response = see_other("/admin/?done=signed-out");
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name_and_checked() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static(
                "x__Host-switchyard-session=aaaaaaaaaaaaaaaaaaaa; \
                 __Host-switchyard-session=bbbbbbbbbbbbbbbbbbbb",
            ),
        );
        assert_eq!(
            cookie(&headers, SESSION_COOKIE),
            Some("bbbbbbbbbbbbbbbbbbbb")
        );
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("__Host-switchyard-session=short"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), None);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("__Host-switchyard-session=bbbbbbbbbbbbbbbbbbb'"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), None);
    }

    #[test]
    fn cookie_flags() {
        let v = set_cookie(SESSION_COOKIE, "abc", 60);
        assert_eq!(
            v.to_str().unwrap(),
            "__Host-switchyard-session=abc; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=60"
        );
        assert!(!tokens_match("", ""));
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
    }
}

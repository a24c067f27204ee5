//! `/admin/`: the sign-in page without a session, the dashboard with one: the endpoints this
//! build serves, the TLS certificate, and how many customers and accounts the login's tree holds.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::session::{MaybeSigned, signed_out_home};
use super::{Chrome, Flash, error_page, render, utc};
use crate::core::admin::Overview;
use crate::server::AppState;
use crate::server::pages::{ENDPOINTS, Endpoint};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    pub done: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    flash: Option<Flash>,
    endpoints: &'static [Endpoint],
    fingerprint: String,
    certificate_expires: String,
    overview: Overview,
    session_expires: String,
}

/// `GET /admin/`.
pub async fn home(
    State(state): State<Arc<AppState>>,
    MaybeSigned(signed): MaybeSigned,
    headers: HeaderMap,
    Query(query): Query<DoneQuery>,
) -> Response {
    let signed = match signed {
        Ok(signed) => signed,
        Err(why) => return signed_out_home(&headers, &why, query.done.as_deref()),
    };
    let overview = match state.core.overview(&signed.actor("view-dashboard")).await {
        Ok(o) => o,
        Err(e) => return error_page(&signed, "dashboard", &e),
    };
    let page = DashboardPage {
        chrome: Chrome::new(&signed.session, "dashboard"),
        flash: Flash::done(query.done.as_deref()),
        endpoints: ENDPOINTS,
        fingerprint: state.tls_fingerprint.clone(),
        certificate_expires: state
            .tls_not_after
            .map_or_else(|| "unknown".to_string(), utc),
        overview,
        session_expires: utc(signed.session.expires_at_millis),
    };
    render(StatusCode::OK, &page)
}

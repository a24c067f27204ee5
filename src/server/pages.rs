//! The landing page: which APIs this build serves, and the TLS certificate's fingerprint so an
//! operator can pin it in clients.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::AppState;

pub struct Endpoint {
    pub name: &'static str,
    pub path: &'static str,
    pub auth: &'static str,
}

/// The endpoints of every dialect this build serves.
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        name: "Sippy-style XML-RPC",
        path: "POST /xmlapi/xmlapi",
        auth: "HTTP Digest (web login, API password), or a trusted host",
    },
    Endpoint {
        name: "Sipwise-C5-style REST (HAL+JSON)",
        path: "/api/ (OpenAPI 3.1 at /api/openapi.json)",
        auth: "HTTP Basic over TLS, Digest, or a client certificate from POST /api/admincerts/",
    },
    Endpoint {
        name: "Admin page",
        path: "GET /admin/",
        auth: "web login and web password (HTTPS only)",
    },
    Endpoint {
        name: "Health check",
        path: "GET /healthz",
        auth: "none",
    },
];

#[derive(Template)]
#[template(path = "index.html")]
struct Index<'a> {
    version: &'static str,
    endpoints: &'a [Endpoint],
    fingerprint: &'a str,
}

pub async fn index(State(state): State<Arc<AppState>>) -> Response {
    let page = Index {
        version: env!("CARGO_PKG_VERSION"),
        endpoints: ENDPOINTS,
        fingerprint: &state.tls_fingerprint,
    };
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering the landing page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "page unavailable\n").into_response()
        }
    }
}

pub async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css")],
        include_str!("../../static/switchyard.css"),
    )
}

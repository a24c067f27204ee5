//! Trusted hosts: list, add (an IP address or CIDR range, v4 or v6, with a description), remove.
//! Only root may: the core refuses everyone else.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::dashboard::DoneQuery;
use super::{Chrome, Flash, Signed, error_page, render, see_other, status_of, utc};
use crate::core::trusted_hosts::TrustedHost;
use crate::server::AppState;

/// One row of the list, ready to show.
pub struct HostRow {
    pub network: String,
    pub description: String,
    pub added: String,
}

#[derive(Template)]
#[template(path = "admin/trusted_hosts.html")]
struct TrustedHostsPage {
    chrome: Chrome,
    flash: Option<Flash>,
    hosts: Vec<HostRow>,
    /// What the add form held, to show again after a refusal.
    network: String,
    description: String,
}

/// `GET /admin/trusted-hosts`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Query(query): Query<DoneQuery>,
) -> Response {
    let flash = Flash::done(query.done.as_deref());
    render_hosts(&state, &signed, flash, StatusCode::OK, AddForm::default()).await
}

async fn render_hosts(
    state: &AppState,
    signed: &Signed,
    flash: Option<Flash>,
    status: StatusCode,
    form: AddForm,
) -> Response {
    let hosts: Vec<TrustedHost> = match state
        .core
        .list_trusted_hosts(&signed.actor("view-trusted-hosts"))
        .await
    {
        Ok(h) => h,
        Err(e) => return error_page(signed, "trusted-hosts", &e),
    };
    let page = TrustedHostsPage {
        chrome: Chrome::new(&signed.session, "trusted-hosts"),
        flash,
        hosts: hosts
            .into_iter()
            .map(|h| HostRow {
                network: h.network,
                description: h.description,
                added: utc(h.created_on),
            })
            .collect(),
        network: form.network,
        description: form.description,
    };
    render(status, &page)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AddForm {
    csrf: String,
    network: String,
    description: String,
}

/// `POST /admin/trusted-hosts`.
pub async fn add(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Form(form): Form<AddForm>,
) -> Response {
    if let Some(refused) = signed.csrf_refusal(&form.csrf) {
        return refused;
    }
    let actor = signed.actor("add-trusted-host");
    match state
        .core
        .add_trusted_host(&actor, &form.network, form.description.trim())
        .await
    {
        Ok(_) => see_other("/admin/trusted-hosts?done=host-added"),
        Err(e) => {
            let flash = Some(Flash::error(format!("Not added: {e}")));
            render_hosts(&state, &signed, flash, status_of(&e), form).await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RemoveForm {
    csrf: String,
    network: String,
}

/// `POST /admin/trusted-hosts/remove`.
pub async fn remove(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Form(form): Form<RemoveForm>,
) -> Response {
    if let Some(refused) = signed.csrf_refusal(&form.csrf) {
        return refused;
    }
    let actor = signed.actor("remove-trusted-host");
    match state.core.remove_trusted_host(&actor, &form.network).await {
        Ok(_) => see_other("/admin/trusted-hosts?done=host-removed"),
        Err(e) => {
            let flash = Some(Flash::error(format!("Not removed: {e}")));
            render_hosts(&state, &signed, flash, status_of(&e), AddForm::default()).await
        }
    }
}

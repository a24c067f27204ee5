//! Shared phonebooks (sipXconfig): the ones the signed-in admin manages, and a form to create one
//! or replace its entries from sipXconfig's phonebook CSV. The core decides who may.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::dashboard::DoneQuery;
use super::{Chrome, Flash, Signed, error_page, render, see_other, status_of};
use crate::core::phonebooks::PhonebookSummary;
use crate::dialects::sipx::phonebook_csv;
use crate::server::AppState;

#[derive(Template)]
#[template(path = "admin/phonebooks.html")]
struct PhonebooksPage {
    chrome: Chrome,
    flash: Option<Flash>,
    books: Vec<PhonebookSummary>,
    /// What the import form held, to show again after a refusal.
    name: String,
    csv: String,
}

/// `GET /admin/phonebooks`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Query(query): Query<DoneQuery>,
) -> Response {
    let flash = Flash::done(query.done.as_deref());
    render_page(
        &state,
        &signed,
        flash,
        StatusCode::OK,
        ImportForm::default(),
    )
    .await
}

async fn render_page(
    state: &AppState,
    signed: &Signed,
    flash: Option<Flash>,
    status: StatusCode,
    form: ImportForm,
) -> Response {
    let books = match state
        .core
        .list_phonebooks(&signed.actor("view-phonebooks"))
        .await
    {
        Ok(b) => b,
        Err(e) => return error_page(signed, "phonebooks", &e),
    };
    let page = PhonebooksPage {
        chrome: Chrome::new(&signed.session, "phonebooks"),
        flash,
        books,
        name: form.name,
        csv: form.csv,
    };
    render(status, &page)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ImportForm {
    csrf: String,
    name: String,
    csv: String,
}

/// `POST /admin/phonebooks`: creates the phonebook or replaces its entries.
pub async fn import(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Form(form): Form<ImportForm>,
) -> Response {
    if let Some(refused) = signed.csrf_refusal(&form.csrf) {
        return refused;
    }
    let entries = match phonebook_csv::read(&form.csv) {
        Ok(e) => e,
        Err(e) => {
            let flash = Some(Flash::error(format!("Not imported: {e}")));
            return render_page(&state, &signed, flash, StatusCode::BAD_REQUEST, form).await;
        }
    };
    let actor = signed.actor("import-phonebook");
    match state
        .core
        .import_phonebook(&actor, form.name.trim().to_string(), entries)
        .await
    {
        Ok(_) => see_other("/admin/phonebooks?done=phonebook-imported"),
        Err(e) => {
            let flash = Some(Flash::error(format!("Not imported: {e}")));
            render_page(&state, &signed, flash, status_of(&e), form).await
        }
    }
}

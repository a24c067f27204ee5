//! My Preferences: the signed-in customer's own **Allow API Calls**, its API password, and its web
//! password (the current one required).

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::customers::AllowApiCallsForm;
use super::dashboard::DoneQuery;
use super::{Chrome, Flash, Signed, error_page, render, see_other, status_of};
use crate::core::CoreError;
use crate::core::admin::CustomerDetail;
use crate::core::attrs::{Field, Fields};
use crate::server::AppState;

#[derive(Template)]
#[template(path = "admin/preferences.html")]
struct PreferencesPage {
    chrome: Chrome,
    flash: Option<Flash>,
    me: CustomerDetail,
}

/// `GET /admin/preferences`.
pub async fn show(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Query(query): Query<DoneQuery>,
) -> Response {
    let flash = Flash::done(query.done.as_deref());
    render_preferences(&state, &signed, flash, StatusCode::OK).await
}

async fn render_preferences(
    state: &AppState,
    signed: &Signed,
    flash: Option<Flash>,
    status: StatusCode,
) -> Response {
    let me = match state
        .core
        .customer_detail(
            &signed.actor("view-preferences"),
            signed.session.customer_id,
        )
        .await
    {
        Ok(me) => me,
        Err(e) => return error_page(signed, "preferences", &e),
    };
    let page = PreferencesPage {
        chrome: Chrome::new(&signed.session, "preferences"),
        flash,
        me,
    };
    render(status, &page)
}

/// Shows My Preferences again with why a change was refused.
async fn refused(state: &AppState, signed: &Signed, e: &CoreError) -> Response {
    let flash = Some(Flash::error(format!("Not saved: {e}")));
    render_preferences(state, signed, flash, status_of(e)).await
}

/// Changes fields of the signed-in customer through the core, then shows My Preferences.
async fn update_own(
    state: &AppState,
    signed: &Signed,
    action: &str,
    fields: Fields,
    done: &str,
) -> Response {
    let id = signed.session.customer_id;
    match state
        .core
        .update_customer(&signed.actor(action), id, fields)
        .await
    {
        Ok(()) => see_other(&format!("/admin/preferences?done={done}")),
        Err(e) => refused(state, signed, &e).await,
    }
}

/// `POST /admin/preferences/allow-api-calls`.
pub async fn set_allow_api_calls(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Form(form): Form<AllowApiCallsForm>,
) -> Response {
    if let Some(refused) = signed.csrf_refusal(&form.csrf) {
        return refused;
    }
    let on = form.allow_api_calls.is_some();
    let mut fields = Fields::new();
    fields.insert("api_access".into(), Field::Bool(on));
    let done = if on {
        "allow-api-calls-on"
    } else {
        "allow-api-calls-off"
    };
    update_own(&state, &signed, "set-allow-api-calls", fields, done).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ApiPasswordForm {
    csrf: String,
    api_password: String,
    api_password_again: String,
}

/// `POST /admin/preferences/api-password`.
pub async fn change_api_password(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Form(form): Form<ApiPasswordForm>,
) -> Response {
    if let Some(refused) = signed.csrf_refusal(&form.csrf) {
        return refused;
    }
    if form.api_password != form.api_password_again {
        let e = CoreError::invalid("api_password", "the two entries differ");
        return refused(&state, &signed, &e).await;
    }
    let mut fields = Fields::new();
    fields.insert("api_password".into(), Field::Str(form.api_password));
    update_own(
        &state,
        &signed,
        "change-api-password",
        fields,
        "api-password",
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct WebPasswordForm {
    csrf: String,
    current_password: String,
    new_password: String,
    new_password_again: String,
}

/// `POST /admin/preferences/web-password`: needs the current web password; signs out the
/// login's other sessions.
pub async fn change_web_password(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Form(form): Form<WebPasswordForm>,
) -> Response {
    if let Some(refused) = signed.csrf_refusal(&form.csrf) {
        return refused;
    }
    if form.new_password != form.new_password_again {
        let e = CoreError::invalid("new web password", "the two entries differ");
        return refused(&state, &signed, &e).await;
    }
    let actor = signed.actor("change-web-password");
    match state
        .core
        .change_web_password(
            &actor,
            signed.session.id,
            &form.current_password,
            &form.new_password,
        )
        .await
    {
        Ok(()) => see_other("/admin/preferences?done=web-password"),
        Err(e) => refused(&state, &signed, &e).await,
    }
}

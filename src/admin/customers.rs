//! Customers: the tree below the signed-in login, one customer's page with its **API** box (its
//! parent's to set) and its **Allow API Calls**, and creating a sub-customer. Every change is an
//! ordinary `Core::update_customer` / `create_customer` call, checked and audited by the core.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{Chrome, Flash, Signed, error_page, render, see_other, status_of};
use crate::core::CoreError;
use crate::core::admin::{CustomerDetail, CustomerEntry};
use crate::core::attrs::{Field, Fields};
use crate::server::AppState;

/// Customers per page of the tree.
const PAGE_SIZE: i64 = 50;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    page: Option<String>,
    done: Option<String>,
}

/// What the "new sub-customer" form held, to show it again after a refusal (never passwords).
#[derive(Default, Clone)]
pub struct NewCustomerValues {
    pub name: String,
    pub web_login: String,
}

#[derive(Template)]
#[template(path = "admin/customers.html")]
struct CustomersPage {
    chrome: Chrome,
    flash: Option<Flash>,
    rows: Vec<CustomerEntry>,
    page: i64,
    has_next: bool,
    /// The signed-in login's own customer: where the form creates sub-customers.
    own_customer_id: i64,
    may_add: bool,
    new_customer: NewCustomerValues,
}

/// `GET /admin/customers?page=N`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Query(query): Query<ListQuery>,
) -> Response {
    let page = match query.page.as_deref().map(str::parse::<i64>) {
        None => 1,
        Some(Ok(n)) if (1..=1_000_000).contains(&n) => n,
        Some(_) => {
            let e = CoreError::invalid("page", "must be a page number from 1");
            return error_page(&signed, "customers", &e);
        }
    };
    let flash = Flash::done(query.done.as_deref());
    render_list(
        &state,
        &signed,
        page,
        flash,
        StatusCode::OK,
        NewCustomerValues::default(),
    )
    .await
}

async fn render_list(
    state: &AppState,
    signed: &Signed,
    page: i64,
    flash: Option<Flash>,
    status: StatusCode,
    new_customer: NewCustomerValues,
) -> Response {
    let actor = signed.actor("view-customers");
    let offset = (page - 1) * PAGE_SIZE;
    let (rows, has_next) = match state.core.customer_tree(&actor, offset, PAGE_SIZE).await {
        Ok(r) => r,
        Err(e) => return error_page(signed, "customers", &e),
    };
    let view = CustomersPage {
        chrome: Chrome::new(&signed.session, "customers"),
        flash,
        rows,
        page,
        has_next,
        own_customer_id: signed.session.customer_id,
        may_add: signed.session.may_add_sub_customers,
        new_customer,
    };
    render(status, &view)
}

#[derive(Template)]
#[template(path = "admin/customer.html")]
struct CustomerPage {
    chrome: Chrome,
    flash: Option<Flash>,
    detail: CustomerDetail,
    new_customer: NewCustomerValues,
}

/// A customer id from the address; anything else is a customer that does not exist.
fn customer_id(text: &str) -> Result<i64, CoreError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| CoreError::NotFound(format!("customer '{text}'")))
}

/// `GET /admin/customers/{id}`.
pub async fn show(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Path(id): Path<String>,
    Query(query): Query<ListQuery>,
) -> Response {
    let id = match customer_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(&signed, "customers", &e),
    };
    let flash = Flash::done(query.done.as_deref());
    render_customer(
        &state,
        &signed,
        id,
        flash,
        StatusCode::OK,
        NewCustomerValues::default(),
    )
    .await
}

async fn render_customer(
    state: &AppState,
    signed: &Signed,
    id: i64,
    flash: Option<Flash>,
    status: StatusCode,
    new_customer: NewCustomerValues,
) -> Response {
    let detail = match state
        .core
        .customer_detail(&signed.actor("view-customer"), id)
        .await
    {
        Ok(d) => d,
        Err(e) => return error_page(signed, "customers", &e),
    };
    let view = CustomerPage {
        chrome: Chrome::new(&signed.session, "customers"),
        flash,
        detail,
        new_customer,
    };
    render(status, &view)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ApiPermissionForm {
    csrf: String,
    /// Present (a ticked check-box) means on; absent means off.
    api_permission: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AllowApiCallsForm {
    pub csrf: String,
    pub allow_api_calls: Option<String>,
}

/// Sets one switch of customer `id` through the core, then shows the customer again.
async fn set_switch(
    state: &AppState,
    signed: &Signed,
    id: &str,
    (field, action, done): (&str, &str, &str),
    on: bool,
) -> Response {
    let id = match customer_id(id) {
        Ok(id) => id,
        Err(e) => return error_page(signed, "customers", &e),
    };
    let mut fields = Fields::new();
    fields.insert(field.to_string(), Field::Bool(on));
    match state
        .core
        .update_customer(&signed.actor(action), id, fields)
        .await
    {
        Ok(()) => {
            let state = if on { "on" } else { "off" };
            see_other(&format!("/admin/customers/{id}?done={done}-{state}"))
        }
        Err(e @ (CoreError::NotFound(_) | CoreError::OutOfScope(_))) => {
            error_page(signed, "customers", &e)
        }
        Err(e) => {
            let status = status_of(&e);
            render_customer(
                state,
                signed,
                id,
                Some(Flash::error(format!("Not saved: {e}"))),
                status,
                NewCustomerValues::default(),
            )
            .await
        }
    }
}

/// `POST /admin/customers/{id}/api-permission`: the parent's API box.
pub async fn set_api_permission(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<ApiPermissionForm>,
) -> Response {
    if let Some(refused) = signed.csrf_refusal(&form.csrf) {
        return refused;
    }
    let what = ("api_permission", "set-api-permission", "api-permission");
    set_switch(&state, &signed, &id, what, form.api_permission.is_some()).await
}

/// `POST /admin/customers/{id}/allow-api-calls`: the customer's own Allow API Calls.
pub async fn set_allow_api_calls(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<AllowApiCallsForm>,
) -> Response {
    if let Some(refused) = signed.csrf_refusal(&form.csrf) {
        return refused;
    }
    let what = ("api_access", "set-allow-api-calls", "allow-api-calls");
    set_switch(&state, &signed, &id, what, form.allow_api_calls.is_some()).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewCustomerForm {
    csrf: String,
    parent: String,
    /// "list" when sent from the customer list, else the parent's page.
    return_to: String,
    name: String,
    web_login: String,
    web_password: String,
    api_password: String,
}

/// `POST /admin/customers`: a new sub-customer below `parent`.
pub async fn create(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Form(form): Form<NewCustomerForm>,
) -> Response {
    if let Some(refused) = signed.csrf_refusal(&form.csrf) {
        return refused;
    }
    let parent = match customer_id(&form.parent) {
        Ok(id) => id,
        Err(e) => return error_page(&signed, "customers", &e),
    };
    let mut fields = Fields::new();
    fields.insert("name".into(), Field::Str(form.name.trim().to_string()));
    // Sippy's createCustomer requires i_tariff; nil means the customer's own tariff.
    fields.insert("i_tariff".into(), Field::Null);
    if !form.web_login.trim().is_empty() {
        fields.insert(
            "web_login".into(),
            Field::Str(form.web_login.trim().to_string()),
        );
    }
    fields.insert("web_password".into(), Field::Str(form.web_password));
    if !form.api_password.is_empty() {
        fields.insert("api_password".into(), Field::Str(form.api_password));
    }
    let actor = signed.actor("create-customer");
    match state
        .core
        .create_customer(&actor, Some(parent), fields)
        .await
    {
        Ok(id) => see_other(&format!("/admin/customers/{id}?done=customer-created")),
        Err(e @ (CoreError::NotFound(_) | CoreError::OutOfScope(_))) => {
            error_page(&signed, "customers", &e)
        }
        Err(e) => {
            let status = status_of(&e);
            let flash = Some(Flash::error(format!("The customer was not created: {e}")));
            let kept = NewCustomerValues {
                name: form.name,
                web_login: form.web_login,
            };
            if form.return_to == "list" {
                render_list(&state, &signed, 1, flash, status, kept).await
            } else {
                render_customer(&state, &signed, parent, flash, status, kept).await
            }
        }
    }
}

//! Prepaid vouchers: list them, and create a batch whose secret numbers are shown once, on the
//! answer to the form. Only root may: the core refuses everyone else.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{Chrome, Flash, Signed, error_page, render, status_of, utc};
use crate::core::vouchers::NewVoucher;
use crate::server::AppState;

/// One row of the list, ready to show.
pub struct VoucherRow {
    pub id: i64,
    pub value: String,
    pub created: String,
    pub created_by: String,
    /// "unused", or when and by which subscriber it was used.
    pub used: String,
}

#[derive(Template)]
#[template(path = "admin/vouchers.html")]
struct VouchersPage {
    chrome: Chrome,
    flash: Option<Flash>,
    /// Vouchers just created, with their numbers: shown only on this answer.
    created: Vec<NewVoucher>,
    vouchers: Vec<VoucherRow>,
    count: String,
    value: String,
    currency: String,
}

/// `GET /admin/vouchers`.
pub async fn list(State(state): State<Arc<AppState>>, signed: Signed) -> Response {
    let form = CreateForm {
        count: "1".into(),
        currency: "USD".into(),
        ..CreateForm::default()
    };
    render_vouchers(&state, &signed, None, StatusCode::OK, Vec::new(), form).await
}

async fn render_vouchers(
    state: &AppState,
    signed: &Signed,
    flash: Option<Flash>,
    status: StatusCode,
    created: Vec<NewVoucher>,
    form: CreateForm,
) -> Response {
    let list = match state
        .core
        .list_vouchers(&signed.actor("view-vouchers"), None, Some(200))
        .await
    {
        Ok(v) => v,
        Err(e) => return error_page(signed, "vouchers", &e),
    };
    let page = VouchersPage {
        chrome: Chrome::new(&signed.session, "vouchers"),
        flash,
        created,
        vouchers: list
            .into_iter()
            .map(|v| VoucherRow {
                id: v.id,
                value: format!("{:.2} {}", v.value, v.currency),
                created: utc(v.created_on),
                created_by: v.created_by,
                used: match (v.used_on, v.used_by) {
                    (Some(on), Some(by)) => format!("{} by subscriber {by}", utc(on)),
                    (Some(on), None) => format!("{} (subscriber since deleted)", utc(on)),
                    _ => "unused".into(),
                },
            })
            .collect(),
        count: form.count,
        value: form.value,
        currency: form.currency,
    };
    render(status, &page)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CreateForm {
    csrf: String,
    count: String,
    value: String,
    currency: String,
}

/// `POST /admin/vouchers`: creates the batch and answers with its numbers.
pub async fn create(
    State(state): State<Arc<AppState>>,
    signed: Signed,
    Form(form): Form<CreateForm>,
) -> Response {
    if let Some(refused) = signed.csrf_refusal(&form.csrf) {
        return refused;
    }
    let (Ok(count), Ok(value)) = (
        form.count.trim().parse::<i64>(),
        form.value.trim().parse::<f64>(),
    ) else {
        let flash = Some(Flash::error(
            "Not created: give a whole number of vouchers and a value such as 10.00",
        ));
        return render_vouchers(
            &state,
            &signed,
            flash,
            StatusCode::BAD_REQUEST,
            Vec::new(),
            form,
        )
        .await;
    };
    let currency = form.currency.trim().to_ascii_uppercase();
    match state
        .core
        .create_vouchers(&signed.actor("create-vouchers"), count, value, currency)
        .await
    {
        Ok(created) => {
            let flash = Some(Flash::notice(format!(
                "Created {} vouchers. Copy their numbers now: they are not shown again.",
                created.len()
            )));
            render_vouchers(&state, &signed, flash, StatusCode::OK, created, form).await
        }
        Err(e) => {
            let flash = Some(Flash::error(format!("Not created: {e}")));
            render_vouchers(&state, &signed, flash, status_of(&e), Vec::new(), form).await
        }
    }
}

//! SIP2SIP-style account settings at `/settings.phtml` (seed 002, notes/sipx_sip2sip.md Part B):
//! `action=...` from the query string or a POST form, Digest as the subscriber itself in the
//! realm the request names, JSON replies always. A thin translation: forwarding, DND, privacy and
//! accept/reject rules are views of the core's forwarding and preferences; history, devices and
//! balances read the core's records. No SQL, no permission decision, no audit write here.

mod forwarding;
mod journal;
mod render;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::self_care::SelfCareRules;
use crate::auth::{AuthOutcome, RequestMeta};
use crate::core::CoreError;
use crate::core::actor::{Actor, LoginPrincipal, Principal, Scope};
use crate::core::self_care::SelfCareSecret;
use crate::server::{AppState, ConnInfo};

const DIALECT: &str = "sip2sip";
/// The realm when the request names none (cdrtool's default).
pub const DEFAULT_REALM: &str = "SIP_settings";
/// Parameters one request may carry.
const MAX_PARAMS: usize = 64;
const JSON: &str = "application/json";

/// The request's parameters: the query string and a POST form, interchangeable (the first
/// occurrence of a name wins).
pub(crate) struct Params(pub(crate) BTreeMap<String, String>);

impl Params {
    pub(crate) fn parse(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<Self, String> {
        let mut map = BTreeMap::new();
        let query = uri.query().unwrap_or_default().as_bytes();
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|t| {
                t.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        let form: &[u8] = if is_form { body } else { &[] };
        for (k, v) in form_urlencoded::parse(query).chain(form_urlencoded::parse(form)) {
            if map.len() >= MAX_PARAMS {
                return Err(format!("Error: more than {MAX_PARAMS} parameters"));
            }
            map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
        Ok(Self(map))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// A JSON reply; the original's shapes go out as they are, always as pure JSON.
pub(crate) fn reply(status: StatusCode, value: &Value) -> Response {
    reply_text(status, value.to_string())
}

/// A reply of JSON text already written.
pub(crate) fn reply_text(status: StatusCode, json: String) -> Response {
    let mut r = (status, json).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    r
}

/// `{"success": ok, "error_message": message}`: the original's answer to changes (its message
/// is in `error_message` on success too).
pub(crate) fn outcome(ok: bool, message: impl Into<String>) -> Response {
    reply(
        StatusCode::OK,
        &json!({ "success": ok, "error_message": message.into() }),
    )
}

/// The core's refusal in the original's shape; storage trouble is the server's, answered 503,
/// or 507 Insufficient Storage when the disk is full (retrying helps only once space is freed).
pub(crate) fn core_error(e: &CoreError) -> Response {
    match e {
        CoreError::StorageFull => reply(
            StatusCode::INSUFFICIENT_STORAGE,
            &json!({ "success": false, "error_message": format!("Error: {e}") }),
        ),
        CoreError::Busy | CoreError::StorageFailed(_) | CoreError::Storage(_) => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({ "success": false, "error_message": format!("Error: {e}") }),
        ),
        _ => outcome(false, format!("Error: {e}")),
    }
}

/// Everything an action needs.
pub(crate) struct Call<'a> {
    pub state: &'a AppState,
    pub actor: Actor,
    pub subscriber_id: i64,
    pub params: Params,
}

/// `/settings.phtml`.
pub async fn endpoint(
    State(state): State<Arc<AppState>>,
    Extension(conn): Extension<ConnInfo>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // GET changes settings too (the original's set_* actions are GET requests), so HEAD, which
    // a client may send without expecting a change, is not served.
    if method != Method::GET && method != Method::POST {
        let mut r = reply(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({ "success": false, "error_message": "Error: use GET or POST" }),
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
        return r;
    }
    let params = match Params::parse(&uri, &headers, &body) {
        Ok(p) => p,
        Err(message) => return outcome(false, message),
    };
    let realm = params
        .get("realm")
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or(DEFAULT_REALM)
        .to_string();
    if realm.len() > 253 || realm.contains(['"', '\\', ',', '=']) {
        return outcome(false, "Error: invalid realm");
    }
    let meta = RequestMeta::from_http(&conn, &method, &uri, &headers, !body.is_empty());
    // A user name without `@domain` is in the realm's domain (the realm is the SIP domain).
    let rules = SelfCareRules {
        realm: realm.clone(),
        default_domain: Some(realm.clone()),
        secret: SelfCareSecret::WebOrSipPassword,
        basic_over_tls: false,
    };
    let (principal, auth_method) = match state
        .auth
        .authenticate_self_care(&meta, DIALECT, &rules)
        .await
    {
        AuthOutcome::Authenticated {
            principal,
            auth_method,
        } => (principal, auth_method),
        AuthOutcome::Challenge { stale } => {
            let mut r = reply(
                StatusCode::UNAUTHORIZED,
                &json!({ "success": false, "error_message": "Error: authentication required" }),
            );
            super::add_challenges(&mut r, state.auth.self_care_challenges(&realm, stale));
            return r;
        }
        AuthOutcome::Refused { reason } => {
            return reply(
                StatusCode::FORBIDDEN,
                &json!({ "success": false, "error_message": format!("Error: {reason}") }),
            );
        }
        AuthOutcome::Throttled { retry_after_secs } => {
            let mut r = reply(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({ "success": false, "error_message": format!(
                    "Error: too many failed logins from your address; retry in {retry_after_secs} s"
                ) }),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            return r;
        }
    };
    let Principal::Login(LoginPrincipal {
        scope: Scope::Subscriber { id, .. },
        ..
    }) = &principal
    else {
        return outcome(false, "Error: not a subscriber");
    };
    let subscriber_id = *id;
    let action = params.get("action").unwrap_or_default().to_string();
    let mut actor = meta.actor(principal, auth_method, DIALECT);
    actor.method = action.clone();
    let call = Call {
        state: &state,
        actor,
        subscriber_id,
        params,
    };
    dispatch(&call, &action).await
}

/// What an action runs; [`ACTIONS`] names each one.
#[derive(Clone, Copy)]
enum Action {
    Identity,
    Aliases,
    AddAlias,
    Enum,
    Devices,
    History,
    GetForwarding,
    SetForwarding,
    AcceptRules,
    RejectRules,
    Dnd(bool),
    Privacy(bool),
    /// Voicemail and location.
    Null,
    PutJournal,
    GetJournal,
    DeleteJournal,
    Prepaid,
    BalanceHistory,
    MonthlyUsage,
    AddBalance,
}

/// Every action: (name, what it runs, whether it changes data). The dispatcher looks names up
/// here, and [`routes`] lists them.
const ACTIONS: &[(&str, Action, bool)] = &[
    ("get_identity", Action::Identity, false),
    ("get_aliases", Action::Aliases, false),
    ("add_alias", Action::AddAlias, true),
    ("get_enum", Action::Enum, false),
    ("get_devices", Action::Devices, false),
    ("get_history", Action::History, false),
    ("get_call_forwarding", Action::GetForwarding, false),
    ("set_call_forwarding", Action::SetForwarding, true),
    ("get_accept_rules", Action::AcceptRules, false),
    ("get_reject_rules", Action::RejectRules, false),
    ("set_dnd_on", Action::Dnd(true), true),
    ("set_dnd_off", Action::Dnd(false), true),
    ("set_privacy_on", Action::Privacy(true), true),
    ("set_privacy_off", Action::Privacy(false), true),
    ("get_voicemail", Action::Null, false),
    ("get_location", Action::Null, false),
    ("put_journal_entries", Action::PutJournal, true),
    ("get_journal_entries", Action::GetJournal, false),
    ("delete_journal_entries", Action::DeleteJournal, true),
    ("get_prepaid", Action::Prepaid, false),
    ("get_balance_history", Action::BalanceHistory, false),
    ("get_monthly_usage", Action::MonthlyUsage, false),
    ("add_balance", Action::AddBalance, true),
];

/// Every action of `/settings.phtml`, from [`ACTIONS`].
pub fn routes() -> Vec<crate::dialects::RouteSpec> {
    ACTIONS
        .iter()
        .map(|(name, _, mutates)| {
            crate::dialects::RouteSpec::new(DIALECT, "ACTION", *name, *mutates)
        })
        .collect()
}

async fn dispatch(call: &Call<'_>, action: &str) -> Response {
    let Some((_, action, _)) = ACTIONS.iter().find(|(name, _, _)| *name == action) else {
        return outcome(false, "Error: invalid action");
    };
    match *action {
        Action::Identity => render::identity(call).await,
        Action::Aliases => render::aliases(call).await,
        Action::AddAlias => render::add_alias(call).await,
        Action::Enum => render::enum_numbers(call).await,
        Action::Devices => render::devices(call).await,
        Action::History => render::history(call).await,
        Action::GetForwarding => forwarding::get(call).await,
        Action::SetForwarding => forwarding::set(call).await,
        Action::AcceptRules => forwarding::accept_rules(call).await,
        Action::RejectRules => forwarding::reject_rules(call).await,
        Action::Dnd(on) => forwarding::dnd(call, on).await,
        Action::Privacy(on) => forwarding::privacy(call, on).await,
        // switchyard runs no voicemail service, and Blink publishes any non-empty location
        // reply: both answer null, as the original does for an account without them.
        Action::Null => reply(StatusCode::OK, &Value::Null),
        Action::PutJournal => journal::put(call).await,
        Action::GetJournal => journal::get(call).await,
        Action::DeleteJournal => journal::delete(call).await,
        Action::Prepaid => render::prepaid(call).await,
        Action::BalanceHistory => render::balance_history(call).await,
        Action::MonthlyUsage => render::monthly_usage(call).await,
        Action::AddBalance => render::add_balance(call).await,
    }
}

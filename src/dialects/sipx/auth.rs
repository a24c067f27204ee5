//! Who a sipXconfig request is: a subscriber by its portal PIN (Basic over TLS, or Digest; user
//! name or alias), a subscriber by its private user key, or an admin API login.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{DIALECT, Refusal};
use crate::auth::self_care::SelfCareRules;
use crate::auth::{AuthOutcome, RequestMeta};
use crate::core::actor::{Actor, LoginPrincipal, Principal, Scope};
use crate::core::self_care::SelfCareSecret;
use crate::server::AppState;

/// The `auth_method` of requests authenticated by a private user key.
const AUTH_PRIVATE_KEY: &str = "private-key";

/// A subscriber acting on itself.
pub struct Subscriber {
    pub actor: Actor,
    pub subscriber_id: i64,
}

/// 401 with the challenges a client may answer: Digest, and Basic over TLS.
fn challenge(state: &AppState, meta: &RequestMeta, stale_nonce: bool) -> Response {
    let mut response = Refusal::new(
        StatusCode::UNAUTHORIZED,
        "authentication required: the user name or an alias, and the user portal PIN",
    )
    .into_response();
    let basic = meta
        .tls
        .then(|| format!("Basic realm=\"{}\"", state.core.realm()));
    crate::dialects::add_challenges(
        &mut response,
        self_care_challenges(state, stale_nonce)
            .into_iter()
            .chain(basic),
    );
    response
}

fn refuse_outcome(state: &AppState, meta: &RequestMeta, outcome: AuthOutcome) -> Response {
    match outcome {
        AuthOutcome::Challenge { stale } => challenge(state, meta, stale),
        AuthOutcome::Refused { reason } => {
            Refusal::new(StatusCode::FORBIDDEN, reason).into_response()
        }
        AuthOutcome::Throttled { retry_after_secs } => {
            let mut response = Refusal::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many failed logins from this address; retry in {retry_after_secs} s"),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            response
        }
        AuthOutcome::Authenticated { .. } => {
            Refusal::new(StatusCode::FORBIDDEN, "not a subscriber").into_response()
        }
    }
}

/// The subscriber a `my/...` or `call/...` request comes from.
pub async fn subscriber(state: &AppState, meta: &RequestMeta) -> Result<Subscriber, Response> {
    match self_care(state, meta).await {
        AuthOutcome::Authenticated {
            principal,
            auth_method,
        } => match &principal {
            Principal::Login(LoginPrincipal {
                scope: Scope::Subscriber { id, .. },
                ..
            }) => Ok(Subscriber {
                subscriber_id: *id,
                actor: meta.actor(principal.clone(), auth_method, DIALECT),
            }),
            _ => Err(Refusal::new(StatusCode::FORBIDDEN, "not a subscriber").into_response()),
        },
        other => Err(refuse_outcome(state, meta, other)),
    }
}

/// The subscriber whose private user key is in the path; any other key is refused (and audited
/// as a failed authentication).
pub async fn private_key(
    state: &AppState,
    meta: &RequestMeta,
    key: &str,
) -> Result<Subscriber, Response> {
    // Keys are guessed like passwords: the same per-address throttle.
    if let Some(retry_after_secs) = state.auth.throttled(meta.peer) {
        return Err(refuse_outcome(
            state,
            meta,
            AuthOutcome::Throttled { retry_after_secs },
        ));
    }
    match state.core.find_private_key_holder(key).await {
        Ok(Some(holder)) => Ok(Subscriber {
            subscriber_id: holder.subscriber_id,
            actor: meta.actor(holder.principal(), AUTH_PRIVATE_KEY, DIALECT),
        }),
        Ok(None) => {
            let mut actor = meta.actor(
                Principal::Anonymous {
                    claimed_login: None,
                },
                AUTH_PRIVATE_KEY,
                DIALECT,
            );
            actor.method = format!("{} /sipxconfig/rest/private/...", meta.method);
            state
                .auth
                .record_failure(&actor, "unknown private user key")
                .await;
            Err(Refusal::new(StatusCode::FORBIDDEN, "unknown private user key").into_response())
        }
        Err(e) => Err(Refusal::from(e).into_response()),
    }
}

/// An admin API login for the admin routes (`phonebook`, ...).
pub async fn admin(state: &AppState, meta: &RequestMeta) -> Result<Actor, Response> {
    match state.auth.authenticate(meta, DIALECT, false).await {
        AuthOutcome::Authenticated {
            principal,
            auth_method,
        } if !matches!(
            &principal,
            Principal::Login(LoginPrincipal {
                scope: Scope::Subscriber { .. },
                ..
            })
        ) =>
        {
            Ok(meta.actor(principal, auth_method, DIALECT))
        }
        AuthOutcome::Challenge { stale } => {
            let mut response = Refusal::new(
                StatusCode::UNAUTHORIZED,
                "authentication required: an admin API login",
            )
            .into_response();
            let basic = meta
                .tls
                .then(|| format!("Basic realm=\"{}\"", state.core.realm()));
            crate::dialects::add_challenges(
                &mut response,
                state.auth.challenges(stale).into_iter().chain(basic),
            );
            Err(response)
        }
        AuthOutcome::Authenticated { .. } => Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "this resource needs an admin login",
        )
        .into_response()),
        other => Err(refuse_outcome(state, meta, other)),
    }
}

/// How sipXconfig subscribers authenticate: their portal PIN, in the configured realm.
fn rules(state: &AppState) -> SelfCareRules {
    SelfCareRules {
        realm: state.core.realm().to_string(),
        default_domain: None,
        secret: SelfCareSecret::PortalPin,
        basic_over_tls: true,
    }
}

async fn self_care(state: &AppState, meta: &RequestMeta) -> AuthOutcome {
    state
        .auth
        .authenticate_self_care(meta, DIALECT, &rules(state))
        .await
}

fn self_care_challenges(state: &AppState, stale_nonce: bool) -> Vec<String> {
    state
        .auth
        .self_care_challenges(state.core.realm(), stale_nonce)
}

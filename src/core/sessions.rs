//! Admin-page sessions (design §2, §4): sign-in with a login's web password (argon2id), sessions
//! kept in the database so they hold across restarts and instances and signing out revokes them,
//! a per-address throttle on failed sign-ins, and the web password change.

use std::sync::OnceLock;

use base64::Engine as _;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::actor::{Actor, LoginPrincipal, Principal, Scope};
use super::audit::Event;
use super::permissions::{self, Op};
use super::{Core, CoreError, CoreResult, Done, passwords};
use crate::db::{self, sessions::SessionRow};

/// How long a session lasts after sign-in.
pub const SESSION_LIFETIME_MILLIS: i64 = 8 * 60 * 60 * 1000;
/// Failed sign-ins one address may make within [`FAILURE_WINDOW_MILLIS`] before it must wait.
pub const MAX_FAILED_SIGN_INS: i64 = 10;
pub const FAILURE_WINDOW_MILLIS: i64 = 15 * 60 * 1000;

/// A live admin session: who it acts for and the token its forms must carry.
#[derive(Clone)]
pub struct AdminSession {
    pub id: i64,
    pub principal: Principal,
    pub login: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub csrf_token: String,
    pub expires_at_millis: i64,
    /// What the page should offer; the core still checks every call.
    pub may_manage_trusted_hosts: bool,
    pub may_add_sub_customers: bool,
    /// Whether this login reads the whole audit log, or only its own rows.
    pub sees_whole_audit_log: bool,
}

impl std::fmt::Debug for AdminSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminSession")
            .field("id", &self.id)
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

/// A new session: the token for the cookie (only its hash is stored) and when it expires.
pub struct SignedIn {
    pub token: String,
    pub expires_at_millis: i64,
}

/// Why a sign-in did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("too many failed sign-ins from your address; try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    #[error("wrong login or password")]
    WrongCredentials,
    #[error("this customer is blocked")]
    Blocked,
    #[error(transparent)]
    Core(#[from] CoreError),
}

/// A fresh random token for a form or cookie: 32 random bytes, base64url.
pub fn new_token() -> CoreResult<String> {
    random_token(32)
}

/// A fresh random token, base64url.
fn random_token(bytes: usize) -> CoreResult<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| CoreError::invalid("session", e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

/// What is stored of a session token: its SHA-256, hex.
fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A hash to check against when the login does not exist, so a wrong login costs the same time
/// as a wrong password and does not tell which logins exist.
fn dummy_hash() -> Option<&'static str> {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    DUMMY
        .get_or_init(|| passwords::hash_web_password("switchyard-no-such-login").ok())
        .as_deref()
}

/// Checks a web password against a stored hash (or the dummy) on a blocking thread.
async fn verify_off_thread(password: String, phc: Option<String>) -> CoreResult<bool> {
    tokio::task::spawn_blocking(move || {
        if let Some(phc) = phc {
            return passwords::verify_web_password(&password, &phc);
        }
        if let Some(dummy) = dummy_hash() {
            passwords::verify_web_password(&password, dummy);
        }
        false
    })
    .await
    .map_err(|_| CoreError::Storage(db::DbError::Panicked))
}

fn session_from_row(row: SessionRow) -> AdminSession {
    let principal = Principal::Login(LoginPrincipal {
        login_id: Some(row.login_id),
        login: row.login.clone(),
        scope: Scope::Customer {
            id: row.customer_id,
            path: row.customer_path,
        },
        accounts_mgmt: row.accounts_mgmt,
        customers_mgmt: row.customers_mgmt,
        read_only: row.read_only,
        is_reseller: row.is_reseller,
    });
    AdminSession {
        id: row.session_id,
        may_manage_trusted_hosts: permissions::may_manage_trusted_hosts(&principal).is_ok(),
        may_add_sub_customers: permissions::may_manage_customers(&principal, Op::Add).is_ok(),
        sees_whole_audit_log: permissions::is_root_equivalent(&principal),
        principal,
        login: row.login,
        customer_id: row.customer_id,
        customer_name: row.customer_name,
        csrf_token: row.csrf_token,
        expires_at_millis: row.expires_on,
    }
}

impl Core {
    /// Seconds `actor`'s address must wait before trying a web password again, if it has failed
    /// too often lately. Counted from the audit log, so it holds across instances.
    async fn sign_in_throttled(&self, actor: &Actor) -> CoreResult<Option<u64>> {
        let Some(ip) = actor.peer_ip else {
            return Ok(None);
        };
        let now = self.now();
        let ip = ip.to_string();
        let (count, oldest) = self
            .db
            .read(move |conn| {
                Ok::<_, CoreError>(db::sessions::recent_failed_sign_ins(
                    conn,
                    &ip,
                    now - FAILURE_WINDOW_MILLIS,
                    MAX_FAILED_SIGN_INS,
                )?)
            })
            .await?;
        Ok(match oldest {
            Some(oldest) if count >= MAX_FAILED_SIGN_INS => {
                let wait_millis = (oldest + FAILURE_WINDOW_MILLIS - now).max(0);
                Some(u64::try_from(wait_millis / 1000 + 1).unwrap_or(1))
            }
            _ => None,
        })
    }

    /// Audits a wrong web password, and the throttle when this failure starts it (the next
    /// attempt is refused before any check, so that happens once per window).
    async fn record_failed_sign_in(&self, actor: &Actor, reason: &str) {
        self.record_failed_auth(actor, reason).await;
        if let Ok(Some(_)) = self.sign_in_throttled(actor).await {
            let failures = u32::try_from(MAX_FAILED_SIGN_INS).unwrap_or(u32::MAX);
            self.record_throttled(actor, failures, FAILURE_WINDOW_MILLIS / 1000)
                .await;
        }
    }

    /// Signs in with a customer login's web password. `actor` describes the request (its
    /// principal is ignored). Failures are audited and count towards the address's throttle.
    pub async fn sign_in(
        &self,
        actor: &Actor,
        login: &str,
        password: &str,
    ) -> Result<SignedIn, SignInError> {
        if let Some(retry_after_secs) = self.sign_in_throttled(actor).await? {
            return Err(SignInError::Throttled { retry_after_secs });
        }
        let name = login.to_string();
        let row = self
            .db
            .read(move |conn| Ok::<_, CoreError>(db::sessions::web_login(conn, &name)?))
            .await?;
        let phc = row.as_ref().and_then(|r| r.web_password_hash.clone());
        let verified = verify_off_thread(password.to_string(), phc).await?;
        let row = match row {
            Some(row) if verified => row,
            _ => {
                let mut failed = actor.clone();
                failed.principal = Principal::Anonymous {
                    claimed_login: Some(login.chars().take(64).collect()),
                };
                self.record_failed_sign_in(&failed, "wrong login or password")
                    .await;
                return Err(SignInError::WrongCredentials);
            }
        };
        let mut acting = actor.clone();
        acting.principal = Principal::Login(LoginPrincipal {
            login_id: Some(row.login_id),
            login: row.login.clone(),
            scope: Scope::Customer {
                id: row.customer_id,
                path: row.customer_path.clone(),
            },
            accounts_mgmt: row.accounts_mgmt,
            customers_mgmt: row.customers_mgmt,
            read_only: row.read_only,
            is_reseller: row.is_reseller,
        });
        if row.customer_blocked || !row.is_active {
            let refused = CoreError::Forbidden("this customer is blocked".into());
            self.audit_refusal(&acting, Event::AdminSignedIn, &refused)
                .await;
            return Err(SignInError::Blocked);
        }
        let token = random_token(32)?;
        let csrf_token = random_token(24)?;
        let hash = token_hash(&token);
        let login_id = row.login_id;
        let expires_at_millis = self
            .mutate(&acting, Event::AdminSignedIn, move |tx, _, now| {
                db::sessions::delete_expired(tx, now)?;
                let expires_on = now + SESSION_LIFETIME_MILLIS;
                db::sessions::insert(
                    tx,
                    &db::sessions::NewSession {
                        token_hash: &hash,
                        login_id,
                        csrf_token: &csrf_token,
                        created_on: now,
                        expires_on,
                    },
                )?;
                Ok(Done {
                    value: expires_on,
                    target: format!("login:{login_id}"),
                    detail: json!({ "session_expires": expires_on }).to_string(),
                })
            })
            .await?;
        Ok(SignedIn {
            token,
            expires_at_millis,
        })
    }

    /// The live session a cookie's token names, if any: unexpired, not signed out, its customer
    /// not blocked.
    pub async fn admin_session(&self, token: &str) -> CoreResult<Option<AdminSession>> {
        let hash = token_hash(token);
        let now = self.now();
        let row = self
            .db
            .read(move |conn| Ok::<_, CoreError>(db::sessions::find(conn, &hash, now)?))
            .await?;
        Ok(row.map(session_from_row))
    }

    /// Ends the session a token names, for every instance at once.
    pub async fn sign_out(&self, actor: &Actor, token: &str) -> CoreResult<()> {
        let hash = token_hash(token);
        let target = actor
            .principal
            .login_id()
            .map_or_else(String::new, |id| format!("login:{id}"));
        self.mutate(actor, Event::AdminSignedOut, move |tx, _, _| {
            db::sessions::delete(tx, &hash)?;
            Ok(Done {
                value: (),
                target,
                detail: json!({}).to_string(),
            })
        })
        .await
    }

    /// Changes the signed-in login's web password after checking the current one, and ends its
    /// other sessions. A wrong current password counts as a failed sign-in.
    pub async fn change_web_password(
        &self,
        actor: &Actor,
        session_id: i64,
        current: &str,
        new: &str,
    ) -> CoreResult<()> {
        let Principal::Login(LoginPrincipal {
            login_id: Some(login_id),
            scope: Scope::Customer {
                id: customer_id, ..
            },
            ..
        }) = actor.principal
        else {
            let refused = CoreError::Forbidden("only a customer login has a web password".into());
            return self.refuse(actor, Event::CustomerUpdated, refused).await;
        };
        if let Err(e) = passwords::check_password("new web password", new) {
            return self.refuse(actor, Event::CustomerUpdated, e).await;
        }
        if let Some(secs) = self.sign_in_throttled(actor).await? {
            return Err(CoreError::Forbidden(format!(
                "too many failed password checks from your address; try again in {secs} s"
            )));
        }
        let stored = self
            .db
            .read(move |conn| Ok::<_, CoreError>(db::sessions::web_password_hash(conn, login_id)?))
            .await?;
        if !verify_off_thread(current.to_string(), stored).await? {
            self.record_failed_sign_in(actor, "wrong current web password")
                .await;
            return Err(CoreError::invalid(
                "current web password",
                "is not the current web password",
            ));
        }
        let new = new.to_string();
        let phc = tokio::task::spawn_blocking(move || passwords::hash_web_password(&new))
            .await
            .map_err(|_| CoreError::Storage(db::DbError::Panicked))??;
        self.mutate(actor, Event::CustomerUpdated, move |tx, _, now| {
            db::logins::set_web_password_hash(tx, login_id, &phc, now)?;
            let ended = db::sessions::delete_others(tx, login_id, session_id)?;
            Ok(Done {
                value: (),
                target: format!("customer:{customer_id}"),
                detail: json!({ "web_password": "***", "other_sessions_ended": ended }).to_string(),
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_stored_only_as_hashes() {
        let (a, b) = (random_token(32).unwrap(), random_token(32).unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        let hash = token_hash(&a);
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&a));
        assert_eq!(hash, token_hash(&a));
    }
}

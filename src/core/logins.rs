//! Logins: finding API credentials, the API gates, the first-start bootstrap.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use serde_json::json;

use super::actor::{Actor, LoginPrincipal, Scope};
use super::attrs::Field;
use super::audit::{Event, Outcome};
use super::passwords;
use super::{Core, CoreError, CoreResult, Done};
use crate::db::{self, logins::ApiLoginRow};

/// The name of the root customer and of its login.
pub const ROOT_LOGIN: &str = "root";

/// A login's API credentials and what the gates need.
#[derive(Clone)]
pub struct ApiLogin(pub(super) ApiLoginRow);

impl std::fmt::Debug for ApiLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiLogin")
            .field("login", &self.0.login)
            .finish_non_exhaustive()
    }
}

impl ApiLogin {
    pub fn login(&self) -> &str {
        &self.0.login
    }

    /// The stored HA1 for `realm`: (MD5, SHA-256), or None when no API password is set for it.
    pub fn ha1(&self, realm: &str) -> Option<(&str, &str)> {
        match (&self.0.api_realm, &self.0.ha1_md5, &self.0.ha1_sha256) {
            (Some(r), Some(md5), Some(sha)) if r == realm => Some((md5, sha)),
            _ => None,
        }
    }

    /// The API gates (design §2): the login's own Allow API Calls must be on and, below root,
    /// its parent must have ticked the API permission box; a blocked customer is refused too.
    /// The error says which switch is off.
    pub fn pass_gates(&self) -> Result<LoginPrincipal, String> {
        let row = &self.0;
        if let Some(gate) = super::gates::closed_gates(row).first() {
            return Err(gate.reason(&row.login));
        }
        Ok(LoginPrincipal {
            login_id: Some(row.login_id),
            login: row.login.clone(),
            scope: Scope::Customer {
                id: row.customer_id,
                path: row.customer_path.clone(),
            },
            accounts_mgmt: row.accounts_mgmt,
            customers_mgmt: row.customers_mgmt,
            read_only: row.read_only,
            is_reseller: row.customer_is_reseller,
        })
    }
}

/// How long a cached login is used without reading it again. Changes made through this process
/// clear the cache at once (see [`Event::touches_logins`]); this bounds how long a change made
/// by another process or instance can go unseen.
const LOGIN_CACHE_TTL_MILLIS: i64 = 1_000;
const LOGIN_CACHE_MAX: usize = 10_000;

/// A cached value, with when it was read (milliseconds).
type Cached<V> = Mutex<HashMap<String, (i64, V)>>;

/// Recently read API logins, so an authenticated call does not cost a database read first: by
/// login name, and by client-certificate serial (with the certificate's `not_after`).
#[derive(Default)]
pub(crate) struct LoginCache {
    by_name: Cached<ApiLoginRow>,
    by_serial: Cached<(ApiLoginRow, i64)>,
}

fn cache_get<V: Clone>(map: &Cached<V>, key: &str, now: i64) -> Option<V> {
    let map = map.lock().unwrap_or_else(PoisonError::into_inner);
    map.get(key)
        .filter(|(at, _)| now - at < LOGIN_CACHE_TTL_MILLIS)
        .map(|(_, v)| v.clone())
}

fn cache_put<V>(map: &Cached<V>, key: String, value: V, now: i64) {
    let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
    if map.len() >= LOGIN_CACHE_MAX {
        map.retain(|_, (at, _)| now - *at < LOGIN_CACHE_TTL_MILLIS);
        if map.len() >= LOGIN_CACHE_MAX {
            map.clear();
        }
    }
    map.insert(key, (now, value));
}

impl LoginCache {
    fn get(&self, login: &str, now: i64) -> Option<ApiLoginRow> {
        cache_get(&self.by_name, login, now)
    }

    fn put(&self, row: ApiLoginRow, now: i64) {
        cache_put(&self.by_name, row.login.clone(), row, now);
    }

    /// The login a certificate serial stands for, and the certificate's `not_after`.
    pub(super) fn get_by_serial(&self, serial: &str, now: i64) -> Option<(ApiLoginRow, i64)> {
        cache_get(&self.by_serial, serial, now)
    }

    pub(super) fn put_by_serial(&self, serial: String, found: (ApiLoginRow, i64), now: i64) {
        cache_put(&self.by_serial, serial, found, now);
    }

    pub(crate) fn clear(&self) {
        self.by_name
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.by_serial
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

impl Core {
    /// Finds the customer login `login` for API authentication.
    pub async fn find_api_login(&self, login: &str) -> CoreResult<Option<ApiLogin>> {
        let now = self.now();
        if let Some(row) = self.logins.get(login, now) {
            return Ok(Some(ApiLogin(row)));
        }
        let name = login.to_string();
        let found = self
            .db
            .read(move |conn| Ok::<_, CoreError>(db::logins::find_customer_login(conn, &name)?))
            .await?;
        if let Some(row) = &found {
            self.logins.put(row.clone(), now);
        }
        Ok(found.map(ApiLogin))
    }

    /// Audits a failed authentication.
    pub async fn record_failed_auth(&self, actor: &Actor, reason: &str) {
        let detail = json!({ "reason": reason });
        self.audit_only(
            actor,
            Event::AuthFailed,
            Outcome::FailedAuth,
            String::new(),
            detail,
        )
        .await;
    }

    /// Audits that `actor`'s address is refused every credential for `window_secs` after
    /// `failures` failed attempts (the credential-guessing throttle).
    pub async fn record_throttled(&self, actor: &Actor, failures: u32, window_secs: i64) {
        let detail = json!({
            "reason": format!(
                "{failures} failed authentications within {window_secs} s: the address is \
                 refused every credential until the window ends"
            ),
        });
        self.audit_only(
            actor,
            Event::AddressThrottled,
            Outcome::Refused,
            String::new(),
            detail,
        )
        .await;
    }

    /// Audits a call refused by the API gates.
    pub async fn record_refused_call(&self, actor: &Actor, reason: &str) {
        self.audit_refused(actor, json!({ "reason": reason })).await;
    }

    /// The 32-byte key this data directory signs digest nonces with, created on first use.
    pub async fn nonce_key(&self) -> CoreResult<[u8; 32]> {
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).map_err(|e| CoreError::invalid("nonce key", e.to_string()))?;
        let stored = self
            .db
            .write(move |tx| {
                Ok::<_, CoreError>(db::settings::get_or_insert(tx, "nonce_key", &fresh)?)
            })
            .await?;
        stored
            .try_into()
            .map_err(|_| CoreError::Storage(db::DbError::Corrupt("nonce key".into())))
    }

    /// On an empty database, creates the root customer and its login `root`, with API access on.
    /// Returns the root password when this call generated it (None if root already existed or
    /// the password was given).
    pub async fn bootstrap(&self, root_password: Option<String>) -> CoreResult<Option<String>> {
        let exists = self
            .db
            .read(|conn| Ok::<_, CoreError>(db::customers::node_by_id(conn, 1)?))
            .await?;
        if exists.is_some() {
            return Ok(None);
        }
        let generated = root_password.is_none();
        let password = match root_password {
            Some(p) => p,
            None => passwords::generate_password()?,
        };
        passwords::check_password("SWITCHYARD_ROOT_PASSWORD", &password)?;
        let realm = self.realm.clone();
        let secret = password.clone();
        let hashed = tokio::task::spawn_blocking(move || passwords::hash_web_password(&secret))
            .await
            .map_err(|_| CoreError::Storage(db::DbError::Panicked))??;
        let (md5, sha256) = passwords::api_ha1(ROOT_LOGIN, &realm, &password);
        let actor = Actor::operator("bootstrap");
        self.mutate(&actor, Event::Bootstrap, move |tx, _, now| {
            let contact = db::contacts::insert(tx, &[])?;
            let values = [("name", Field::Str(ROOT_LOGIN.into()))];
            let root = db::customers::insert(tx, None, &values, Some(contact), now)?;
            db::resources::seed_default_billing_profile(tx, now)?;
            let login = db::logins::insert_for_customer(tx, ROOT_LOGIN, root, now)?;
            let secret = db::logins::ApiSecret {
                realm: &realm,
                ha1_md5: &md5,
                ha1_sha256: &sha256,
            };
            db::logins::set_api_secret(tx, login, &secret, now)?;
            db::logins::set_web_password_hash(tx, login, &hashed, now)?;
            db::logins::set_allow_api_calls(tx, login, true, now)?;
            Ok(Done {
                value: (),
                target: format!("customer:{root}"),
                detail: json!({ "created": "root customer and login" }).to_string(),
            })
        })
        .await?;
        Ok(generated.then_some(password))
    }
}

//! Subscribers authenticating as themselves with HTTP Digest, in a realm the request names
//! (SIP2SIP: the `realm` parameter, or the domain of `user@domain`).
//!
//! Interim implementation of the shared foundation's API (see the branch report): replaced by
//! main's when it lands. Each realm gets its own [`DigestAuthority`] (signed, expiring nonces,
//! nonce-count replay tracking, `stale=true`), all signing with the data directory's nonce key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use super::digest::{self, Algorithm, DigestAuthority, Verdict};
use super::{AuthOutcome, Authenticator, RequestMeta};
use crate::clock::SharedClock;
use crate::core::actor::Principal;
pub use crate::core::self_care::SelfCareSecret;

/// How long a self-care nonce lives (cdrtool's 300 s).
const NONCE_TTL: Duration = Duration::from_mins(5);
/// Realms with an authority at most; a realm is a SIP domain, so a few in practice.
const MAX_REALMS: usize = 256;

/// How a dialect's subscribers authenticate.
#[derive(Debug, Clone)]
pub struct SelfCareRules {
    pub realm: String,
    pub secret: SelfCareSecret,
    pub basic_over_tls: bool,
}

/// The per-realm authorities, created on first use with the stored nonce key.
struct Realms {
    key: [u8; 32],
    instance: u64,
    clock: SharedClock,
    by_realm: Mutex<HashMap<String, Arc<DigestAuthority>>>,
}

static REALMS: OnceLock<Realms> = OnceLock::new();

impl Realms {
    fn authority(&self, realm: &str) -> Arc<DigestAuthority> {
        let mut map = self.by_realm.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(a) = map.get(realm) {
            return a.clone();
        }
        if map.len() >= MAX_REALMS {
            map.clear();
        }
        let authority = Arc::new(DigestAuthority::new(
            realm.to_string(),
            self.key,
            self.instance,
            NONCE_TTL,
            self.clock.clone(),
        ));
        map.insert(realm.to_string(), authority.clone());
        authority
    }
}

impl Authenticator {
    async fn realms(&self) -> Option<&'static Realms> {
        if let Some(r) = REALMS.get() {
            return Some(r);
        }
        let key = match self.core.nonce_key().await {
            Ok(k) => k,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the nonce key");
                return None;
            }
        };
        let mut instance = [0u8; 8];
        getrandom::fill(&mut instance).ok()?;
        Some(REALMS.get_or_init(|| Realms {
            key,
            instance: u64::from_be_bytes(instance),
            clock: self.core.clock(),
            by_realm: Mutex::default(),
        }))
    }

    /// `WWW-Authenticate` values for a self-care 401 in `realm`.
    pub fn self_care_challenges(&self, realm: &str, stale: bool) -> Vec<String> {
        REALMS
            .get()
            .map(|r| r.authority(realm).challenges(stale))
            .unwrap_or_default()
    }

    /// Authenticates a subscriber acting on itself: Digest (MD5 or SHA-256, `qop=auth`) in
    /// `rules.realm`, the user name with or without `@domain` (without, the realm is the
    /// domain). As in cdrtool the digest `uri` is not compared with the request's.
    pub async fn authenticate_self_care(
        &self,
        meta: &RequestMeta,
        dialect: &'static str,
        rules: &SelfCareRules,
    ) -> AuthOutcome {
        let Some(realms) = self.realms().await else {
            return AuthOutcome::Challenge { stale: false };
        };
        let Some(header) = meta.authorization.as_deref() else {
            return AuthOutcome::Challenge { stale: false };
        };
        if let Some(retry_after_secs) = self.failures.blocked(meta.peer, self.core.now()) {
            return AuthOutcome::Throttled { retry_after_secs };
        }
        let creds = match digest::parse_authorization(header) {
            Ok(c) => c,
            Err(e) => {
                let reason = format!("unreadable Authorization header: {e}");
                self.fail(meta, dialect, None, &reason).await;
                return AuthOutcome::Challenge { stale: false };
            }
        };
        let (user, domain) = match creds.username.split_once('@') {
            Some((u, d)) => (u, d),
            None => (creds.username.as_str(), rules.realm.as_str()),
        };
        let account = match self.core.find_self_care_account(user, Some(domain)).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "subscriber lookup failed");
                return AuthOutcome::Challenge { stale: false };
            }
        };
        // HA1 over the user name exactly as sent, as cdrtool computes it.
        let ha1 = account
            .as_ref()
            .and_then(|a| a.secret(rules.secret))
            .map(|secret| digest::ha1(creds.algorithm, &creds.username, &rules.realm, secret));
        let verdict =
            realms
                .authority(&rules.realm)
                .verify(&creds, &meta.method, &creds.uri, ha1.as_deref());
        let auth_method = match creds.algorithm {
            Algorithm::Md5 => "digest-md5",
            Algorithm::Sha256 => "digest-sha256",
        };
        match (verdict, account) {
            (Verdict::Ok, Some(account)) if account.disabled => {
                let reason = "the account is blocked or not active".to_string();
                let claimed_login = Some(creds.username.clone());
                let mut actor =
                    meta.actor(Principal::Anonymous { claimed_login }, auth_method, dialect);
                actor.method = format!("{} {}", meta.method, meta.uri);
                self.core.record_refused_call(&actor, &reason).await;
                AuthOutcome::Refused { reason }
            }
            (Verdict::Ok, Some(account)) => AuthOutcome::Authenticated {
                principal: account.principal(),
                auth_method,
            },
            (Verdict::Stale, _) => AuthOutcome::Challenge { stale: true },
            (Verdict::NonceForged, _) => AuthOutcome::Challenge { stale: false },
            (verdict, _) => {
                let reason = match verdict {
                    Verdict::Replay => "replayed nonce count",
                    Verdict::WrongRealm => "wrong realm",
                    _ => "wrong user name or password",
                };
                self.fail(meta, dialect, Some(&creds.username), reason)
                    .await;
                AuthOutcome::Challenge { stale: false }
            }
        }
    }
}

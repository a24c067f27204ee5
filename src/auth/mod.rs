//! Turning a request's credentials into a principal (design §2): HTTP Digest, Basic over TLS, a
//! client certificate from switchyard's own CA (notes/c5.md §9), or trusted mode for
//! credential-less requests from a trusted host. The API gates themselves are
//! decided by the core ([`crate::core::logins::ApiLogin::pass_gates`]); this module only asks.

pub mod digest;
pub mod self_care;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use subtle::ConstantTimeEq;

use crate::core::Core;
use crate::core::actor::{Actor, LoginPrincipal, Principal};
use digest::{Algorithm, DigestAuthority, Verdict};

/// The common name of every client certificate switchyard issues, as in C5; a certificate with
/// another subject is refused even when it was verified.
pub const CLIENT_CERT_CN: &str = "Sipwise NGCP API client certificate";

/// A client certificate that the TLS handshake verified against switchyard's client CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    /// The serial number, lowercase hex without leading zero bytes.
    pub serial: String,
    /// The subject DN as `CN=..., O=...`.
    pub subject: String,
}

/// What the authenticator needs to know about a request.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub peer: IpAddr,
    pub tls: bool,
    pub method: String,
    /// The request target exactly as sent (path and query), for the Digest `uri` check.
    pub uri: String,
    /// The request target as audit rows show it: `uri`, unless the dialect hid secrets in it
    /// (a new PIN in a sipXconfig path).
    pub audit_uri: String,
    pub authorization: Option<String>,
    pub user_agent: Option<String>,
    /// Whether the request has a body; curl's credential-less probe has none.
    pub has_body: bool,
    /// The verified client certificate of the connection, if the client sent one
    /// (`ConnInfo::client_cert`).
    pub client_cert: Option<Arc<ClientCert>>,
}

impl RequestMeta {
    /// What authentication needs from an HTTP request on a connection.
    pub fn from_http(
        conn: &crate::server::ConnInfo,
        method: &axum::http::Method,
        uri: &axum::http::Uri,
        headers: &axum::http::HeaderMap,
        has_body: bool,
    ) -> Self {
        let text = |name: axum::http::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Self {
            peer: conn.peer.ip(),
            tls: conn.tls,
            method: method.to_string(),
            uri: uri
                .path_and_query()
                .map_or_else(|| uri.path().to_string(), ToString::to_string),
            audit_uri: uri
                .path_and_query()
                .map_or_else(|| uri.path().to_string(), ToString::to_string),
            authorization: text(axum::http::header::AUTHORIZATION),
            user_agent: text(axum::http::header::USER_AGENT),
            has_body,
            client_cert: conn.client_cert.clone(),
        }
    }

    /// An actor for this request, before any `audit_info` is applied.
    pub fn actor(
        &self,
        principal: Principal,
        auth_method: &'static str,
        dialect: &'static str,
    ) -> Actor {
        Actor {
            principal,
            auth_method,
            peer_ip: Some(self.peer),
            user_ip: None,
            user_agent: self.user_agent.clone(),
            action_by: None,
            dialect,
            method: String::new(),
        }
    }
}

/// The result of authenticating one request.
#[derive(Debug)]
pub enum AuthOutcome {
    Authenticated {
        principal: Principal,
        auth_method: &'static str,
    },
    /// Answer 401 with fresh challenges; `stale` tells a client its password was right.
    Challenge { stale: bool },
    /// Credentials were right but an API gate is closed: answer in the dialect's own way.
    Refused { reason: String },
    /// Too many failed attempts from this address: answer 429 without checking.
    Throttled { retry_after_secs: u64 },
}

/// The user name and password of a `Basic` Authorization header, if it is readable.
pub(crate) fn basic_credentials(header: &str) -> Option<(String, String)> {
    let b64 = header.split_whitespace().nth(1)?;
    let decoded =
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// The `auth_method` of requests authenticated by a client certificate.
pub const AUTH_CLIENT_CERT: &str = "client-cert";

/// Failed authentications allowed per address within [`FAILURE_WINDOW_MILLIS`].
const MAX_FAILURES: u32 = 20;
const FAILURE_WINDOW_MILLIS: i64 = 60_000;
/// Addresses tracked at most; expired windows are dropped first.
const MAX_TRACKED_ADDRESSES: usize = 10_000;

/// Counts failed authentications per address in fixed windows, so password guessing is slowed
/// to [`MAX_FAILURES`] a minute per address. In memory: per instance, like nonce counts.
#[derive(Default)]
struct FailureThrottle(Mutex<HashMap<IpAddr, (i64, u32)>>);

impl FailureThrottle {
    /// Seconds until `ip` may try again, if it is throttled now.
    fn blocked(&self, ip: IpAddr, now: i64) -> Option<u64> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (start, count) = *map.get(&ip)?;
        let ends = start + FAILURE_WINDOW_MILLIS;
        (count >= MAX_FAILURES && now < ends)
            .then(|| u64::try_from((ends - now) / 1000 + 1).unwrap_or(1))
    }

    /// Counts a failure; true when it is the one that throttles the address.
    fn record(&self, ip: IpAddr, now: i64) -> bool {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_TRACKED_ADDRESSES && !map.contains_key(&ip) {
            map.retain(|_, (start, _)| now < *start + FAILURE_WINDOW_MILLIS);
            if map.len() >= MAX_TRACKED_ADDRESSES {
                return false;
            }
        }
        let entry = map.entry(ip).or_insert((now, 0));
        if now >= entry.0 + FAILURE_WINDOW_MILLIS {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 == MAX_FAILURES
    }
}

/// Authenticates requests for the API dialects.
pub struct Authenticator {
    core: Core,
    digest: DigestAuthority,
    failures: FailureThrottle,
}

impl Authenticator {
    pub fn new(core: Core, digest: DigestAuthority) -> Self {
        Self {
            core,
            digest,
            failures: FailureThrottle::default(),
        }
    }

    /// `WWW-Authenticate` values for a 401: Digest challenges (SHA-256, then MD5).
    pub fn challenges(&self, stale: bool) -> Vec<String> {
        self.digest.challenges(stale)
    }

    /// Authenticates a request. `dialect` names the caller in audit rows; `allow_trusted` says
    /// whether this mount serves trusted mode.
    pub async fn authenticate(
        &self,
        meta: &RequestMeta,
        dialect: &'static str,
        allow_trusted: bool,
    ) -> AuthOutcome {
        let Some(header) = meta.authorization.as_deref() else {
            if let Some(cert) = &meta.client_cert {
                return self.client_cert(meta, cert, dialect).await;
            }
            // curl's first request carries no credentials and no body: challenge it even from a
            // trusted host, or it would get a parse fault and never authenticate.
            if allow_trusted && meta.has_body {
                match self.core.is_trusted(meta.peer).await {
                    Ok(true) => {
                        return AuthOutcome::Authenticated {
                            principal: Principal::Trusted,
                            auth_method: "trusted",
                        };
                    }
                    Ok(false) => {}
                    Err(e) => tracing::error!(error = %e, "trusted host lookup failed"),
                }
            }
            return AuthOutcome::Challenge { stale: false };
        };
        if let Some(retry_after_secs) = self.failures.blocked(meta.peer, self.core.now()) {
            return AuthOutcome::Throttled { retry_after_secs };
        }
        let scheme = header.split_whitespace().next().unwrap_or_default();
        if scheme.eq_ignore_ascii_case("basic") {
            return self.basic(meta, header, dialect).await;
        }
        let creds = match digest::parse_authorization(header) {
            Ok(c) => c,
            Err(e) => {
                self.fail(
                    meta,
                    dialect,
                    None,
                    &format!("unreadable Authorization header: {e}"),
                )
                .await;
                return AuthOutcome::Challenge { stale: false };
            }
        };
        let login = match self.core.find_api_login(&creds.username).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "login lookup failed");
                return AuthOutcome::Challenge { stale: false };
            }
        };
        let realm = self.digest.realm().to_string();
        let ha1 = login
            .as_ref()
            .and_then(|l| l.ha1(&realm))
            .map(|(md5, sha)| match creds.algorithm {
                Algorithm::Md5 => md5.to_string(),
                Algorithm::Sha256 => sha.to_string(),
            });
        let verdict = self
            .digest
            .verify(&creds, &meta.method, &meta.uri, ha1.as_deref());
        let found = login.map(|l| (l.login().to_string(), l.pass_gates()));
        self.settle_digest(meta, dialect, &creds, verdict, found)
            .await
    }

    /// Turns a checked Digest response into the outcome: the gates for a right one, a stale
    /// challenge for a right one on an old nonce, an audited failure for the rest. `found` is
    /// the name and gates of the login or account the user name named.
    async fn settle_digest(
        &self,
        meta: &RequestMeta,
        dialect: &'static str,
        creds: &digest::DigestCredentials,
        verdict: Verdict,
        found: Option<(String, Result<LoginPrincipal, String>)>,
    ) -> AuthOutcome {
        let auth_method = match creds.algorithm {
            Algorithm::Md5 => "digest-md5",
            Algorithm::Sha256 => "digest-sha256",
        };
        match (verdict, found) {
            (Verdict::Ok, Some((name, gates))) => {
                self.gate(meta, dialect, auth_method, &name, gates).await
            }
            (Verdict::Stale, _) => AuthOutcome::Challenge { stale: true },
            // A nonce from another instance or from before a restart: challenge again quietly.
            (Verdict::NonceForged, _) => AuthOutcome::Challenge { stale: false },
            (verdict, _) => {
                let reason = match verdict {
                    Verdict::Replay => "replayed nonce count",
                    Verdict::WrongRealm => "wrong realm",
                    Verdict::UriMismatch => "digest uri does not match the request",
                    _ => "wrong login or password",
                };
                self.fail(meta, dialect, Some(&creds.username), reason)
                    .await;
                AuthOutcome::Challenge { stale: false }
            }
        }
    }

    /// Basic authentication, only over TLS: the password is checked by computing its HA1 and
    /// comparing with the stored one in constant time (no slow hash per request).
    async fn basic(&self, meta: &RequestMeta, header: &str, dialect: &'static str) -> AuthOutcome {
        if !meta.tls {
            self.fail(
                meta,
                dialect,
                None,
                "Basic authentication refused over plain HTTP",
            )
            .await;
            return AuthOutcome::Challenge { stale: false };
        }
        let Some((user, password)) = basic_credentials(header) else {
            self.fail(meta, dialect, None, "unreadable Basic credentials")
                .await;
            return AuthOutcome::Challenge { stale: false };
        };
        let (user, password) = (user.as_str(), password.as_str());
        let login = self.core.find_api_login(user).await.ok().flatten();
        let realm = self.digest.realm();
        let computed = digest::ha1(Algorithm::Sha256, user, realm, password);
        let stored = login
            .as_ref()
            .and_then(|l| l.ha1(realm))
            .map(|(_, sha)| sha.to_string());
        let matches = stored
            .as_deref()
            .is_some_and(|s| bool::from(s.as_bytes().ct_eq(computed.as_bytes())));
        if let (true, Some(login)) = (matches, login) {
            self.gate(meta, dialect, "basic", login.login(), login.pass_gates())
                .await
        } else {
            self.fail(meta, dialect, Some(user), "wrong login or password")
                .await;
            AuthOutcome::Challenge { stale: false }
        }
    }

    /// A request without credentials on a connection with a verified client certificate: the
    /// certificate's serial names the login, and the same API gates apply as for passwords.
    async fn client_cert(
        &self,
        meta: &RequestMeta,
        cert: &ClientCert,
        dialect: &'static str,
    ) -> AuthOutcome {
        if let Some(retry_after_secs) = self.failures.blocked(meta.peer, self.core.now()) {
            return AuthOutcome::Throttled { retry_after_secs };
        }
        if cert.subject.strip_prefix("CN=") != Some(CLIENT_CERT_CN) {
            let reason = format!("Invalid client certificate DN '{}'", cert.subject);
            let mut actor = meta.actor(
                Principal::Anonymous {
                    claimed_login: None,
                },
                AUTH_CLIENT_CERT,
                dialect,
            );
            actor.method = format!("{} {}", meta.method, meta.audit_uri);
            self.core.record_refused_call(&actor, &reason).await;
            return AuthOutcome::Refused { reason };
        }
        match self.core.find_login_by_cert_serial(&cert.serial).await {
            Ok(Some(login)) => {
                self.gate(
                    meta,
                    dialect,
                    AUTH_CLIENT_CERT,
                    login.login(),
                    login.pass_gates(),
                )
                .await
            }
            Ok(None) => {
                let reason = format!(
                    "client certificate {} is unknown, expired or its login is gone",
                    cert.serial
                );
                self.fail(meta, dialect, None, &reason).await;
                AuthOutcome::Challenge { stale: false }
            }
            Err(e) => {
                tracing::error!(error = %e, "client certificate lookup failed");
                AuthOutcome::Challenge { stale: false }
            }
        }
    }

    async fn gate(
        &self,
        meta: &RequestMeta,
        dialect: &'static str,
        auth_method: &'static str,
        login: &str,
        gates: Result<LoginPrincipal, String>,
    ) -> AuthOutcome {
        match gates {
            Ok(login) => AuthOutcome::Authenticated {
                principal: Principal::Login(login),
                auth_method,
            },
            Err(reason) => {
                let claimed_login = Some(login.to_string());
                let mut actor =
                    meta.actor(Principal::Anonymous { claimed_login }, auth_method, dialect);
                actor.method = format!("{} {}", meta.method, meta.audit_uri);
                self.core.record_refused_call(&actor, &reason).await;
                AuthOutcome::Refused { reason }
            }
        }
    }

    async fn fail(
        &self,
        meta: &RequestMeta,
        dialect: &'static str,
        claimed: Option<&str>,
        reason: &str,
    ) {
        let claimed_login = claimed.map(|c| c.chars().take(64).collect());
        let mut actor = meta.actor(Principal::Anonymous { claimed_login }, "none", dialect);
        actor.method = format!("{} {}", meta.method, meta.audit_uri);
        self.record_failure(&actor, reason).await;
    }

    /// Seconds until `peer` may try a credential again, if its failures throttle it now; for
    /// credentials checked outside this module (sipXconfig private keys).
    pub fn throttled(&self, peer: IpAddr) -> Option<u64> {
        self.failures.blocked(peer, self.core.now())
    }

    /// Audits a failed credential check by `actor` and counts it towards its address's
    /// throttle; the failure that starts the throttle is audited too (once per window, so a
    /// throttled guesser writes no rows).
    pub async fn record_failure(&self, actor: &Actor, reason: &str) {
        let throttles = actor
            .peer_ip
            .is_some_and(|ip| self.failures.record(ip, self.core.now()));
        self.core.record_failed_auth(actor, reason).await;
        if throttles {
            self.core
                .record_throttled(actor, MAX_FAILURES, FAILURE_WINDOW_MILLIS / 1000)
                .await;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use std::time::Duration;

    use crate::clock::ManualClock;
    use crate::core::attrs::Field;
    use crate::core::audit::AuditFilter;
    use crate::db::Db;

    pub(crate) async fn authenticator() -> (Authenticator, Core, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        let db = Db::open(&dir.path().join("t.db"), 2).unwrap();
        let core = Core::new(db, clock.clone(), "switchyard".into());
        core.bootstrap(Some("rootpw".into())).await.unwrap();
        let digest = DigestAuthority::new(
            "switchyard".into(),
            [7; 32],
            1,
            Duration::from_mins(5),
            clock,
        );
        (Authenticator::new(core.clone(), digest), core, dir)
    }

    pub(crate) fn meta(cert: Option<ClientCert>) -> RequestMeta {
        RequestMeta {
            peer: "127.0.0.1".parse().unwrap(),
            tls: true,
            method: "POST".into(),
            uri: "/xmlapi/xmlapi".into(),
            audit_uri: "/xmlapi/xmlapi".into(),
            authorization: None,
            user_agent: None,
            has_body: true,
            client_cert: cert.map(Arc::new),
        }
    }

    fn c5_cert(serial: &str) -> ClientCert {
        ClientCert {
            serial: serial.into(),
            subject: format!("CN={CLIENT_CERT_CN}"),
        }
    }

    #[tokio::test]
    async fn a_recorded_certificate_authenticates_as_its_login() {
        let (auth, core, _dir) = authenticator().await;
        core.record_client_cert_for(
            &Actor::operator("test"),
            "root",
            "1234abcd",
            core.now() + 60_000,
        )
        .await
        .unwrap();
        match auth
            .authenticate(&meta(Some(c5_cert("1234abcd"))), "test", true)
            .await
        {
            AuthOutcome::Authenticated {
                principal: Principal::Login(l),
                auth_method,
            } => assert_eq!((l.login.as_str(), auth_method), ("root", AUTH_CLIENT_CERT)),
            other => panic!("{other:?}"),
        }

        // Credentials in the request win over the certificate.
        let mut with_header = meta(Some(c5_cert("1234abcd")));
        with_header.authorization = Some("Basic cm9vdDp3cm9uZw==".into());
        assert!(matches!(
            auth.authenticate(&with_header, "test", true).await,
            AuthOutcome::Challenge { .. }
        ));

        // Another DN is refused, an unknown serial fails like a wrong password.
        let other_dn = ClientCert {
            serial: "1234abcd".into(),
            subject: "CN=someone".into(),
        };
        match auth.authenticate(&meta(Some(other_dn)), "test", true).await {
            AuthOutcome::Refused { reason } => {
                assert_eq!(reason, "Invalid client certificate DN 'CN=someone'");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            auth.authenticate(&meta(Some(c5_cert("99"))), "test", true)
                .await,
            AuthOutcome::Challenge { stale: false }
        ));
        let rows = core
            .audit_log(
                &Actor::operator("test"),
                AuditFilter {
                    limit: 10,
                    ..AuditFilter::default()
                },
            )
            .await
            .unwrap();
        assert!(
            rows.iter()
                .any(|r| r.outcome == "failed_auth" && r.detail.contains("client certificate 99")),
            "{rows:?}"
        );
        assert!(
            rows.iter()
                .any(|r| r.outcome == "refused" && r.auth_method == AUTH_CLIENT_CERT),
            "{rows:?}"
        );

        // The API gates apply as for passwords: a new customer's are closed.
        let root = core.find_api_login("root").await.unwrap().unwrap();
        let root = meta(None).actor(Principal::Login(root.pass_gates().unwrap()), "test", "test");
        let fields = [
            ("name", Field::Str("Closed".into())),
            ("web_password", Field::Str("pw".into())),
            ("i_tariff", Field::Null),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        core.create_customer(&root, None, fields).await.unwrap();
        core.record_client_cert_for(&Actor::operator("test"), "Closed", "0c", core.now() + 1)
            .await
            .unwrap();
        match auth
            .authenticate(&meta(Some(c5_cert("0c"))), "test", true)
            .await
        {
            AuthOutcome::Refused { reason } => {
                assert!(reason.contains("Allow API Calls"), "{reason}");
            }
            other => panic!("{other:?}"),
        }

        // Without a certificate nothing changes: a challenge.
        assert!(matches!(
            auth.authenticate(&meta(None), "test", true).await,
            AuthOutcome::Challenge { stale: false }
        ));
    }

    #[test]
    fn failures_are_throttled_per_address_and_window() {
        let throttle = FailureThrottle::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for n in 1..=MAX_FAILURES {
            assert_eq!(throttle.blocked(a, 1_000), None);
            assert_eq!(throttle.record(a, 1_000), n == MAX_FAILURES);
        }
        assert_eq!(throttle.blocked(a, 1_000), Some(61));
        assert_eq!(
            throttle.blocked(b, 1_000),
            None,
            "other addresses are unaffected"
        );
        assert_eq!(
            throttle.blocked(a, 1_000 + FAILURE_WINDOW_MILLIS),
            None,
            "the window ends"
        );
        assert!(!throttle.record(a, 1_000 + FAILURE_WINDOW_MILLIS));
        assert_eq!(
            throttle.blocked(a, 2_000 + FAILURE_WINDOW_MILLIS),
            None,
            "a fresh window"
        );
    }
}

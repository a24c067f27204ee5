//! Authenticating a subscriber as itself (sipXconfig `/my/...`, SIP2SIP `settings.phtml`): Digest
//! in the realm the dialect names, or Basic over TLS, checked against the secret the dialect
//! takes. The same failure throttle and audit rows as API logins.

use subtle::ConstantTimeEq;

use super::digest::{self, Algorithm};
use super::{AuthOutcome, Authenticator, RequestMeta};
use crate::core::self_care::{SelfCareAccount, SelfCareSecret};

/// How a self-care dialect authenticates.
#[derive(Debug, Clone)]
pub struct SelfCareRules {
    /// The Digest realm challenged and expected.
    pub realm: String,
    /// The domain of a user name given without `@domain`; None: the name must be unique.
    pub default_domain: Option<String>,
    pub secret: SelfCareSecret,
    /// Whether Basic is accepted (over TLS only, like every Basic in switchyard).
    pub basic_over_tls: bool,
}

impl SelfCareRules {
    /// `user` or `user@domain` as a (user, domain) lookup key.
    fn split<'a>(&'a self, name: &'a str) -> (&'a str, Option<&'a str>) {
        match name.rsplit_once('@') {
            Some((user, domain)) if !user.is_empty() && !domain.is_empty() => (user, Some(domain)),
            _ => (name, self.default_domain.as_deref()),
        }
    }
}

impl Authenticator {
    /// `WWW-Authenticate` values for a self-care 401 in `realm`.
    pub fn self_care_challenges(&self, realm: &str, stale: bool) -> Vec<String> {
        self.digest.challenges_in(realm, stale)
    }

    /// Authenticates a subscriber acting on itself under `rules`.
    pub async fn authenticate_self_care(
        &self,
        meta: &RequestMeta,
        dialect: &'static str,
        rules: &SelfCareRules,
    ) -> AuthOutcome {
        let Some(header) = meta.authorization.as_deref() else {
            return AuthOutcome::Challenge { stale: false };
        };
        if let Some(retry_after_secs) = self.failures.blocked(meta.peer, self.core.now()) {
            return AuthOutcome::Throttled { retry_after_secs };
        }
        let scheme = header.split_whitespace().next().unwrap_or_default();
        if scheme.eq_ignore_ascii_case("basic") {
            return self.self_care_basic(meta, header, dialect, rules).await;
        }
        let creds = match digest::parse_authorization(header) {
            Ok(c) => c,
            Err(e) => {
                let reason = format!("unreadable Authorization header: {e}");
                self.fail(meta, dialect, None, &reason).await;
                return AuthOutcome::Challenge { stale: false };
            }
        };
        let Ok(account) = self.lookup(rules, &creds.username).await else {
            return AuthOutcome::Challenge { stale: false };
        };
        // HA1 over the user name exactly as sent, so `user`, `user@domain` and an alias all work.
        let ha1 = account
            .as_ref()
            .and_then(|a| a.secret(rules.secret))
            .map(|secret| digest::ha1(creds.algorithm, &creds.username, &rules.realm, secret));
        let verdict = self.digest.verify_in(
            &rules.realm,
            &creds,
            &meta.method,
            &meta.uri,
            ha1.as_deref(),
        );
        let found = account.map(|a| (a.address(), a.principal()));
        self.settle_digest(meta, dialect, &creds, verdict, found)
            .await
    }

    async fn self_care_basic(
        &self,
        meta: &RequestMeta,
        header: &str,
        dialect: &'static str,
        rules: &SelfCareRules,
    ) -> AuthOutcome {
        if !rules.basic_over_tls || !meta.tls {
            let reason = if rules.basic_over_tls {
                "Basic authentication refused over plain HTTP"
            } else {
                "Basic authentication is not offered here"
            };
            self.fail(meta, dialect, None, reason).await;
            return AuthOutcome::Challenge { stale: false };
        }
        let Some((user, password)) = super::basic_credentials(header) else {
            self.fail(meta, dialect, None, "unreadable Basic credentials")
                .await;
            return AuthOutcome::Challenge { stale: false };
        };
        self.check_self_care_password(meta, dialect, "basic", rules, &user, &password)
            .await
    }

    /// Checks a user name and password given in clear (Basic over TLS, an LDAP simple bind):
    /// digests of equal length are compared, so the time taken says nothing of the secret.
    pub async fn check_self_care_password(
        &self,
        meta: &RequestMeta,
        dialect: &'static str,
        auth_method: &'static str,
        rules: &SelfCareRules,
        user: &str,
        password: &str,
    ) -> AuthOutcome {
        if let Some(retry_after_secs) = self.failures.blocked(meta.peer, self.core.now()) {
            return AuthOutcome::Throttled { retry_after_secs };
        }
        let Ok(account) = self.lookup(rules, user).await else {
            return AuthOutcome::Challenge { stale: false };
        };
        let digest_of = |s: &str| digest::ha1(Algorithm::Sha256, user, &rules.realm, s);
        let given = digest_of(password);
        let matches = account
            .as_ref()
            .and_then(|a| a.secret(rules.secret))
            .is_some_and(|secret| bool::from(digest_of(secret).as_bytes().ct_eq(given.as_bytes())));
        if let (true, Some(account)) = (matches, account) {
            self.gate(
                meta,
                dialect,
                auth_method,
                &account.address(),
                account.principal(),
            )
            .await
        } else {
            self.fail(meta, dialect, Some(user), "wrong user name or password")
                .await;
            AuthOutcome::Challenge { stale: false }
        }
    }

    /// The account a self-care user name names; Err when the lookup itself failed.
    async fn lookup(
        &self,
        rules: &SelfCareRules,
        name: &str,
    ) -> Result<Option<SelfCareAccount>, ()> {
        let (user, domain) = rules.split(name);
        self.core
            .find_self_care_account(user, domain)
            .await
            .map_err(|e| tracing::error!(error = %e, "self-care account lookup failed"))
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;
    use crate::auth::digest::{QopAuth, compute_response};
    use crate::auth::tests::{authenticator, meta};
    use crate::core::actor::{Actor, Principal, Scope};
    use crate::core::attrs::Field;
    use crate::core::audit::AuditFilter;

    const REALM: &str = "switchyard";

    fn rules(secret: SelfCareSecret) -> SelfCareRules {
        SelfCareRules {
            realm: REALM.into(),
            default_domain: None,
            secret,
            basic_over_tls: true,
        }
    }

    /// A client's answer to the first challenge, for `user` with `password`.
    fn digest_answer(challenge: &str, user: &str, password: &str, uri: &str) -> String {
        let nonce = challenge
            .split("nonce=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap();
        let response = compute_response(
            Algorithm::Sha256,
            &digest::ha1(Algorithm::Sha256, user, REALM, password),
            nonce,
            "POST",
            uri,
            Some(QopAuth {
                qop: "auth",
                nc: "00000001",
                cnonce: "c0ffee",
            }),
        );
        format!(
            "Digest username=\"{user}\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"{uri}\", \
             cnonce=\"c0ffee\", nc=00000001, qop=auth, response=\"{response}\", algorithm=SHA-256"
        )
    }

    fn basic(user: &str, password: &str) -> String {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        format!("Basic {encoded}")
    }

    #[tokio::test]
    async fn a_subscriber_signs_in_as_itself_with_its_own_secret_only() {
        let (auth, core, _dir) = authenticator().await;
        let mut fields = crate::core::tests::account("alice");
        fields.insert("web_password".into(), Field::Str(String::new()));
        fields.insert("voip_password".into(), Field::Str("sip-pw".into()));
        let id = core
            .create_account(&Actor::operator("test"), Some(1), fields)
            .await
            .unwrap();

        let outcome = |header: String, tls: bool| {
            let mut m = meta(None);
            m.authorization = Some(header);
            m.tls = tls;
            let auth = &auth;
            async move {
                auth.authenticate_self_care(&m, "test", &rules(SelfCareSecret::WebOrSipPassword))
                    .await
            }
        };
        let challenge = auth.self_care_challenges(REALM, false).remove(0);
        match outcome(
            digest_answer(&challenge, "alice", "sip-pw", "/xmlapi/xmlapi"),
            true,
        )
        .await
        {
            AuthOutcome::Authenticated {
                principal: Principal::Login(l),
                ..
            } => {
                assert_eq!(l.scope, Scope::Subscriber { id, customer_id: 1 });
                assert_eq!(l.login_id, None);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            outcome(basic("alice", "sip-pw"), true).await,
            AuthOutcome::Authenticated { .. }
        ));
        for (header, tls) in [
            (basic("alice", "sip-pw"), false),
            (basic("alice", "wrong"), true),
            (basic("nobody", "sip-pw"), true),
        ] {
            assert!(
                matches!(
                    outcome(header.clone(), tls).await,
                    AuthOutcome::Challenge { stale: false }
                ),
                "{header} over TLS {tls}"
            );
        }
        // No portal PIN set: the sipX secret refuses everyone.
        let mut m = meta(None);
        m.authorization = Some(basic("alice", ""));
        assert!(matches!(
            auth.authenticate_self_care(&m, "test", &rules(SelfCareSecret::PortalPin))
                .await,
            AuthOutcome::Challenge { .. }
        ));

        // A blocked account is refused with the reason, and audited.
        core.update_account(
            &Actor::operator("test"),
            id,
            [("blocked".to_string(), Field::Bool(true))]
                .into_iter()
                .collect(),
        )
        .await
        .unwrap();
        match outcome(basic("alice", "sip-pw"), true).await {
            AuthOutcome::Refused { reason } => assert!(reason.contains("blocked"), "{reason}"),
            other => panic!("{other:?}"),
        }
        let rows = core
            .audit_log(
                &Actor::operator("test"),
                AuditFilter {
                    limit: 20,
                    ..AuditFilter::default()
                },
            )
            .await
            .unwrap();
        assert!(rows.iter().any(|r| r.outcome == "failed_auth"), "{rows:?}");
        assert!(rows.iter().any(|r| r.outcome == "refused"), "{rows:?}");
        assert!(
            !rows.iter().any(|r| r.detail.contains("sip-pw")),
            "no secret in the audit log"
        );
    }
}

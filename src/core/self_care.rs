//! Self-care: a subscriber authenticating as itself with its own secret, as sipXconfig's
//! `/my/...` routes (the user-portal PIN) and SIP2SIP's `settings.phtml` (the web password, else
//! the SIP password) do. The principal it yields is scoped to that one subscriber.

use super::actor::{LoginPrincipal, Scope};
use super::{Core, CoreResult};
use crate::db::{self, self_care::SelfCareRow};

/// Which of a subscriber's secrets a dialect takes as its password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelfCareSecret {
    /// sipXconfig: the user-portal PIN.
    PortalPin,
    /// SIP2SIP: the web password, else the SIP password.
    WebOrSipPassword,
}

/// A subscriber found by a self-care user name. Secrets are never printed.
#[derive(Clone)]
pub struct SelfCareAccount(SelfCareRow);

impl std::fmt::Debug for SelfCareAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfCareAccount")
            .field("subscriber_id", &self.0.subscriber_id)
            .field("username", &self.0.username)
            .field("domain", &self.0.domain)
            .finish_non_exhaustive()
    }
}

impl SelfCareAccount {
    pub fn subscriber_id(&self) -> i64 {
        self.0.subscriber_id
    }

    pub fn username(&self) -> &str {
        &self.0.username
    }

    pub fn domain(&self) -> Option<&str> {
        self.0.domain.as_deref()
    }

    /// `user@domain`, or the user name alone for an account without a domain.
    pub fn address(&self) -> String {
        match &self.0.domain {
            Some(d) => format!("{}@{d}", self.0.username),
            None => self.0.username.clone(),
        }
    }

    /// The secret `kind` names, or None when the account has none set (sign-in refused).
    pub fn secret(&self, kind: SelfCareSecret) -> Option<&str> {
        let set = |s: &str| !s.is_empty();
        match kind {
            SelfCareSecret::PortalPin => self.0.portal_pin.as_deref().filter(|s| set(s)),
            SelfCareSecret::WebOrSipPassword => [&self.0.web_password, &self.0.voip_password]
                .into_iter()
                .find(|s| set(s))
                .map(String::as_str),
        }
    }

    /// The principal of the subscriber acting on itself, or why it may not sign in: a blocked or
    /// locked account, or a customer that is blocked, locked or terminated.
    pub fn principal(&self) -> Result<LoginPrincipal, String> {
        let row = &self.0;
        let who = self.address();
        if row.subscriber_blocked || row.subscriber_status != "active" {
            return Err(format!("the account {who} is blocked"));
        }
        if row.customer_blocked || !matches!(row.customer_status.as_str(), "active" | "pending") {
            return Err(format!("the customer of the account {who} is blocked"));
        }
        Ok(LoginPrincipal {
            login_id: None,
            login: who,
            scope: Scope::Subscriber {
                id: row.subscriber_id,
                customer_id: row.customer_id,
            },
            accounts_mgmt: 0,
            customers_mgmt: 0,
            read_only: false,
            is_reseller: false,
        })
    }
}

impl Core {
    /// The subscriber whose user name or number is `user`, within `domain` when given. Without a
    /// domain the match must be unique: an ambiguous name finds nobody.
    pub async fn find_self_care_account(
        &self,
        user: &str,
        domain: Option<&str>,
    ) -> CoreResult<Option<SelfCareAccount>> {
        let (user, domain) = (user.to_string(), domain.map(str::to_string));
        let mut found = self
            .db
            .read(move |conn| db::self_care::find(conn, &user, domain.as_deref()))
            .await?;
        Ok(if found.len() == 1 {
            found.pop().map(SelfCareAccount)
        } else {
            None
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> SelfCareRow {
        SelfCareRow {
            subscriber_id: 7,
            customer_id: 3,
            username: "alice".into(),
            domain: Some("example.com".into()),
            web_password: String::new(),
            voip_password: "sip-secret".into(),
            portal_pin: None,
            subscriber_blocked: false,
            subscriber_status: "active".into(),
            customer_blocked: false,
            customer_status: "active".into(),
        }
    }

    #[test]
    fn the_web_password_wins_and_the_sip_password_stands_in() {
        let mut r = row();
        let account = SelfCareAccount(r.clone());
        assert_eq!(
            account.secret(SelfCareSecret::WebOrSipPassword),
            Some("sip-secret")
        );
        assert_eq!(account.secret(SelfCareSecret::PortalPin), None);
        r.web_password = "web-secret".into();
        r.portal_pin = Some("1234".into());
        let account = SelfCareAccount(r);
        assert_eq!(
            account.secret(SelfCareSecret::WebOrSipPassword),
            Some("web-secret")
        );
        assert_eq!(account.secret(SelfCareSecret::PortalPin), Some("1234"));
    }

    #[test]
    fn blocked_accounts_and_customers_get_no_principal() {
        let p = SelfCareAccount(row()).principal().unwrap();
        assert_eq!(p.login, "alice@example.com");
        assert_eq!(p.login_id, None);
        assert_eq!(
            p.scope,
            Scope::Subscriber {
                id: 7,
                customer_id: 3
            }
        );
        let mut r = row();
        r.subscriber_status = "locked".into();
        assert!(SelfCareAccount(r).principal().is_err());
        let mut r = row();
        r.customer_status = "terminated".into();
        assert!(SelfCareAccount(r).principal().is_err());
        let mut r = row();
        r.customer_blocked = true;
        assert!(SelfCareAccount(r).principal().is_err());
    }

    #[test]
    fn debug_output_holds_no_secret() {
        let mut r = row();
        r.portal_pin = Some("9876".into());
        let printed = format!("{:?}", SelfCareAccount(r));
        assert!(!printed.contains("sip-secret") && !printed.contains("9876"));
    }
}

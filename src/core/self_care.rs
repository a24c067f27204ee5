//! Subscribers authenticating as themselves (SIP2SIP `settings.phtml`, sipXconfig `/my/`): the
//! account a user name (or alias number) and domain name, and the secret it proves.
//!
//! Interim copy of the shared foundation's API (see the branch report): replaced by main's when
//! it lands.

use super::actor::{LoginPrincipal, Principal, Scope};
use super::{Core, CoreError, CoreResult};
use crate::db;

/// Which of an account's secrets a dialect takes as its password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelfCareSecret {
    /// sipXconfig's user-portal PIN.
    PortalPin,
    /// SIP2SIP: the web password, else the SIP password.
    WebOrSipPassword,
}

/// A subscriber that may authenticate as itself.
#[derive(Debug, Clone)]
pub struct SelfCareAccount {
    pub subscriber_id: i64,
    pub customer_id: i64,
    pub username: String,
    pub domain: Option<String>,
    /// Blocked or not active: it may not sign in.
    pub disabled: bool,
    web_password: String,
    voip_password: String,
}

impl SelfCareAccount {
    /// The secret the dialect checks, if the account has one.
    pub fn secret(&self, kind: SelfCareSecret) -> Option<&str> {
        match kind {
            SelfCareSecret::PortalPin => None,
            SelfCareSecret::WebOrSipPassword => [&self.web_password, &self.voip_password]
                .into_iter()
                .find(|s| !s.is_empty())
                .map(String::as_str),
        }
    }

    /// The principal of this subscriber acting on itself.
    pub fn principal(&self) -> Principal {
        let login = match &self.domain {
            Some(d) => format!("{}@{d}", self.username),
            None => self.username.clone(),
        };
        Principal::Login(LoginPrincipal {
            login_id: 0,
            login,
            scope: Scope::Subscriber {
                id: self.subscriber_id,
                customer_id: self.customer_id,
            },
            accounts_mgmt: 0,
            customers_mgmt: 0,
            read_only: false,
            is_reseller: false,
        })
    }
}

impl Core {
    /// The account `user` (a user name or alias number) in `domain`; with no domain the user name
    /// must be unique. None when there is no such account or the name is ambiguous.
    pub async fn find_self_care_account(
        &self,
        user: &str,
        domain: Option<&str>,
    ) -> CoreResult<Option<SelfCareAccount>> {
        let (user, domain) = (user.to_string(), domain.map(str::to_string));
        self.db
            .read(move |conn| {
                let rows = db::self_care::find(conn, &user, domain.as_deref())?;
                Ok::<_, CoreError>(match <[_; 1]>::try_from(rows) {
                    Ok([row]) => Some(SelfCareAccount {
                        subscriber_id: row.subscriber_id,
                        customer_id: row.customer_id,
                        username: row.username,
                        domain: row.domain,
                        disabled: row.disabled,
                        web_password: row.web_password,
                        voip_password: row.voip_password,
                    }),
                    Err(_) => None,
                })
            })
            .await
    }
}

//! Who is acting: the principal a request resolved to, and where the request came from.

use std::net::IpAddr;

/// The scope of a login: a node of the customer tree (and everything below it), or one subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Customer { id: i64, path: String },
    Subscriber { id: i64, customer_id: i64 },
}

/// A login that passed authentication and the API gates.
#[derive(Debug, Clone)]
pub struct LoginPrincipal {
    /// The `logins` row; None for a subscriber authenticated with its own account secret.
    pub login_id: Option<i64>,
    pub login: String,
    pub scope: Scope,
    /// The scope customer's management bitmasks (bit0 add, bit1 edit, bit2 delete).
    pub accounts_mgmt: i64,
    pub customers_mgmt: i64,
    /// A read-only login may only read, in every dialect.
    pub read_only: bool,
    /// Whether the scope customer is a reseller (C5's reseller role).
    pub is_reseller: bool,
}

#[derive(Debug, Clone)]
pub enum Principal {
    Login(LoginPrincipal),
    /// A credential-less request from an address in `trusted_hosts`: no scope limit.
    Trusted,
    /// The local operator using the command line on the data directory.
    Operator,
    /// Nobody yet: used only to audit failed authentications.
    Anonymous {
        claimed_login: Option<String>,
    },
}

impl Principal {
    /// The name written in the audit log's `principal` column.
    pub fn audit_name(&self) -> String {
        match self {
            Self::Login(l) => l.login.clone(),
            Self::Trusted => "trusted".into(),
            Self::Operator => "cli".into(),
            Self::Anonymous {
                claimed_login: Some(l),
            } => format!("anonymous ({l})"),
            Self::Anonymous {
                claimed_login: None,
            } => "anonymous".into(),
        }
    }

    pub fn login_id(&self) -> Option<i64> {
        match self {
            Self::Login(l) => l.login_id,
            _ => None,
        }
    }

    /// The subscriber a self-care principal is, acting on itself.
    pub fn own_subscriber(&self) -> Option<i64> {
        match self {
            Self::Login(LoginPrincipal {
                scope: Scope::Subscriber { id, .. },
                ..
            }) => Some(*id),
            _ => None,
        }
    }

    /// True for a login that may only read.
    pub fn is_read_only(&self) -> bool {
        matches!(self, Self::Login(l) if l.read_only)
    }

    /// True for principals with no scope limit.
    pub fn is_unscoped(&self) -> bool {
        matches!(self, Self::Trusted | Self::Operator)
    }
}

/// Everything the audit log records about who did something and from where.
#[derive(Debug, Clone)]
pub struct Actor {
    pub principal: Principal,
    /// "digest-md5", "digest-sha256", "trusted", "local", ...
    pub auth_method: &'static str,
    pub peer_ip: Option<IpAddr>,
    /// From `audit_info.user_ip` in trusted mode, else the peer.
    pub user_ip: Option<String>,
    pub user_agent: Option<String>,
    /// From `audit_info.action_by` in trusted mode, else the principal.
    pub action_by: Option<String>,
    pub dialect: &'static str,
    pub method: String,
}

/// What a trusted caller says about the original request it relays (Sippy's `audit_info`).
#[derive(Debug, Clone, Default)]
pub struct AuditInfo {
    pub user_ip: Option<String>,
    pub user_agent: Option<String>,
    pub action_by: Option<String>,
}

impl Actor {
    /// Records `info` for the audit log. Honoured in trusted mode only: a login cannot claim to
    /// act for someone else. Members left out keep the values of the request itself.
    pub fn apply_audit_info(&mut self, info: AuditInfo) {
        if !matches!(self.principal, Principal::Trusted) {
            return;
        }
        if info.user_ip.is_some() {
            self.user_ip = info.user_ip;
        }
        if info.user_agent.is_some() {
            self.user_agent = info.user_agent;
        }
        if info.action_by.is_some() {
            self.action_by = info.action_by;
        }
    }

    /// The local operator, acting through the command line.
    pub fn operator(method: &str) -> Self {
        let user = std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .ok();
        Self {
            principal: Principal::Operator,
            auth_method: "local",
            peer_ip: None,
            user_ip: None,
            user_agent: None,
            action_by: user,
            dialect: "cli",
            method: method.to_string(),
        }
    }

    /// The name recorded as `created_by` / `updated_by` on rows this actor writes.
    pub fn display_name(&self) -> String {
        match (&self.principal, &self.action_by) {
            (Principal::Trusted | Principal::Operator, Some(by)) => by.clone(),
            (p, _) => p.audit_name(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> AuditInfo {
        AuditInfo {
            user_ip: Some("10.1.1.1".into()),
            user_agent: None,
            action_by: Some("alice".into()),
        }
    }

    #[test]
    fn audit_info_counts_only_in_trusted_mode() {
        let mut trusted = Actor {
            principal: Principal::Trusted,
            ..Actor::operator("t")
        };
        trusted.user_agent = Some("portal".into());
        trusted.apply_audit_info(info());
        assert_eq!(trusted.user_ip.as_deref(), Some("10.1.1.1"));
        assert_eq!(trusted.action_by.as_deref(), Some("alice"));
        assert_eq!(
            trusted.user_agent.as_deref(),
            Some("portal"),
            "left-out members are kept"
        );

        let login = LoginPrincipal {
            login_id: Some(2),
            login: "CustomerA".into(),
            scope: Scope::Customer {
                id: 2,
                path: "/1/2/".into(),
            },
            accounts_mgmt: 7,
            customers_mgmt: 7,
            read_only: false,
            is_reseller: false,
        };
        let mut actor = Actor {
            principal: Principal::Login(login),
            action_by: None,
            ..Actor::operator("t")
        };
        actor.apply_audit_info(info());
        assert_eq!(
            (actor.user_ip, actor.action_by),
            (None, None),
            "a login cannot speak for others"
        );
    }
}

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
    pub login_id: i64,
    pub login: String,
    pub scope: Scope,
    /// The scope customer's management bitmasks (bit0 add, bit1 edit, bit2 delete).
    pub accounts_mgmt: i64,
    pub customers_mgmt: i64,
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
            Self::Login(l) => Some(l.login_id),
            _ => None,
        }
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

impl Actor {
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

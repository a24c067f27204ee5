//! Who may do what. Every scope decision in switchyard is made here, never in a dialect.

use super::actor::{LoginPrincipal, Principal, Scope};
use super::error::{CoreError, CoreResult};

/// An operation on a kind of object, as Sippy's management bitmasks name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add = 1,
    Edit = 2,
    Delete = 4,
}

impl Op {
    fn verb(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Edit => "edit",
            Self::Delete => "delete",
        }
    }
}

/// True for principals that see everything: trusted hosts, the local operator, root's login.
pub fn is_root_equivalent(p: &Principal) -> bool {
    match p {
        Principal::Trusted | Principal::Operator => true,
        Principal::Login(l) => matches!(&l.scope, Scope::Customer { path, .. } if path == "/1/"),
        Principal::Anonymous { .. } => false,
    }
}

/// Whether the customer at `path` is the principal's own node or below it.
pub fn sees_customer(p: &Principal, path: &str) -> bool {
    match p {
        Principal::Trusted | Principal::Operator => true,
        Principal::Login(l) => match &l.scope {
            Scope::Customer { path: own, .. } => path.starts_with(own.as_str()),
            Scope::Subscriber { .. } => false,
        },
        Principal::Anonymous { .. } => false,
    }
}

/// Whether the customer at `path` lies strictly below the principal's node: only then may the
/// principal change what a parent controls (the API permission box, limits, balance).
pub fn is_above(p: &Principal, path: &str) -> bool {
    match p {
        Principal::Trusted | Principal::Operator => true,
        Principal::Login(l) => match &l.scope {
            Scope::Customer { path: own, .. } => {
                path.len() > own.len() && path.starts_with(own.as_str())
            }
            Scope::Subscriber { .. } => false,
        },
        Principal::Anonymous { .. } => false,
    }
}

/// Whether the principal may see the account with this id, owned by the customer at `path`.
pub fn sees_account(p: &Principal, account_id: i64, customer_path: &str) -> bool {
    match p {
        Principal::Login(l) => match &l.scope {
            Scope::Subscriber { id, .. } => *id == account_id,
            Scope::Customer { .. } => sees_customer(p, customer_path),
        },
        other => sees_customer(other, customer_path),
    }
}

/// Refuses unless the principal's management bitmask allows `op` on accounts.
pub fn may_manage_accounts(p: &Principal, op: Op) -> CoreResult<()> {
    match p {
        Principal::Login(l) if l.accounts_mgmt & (op as i64) == 0 && !is_root_equivalent(p) => {
            Err(CoreError::Forbidden(format!(
                "this customer may not {} accounts (accounts_mgmt)",
                op.verb()
            )))
        }
        Principal::Login(l) if matches!(l.scope, Scope::Subscriber { .. }) => Err(
            CoreError::Forbidden("an account login may not manage accounts".into()),
        ),
        Principal::Anonymous { .. } => Err(CoreError::Forbidden("not authenticated".into())),
        _ => Ok(()),
    }
}

/// Refuses unless the principal's management bitmask allows `op` on sub-customers.
pub fn may_manage_customers(p: &Principal, op: Op) -> CoreResult<()> {
    match p {
        Principal::Login(l) if l.customers_mgmt & (op as i64) == 0 && !is_root_equivalent(p) => {
            Err(CoreError::Forbidden(format!(
                "this customer may not {} sub-customers (customers_mgmt)",
                op.verb()
            )))
        }
        Principal::Login(l) if matches!(l.scope, Scope::Subscriber { .. }) => Err(
            CoreError::Forbidden("an account login may not manage customers".into()),
        ),
        Principal::Anonymous { .. } => Err(CoreError::Forbidden("not authenticated".into())),
        _ => Ok(()),
    }
}

/// The customer a call acts under when it names none: a login's own customer. Trusted and local
/// callers have no customer of their own and must name one with `param`.
pub fn default_customer(p: &Principal, param: &str) -> CoreResult<i64> {
    match p {
        Principal::Login(l) => match &l.scope {
            Scope::Customer { id, .. } => Ok(*id),
            Scope::Subscriber { customer_id, .. } => Ok(*customer_id),
        },
        _ => Err(CoreError::Missing(param.to_string())),
    }
}

/// Refuses unless the principal may manage trusted hosts: root's login or the local operator.
pub fn may_manage_trusted_hosts(p: &Principal) -> CoreResult<()> {
    match p {
        Principal::Operator => Ok(()),
        Principal::Login(_) if is_root_equivalent(p) => Ok(()),
        _ => Err(CoreError::Forbidden(
            "only root may manage trusted hosts".into(),
        )),
    }
}

/// What a principal reaches through the reseller-shaped resources (C5's admin and reseller
/// roles): everything, or one reseller's objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    All,
    Reseller { id: i64, path: String },
}

impl Reach {
    /// The path prefix that limits what is listed, if any.
    pub fn scope(&self) -> Option<&str> {
        match self {
            Self::All => None,
            Self::Reseller { path, .. } => Some(path),
        }
    }

    /// The reseller an object is created for: the one asked for when the caller reaches all,
    /// the caller's own otherwise (C5 forces it rather than refusing).
    pub fn reseller_for(&self, asked: Option<i64>) -> Option<i64> {
        match self {
            Self::All => asked,
            Self::Reseller { id, .. } => Some(*id),
        }
    }

    pub fn sees(&self, path: &str) -> bool {
        self.scope().is_none_or(|prefix| path.starts_with(prefix))
    }
}

/// Who may use the reseller-shaped resources: root's login, trusted hosts and the operator reach
/// everything; a reseller's logins reach that reseller; other logins none of it.
pub fn reach(p: &Principal) -> CoreResult<Reach> {
    match p {
        Principal::Trusted | Principal::Operator => Ok(Reach::All),
        _ if is_root_equivalent(p) => Ok(Reach::All),
        Principal::Login(l) => match &l.scope {
            Scope::Customer { id, path } if l.is_reseller => Ok(Reach::Reseller {
                id: *id,
                path: path.clone(),
            }),
            _ => Err(CoreError::Forbidden(
                "only the platform's and resellers' logins may use this resource".into(),
            )),
        },
        Principal::Anonymous { .. } => Err(CoreError::Forbidden("not authenticated".into())),
    }
}

/// Refuses unless the principal may read or change subscriber `id`, owned by the customer at
/// `customer_path`: the subscriber itself (the self-care dialects), or a login whose C5 reach
/// covers that customer. Anything else is answered like a missing subscriber.
pub fn sees_subscriber(p: &Principal, id: i64, customer_path: &str) -> CoreResult<()> {
    let out_of_scope = || CoreError::OutOfScope(format!("subscriber {id}"));
    if let Principal::Login(LoginPrincipal {
        scope: Scope::Subscriber { id: own, .. },
        ..
    }) = p
    {
        return if *own == id {
            Ok(())
        } else {
            Err(out_of_scope())
        };
    }
    // A login that reaches no subscriber at all is told "not found" too: refusing it with a
    // reason only for ids that exist would tell it which ids exist.
    if reach(p).is_ok_and(|r| r.sees(customer_path)) {
        Ok(())
    } else {
        Err(out_of_scope())
    }
}

/// Refuses unless the principal may search the address book of `domain`: an account of that
/// domain (`own_domain` is the account's), the platform's logins, trusted hosts and the operator,
/// or anyone when anonymous search is on.
pub fn may_search_address_book(
    p: &Principal,
    own_domain: Option<&str>,
    domain: &str,
    anonymous_allowed: bool,
) -> CoreResult<()> {
    if anonymous_allowed || is_root_equivalent(p) {
        return Ok(());
    }
    match p {
        Principal::Login(LoginPrincipal {
            scope: Scope::Subscriber { .. },
            ..
        }) if own_domain.is_some_and(|own| own.eq_ignore_ascii_case(domain)) => Ok(()),
        Principal::Login(LoginPrincipal {
            scope: Scope::Subscriber { .. },
            ..
        }) => Err(CoreError::Forbidden(
            "an account may search its own domain's address book only".into(),
        )),
        _ => Err(CoreError::Forbidden(
            "bind as an account of the domain to search its address book".into(),
        )),
    }
}

/// Refuses unless the principal may create, fill or read the shared phonebook owned by the
/// customer at `owner_path` (None: a new one, owned by [`phonebook_owner`]): trusted hosts, the
/// operator, and customer logins at or above the owner. Subscribers read shared phonebooks only
/// through their own phonebook (those of their customer and the customers above it).
pub fn may_manage_phonebook(p: &Principal, owner_path: Option<&str>) -> CoreResult<()> {
    match p {
        Principal::Login(LoginPrincipal {
            scope: Scope::Subscriber { .. },
            ..
        }) => Err(CoreError::Forbidden(
            "shared phonebooks are managed by admins".into(),
        )),
        Principal::Anonymous { .. } => Err(CoreError::Forbidden("not authenticated".into())),
        _ => match owner_path {
            Some(path) if !sees_customer(p, path) => Err(CoreError::OutOfScope("phonebook".into())),
            _ => Ok(()),
        },
    }
}

/// The customer a new shared phonebook belongs to: the login's own customer, root for trusted
/// hosts and the operator.
pub fn phonebook_owner(p: &Principal) -> CoreResult<i64> {
    match p {
        Principal::Trusted | Principal::Operator => Ok(1),
        Principal::Login(LoginPrincipal {
            scope: Scope::Customer { id, .. },
            ..
        }) => Ok(*id),
        _ => Err(CoreError::Forbidden(
            "shared phonebooks are managed by admins".into(),
        )),
    }
}

/// The path of the top of the customer tree the principal sees: its own customer's node, or the
/// whole tree ('/') for trusted hosts and the operator.
pub fn visible_root(p: &Principal) -> CoreResult<String> {
    match p {
        Principal::Trusted | Principal::Operator => Ok("/".into()),
        Principal::Login(l) => match &l.scope {
            Scope::Customer { path, .. } => Ok(path.clone()),
            Scope::Subscriber { .. } => Err(CoreError::Forbidden(
                "an account login has no customer tree".into(),
            )),
        },
        Principal::Anonymous { .. } => Err(CoreError::Forbidden("not authenticated".into())),
    }
}

/// Refuses unless the principal reaches everything (creating resellers, for example).
pub fn reaches_all(p: &Principal) -> CoreResult<()> {
    match reach(p)? {
        Reach::All => Ok(()),
        Reach::Reseller { .. } => Err(CoreError::Forbidden(
            "only the platform's logins may do this".into(),
        )),
    }
}

/// The login that gets a client certificate its principal asks for: only a customer or admin
/// login (read-only ones too); trusted hosts, the operator and subscriber logins have none.
pub fn client_cert_holder(p: &Principal) -> CoreResult<i64> {
    match p {
        Principal::Login(LoginPrincipal {
            login_id: Some(id),
            scope: Scope::Customer { .. },
            ..
        }) => Ok(*id),
        Principal::Login(_) => Err(CoreError::Forbidden(
            "client certificates are issued to customer and admin logins only".into(),
        )),
        _ => Err(CoreError::Forbidden(
            "a client certificate is issued to the login that asks for it; trusted hosts and \
             the operator have no login (the operator names one with `switchyard client-cert \
             issue --login NAME`)"
                .into(),
        )),
    }
}

/// Whether `p` may have a client certificate issued for a login it names: the operator only.
pub fn may_issue_client_certs_for_others(p: &Principal) -> CoreResult<()> {
    if matches!(p, Principal::Operator) {
        Ok(())
    } else {
        Err(CoreError::Forbidden(
            "only the operator may issue client certificates for other logins".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(path: &str, mgmt: i64) -> Principal {
        Principal::Login(LoginPrincipal {
            login_id: Some(9),
            login: "x".into(),
            scope: Scope::Customer {
                id: 5,
                path: path.into(),
            },
            accounts_mgmt: mgmt,
            customers_mgmt: mgmt,
            read_only: false,
            is_reseller: path.matches('/').count() == 3,
        })
    }

    #[test]
    fn reach_is_everything_for_root_and_a_reseller_subtree_otherwise() {
        assert_eq!(reach(&login("/1/", 7)).expect("root"), Reach::All);
        assert_eq!(reach(&Principal::Trusted).expect("trusted"), Reach::All);
        assert_eq!(
            reach(&login("/1/5/", 7)).expect("reseller"),
            Reach::Reseller {
                id: 5,
                path: "/1/5/".into()
            }
        );
        assert!(reach(&login("/1/5/9/", 7)).is_err(), "a plain customer");
    }

    #[test]
    fn a_subscriber_out_of_reach_reads_as_missing_whoever_asks() {
        // A plain customer's login reaches no subscriber by id: it must get the answer a
        // missing id gets (out of scope, shown as not found), not a reason that only existing
        // ids would earn.
        for p in [login("/1/5/9/", 7), login("/1/6/", 7)] {
            assert!(matches!(
                sees_subscriber(&p, 3, "/1/5/9/12/"),
                Err(CoreError::OutOfScope(_))
            ));
        }
        assert!(sees_subscriber(&login("/1/5/", 7), 3, "/1/5/9/").is_ok());
    }

    #[test]
    fn scope_is_the_subtree() {
        let p = login("/1/5/", 7);
        assert!(sees_customer(&p, "/1/5/"));
        assert!(sees_customer(&p, "/1/5/9/"));
        assert!(!sees_customer(&p, "/1/"));
        assert!(
            !sees_customer(&p, "/1/50/"),
            "a prefix of digits is not an ancestor"
        );
        assert!(!is_above(&p, "/1/5/"));
        assert!(is_above(&p, "/1/5/9/"));
    }

    #[test]
    fn management_bits_are_enforced() {
        let p = login("/1/5/", 1);
        assert!(may_manage_accounts(&p, Op::Add).is_ok());
        assert!(may_manage_accounts(&p, Op::Edit).is_err());
        assert!(may_manage_customers(&p, Op::Delete).is_err());
        assert!(
            may_manage_accounts(&login("/1/", 0), Op::Delete).is_ok(),
            "root may do all"
        );
        assert!(may_manage_accounts(&Principal::Trusted, Op::Delete).is_ok());
    }
}

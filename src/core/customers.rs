//! The customer tree: create, update, delete, read, list; each customer's login and the parent's
//! API permission box.

use serde_json::json;

use super::accounts::{audit_detail, check_refs};
use super::actor::Actor;
use super::attrs::{self, CONTACT_ATTRS, CUSTOMER_ATTRS, CUSTOMER_PARENT_ATTRS, Field, Fields};
use super::audit::Event;
use super::passwords;
use super::permissions::{self, Op};
use super::{Core, CoreError, CoreResult, Done};
use crate::db::{self, Conn, customers::CustomerNode};

pub use db::customers::CustomerSummary;

/// Customer parameters handled by the core itself rather than stored as plain attributes.
const LOGIN_PARAMS: &[&str] = &[
    "web_login",
    "web_password",
    "api_password",
    "api_access",
    "api_permission",
];

/// What a customer's own login may change about itself; everything else is its parent's call.
const SELF_EDITABLE: &[&str] = &[
    "description",
    "web_login",
    "web_password",
    "api_password",
    "api_access",
];

#[derive(Debug, Clone)]
pub enum CustomerKey {
    Id(i64),
    Name(String),
}

/// One customer as read back (secrets left out).
#[derive(Debug, Clone)]
pub struct CustomerView {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub attrs: Vec<(&'static str, Field)>,
    pub contact: Vec<(&'static str, Field)>,
    pub web_login: Option<String>,
    pub api_access: bool,
    pub api_permission: bool,
    pub created_on: i64,
    pub updated_on: i64,
}

/// Login-related parameters, checked, with passwords already hashed.
#[derive(Default)]
struct LoginChange {
    web_login: Option<String>,
    web_password_phc: Option<String>,
    api_password: Option<String>,
    api_access: Option<bool>,
    api_permission: Option<bool>,
}

fn flag(given: &Fields, name: &str) -> CoreResult<Option<bool>> {
    match given.get(name) {
        None => Ok(None),
        Some(Field::Bool(b)) => Ok(Some(*b)),
        Some(Field::Int(n @ (0 | 1))) => Ok(Some(*n == 1)),
        Some(other) => Err(CoreError::invalid(
            name,
            format!("expected a boolean or 0/1, got {}", attrs::describe(other)),
        )),
    }
}

fn text(given: &Fields, name: &str) -> CoreResult<Option<String>> {
    match given.get(name) {
        None => Ok(None),
        Some(Field::Str(s)) => Ok(Some(s.clone())),
        Some(other) => Err(CoreError::invalid(
            name,
            format!("expected a string, got {}", attrs::describe(other)),
        )),
    }
}

/// Logins are 1 to 64 characters without white space, control characters or ':' (which would
/// break Basic authentication's `login:password`).
fn check_login_name(login: &str) -> Result<(), ()> {
    let bad = login.is_empty()
        || login.len() > 64
        || login
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ':');
    if bad { Err(()) } else { Ok(()) }
}

/// Checks the login parameters and hashes passwords (slow: runs on a blocking thread).
async fn login_change(given: &Fields, creating: bool) -> CoreResult<LoginChange> {
    let mut web_login = text(given, "web_login")?;
    if let Some(login) = &web_login {
        check_login_name(login).map_err(|()| {
            CoreError::invalid(
                "web_login",
                "must be 1 to 64 characters without spaces or ':'",
            )
        })?;
    }
    // A new customer's login defaults to its name, which must then make a valid login.
    if creating
        && web_login.is_none()
        && let Some(Field::Str(name)) = given.get("name")
    {
        check_login_name(name).map_err(|()| {
            CoreError::invalid(
                "web_login",
                format!(
                    "the customer name '{name}' cannot serve as the login (1 to 64 characters \
                     without spaces or ':'); give a web_login"
                ),
            )
        })?;
        web_login = Some(name.clone());
    }
    let web_password = text(given, "web_password")?;
    if creating && web_password.is_none() {
        return Err(CoreError::Missing("web_password".into()));
    }
    let api_password = text(given, "api_password")?;
    for (name, pw) in [
        ("web_password", &web_password),
        ("api_password", &api_password),
    ] {
        if let Some(pw) = pw {
            passwords::check_password(name, pw)?;
        }
    }
    let web_password_phc = match web_password {
        Some(pw) => Some(
            tokio::task::spawn_blocking(move || passwords::hash_web_password(&pw))
                .await
                .map_err(|_| CoreError::Storage(db::DbError::Panicked))??,
        ),
        None => None,
    };
    Ok(LoginChange {
        web_login,
        web_password_phc,
        api_password,
        api_access: flag(given, "api_access")?,
        api_permission: flag(given, "api_permission")?,
    })
}

fn visible_customer(conn: &Conn<'_>, actor: &Actor, key: &CustomerKey) -> CoreResult<CustomerNode> {
    let (node, what) = match key {
        CustomerKey::Id(id) => (
            db::customers::node_by_id(conn, *id)?,
            format!("customer {id}"),
        ),
        CustomerKey::Name(n) => (
            db::customers::node_by_name(conn, n)?,
            format!("customer '{n}'"),
        ),
    };
    let node = node.ok_or_else(|| CoreError::NotFound(what.clone()))?;
    if !permissions::sees_customer(&actor.principal, &node.path) {
        return Err(CoreError::OutOfScope(what));
    }
    Ok(node)
}

/// Applies the login part of a create or update: the login row, its passwords, Allow API Calls.
fn apply_login(
    tx: &db::WriteTx<'_>,
    realm: &str,
    customer_id: i64,
    default_login: &str,
    change: &LoginChange,
    now: i64,
) -> CoreResult<()> {
    let existing = db::logins::of_customer(tx, customer_id)?;
    let (login_id, mut login_name) = if let Some((id, name, _)) = existing {
        (id, name)
    } else {
        let name = change
            .web_login
            .clone()
            .unwrap_or_else(|| default_login.to_string());
        if db::logins::exists(tx, &name)? {
            return Err(CoreError::Duplicate(format!(
                "web login '{name}' is already taken"
            )));
        }
        (
            db::logins::insert_for_customer(tx, &name, customer_id, now)?,
            name,
        )
    };
    if let Some(new_name) = &change.web_login
        && *new_name != login_name
    {
        if db::logins::exists(tx, new_name)? {
            return Err(CoreError::Duplicate(format!(
                "web login '{new_name}' is already taken"
            )));
        }
        if change.api_password.is_none() {
            // HA1 digests include the login name: a rename without a new password would
            // leave API credentials that can never match.
            return Err(CoreError::invalid(
                "web_login",
                "changing the login also needs a new api_password",
            ));
        }
        db::logins::rename(tx, login_id, new_name, now)?;
        login_name.clone_from(new_name);
    }
    if let Some(phc) = &change.web_password_phc {
        db::logins::set_web_password_hash(tx, login_id, phc, now)?;
    }
    if let Some(pw) = &change.api_password {
        let (md5, sha256) = passwords::api_ha1(&login_name, realm, pw);
        let secret = db::logins::ApiSecret {
            realm,
            ha1_md5: &md5,
            ha1_sha256: &sha256,
        };
        db::logins::set_api_secret(tx, login_id, &secret, now)?;
    }
    if let Some(on) = change.api_access {
        db::logins::set_allow_api_calls(tx, login_id, on, now)?;
    }
    Ok(())
}

impl Core {
    /// Creates a customer below `parent` (a login's own customer when None); returns its id.
    pub async fn create_customer(
        &self,
        actor: &Actor,
        parent: Option<i64>,
        given: Fields,
    ) -> CoreResult<i64> {
        let known = [CUSTOMER_ATTRS, CUSTOMER_PARENT_ATTRS, CONTACT_ATTRS];
        let checked = async {
            attrs::refuse_unknown(&given, &known, LOGIN_PARAMS)?;
            let mut values = attrs::check_all(CUSTOMER_ATTRS, &given, true)?;
            values.extend(attrs::check_all(CUSTOMER_PARENT_ATTRS, &given, true)?);
            let contact = attrs::check_all(CONTACT_ATTRS, &given, true)?;
            Ok::<_, CoreError>((values, contact, login_change(&given, true).await?))
        };
        let (values, contact, login) = match checked.await {
            Ok(v) => v,
            Err(e) => return self.refuse(actor, Event::CustomerCreated, e).await,
        };
        let realm = self.realm.clone();
        self.mutate(actor, Event::CustomerCreated, move |tx, actor, now| {
            permissions::may_manage_customers(&actor.principal, Op::Add)?;
            let parent_id = match parent {
                Some(id) => id,
                None => permissions::default_customer(&actor.principal, "i_wholesaler")?,
            };
            let parent = visible_customer(tx, actor, &CustomerKey::Id(parent_id))?;
            check_refs(tx, CUSTOMER_ATTRS, &values)?;
            let name = match values.iter().find(|(c, _)| *c == "name") {
                Some((_, Field::Str(n))) if !n.trim().is_empty() => n.clone(),
                _ => return Err(CoreError::invalid("name", "must not be empty")),
            };
            if db::customers::name_taken(tx, &name, None)? {
                return Err(CoreError::Duplicate(format!(
                    "a customer named '{name}' already exists"
                )));
            }
            let contact_id = db::contacts::insert(tx, &contact)?;
            let id = db::customers::insert(tx, Some(&parent), &values, Some(contact_id), now)?;
            // The creator is the parent or above, so it may set the API permission box.
            if let Some(on) = login.api_permission {
                db::customers::set_api_permission(tx, id, on)?;
            }
            apply_login(tx, &realm, id, &name, &login, now)?;
            Ok(Done {
                value: id,
                target: format!("customer:{id}"),
                detail: audit_detail(&given, &known).to_string(),
            })
        })
        .await
    }

    /// Changes the given attributes of a customer. A customer's own login may change only its
    /// description, login and passwords and its own Allow API Calls; the rest, including the
    /// API permission box, is for its parent or above.
    pub async fn update_customer(&self, actor: &Actor, id: i64, given: Fields) -> CoreResult<()> {
        let known = [CUSTOMER_ATTRS, CUSTOMER_PARENT_ATTRS, CONTACT_ATTRS];
        let checked = async {
            attrs::refuse_unknown(&given, &known, LOGIN_PARAMS)?;
            let mut values = attrs::check_all(CUSTOMER_ATTRS, &given, false)?;
            values.extend(attrs::check_all(CUSTOMER_PARENT_ATTRS, &given, false)?);
            let contact = attrs::check_all(CONTACT_ATTRS, &given, false)?;
            Ok::<_, CoreError>((values, contact, login_change(&given, false).await?))
        };
        let (values, contact, login) = match checked.await {
            Ok(v) => v,
            Err(e) => return self.refuse(actor, Event::CustomerUpdated, e).await,
        };
        let realm = self.realm.clone();
        self.mutate(actor, Event::CustomerUpdated, move |tx, actor, now| {
            let node = visible_customer(tx, actor, &CustomerKey::Id(id))?;
            if permissions::is_above(&actor.principal, &node.path) {
                permissions::may_manage_customers(&actor.principal, Op::Edit)?;
            } else {
                let contact_names = CONTACT_ATTRS.iter().map(|d| d.name);
                let allowed: Vec<&str> =
                    SELF_EDITABLE.iter().copied().chain(contact_names).collect();
                if let Some(name) = given.keys().find(|k| !allowed.contains(&k.as_str())) {
                    return Err(CoreError::Forbidden(format!(
                        "'{name}' of a customer can only be changed by its parent"
                    )));
                }
            }
            check_refs(tx, CUSTOMER_ATTRS, &values)?;
            if let Some((_, Field::Str(name))) = values.iter().find(|(c, _)| *c == "name") {
                if name.trim().is_empty() {
                    return Err(CoreError::invalid("name", "must not be empty"));
                }
                if db::customers::name_taken(tx, name, Some(id))? {
                    return Err(CoreError::Duplicate(format!(
                        "a customer named '{name}' already exists"
                    )));
                }
            }
            db::customers::update(tx, id, &values, now)?;
            if let (Some(contact_id), false) = (node.contact_id, contact.is_empty()) {
                db::contacts::update(tx, contact_id, &contact)?;
            }
            if let Some(on) = login.api_permission {
                db::customers::set_api_permission(tx, id, on)?;
            }
            apply_login(tx, &realm, id, &format!("customer-{id}"), &login, now)?;
            Ok(Done {
                value: (),
                target: format!("customer:{id}"),
                detail: audit_detail(&given, &known).to_string(),
            })
        })
        .await
    }

    /// Deletes a customer that has no sub-customers and no accounts. Only its parent or above may.
    pub async fn delete_customer(&self, actor: &Actor, id: i64) -> CoreResult<()> {
        self.mutate(actor, Event::CustomerDeleted, move |tx, actor, _| {
            let node = visible_customer(tx, actor, &CustomerKey::Id(id))?;
            if node.parent_id.is_none() {
                return Err(CoreError::Forbidden(
                    "the root customer cannot be deleted".into(),
                ));
            }
            if !permissions::is_above(&actor.principal, &node.path) {
                return Err(CoreError::Forbidden(
                    "a customer cannot delete itself".into(),
                ));
            }
            permissions::may_manage_customers(&actor.principal, Op::Delete)?;
            let (children, accounts) = db::customers::dependents(tx, id)?;
            if children > 0 || accounts > 0 {
                return Err(CoreError::Conflict(format!(
                    "customer {id} still has {children} sub-customer(s) and {accounts} \
                     account(s); delete or move them first"
                )));
            }
            db::customers::delete(tx, &node)?;
            Ok(Done {
                value: (),
                target: format!("customer:{id}"),
                detail: json!({}).to_string(),
            })
        })
        .await
    }

    pub async fn get_customer(&self, actor: &Actor, key: CustomerKey) -> CoreResult<CustomerView> {
        let acting = actor.clone();
        self.query(actor, Event::CustomerRead, move |conn| {
            let node = visible_customer(conn, &acting, &key)?;
            let missing = || CoreError::NotFound(format!("customer {}", node.id));
            let mut attrs =
                db::customers::read_attrs(conn, node.id, CUSTOMER_ATTRS)?.ok_or_else(missing)?;
            attrs.extend(
                db::customers::read_attrs(conn, node.id, CUSTOMER_PARENT_ATTRS)?
                    .ok_or_else(missing)?,
            );
            let contact = match node.contact_id {
                Some(id) => db::contacts::read(conn, id)?,
                None => Vec::new(),
            };
            let login = db::logins::of_customer(conn, node.id)?;
            Ok(CustomerView {
                id: node.id,
                parent_id: node.parent_id,
                contact_id: node.contact_id,
                attrs,
                contact,
                web_login: login.as_ref().map(|(_, name, _)| name.clone()),
                api_access: login.is_some_and(|(_, _, on)| on),
                api_permission: node.api_permission,
                created_on: node.created_on,
                updated_on: node.updated_on,
            })
        })
        .await
    }

    /// The direct sub-customers of `parent`: by default a login's own customer; for trusted and
    /// local callers, every customer.
    pub async fn list_customers(
        &self,
        actor: &Actor,
        parent: Option<i64>,
        offset: Option<i64>,
        limit: Option<i64>,
    ) -> CoreResult<Vec<CustomerSummary>> {
        let (offset, limit) = match super::page(offset, limit) {
            Ok(p) => p,
            Err(e) => return self.refuse(actor, Event::CustomerRead, e).await,
        };
        let acting = actor.clone();
        self.query(actor, Event::CustomerRead, move |conn| {
            let parent = match parent {
                Some(id) => Some(visible_customer(conn, &acting, &CustomerKey::Id(id))?.id),
                None if acting.principal.is_unscoped() => None,
                None => Some(permissions::default_customer(
                    &acting.principal,
                    "i_wholesaler",
                )?),
            };
            Ok(db::customers::list(conn, parent, offset, limit)?)
        })
        .await
    }
}

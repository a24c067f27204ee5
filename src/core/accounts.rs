//! Accounts (subscribers): create, update, delete, read, list, balance changes.

use serde_json::{Value as Json, json};

use super::actor::Actor;
use super::attrs::{self, ACCOUNT_ATTRS, AttrDef, CONTACT_ATTRS, Field, Fields, Kind};
use super::audit::Event;
use super::permissions::{self, Op};
use super::{Core, CoreError, CoreResult, Done};
use crate::db::{self, Conn, accounts::AccountNode};

pub use db::accounts::{AccountStamps, AccountSummary};

/// How a call names an account.
#[derive(Debug, Clone)]
pub enum AccountKey {
    Id(i64),
    Username(String),
}

/// One account as read back: its attributes (secrets left out), contact details and stamps.
#[derive(Debug, Clone)]
pub struct AccountView {
    pub id: i64,
    pub customer_id: i64,
    pub contact_id: Option<i64>,
    pub attrs: Vec<(&'static str, Field)>,
    pub contact: Vec<(&'static str, Field)>,
    pub stamps: AccountStamps,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalanceKind {
    AddFunds,
    Credit,
    Debit,
}

/// A money movement on an account.
#[derive(Debug, Clone)]
pub struct BalanceRequest {
    pub kind: BalanceKind,
    pub amount: f64,
    pub currency: String,
    pub notes: String,
    /// When the payment was made; now if not given.
    pub payment_time: Option<i64>,
}

/// The audit detail for a set of given fields: values as given, secrets masked.
pub(crate) fn audit_detail(given: &Fields, defs: &[&[AttrDef]]) -> Json {
    let secret = |name: &str| {
        defs.iter()
            .flat_map(|d| d.iter())
            .any(|d| d.name == name && d.secret)
    };
    let mut out = serde_json::Map::new();
    for (name, value) in given {
        let shown = if secret(name) || name.contains("password") {
            json!("***")
        } else {
            match value {
                Field::Null => Json::Null,
                Field::Bool(b) => json!(b),
                Field::Int(n) | Field::Time(n) => json!(n),
                Field::Double(d) => json!(d),
                Field::Str(s) => json!(s),
                Field::StrList(l) => json!(l),
                Field::Json(v) => v.clone(),
            }
        };
        out.insert(name.clone(), shown);
    }
    Json::Object(out)
}

/// Refuses references to rows that do not exist (a billing plan, time zone, tariff, group).
pub(crate) fn check_refs(
    conn: &Conn<'_>,
    defs: &[AttrDef],
    values: &[(&'static str, Field)],
) -> CoreResult<()> {
    for def in defs {
        let Kind::Ref { table, .. } = def.kind else {
            continue;
        };
        let Some((_, Field::Int(id))) = values.iter().find(|(c, _)| *c == def.column) else {
            continue;
        };
        if !db::reference::exists(conn, table, *id)? {
            return Err(CoreError::NotFound(format!(
                "{} {id} ({})",
                table.describe(),
                def.name
            )));
        }
    }
    Ok(())
}

fn check_username(values: &[(&'static str, Field)]) -> CoreResult<()> {
    if let Some((_, Field::Str(name))) = values.iter().find(|(c, _)| *c == "username")
        && (name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(CoreError::invalid(
            "username",
            "must be non-empty, without spaces",
        ));
    }
    Ok(())
}

/// An account's checked columns and its contact's.
type CheckedAccount = (Vec<(&'static str, Field)>, Vec<(&'static str, Field)>);

fn check_account_fields(given: &Fields, creating: bool) -> CoreResult<CheckedAccount> {
    attrs::refuse_unknown(given, &[ACCOUNT_ATTRS, CONTACT_ATTRS], &[])?;
    let values = attrs::check_all(ACCOUNT_ATTRS, given, creating)?;
    check_username(&values)?;
    Ok((values, attrs::check_all(CONTACT_ATTRS, given, creating)?))
}

/// Refuses a user name that an account other than `except` already has.
fn ensure_username_free(
    conn: &Conn<'_>,
    values: &[(&'static str, Field)],
    except: Option<i64>,
) -> CoreResult<()> {
    if let Some((_, Field::Str(username))) = values.iter().find(|(c, _)| *c == "username")
        && db::accounts::node_by_username(conn, username)?
            .is_some_and(|other| Some(other.id) != except)
    {
        return Err(CoreError::Duplicate(format!(
            "an account with username '{username}' already exists"
        )));
    }
    Ok(())
}

/// Finds an account the principal may see; one it may not see is answered as not found.
pub(crate) fn visible_account(
    conn: &Conn<'_>,
    actor: &Actor,
    key: &AccountKey,
) -> CoreResult<AccountNode> {
    let (node, what) = match key {
        AccountKey::Id(id) => (
            db::accounts::node_by_id(conn, *id)?,
            format!("account {id}"),
        ),
        AccountKey::Username(u) => (
            db::accounts::node_by_username(conn, u)?,
            format!("account '{u}'"),
        ),
    };
    let node = node.ok_or_else(|| CoreError::NotFound(what.clone()))?;
    if !permissions::sees_account(&actor.principal, node.id, &node.customer_path) {
        return Err(CoreError::OutOfScope(what));
    }
    Ok(node)
}

fn read_view(conn: &Conn<'_>, node: &AccountNode) -> CoreResult<AccountView> {
    let detail = db::accounts::read_detail(conn, node.id)?
        .ok_or_else(|| CoreError::NotFound(format!("account {}", node.id)))?;
    Ok(AccountView {
        id: node.id,
        customer_id: node.customer_id,
        contact_id: node.contact_id,
        attrs: detail.attrs,
        contact: detail.contact,
        stamps: detail.stamps,
    })
}

impl Core {
    /// Creates an account under `owner` (a login's own customer when None); returns its id.
    pub async fn create_account(
        &self,
        actor: &Actor,
        owner: Option<i64>,
        given: Fields,
    ) -> CoreResult<i64> {
        let checked = check_account_fields(&given, true);
        let (values, contact) = match checked {
            Ok(v) => v,
            Err(e) => return self.refuse(actor, Event::AccountCreated, e).await,
        };
        // Rendered here, not on the writer thread.
        let detail = audit_detail(&given, &[ACCOUNT_ATTRS, CONTACT_ATTRS]).to_string();
        self.mutate(actor, Event::AccountCreated, move |tx, actor, now| {
            permissions::may_manage_accounts(&actor.principal, Op::Add)?;
            let owner_id = match owner {
                Some(id) => id,
                None => permissions::default_customer(&actor.principal, "i_customer")?,
            };
            let what = format!("customer {owner_id}");
            let node = db::customers::node_by_id(tx, owner_id)?
                .ok_or_else(|| CoreError::NotFound(what.clone()))?;
            if !permissions::sees_customer(&actor.principal, &node.path) {
                return Err(CoreError::OutOfScope(what));
            }
            let has_group = values
                .iter()
                .any(|(c, v)| *c == "routing_group_id" && *v != Field::Null);
            if node.parent_id.is_none() && !has_group {
                return Err(CoreError::Missing("i_routing_group".into()));
            }
            check_refs(tx, ACCOUNT_ATTRS, &values)?;
            ensure_username_free(tx, &values, None)?;
            let contact_id = db::contacts::insert(tx, &contact)?;
            let by = actor.display_name();
            let mut row = values;
            row.extend([
                ("customer_id", Field::Int(node.id)),
                ("contact_id", Field::Int(contact_id)),
                ("created_on", Field::Time(now)),
                ("created_by", Field::Str(by.clone())),
                ("updated_on", Field::Time(now)),
                ("updated_by", Field::Str(by)),
            ]);
            let id = db::accounts::insert(tx, &row)?;
            Ok(Done {
                value: id,
                target: format!("account:{id}"),
                detail,
            })
        })
        .await
    }

    /// Changes the given attributes of an account.
    pub async fn update_account(&self, actor: &Actor, id: i64, given: Fields) -> CoreResult<()> {
        let checked = check_account_fields(&given, false);
        let (values, contact) = match checked {
            Ok(v) => v,
            Err(e) => return self.refuse(actor, Event::AccountUpdated, e).await,
        };
        // Rendered here, not on the writer thread.
        let detail = audit_detail(&given, &[ACCOUNT_ATTRS, CONTACT_ATTRS]).to_string();
        self.mutate(actor, Event::AccountUpdated, move |tx, actor, now| {
            let node = visible_account(tx, actor, &AccountKey::Id(id))?;
            permissions::may_manage_accounts(&actor.principal, Op::Edit)?;
            check_refs(tx, ACCOUNT_ATTRS, &values)?;
            ensure_username_free(tx, &values, Some(id))?;
            let mut row = values;
            row.extend([
                ("updated_on", Field::Time(now)),
                ("updated_by", Field::Str(actor.display_name())),
            ]);
            db::accounts::update(tx, id, &row)?;
            if let (Some(contact_id), false) = (node.contact_id, contact.is_empty()) {
                db::contacts::update(tx, contact_id, &contact)?;
            }
            Ok(Done {
                value: (),
                target: format!("account:{id}"),
                detail,
            })
        })
        .await
    }

    pub async fn delete_account(&self, actor: &Actor, id: i64) -> CoreResult<()> {
        self.mutate(actor, Event::AccountDeleted, move |tx, actor, _| {
            let node = visible_account(tx, actor, &AccountKey::Id(id))?;
            permissions::may_manage_accounts(&actor.principal, Op::Delete)?;
            db::accounts::delete(tx, &node)?;
            Ok(Done {
                value: (),
                target: format!("account:{id}"),
                detail: json!({}).to_string(),
            })
        })
        .await
    }

    pub async fn get_account(&self, actor: &Actor, key: AccountKey) -> CoreResult<AccountView> {
        let acting = actor.clone();
        self.query(actor, Event::AccountRead, move |conn| {
            let node = visible_account(conn, &acting, &key)?;
            read_view(conn, &node)
        })
        .await
    }

    /// Accounts owned directly by `owner`: by default a login's own customer; for trusted and
    /// local callers, every account.
    pub async fn list_accounts(
        &self,
        actor: &Actor,
        owner: Option<i64>,
        offset: Option<i64>,
        limit: Option<i64>,
    ) -> CoreResult<Vec<AccountSummary>> {
        let (offset, limit) = match super::page(offset, limit) {
            Ok(p) => p,
            Err(e) => return self.refuse(actor, Event::AccountRead, e).await,
        };
        let acting = actor.clone();
        self.query(actor, Event::AccountRead, move |conn| {
            let owner = match owner {
                Some(id) => Some(id),
                None if acting.principal.is_unscoped() => None,
                None => Some(permissions::default_customer(
                    &acting.principal,
                    "i_customer",
                )?),
            };
            if let Some(id) = owner {
                let what = format!("customer {id}");
                let node = db::customers::node_by_id(conn, id)?
                    .ok_or_else(|| CoreError::NotFound(what.clone()))?;
                if !permissions::sees_customer(&acting.principal, &node.path) {
                    return Err(CoreError::OutOfScope(what));
                }
            }
            Ok(db::accounts::list(conn, owner, offset, limit)?)
        })
        .await
    }

    /// Adds funds to, credits or debits an account; returns the new stored balance.
    pub async fn change_account_balance(
        &self,
        actor: &Actor,
        id: i64,
        request: BalanceRequest,
    ) -> CoreResult<f64> {
        if !request.amount.is_finite() || request.amount <= 0.0 {
            let e = CoreError::invalid("amount", "must be a positive number");
            return self.refuse(actor, Event::AccountBalanceChanged, e).await;
        }
        if request.notes.len() > 1024 {
            let e = CoreError::invalid("payment_notes", "longer than 1024 bytes");
            return self.refuse(actor, Event::AccountBalanceChanged, e).await;
        }
        self.mutate(
            actor,
            Event::AccountBalanceChanged,
            move |tx, actor, now| {
                let node = visible_account(tx, actor, &AccountKey::Id(id))?;
                permissions::may_manage_accounts(&actor.principal, Op::Edit)?;
                if request.currency != node.payment_currency {
                    return Err(CoreError::invalid(
                        "currency",
                        format!(
                            "'{}' does not match the account's currency {}",
                            request.currency, node.payment_currency
                        ),
                    ));
                }
                // Stored balances use Sippy's sign: what the account owes. Funds and credits lower it.
                let (kind, delta) = match request.kind {
                    BalanceKind::AddFunds => ("add_funds", -request.amount),
                    BalanceKind::Credit => ("credit", -request.amount),
                    BalanceKind::Debit => ("debit", request.amount),
                };
                let change = db::accounts::BalanceChange {
                    kind,
                    delta,
                    amount: request.amount,
                    currency: &request.currency,
                    notes: &request.notes,
                    payment_time: request.payment_time.unwrap_or(now),
                };
                let balance = db::accounts::change_balance(tx, id, &change, now)?;
                Ok(Done {
                    value: balance,
                    target: format!("account:{id}"),
                    detail: json!({
                        "kind": kind, "amount": request.amount, "currency": request.currency,
                        "notes": request.notes, "balance": balance,
                    })
                    .to_string(),
                })
            },
        )
        .await
    }
}

//! SQL for subscribers (accounts) and their balance history.

use rusqlite::{OptionalExtension, params};

use super::{Conn, DbResult, WriteTx, fields};
use std::sync::OnceLock;

use crate::core::attrs::{ACCOUNT_ATTRS, AttrDef, CONTACT_ATTRS, Field};

/// Where an account sits: its id, owner and the owner's path in the tree.
#[derive(Debug, Clone)]
pub struct AccountNode {
    pub id: i64,
    pub customer_id: i64,
    pub customer_path: String,
    pub contact_id: Option<i64>,
    pub payment_currency: String,
}

const NODE_SQL: &str = "SELECT s.id, s.customer_id, c.path, s.contact_id, s.payment_currency
     FROM subscribers s JOIN customers c ON c.id = s.customer_id";

fn node(r: &rusqlite::Row<'_>) -> rusqlite::Result<AccountNode> {
    Ok(AccountNode {
        id: r.get(0)?,
        customer_id: r.get(1)?,
        customer_path: r.get(2)?,
        contact_id: r.get(3)?,
        payment_currency: r.get(4)?,
    })
}

pub fn node_by_id(conn: &Conn<'_>, id: i64) -> DbResult<Option<AccountNode>> {
    let sql = format!("{NODE_SQL} WHERE s.id = ?");
    Ok(conn
        .sql()
        .prepare_cached(&sql)?
        .query_row([id], node)
        .optional()?)
}

/// Finds an account by user name among the accounts without a SIP domain (Sippy's namespace).
pub fn node_by_username(conn: &Conn<'_>, username: &str) -> DbResult<Option<AccountNode>> {
    let sql = format!("{NODE_SQL} WHERE s.username = ? AND s.domain_id IS NULL");
    Ok(conn
        .sql()
        .prepare_cached(&sql)?
        .query_row([username], node)
        .optional()?)
}

pub fn insert(tx: &WriteTx<'_>, values: &[(&'static str, Field)]) -> DbResult<i64> {
    fields::insert(tx, "subscribers", values)
}

pub fn update(tx: &WriteTx<'_>, id: i64, values: &[(&'static str, Field)]) -> DbResult<()> {
    fields::update(tx, "subscribers", id, values)?;
    Ok(())
}

pub fn delete(tx: &WriteTx<'_>, node: &AccountNode) -> DbResult<()> {
    tx.sql()
        .execute("DELETE FROM subscribers WHERE id = ?", [node.id])?;
    if let Some(contact) = node.contact_id {
        tx.sql()
            .execute("DELETE FROM contacts WHERE id = ?", [contact])?;
    }
    Ok(())
}

/// Audit and housekeeping columns of an account.
#[derive(Debug, Clone)]
pub struct AccountStamps {
    pub created_on: i64,
    pub created_by: String,
    pub updated_on: i64,
    pub updated_by: String,
    pub first_use: Option<i64>,
    pub last_login: Option<i64>,
    pub base_currency: String,
}

/// One line of an account listing.
#[derive(Debug, Clone)]
pub struct AccountSummary {
    pub id: i64,
    pub customer_id: i64,
    pub username: String,
    pub description: String,
    pub base_currency: String,
    pub blocked: bool,
    /// Days the account lives after its first use; -1 for ever.
    pub lifetime: i64,
    pub first_use: Option<i64>,
    pub created_on: i64,
    pub balance: f64,
    pub credit_limit: f64,
}

impl AccountSummary {
    /// When the account expires (milliseconds), if it has a lifetime and has been used.
    pub fn expires_at(&self) -> Option<i64> {
        const DAY_MILLIS: i64 = 86_400_000;
        (self.lifetime >= 0)
            .then_some(self.first_use)
            .flatten()
            .map(|first| first + self.lifetime * DAY_MILLIS)
    }
}

/// Accounts owned directly by `customer_id` (or, with None, all), by id, paged in SQL.
pub fn list(
    conn: &Conn<'_>,
    customer_id: Option<i64>,
    offset: i64,
    limit: i64,
) -> DbResult<Vec<AccountSummary>> {
    let mut stmt = conn.sql().prepare_cached(
        "SELECT s.id, s.customer_id, s.username, s.description, c.base_currency, s.blocked,
                s.lifetime, s.first_use, s.created_on, s.balance, s.credit_limit
         FROM subscribers s JOIN customers c ON c.id = s.customer_id
         WHERE (?1 IS NULL OR s.customer_id = ?1)
         ORDER BY s.id LIMIT ?2 OFFSET ?3",
    )?;
    let rows = stmt.query_map(params![customer_id, limit, offset], |r| {
        Ok(AccountSummary {
            id: r.get(0)?,
            customer_id: r.get(1)?,
            username: r.get(2)?,
            description: r.get(3)?,
            base_currency: r.get(4)?,
            blocked: r.get(5)?,
            lifetime: r.get(6)?,
            first_use: r.get(7)?,
            created_on: r.get(8)?,
            balance: r.get(9)?,
            credit_limit: r.get(10)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A money movement to record and apply to the account's balance.
pub struct BalanceChange<'a> {
    pub kind: &'static str,
    /// Added to the stored balance (Sippy's internal sign: positive means more owed).
    pub delta: f64,
    pub amount: f64,
    pub currency: &'a str,
    pub notes: &'a str,
    pub payment_time: i64,
}

/// Applies a balance change; returns the new stored balance.
pub fn change_balance(
    tx: &WriteTx<'_>,
    id: i64,
    change: &BalanceChange<'_>,
    now: i64,
) -> DbResult<f64> {
    tx.sql().execute(
        "INSERT INTO balance_transactions
             (subscriber_id, kind, amount, currency, notes, payment_time, created_on)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            id,
            change.kind,
            change.amount,
            change.currency,
            change.notes,
            change.payment_time,
            now
        ],
    )?;
    Ok(tx.sql().query_row(
        "UPDATE subscribers SET balance = balance + ?1 WHERE id = ?2 RETURNING balance",
        params![change.delta, id],
        |r| r.get(0),
    )?)
}

/// An account's stored attributes (secrets left out) and its contact's, by wire name, with its
/// stamps.
pub struct AccountDetail {
    pub attrs: Vec<(&'static str, Field)>,
    pub contact: Vec<(&'static str, Field)>,
    pub stamps: AccountStamps,
}

/// Reads everything `getAccountInfo` shows about an account in one query.
pub fn read_detail(conn: &Conn<'_>, id: i64) -> DbResult<Option<AccountDetail>> {
    static SQL: OnceLock<String> = OnceLock::new();
    let visible = || ACCOUNT_ATTRS.iter().filter(|d| !d.secret);
    let sql = SQL.get_or_init(|| {
        let columns: Vec<String> = visible()
            .map(|d| format!("s.{}", d.column))
            .chain(CONTACT_ATTRS.iter().map(|d| format!("ct.{}", d.column)))
            .collect();
        format!(
            "SELECT {}, s.created_on, s.created_by, s.updated_on, s.updated_by, s.first_use,
                    s.last_login, c.base_currency
             FROM subscribers s JOIN customers c ON c.id = s.customer_id
             LEFT JOIN contacts ct ON ct.id = s.contact_id
             WHERE s.id = ?",
            columns.join(", ")
        )
    });
    let mut stmt = conn.sql().prepare_cached(sql)?;
    let mut rows = stmt.query([id])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let mut i = 0;
    let mut next = |def: &AttrDef| -> DbResult<(&'static str, Field)> {
        i += 1;
        Ok((def.name, fields::from_sql(def, row.get_ref(i - 1)?)?))
    };
    let attrs = visible().map(&mut next).collect::<DbResult<Vec<_>>>()?;
    let contact = CONTACT_ATTRS
        .iter()
        .map(&mut next)
        .collect::<DbResult<Vec<_>>>()?;
    let n = attrs.len() + contact.len();
    let stamps = AccountStamps {
        created_on: row.get(n)?,
        created_by: row.get(n + 1)?,
        updated_on: row.get(n + 2)?,
        updated_by: row.get(n + 3)?,
        first_use: row.get(n + 4)?,
        last_login: row.get(n + 5)?,
        base_currency: row.get(n + 6)?,
    };
    Ok(Some(AccountDetail {
        attrs,
        contact,
        stamps,
    }))
}

//! SQL for prepaid vouchers and the balance history SIP2SIP shows.

use rusqlite::{OptionalExtension, params};

use super::{Conn, DbResult, WriteTx};

/// A voucher as stored (its number only as a SHA-256 hex digest).
#[derive(Debug, Clone, PartialEq)]
pub struct VoucherRow {
    pub id: i64,
    pub number_sha256: String,
    pub value: f64,
    pub currency: String,
    pub created_on: i64,
    pub created_by: String,
    pub used_by: Option<i64>,
    pub used_on: Option<i64>,
}

const COLUMNS: &str =
    "id, number_sha256, value, currency, created_on, created_by, used_by, used_on";

fn voucher(r: &rusqlite::Row<'_>) -> rusqlite::Result<VoucherRow> {
    Ok(VoucherRow {
        id: r.get(0)?,
        number_sha256: r.get(1)?,
        value: r.get(2)?,
        currency: r.get(3)?,
        created_on: r.get(4)?,
        created_by: r.get(5)?,
        used_by: r.get(6)?,
        used_on: r.get(7)?,
    })
}

pub fn insert(
    tx: &WriteTx<'_>,
    number_sha256: &str,
    value: f64,
    currency: &str,
    created_by: &str,
    now: i64,
) -> DbResult<i64> {
    tx.sql()
        .prepare_cached(
            "INSERT INTO vouchers (number_sha256, value, currency, created_on, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![number_sha256, value, currency, now, created_by])?;
    Ok(tx.sql().last_insert_rowid())
}

pub fn by_id(conn: &Conn<'_>, id: i64) -> DbResult<Option<VoucherRow>> {
    Ok(conn
        .sql()
        .prepare_cached(&format!("SELECT {COLUMNS} FROM vouchers WHERE id = ?"))?
        .query_row([id], voucher)
        .optional()?)
}

/// Marks an unused voucher used; false if it was used meanwhile.
pub fn mark_used(tx: &WriteTx<'_>, id: i64, subscriber_id: i64, now: i64) -> DbResult<bool> {
    let changed = tx.sql().execute(
        "UPDATE vouchers SET used_by = ?2, used_on = ?3 WHERE id = ?1 AND used_on IS NULL",
        params![id, subscriber_id, now],
    )?;
    Ok(changed == 1)
}

/// Vouchers newest first, paged.
pub fn list(conn: &Conn<'_>, offset: i64, limit: i64) -> DbResult<Vec<VoucherRow>> {
    let mut stmt = conn.sql().prepare_cached(&format!(
        "SELECT {COLUMNS} FROM vouchers ORDER BY id DESC LIMIT ?1 OFFSET ?2"
    ))?;
    let rows = stmt.query_map(params![limit, offset], voucher)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One balance change of a subscriber.
#[derive(Debug, Clone, PartialEq)]
pub struct BalanceEntry {
    pub id: i64,
    pub kind: String,
    pub amount: f64,
    pub currency: String,
    pub notes: String,
    pub payment_time: i64,
}

/// A subscriber's balance changes, newest first, at most `limit`; and its stored balance.
pub fn balance_history(
    conn: &Conn<'_>,
    subscriber_id: i64,
    limit: i64,
) -> DbResult<(f64, Vec<BalanceEntry>)> {
    let balance: f64 = conn
        .sql()
        .prepare_cached("SELECT balance FROM subscribers WHERE id = ?")?
        .query_row([subscriber_id], |r| r.get(0))?;
    let mut stmt = conn.sql().prepare_cached(
        "SELECT id, kind, amount, currency, notes, payment_time FROM balance_transactions
         WHERE subscriber_id = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![subscriber_id, limit], |r| {
        Ok(BalanceEntry {
            id: r.get(0)?,
            kind: r.get(1)?,
            amount: r.get(2)?,
            currency: r.get(3)?,
            notes: r.get(4)?,
            payment_time: r.get(5)?,
        })
    })?;
    Ok((balance, rows.collect::<Result<_, _>>()?))
}

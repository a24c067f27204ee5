//! Key/value settings that live with the data, such as secrets the instance generated.

use rusqlite::OptionalExtension;

use super::{Conn, DbResult, WriteTx};

pub fn get(conn: &Conn<'_>, key: &str) -> DbResult<Option<Vec<u8>>> {
    Ok(conn
        .sql()
        .query_row("SELECT value FROM settings WHERE key = ?", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Stores `value` under `key` unless a value is already there; returns the stored value.
pub fn get_or_insert(tx: &WriteTx<'_>, key: &str, value: &[u8]) -> DbResult<Vec<u8>> {
    tx.sql().execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING",
        rusqlite::params![key, value],
    )?;
    Ok(get(tx, key)?.unwrap_or_default())
}

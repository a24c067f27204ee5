//! SQL for the trusted hosts table.

use rusqlite::params;

use super::{Conn, DbResult, WriteTx};

#[derive(Debug, Clone)]
pub struct TrustedHostRow {
    pub id: i64,
    pub network: String,
    pub description: String,
    pub created_on: i64,
}

pub fn list(conn: &Conn<'_>) -> DbResult<Vec<TrustedHostRow>> {
    let mut stmt = conn.sql().prepare_cached(
        "SELECT id, network, description, created_on FROM trusted_hosts ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(TrustedHostRow {
            id: r.get(0)?,
            network: r.get(1)?,
            description: r.get(2)?,
            created_on: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn insert(tx: &WriteTx<'_>, network: &str, description: &str, now: i64) -> DbResult<i64> {
    tx.sql().execute(
        "INSERT INTO trusted_hosts (network, description, created_on) VALUES (?1, ?2, ?3)",
        params![network, description, now],
    )?;
    Ok(tx.sql().last_insert_rowid())
}

/// Removes the entry with this network; returns whether one was there.
pub fn remove(tx: &WriteTx<'_>, network: &str) -> DbResult<bool> {
    Ok(tx
        .sql()
        .execute("DELETE FROM trusted_hosts WHERE network = ?", [network])?
        > 0)
}

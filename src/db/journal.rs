//! SQL for the replication journal.

use rusqlite::params;

use super::{Conn, DbResult, WriteTx};

/// One stored journal entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalRow {
    pub id: i64,
    pub uuid: String,
    pub data: String,
    pub timestamp: i64,
    pub ip_address: String,
}

pub fn insert(
    tx: &WriteTx<'_>,
    subscriber_id: i64,
    uuid: &str,
    client_id: &str,
    data: &str,
    timestamp: i64,
    ip_address: &str,
) -> DbResult<i64> {
    tx.sql()
        .prepare_cached(
            "INSERT INTO journal_entries (subscriber_id, uuid, client_id, data, timestamp, ip_address)
             VALUES (?, ?, ?, ?, ?, ?)",
        )?
        .execute(params![subscriber_id, uuid, client_id, data, timestamp, ip_address])?;
    Ok(tx.sql().last_insert_rowid())
}

/// Removes the subscriber's entries with `client_id`; returns the ids removed.
pub fn remove_by_client_id(
    tx: &WriteTx<'_>,
    subscriber_id: i64,
    client_id: &str,
) -> DbResult<Vec<i64>> {
    Ok(tx
        .sql()
        .prepare_cached(
            "DELETE FROM journal_entries WHERE subscriber_id = ? AND client_id = ? RETURNING id",
        )?
        .query_map(params![subscriber_id, client_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

/// Removes the subscriber's entries among `ids`; returns how many there were.
pub fn remove(tx: &WriteTx<'_>, subscriber_id: i64, ids: &[i64]) -> DbResult<usize> {
    let mut stmt = tx
        .sql()
        .prepare_cached("DELETE FROM journal_entries WHERE subscriber_id = ? AND id = ?")?;
    let mut removed = 0;
    for id in ids {
        removed += stmt.execute(params![subscriber_id, id])?;
    }
    Ok(removed)
}

/// Drops the subscriber's oldest entries beyond the newest `keep`; returns how many.
pub fn trim(tx: &WriteTx<'_>, subscriber_id: i64, keep: usize) -> DbResult<usize> {
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    Ok(tx
        .sql()
        .prepare_cached(
            "DELETE FROM journal_entries WHERE subscriber_id = ?1 AND id <= (
                 SELECT id FROM journal_entries WHERE subscriber_id = ?1
                 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
        )?
        .execute(params![subscriber_id, keep])?)
}

/// What a read asks for: entries after an id and a time, from other devices than one.
pub struct JournalFilter<'a> {
    pub except_uuid: Option<&'a str>,
    pub after_id: i64,
    pub after_timestamp: i64,
    pub limit: usize,
}

/// The subscriber's entries matching `f`, oldest first.
pub fn entries(
    conn: &Conn<'_>,
    subscriber_id: i64,
    f: &JournalFilter<'_>,
) -> DbResult<Vec<JournalRow>> {
    let limit = i64::try_from(f.limit).unwrap_or(i64::MAX);
    Ok(conn
        .sql()
        .prepare_cached(
            "SELECT id, uuid, data, timestamp, ip_address FROM journal_entries
             WHERE subscriber_id = ?1 AND id > ?2 AND timestamp > ?3
               AND (?4 IS NULL OR uuid <> ?4)
             ORDER BY id LIMIT ?5",
        )?
        .query_map(
            params![
                subscriber_id,
                f.after_id,
                f.after_timestamp,
                f.except_uuid,
                limit
            ],
            |r| {
                Ok(JournalRow {
                    id: r.get(0)?,
                    uuid: r.get(1)?,
                    data: r.get(2)?,
                    timestamp: r.get(3)?,
                    ip_address: r.get(4)?,
                })
            },
        )?
        .collect::<Result<_, _>>()?)
}

/// (id, timestamp) of the subscriber's newest `limit` entries, oldest first.
pub fn summary(conn: &Conn<'_>, subscriber_id: i64, limit: usize) -> DbResult<Vec<(i64, i64)>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut rows: Vec<(i64, i64)> = conn
        .sql()
        .prepare_cached(
            "SELECT id, timestamp FROM journal_entries WHERE subscriber_id = ?
             ORDER BY id DESC LIMIT ?",
        )?
        .query_map(params![subscriber_id, limit], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    rows.reverse();
    Ok(rows)
}

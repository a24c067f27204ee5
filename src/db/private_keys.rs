//! SQL for private user keys.

use rusqlite::{OptionalExtension, params};

use super::{Conn, DbResult, WriteTx};
use crate::core::private_keys::KeyHolder;

pub fn key_of(conn: &Conn<'_>, subscriber_id: i64) -> DbResult<Option<String>> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT user_key FROM private_user_keys WHERE subscriber_id = ?")?
        .query_row([subscriber_id], |r| r.get(0))
        .optional()?)
}

pub fn insert(tx: &WriteTx<'_>, subscriber_id: i64, key: &str) -> DbResult<()> {
    tx.sql().execute(
        "INSERT INTO private_user_keys (subscriber_id, user_key) VALUES (?1, ?2)",
        params![subscriber_id, key],
    )?;
    Ok(())
}

/// The stored key and its active subscriber.
pub fn holder(conn: &Conn<'_>, key: &str) -> DbResult<Option<(String, KeyHolder)>> {
    Ok(conn
        .sql()
        .prepare_cached(
            "SELECT k.user_key, s.id, s.customer_id, s.username, d.name \
             FROM private_user_keys k JOIN subscribers s ON s.id = k.subscriber_id \
             LEFT JOIN domains d ON d.id = s.domain_id \
             WHERE k.user_key = ? AND s.status = 'active'",
        )?
        .query_row([key], |r| {
            let username: String = r.get(3)?;
            let domain: Option<String> = r.get(4)?;
            Ok((
                r.get(0)?,
                KeyHolder {
                    subscriber_id: r.get(1)?,
                    customer_id: r.get(2)?,
                    login: domain.map_or_else(|| username.clone(), |d| format!("{username}@{d}")),
                },
            ))
        })
        .optional()?)
}

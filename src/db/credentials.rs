//! SQL for a subscriber's sipXconfig credentials.

use rusqlite::{OptionalExtension, params};

use super::{Conn, DbResult, WriteTx};

pub fn set_portal_pin(tx: &WriteTx<'_>, subscriber_id: i64, pin: &str) -> DbResult<()> {
    tx.sql().execute(
        "UPDATE subscribers SET portal_pin = ?1 WHERE id = ?2",
        params![pin, subscriber_id],
    )?;
    Ok(())
}

pub fn set_voicemail_pin(tx: &WriteTx<'_>, subscriber_id: i64, pin: &str) -> DbResult<()> {
    tx.sql().execute(
        "UPDATE subscribers SET vm_password = ?1 WHERE id = ?2",
        params![pin, subscriber_id],
    )?;
    Ok(())
}

pub fn user_name(conn: &Conn<'_>, subscriber_id: i64) -> DbResult<Option<String>> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT username FROM subscribers WHERE id = ?")?
        .query_row([subscriber_id], |r| r.get(0))
        .optional()?)
}

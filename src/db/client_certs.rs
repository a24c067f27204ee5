//! SQL for client certificates: which login a certificate serial stands for.

use rusqlite::{OptionalExtension, params};

use super::logins::{ApiLoginRow, api_login_columns, api_login_row};
use super::{Conn, DbResult, WriteTx};

/// The login a certificate with `serial` was issued to, with the certificate's `not_after`
/// (milliseconds), when the certificate is known and the login is a customer or admin login.
pub fn find_login(conn: &Conn<'_>, serial: &str) -> DbResult<Option<(ApiLoginRow, i64)>> {
    let mut stmt = conn.sql().prepare_cached(concat!(
        "SELECT ",
        api_login_columns!(),
        ", cc.not_after FROM client_certs cc JOIN logins l ON l.id = cc.login_id
         JOIN customers c ON c.id = l.customer_id WHERE cc.serial = ?"
    ))?;
    Ok(stmt
        .query_row([serial], |r| Ok((api_login_row(r)?, r.get(16)?)))
        .optional()?)
}

/// The id of the customer or admin login called `login` (subscriber logins have none).
pub fn holder_id(conn: &Conn<'_>, login: &str) -> DbResult<Option<i64>> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT id FROM logins WHERE login = ? AND customer_id IS NOT NULL")?
        .query_row([login], |r| r.get(0))
        .optional()?)
}

pub fn exists(conn: &Conn<'_>, serial: &str) -> DbResult<bool> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT 1 FROM client_certs WHERE serial = ?")?
        .exists([serial])?)
}

pub fn insert(
    tx: &WriteTx<'_>,
    serial: &str,
    login_id: i64,
    not_after: i64,
    now: i64,
) -> DbResult<()> {
    tx.sql().execute(
        "INSERT INTO client_certs (serial, login_id, not_after, created_on) VALUES (?1, ?2, ?3, ?4)",
        params![serial, login_id, not_after, now],
    )?;
    Ok(())
}

//! SQL for logins and their credentials.

use rusqlite::{OptionalExtension, params};

use super::{Conn, DbResult, WriteTx};

/// What authentication and the API gates need to know about a login, in one query.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // one row of flags, read in one query
pub struct ApiLoginRow {
    pub login_id: i64,
    pub login: String,
    pub customer_id: i64,
    pub customer_path: String,
    pub is_root: bool,
    pub api_realm: Option<String>,
    pub ha1_md5: Option<String>,
    pub ha1_sha256: Option<String>,
    pub allow_api_calls: bool,
    pub api_permission: bool,
    pub customer_blocked: bool,
    pub accounts_mgmt: i64,
    pub customers_mgmt: i64,
    pub read_only: bool,
    pub is_active: bool,
    pub customer_is_reseller: bool,
}

/// The columns [`api_login_row`] reads, for queries over `logins l JOIN customers c` (a macro so
/// that queries stay literals for `prepare_cached`).
macro_rules! api_login_columns {
    () => {
        "l.id, l.login, c.id, c.path, c.parent_id IS NULL, l.api_realm, l.api_ha1_md5,
         l.api_ha1_sha256, l.allow_api_calls, c.api_permission, c.blocked,
         c.accounts_mgmt, c.customers_mgmt, l.read_only, l.is_active, c.kind = 'reseller'"
    };
}
pub(super) use api_login_columns;

/// Reads one row selected with [`api_login_columns`] first.
pub(super) fn api_login_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiLoginRow> {
    Ok(ApiLoginRow {
        login_id: r.get(0)?,
        login: r.get(1)?,
        customer_id: r.get(2)?,
        customer_path: r.get(3)?,
        is_root: r.get(4)?,
        api_realm: r.get(5)?,
        ha1_md5: r.get(6)?,
        ha1_sha256: r.get(7)?,
        allow_api_calls: r.get(8)?,
        api_permission: r.get(9)?,
        customer_blocked: r.get(10)?,
        accounts_mgmt: r.get(11)?,
        customers_mgmt: r.get(12)?,
        read_only: r.get(13)?,
        is_active: r.get(14)?,
        customer_is_reseller: r.get(15)?,
    })
}

pub fn find_customer_login(conn: &Conn<'_>, login: &str) -> DbResult<Option<ApiLoginRow>> {
    let mut stmt = conn.sql().prepare_cached(concat!(
        "SELECT ",
        api_login_columns!(),
        " FROM logins l JOIN customers c ON c.id = l.customer_id WHERE l.login = ?"
    ))?;
    Ok(stmt.query_row([login], api_login_row).optional()?)
}

/// The login of a customer, if it has one: (id, login name, `allow_api_calls`).
pub fn of_customer(conn: &Conn<'_>, customer_id: i64) -> DbResult<Option<(i64, String, bool)>> {
    Ok(conn
        .sql()
        .query_row(
            "SELECT id, login, allow_api_calls FROM logins WHERE customer_id = ? AND role = 'customer'",
            [customer_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?)
}

pub fn exists(conn: &Conn<'_>, login: &str) -> DbResult<bool> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT 1 FROM logins WHERE login = ?")?
        .exists([login])?)
}

pub fn insert_for_customer(
    tx: &WriteTx<'_>,
    login: &str,
    customer_id: i64,
    now: i64,
) -> DbResult<i64> {
    tx.sql().execute(
        "INSERT INTO logins (login, customer_id, created_on, updated_on) VALUES (?1, ?2, ?3, ?3)",
        params![login, customer_id, now],
    )?;
    Ok(tx.sql().last_insert_rowid())
}

/// The HA1 digests of an API password, for one realm.
pub struct ApiSecret<'a> {
    pub realm: &'a str,
    pub ha1_md5: &'a str,
    pub ha1_sha256: &'a str,
}

pub fn set_api_secret(
    tx: &WriteTx<'_>,
    login_id: i64,
    s: &ApiSecret<'_>,
    now: i64,
) -> DbResult<()> {
    tx.sql().execute(
        "UPDATE logins SET api_realm = ?1, api_ha1_md5 = ?2, api_ha1_sha256 = ?3, updated_on = ?4
         WHERE id = ?5",
        params![s.realm, s.ha1_md5, s.ha1_sha256, now, login_id],
    )?;
    Ok(())
}

pub fn set_web_password_hash(tx: &WriteTx<'_>, login_id: i64, phc: &str, now: i64) -> DbResult<()> {
    tx.sql().execute(
        "UPDATE logins SET web_password_hash = ?1, updated_on = ?2 WHERE id = ?3",
        params![phc, now, login_id],
    )?;
    Ok(())
}

pub fn set_allow_api_calls(tx: &WriteTx<'_>, login_id: i64, on: bool, now: i64) -> DbResult<()> {
    tx.sql().execute(
        "UPDATE logins SET allow_api_calls = ?1, updated_on = ?2 WHERE id = ?3",
        params![on, now, login_id],
    )?;
    Ok(())
}

pub fn rename(tx: &WriteTx<'_>, login_id: i64, login: &str, now: i64) -> DbResult<()> {
    tx.sql().execute(
        "UPDATE logins SET login = ?1, updated_on = ?2 WHERE id = ?3",
        params![login, now, login_id],
    )?;
    Ok(())
}

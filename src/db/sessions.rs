//! SQL for admin-page sessions, web sign-in and the sign-in throttle.

use rusqlite::{OptionalExtension, params};

use super::{Conn, DbResult, WriteTx};

/// What signing in needs to know about a customer login.
#[derive(Clone)]
#[allow(clippy::struct_excessive_bools)] // one row of flags, read in one query
pub struct WebLoginRow {
    pub login_id: i64,
    pub login: String,
    /// argon2id PHC string; None when no web password was ever set.
    pub web_password_hash: Option<String>,
    pub customer_id: i64,
    pub customer_path: String,
    pub customer_blocked: bool,
    pub accounts_mgmt: i64,
    pub customers_mgmt: i64,
    pub read_only: bool,
    pub is_reseller: bool,
    pub is_active: bool,
}

impl std::fmt::Debug for WebLoginRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebLoginRow")
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

/// The customer login called `login` (account logins do not sign in to the admin page).
pub fn web_login(conn: &Conn<'_>, login: &str) -> DbResult<Option<WebLoginRow>> {
    Ok(conn
        .sql()
        .prepare_cached(
            "SELECT l.id, l.login, l.web_password_hash, c.id, c.path, c.blocked, c.accounts_mgmt,
                    c.customers_mgmt, l.read_only, c.kind = 'reseller', l.is_active
             FROM logins l JOIN customers c ON c.id = l.customer_id
             WHERE l.login = ?",
        )?
        .query_row([login], |r| {
            Ok(WebLoginRow {
                login_id: r.get(0)?,
                login: r.get(1)?,
                web_password_hash: r.get(2)?,
                customer_id: r.get(3)?,
                customer_path: r.get(4)?,
                customer_blocked: r.get(5)?,
                accounts_mgmt: r.get(6)?,
                customers_mgmt: r.get(7)?,
                read_only: r.get(8)?,
                is_reseller: r.get(9)?,
                is_active: r.get(10)?,
            })
        })
        .optional()?)
}

/// The web password hash of a login, by id.
pub fn web_password_hash(conn: &Conn<'_>, login_id: i64) -> DbResult<Option<String>> {
    Ok(conn
        .sql()
        .query_row(
            "SELECT web_password_hash FROM logins WHERE id = ?",
            [login_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}

/// A live session with the login and customer it acts for, read in one query.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub session_id: i64,
    pub login_id: i64,
    pub login: String,
    pub customer_id: i64,
    pub customer_path: String,
    pub customer_name: String,
    pub accounts_mgmt: i64,
    pub customers_mgmt: i64,
    pub csrf_token: String,
    pub expires_on: i64,
    pub read_only: bool,
    pub is_reseller: bool,
}

/// The unexpired session whose token hashes to `token_hash`, unless its customer is blocked.
pub fn find(conn: &Conn<'_>, token_hash: &str, now: i64) -> DbResult<Option<SessionRow>> {
    Ok(conn
        .sql()
        .prepare_cached(
            "SELECT s.id, l.id, l.login, c.id, c.path, c.name, c.accounts_mgmt, c.customers_mgmt,
                    s.csrf_token, s.expires_on, l.read_only, c.kind = 'reseller'
             FROM admin_sessions s
             JOIN logins l ON l.id = s.login_id
             JOIN customers c ON c.id = l.customer_id
             WHERE s.token_hash = ?1 AND s.expires_on > ?2 AND c.blocked = 0 AND l.is_active = 1",
        )?
        .query_row(params![token_hash, now], |r| {
            Ok(SessionRow {
                session_id: r.get(0)?,
                login_id: r.get(1)?,
                login: r.get(2)?,
                customer_id: r.get(3)?,
                customer_path: r.get(4)?,
                customer_name: r.get(5)?,
                accounts_mgmt: r.get(6)?,
                customers_mgmt: r.get(7)?,
                csrf_token: r.get(8)?,
                expires_on: r.get(9)?,
                read_only: r.get(10)?,
                is_reseller: r.get(11)?,
            })
        })
        .optional()?)
}

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub login_id: i64,
    pub csrf_token: &'a str,
    pub created_on: i64,
    pub expires_on: i64,
}

pub fn insert(tx: &WriteTx<'_>, s: &NewSession<'_>) -> DbResult<i64> {
    tx.sql().execute(
        "INSERT INTO admin_sessions (token_hash, login_id, csrf_token, created_on, expires_on)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            s.token_hash,
            s.login_id,
            s.csrf_token,
            s.created_on,
            s.expires_on
        ],
    )?;
    Ok(tx.sql().last_insert_rowid())
}

/// Deletes the session with this token hash; returns whether there was one.
pub fn delete(tx: &WriteTx<'_>, token_hash: &str) -> DbResult<bool> {
    Ok(tx.sql().execute(
        "DELETE FROM admin_sessions WHERE token_hash = ?",
        [token_hash],
    )? > 0)
}

/// Deletes every session of a login but one; returns how many went.
pub fn delete_others(tx: &WriteTx<'_>, login_id: i64, keep_session_id: i64) -> DbResult<usize> {
    Ok(tx.sql().execute(
        "DELETE FROM admin_sessions WHERE login_id = ?1 AND id <> ?2",
        params![login_id, keep_session_id],
    )?)
}

pub fn delete_expired(tx: &WriteTx<'_>, now: i64) -> DbResult<usize> {
    Ok(tx
        .sql()
        .execute("DELETE FROM admin_sessions WHERE expires_on <= ?", [now])?)
}

/// How many of the newest failed admin sign-ins from `peer_ip` since `since` there are (at most
/// `cap`), and when the oldest of those happened.
pub fn recent_failed_sign_ins(
    conn: &Conn<'_>,
    peer_ip: &str,
    since: i64,
    cap: i64,
) -> DbResult<(i64, Option<i64>)> {
    Ok(conn
        .sql()
        .prepare_cached(
            "SELECT count(*), min(at) FROM (
             SELECT at FROM audit_log
             WHERE outcome = 'failed_auth' AND dialect = 'admin' AND peer_ip = ?1 AND at >= ?2
             ORDER BY at DESC LIMIT ?3)",
        )?
        .query_row(params![peer_ip, since, cap], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

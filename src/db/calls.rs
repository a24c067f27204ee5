//! SQL for call records (CDRs) and SIP registrations fed to switchyard, and the account lookups
//! the feeds need.

use rusqlite::{OptionalExtension, params};

use super::{Conn, DbResult, WriteTx};

/// A subscriber named by `user@domain` in a feed, with its owner's path for the scope check.
#[derive(Debug, Clone)]
pub struct FedAccount {
    pub id: i64,
    pub customer_path: String,
}

/// The subscriber `user` in domain `domain` (a domain row's name).
pub fn account_by_address(
    conn: &Conn<'_>,
    user: &str,
    domain: &str,
) -> DbResult<Option<FedAccount>> {
    Ok(conn
        .sql()
        .prepare_cached(
            "SELECT s.id, c.path FROM subscribers s JOIN domains d ON d.id = s.domain_id
             JOIN customers c ON c.id = s.customer_id WHERE s.username = ?1 AND d.name = ?2",
        )?
        .query_row(params![user, domain], |r| {
            Ok(FedAccount {
                id: r.get(0)?,
                customer_path: r.get(1)?,
            })
        })
        .optional()?)
}

/// One call record as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CdrRow {
    pub id: i64,
    pub call_id: String,
    pub subscriber_id: i64,
    pub direction: String,
    pub remote_party: String,
    pub display_name: String,
    /// Milliseconds since the epoch.
    pub start_time: i64,
    /// Seconds.
    pub duration: i64,
    pub status: String,
    pub price: Option<f64>,
}

/// A record to insert; `subscriber_id` already resolved.
pub struct NewCdr<'a> {
    pub call_id: &'a str,
    pub subscriber_id: i64,
    pub direction: &'a str,
    pub remote_party: &'a str,
    pub display_name: &'a str,
    pub start_time: i64,
    pub duration: i64,
    pub status: &'a str,
    pub price: Option<f64>,
}

/// Inserts a record unless one with the same call id, subscriber and direction exists; returns
/// whether it was new.
pub fn insert_cdr(tx: &WriteTx<'_>, cdr: &NewCdr<'_>, now: i64) -> DbResult<bool> {
    let changed = tx
        .sql()
        .prepare_cached(
            "INSERT OR IGNORE INTO cdrs (call_id, subscriber_id, direction, remote_party,
                 display_name, start_time, duration, status, price, imported_on)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            cdr.call_id,
            cdr.subscriber_id,
            cdr.direction,
            cdr.remote_party,
            cdr.display_name,
            cdr.start_time,
            cdr.duration,
            cdr.status,
            cdr.price,
            now
        ])?;
    Ok(changed == 1)
}

const CDR_COLUMNS: &str = "id, call_id, subscriber_id, direction, remote_party, display_name, \
                           start_time, duration, status, price";

fn cdr(r: &rusqlite::Row<'_>) -> rusqlite::Result<CdrRow> {
    Ok(CdrRow {
        id: r.get(0)?,
        call_id: r.get(1)?,
        subscriber_id: r.get(2)?,
        direction: r.get(3)?,
        remote_party: r.get(4)?,
        display_name: r.get(5)?,
        start_time: r.get(6)?,
        duration: r.get(7)?,
        status: r.get(8)?,
        price: r.get(9)?,
    })
}

/// The newest `limit` records of one direction for a subscriber since `since` (ms), newest first,
/// leaving out records whose status is in `skip`.
pub fn recent(
    conn: &Conn<'_>,
    subscriber_id: i64,
    direction: &str,
    since: i64,
    skip_status: &str,
    limit: i64,
) -> DbResult<Vec<CdrRow>> {
    let sql = format!(
        "SELECT {CDR_COLUMNS} FROM cdrs WHERE subscriber_id = ?1 AND direction = ?2
         AND start_time >= ?3 AND status <> ?4 ORDER BY start_time DESC, id DESC LIMIT ?5"
    );
    let mut stmt = conn.sql().prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![subscriber_id, direction, since, skip_status, limit],
        cdr,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Which subscribers' records a listing covers.
pub enum CdrOwner<'a> {
    Subscriber(i64),
    /// Every subscriber of customers whose path starts with this one.
    Subtree(&'a str),
}

/// Which records a listing keeps, as Sippy's `type` names them. A call completed when its SIP
/// status is 2xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CdrKind {
    All,
    NonZero,
    NonZeroAndErrors,
    Complete,
    Incomplete,
    Errors,
}

impl CdrKind {
    fn sql(self) -> &'static str {
        match self {
            Self::All => "1",
            Self::NonZero => "r.duration > 0",
            Self::NonZeroAndErrors => "(r.duration > 0 OR r.status NOT LIKE '2%')",
            Self::Complete => "r.status LIKE '2%'",
            Self::Incomplete => "r.status NOT LIKE '2%'",
            Self::Errors => "(r.status NOT LIKE '2%' AND r.duration = 0)",
        }
    }
}

/// One listed record with its subscriber's customer and user name.
#[derive(Debug, Clone)]
pub struct ListedCdr {
    pub cdr: CdrRow,
    pub customer_id: i64,
    pub username: String,
}

/// Records started in [from, to) (ms) of the kind asked for, oldest first, paged.
pub fn list(
    conn: &Conn<'_>,
    owner: &CdrOwner<'_>,
    kind: CdrKind,
    from: i64,
    to: i64,
    offset: i64,
    limit: i64,
) -> DbResult<Vec<ListedCdr>> {
    let (filter, key): (&str, rusqlite::types::Value) = match owner {
        CdrOwner::Subscriber(id) => ("s.id = ?1", (*id).into()),
        CdrOwner::Subtree(path) => (
            "substr(c.path, 1, length(?1)) = ?1",
            (*path).to_string().into(),
        ),
    };
    let columns = CDR_COLUMNS
        .split(", ")
        .map(|c| format!("r.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns}, s.customer_id, s.username FROM cdrs r
         JOIN subscribers s ON s.id = r.subscriber_id JOIN customers c ON c.id = s.customer_id
         WHERE {filter} AND {} AND r.start_time >= ?2 AND r.start_time < ?3
         ORDER BY r.start_time, r.id LIMIT ?4 OFFSET ?5",
        kind.sql()
    );
    let mut stmt = conn.sql().prepare_cached(&sql)?;
    let rows = stmt.query_map(params![key, from, to, limit, offset], |r| {
        Ok(ListedCdr {
            cdr: cdr(r)?,
            customer_id: r.get(10)?,
            username: r.get(11)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many placed calls a subscriber made in [from, to) and what they cost together.
pub fn usage(conn: &Conn<'_>, subscriber_id: i64, from: i64, to: i64) -> DbResult<(i64, f64)> {
    Ok(conn
        .sql()
        .prepare_cached(
            "SELECT count(*), coalesce(sum(price), 0) FROM cdrs WHERE subscriber_id = ?1
             AND direction = 'placed' AND start_time >= ?2 AND start_time < ?3",
        )?
        .query_row(params![subscriber_id, from, to], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?)
}

/// A registration as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRow {
    pub contact: String,
    pub public_contact: String,
    /// Milliseconds since the epoch.
    pub expires_at: i64,
    pub user_agent: String,
    pub transport: String,
}

/// Records a registration (replacing the one with the same contact); an `expires_at` not after
/// `now` removes it, as a SIP un-REGISTER does.
pub fn upsert_registration(
    tx: &WriteTx<'_>,
    subscriber_id: i64,
    reg: &RegistrationRow,
    now: i64,
) -> DbResult<()> {
    if reg.expires_at <= now {
        tx.sql()
            .prepare_cached("DELETE FROM registrations WHERE subscriber_id = ?1 AND contact = ?2")?
            .execute(params![subscriber_id, reg.contact])?;
        return Ok(());
    }
    tx.sql()
        .prepare_cached(
            "INSERT INTO registrations (subscriber_id, contact, public_contact, expires_at,
                 user_agent, transport, updated_on) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (subscriber_id, contact) DO UPDATE SET
                 public_contact = excluded.public_contact, expires_at = excluded.expires_at,
                 user_agent = excluded.user_agent, transport = excluded.transport,
                 updated_on = excluded.updated_on",
        )?
        .execute(params![
            subscriber_id,
            reg.contact,
            reg.public_contact,
            reg.expires_at,
            reg.user_agent,
            reg.transport,
            now
        ])?;
    Ok(())
}

/// A subscriber's registrations that have not lapsed at `now`, latest expiry first.
pub fn active_registrations(
    conn: &Conn<'_>,
    subscriber_id: i64,
    now: i64,
) -> DbResult<Vec<RegistrationRow>> {
    let mut stmt = conn.sql().prepare_cached(
        "SELECT contact, public_contact, expires_at, user_agent, transport FROM registrations
         WHERE subscriber_id = ?1 AND expires_at > ?2 ORDER BY expires_at DESC, id",
    )?;
    let rows = stmt.query_map(params![subscriber_id, now], |r| {
        Ok(RegistrationRow {
            contact: r.get(0)?,
            public_contact: r.get(1)?,
            expires_at: r.get(2)?,
            user_agent: r.get(3)?,
            transport: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

//! SQL for what a subscriber shows about itself: names, contact details, numbers and aliases.

use rusqlite::{OptionalExtension, params};

use super::{Conn, DbResult, WriteTx};

/// A subscriber's identity as SIP2SIP's `get_identity` shows it.
#[derive(Debug, Clone, Default)]
pub struct IdentityRow {
    pub username: String,
    pub domain: Option<String>,
    pub domain_id: Option<i64>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The contact's phone, used as the mobile number.
    pub phone: Option<String>,
    pub timezone: Option<String>,
    /// Every entry of `numbers` for the subscriber, primary first.
    pub numbers: Vec<String>,
}

pub fn read(conn: &Conn<'_>, id: i64) -> DbResult<Option<IdentityRow>> {
    let row = conn
        .sql()
        .prepare_cached(
            "SELECT s.username, d.name, s.domain_id,
                    coalesce(nullif(s.email, ''), nullif(ct.email, '')),
                    nullif(ct.first_name, ''), nullif(ct.last_name, ''), nullif(ct.phone, ''),
                    coalesce(s.timezone, tz.name)
             FROM subscribers s LEFT JOIN domains d ON d.id = s.domain_id
             LEFT JOIN contacts ct ON ct.id = s.contact_id
             LEFT JOIN time_zones tz ON tz.id = s.time_zone_id WHERE s.id = ?",
        )?
        .query_row([id], |r| {
            Ok(IdentityRow {
                username: r.get(0)?,
                domain: r.get(1)?,
                domain_id: r.get(2)?,
                email: r.get(3)?,
                first_name: r.get(4)?,
                last_name: r.get(5)?,
                phone: r.get(6)?,
                timezone: r.get(7)?,
                numbers: Vec::new(),
            })
        })
        .optional()?;
    let Some(mut row) = row else {
        return Ok(None);
    };
    let mut stmt = conn.sql().prepare_cached(
        "SELECT number FROM numbers WHERE subscriber_id = ? ORDER BY is_primary DESC, number",
    )?;
    row.numbers = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(Some(row))
}

/// Whether `name` is taken as a number or alias anywhere, or as a user name in the domain.
pub fn alias_taken(conn: &Conn<'_>, name: &str, domain_id: Option<i64>) -> DbResult<bool> {
    Ok(conn
        .sql()
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM numbers WHERE number = ?1)
                 OR EXISTS (SELECT 1 FROM subscribers WHERE username = ?1
                            AND ifnull(domain_id, 0) = ifnull(?2, 0))",
        )?
        .query_row(params![name, domain_id], |r| r.get(0))?)
}

/// Adds an alias name to a subscriber's numbers (kept in `sn`, as C5 shows alias numbers).
pub fn insert_alias(tx: &WriteTx<'_>, subscriber_id: i64, name: &str) -> DbResult<()> {
    tx.sql()
        .prepare_cached(
            "INSERT INTO numbers (subscriber_id, number, is_primary, sn) VALUES (?1, ?2, 0, ?2)",
        )?
        .execute(params![subscriber_id, name])?;
    Ok(())
}

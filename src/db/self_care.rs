//! SQL for finding a subscriber that authenticates as itself.

use rusqlite::params;

use super::{Conn, DbResult};

pub struct SelfCareRow {
    pub subscriber_id: i64,
    pub customer_id: i64,
    pub username: String,
    pub domain: Option<String>,
    pub disabled: bool,
    pub web_password: String,
    pub voip_password: String,
}

/// Subscribers whose user name or alias number is `user`, in `domain` when given (at most two:
/// the caller only needs to know whether there is exactly one).
pub fn find(conn: &Conn<'_>, user: &str, domain: Option<&str>) -> DbResult<Vec<SelfCareRow>> {
    let mut stmt = conn.sql().prepare_cached(
        "SELECT s.id, s.customer_id, s.username, d.name,
                s.blocked <> 0 OR s.status <> 'active', s.web_password, s.voip_password
         FROM subscribers s LEFT JOIN domains d ON d.id = s.domain_id
         WHERE (s.username = ?1 OR s.id IN (SELECT subscriber_id FROM numbers WHERE number = ?1))
           AND (?2 IS NULL OR d.name = ?2)
         ORDER BY s.username = ?1 DESC, s.id LIMIT 2",
    )?;
    let rows = stmt.query_map(params![user, domain], |r| {
        Ok(SelfCareRow {
            subscriber_id: r.get(0)?,
            customer_id: r.get(1)?,
            username: r.get(2)?,
            domain: r.get(3)?,
            disabled: r.get(4)?,
            web_password: r.get(5)?,
            voip_password: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

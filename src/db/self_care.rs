//! SQL for finding a subscriber that authenticates as itself.

use super::{Conn, DbResult};

/// A subscriber's self-care credentials and what decides whether it may sign in.
#[derive(Clone)]
pub struct SelfCareRow {
    pub subscriber_id: i64,
    pub customer_id: i64,
    pub username: String,
    pub domain: Option<String>,
    pub web_password: String,
    pub voip_password: String,
    pub portal_pin: Option<String>,
    pub subscriber_blocked: bool,
    pub subscriber_status: String,
    pub customer_blocked: bool,
    pub customer_status: String,
}

/// The subscribers whose user name, or one of whose numbers, is `user`, within `domain` when
/// given; at most two, so a caller can tell a unique match from an ambiguous one.
pub fn find(conn: &Conn<'_>, user: &str, domain: Option<&str>) -> DbResult<Vec<SelfCareRow>> {
    let mut stmt = conn.sql().prepare_cached(
        "SELECT s.id, s.customer_id, s.username, d.name, s.web_password, s.voip_password,
                s.portal_pin, s.blocked, s.status, c.blocked, c.status
         FROM subscribers s
         JOIN customers c ON c.id = s.customer_id
         LEFT JOIN domains d ON d.id = s.domain_id
         WHERE s.id IN (SELECT id FROM subscribers WHERE username = ?1
                        UNION SELECT subscriber_id FROM numbers WHERE number = ?1)
           AND (?2 IS NULL OR d.name = ?2)
         ORDER BY s.id
         LIMIT 2",
    )?;
    let rows = stmt.query_map(rusqlite::params![user, domain], |r| {
        Ok(SelfCareRow {
            subscriber_id: r.get(0)?,
            customer_id: r.get(1)?,
            username: r.get(2)?,
            domain: r.get(3)?,
            web_password: r.get(4)?,
            voip_password: r.get(5)?,
            portal_pin: r.get(6)?,
            subscriber_blocked: r.get(7)?,
            subscriber_status: r.get(8)?,
            customer_blocked: r.get(9)?,
            customer_status: r.get(10)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

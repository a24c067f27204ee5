//! SQL for the LDAP address book: its version counter and the entries of one domain.

use rusqlite::OptionalExtension;

use super::{Conn, DbResult};

/// The counter the address-book triggers bump on every change that can alter an entry.
pub fn version(conn: &Conn<'_>) -> DbResult<i64> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT version FROM address_book_version WHERE id = 1")?
        .query_row([], |r| r.get(0))?)
}

/// A subscriber as the address book shows it.
pub struct SubscriberEntryRow {
    pub id: i64,
    pub username: String,
    pub display_name: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub mobile: String,
    /// The subscriber's numbers, primary first.
    pub numbers: Vec<String>,
}

/// The active subscribers of `domain`, ordered by id; None when there is no such domain.
pub fn subscribers_of_domain(
    conn: &Conn<'_>,
    domain: &str,
) -> DbResult<Option<Vec<SubscriberEntryRow>>> {
    let Some(domain_id) = conn
        .sql()
        .prepare_cached("SELECT id FROM domains WHERE name = ?")?
        .query_row([domain], |r| r.get::<_, i64>(0))
        .optional()?
    else {
        return Ok(None);
    };
    let mut rows: Vec<SubscriberEntryRow> = conn
        .sql()
        .prepare_cached(
            "SELECT s.id, s.username, s.display_name, ifnull(c.first_name, ''),
                    ifnull(c.last_name, ''), coalesce(nullif(s.email, ''), c.email, ''),
                    ifnull(c.mobile, '')
             FROM subscribers s LEFT JOIN contacts c ON c.id = s.contact_id
             WHERE s.domain_id = ? AND s.status = 'active' AND s.blocked = 0
             ORDER BY s.id",
        )?
        .query_map([domain_id], |r| {
            Ok(SubscriberEntryRow {
                id: r.get(0)?,
                username: r.get(1)?,
                display_name: r.get(2)?,
                first_name: r.get(3)?,
                last_name: r.get(4)?,
                email: r.get(5)?,
                mobile: r.get(6)?,
                numbers: Vec::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut numbers = conn.sql().prepare_cached(
        "SELECT n.subscriber_id, n.number FROM numbers n
         JOIN subscribers s ON s.id = n.subscriber_id
         WHERE s.domain_id = ? ORDER BY n.subscriber_id, n.is_primary DESC, n.id",
    )?;
    let by_id: std::collections::HashMap<i64, usize> =
        rows.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    let found = numbers.query_map([domain_id], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    for pair in found {
        let (id, number) = pair?;
        if let Some(&i) = by_id.get(&id) {
            rows[i].numbers.push(number);
        }
    }
    Ok(Some(rows))
}

/// The domain of subscriber `id`, if it has one.
pub fn subscriber_domain(conn: &Conn<'_>, id: i64) -> DbResult<Option<String>> {
    Ok(conn
        .sql()
        .prepare_cached(
            "SELECT d.name FROM subscribers s JOIN domains d ON d.id = s.domain_id WHERE s.id = ?",
        )?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

/// Every domain's name, for the directory's naming contexts.
pub fn domains(conn: &Conn<'_>) -> DbResult<Vec<String>> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT name FROM domains ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

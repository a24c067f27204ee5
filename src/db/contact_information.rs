//! SQL for contact information: the names and e-mail in the subscriber's contact row (and C5's
//! `subscribers.email`), the other fields in `contact_information`.

use rusqlite::{OptionalExtension, params};

use super::{Conn, DbResult, WriteTx};

/// What is stored for one subscriber.
pub struct Stored {
    pub contact_id: Option<i64>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub active: bool,
    pub details: Option<String>,
    pub updated_on: Option<i64>,
}

/// The values that live in the contact row.
pub struct Names<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
}

pub fn read(conn: &Conn<'_>, subscriber_id: i64) -> DbResult<Option<Stored>> {
    Ok(conn
        .sql()
        .prepare_cached(
            "SELECT s.contact_id, ifnull(c.first_name, ''), ifnull(c.last_name, ''), \
             coalesce(nullif(c.email, ''), s.email, ''), s.status = 'active', ci.details, \
             ci.updated_on \
             FROM subscribers s LEFT JOIN contacts c ON c.id = s.contact_id \
             LEFT JOIN contact_information ci ON ci.subscriber_id = s.id WHERE s.id = ?",
        )?
        .query_row([subscriber_id], |r| {
            Ok(Stored {
                contact_id: r.get(0)?,
                first_name: r.get(1)?,
                last_name: r.get(2)?,
                email: r.get(3)?,
                active: r.get(4)?,
                details: r.get(5)?,
                updated_on: r.get(6)?,
            })
        })
        .optional()?)
}

pub fn write(
    tx: &WriteTx<'_>,
    subscriber_id: i64,
    contact_id: Option<i64>,
    names: &Names<'_>,
    details: &str,
    now: i64,
) -> DbResult<()> {
    let sql = tx.sql();
    if let Some(contact_id) = contact_id {
        sql.prepare_cached(
            "UPDATE contacts SET first_name = ?1, last_name = ?2, email = ?3, \
             modify_timestamp = ?4 WHERE id = ?5",
        )?
        .execute(params![
            names.first_name,
            names.last_name,
            names.email,
            now,
            contact_id
        ])?;
    } else {
        sql.prepare_cached(
            "INSERT INTO contacts (first_name, last_name, email, create_timestamp, \
             modify_timestamp) VALUES (?1, ?2, ?3, ?4, ?4)",
        )?
        .execute(params![names.first_name, names.last_name, names.email, now])?;
        let new_id = sql.last_insert_rowid();
        sql.execute(
            "UPDATE subscribers SET contact_id = ?1 WHERE id = ?2",
            params![new_id, subscriber_id],
        )?;
    }
    sql.prepare_cached("UPDATE subscribers SET email = nullif(?1, '') WHERE id = ?2")?
        .execute(params![names.email, subscriber_id])?;
    sql.prepare_cached(
        "INSERT INTO contact_information (subscriber_id, details, updated_on) VALUES (?1, ?2, ?3) \
         ON CONFLICT (subscriber_id) DO UPDATE SET details = excluded.details, \
         updated_on = excluded.updated_on",
    )?
    .execute(params![subscriber_id, details, now])?;
    Ok(())
}

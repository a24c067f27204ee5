//! SQL for phones, their groups and lines (sipXconfig PhoneService).

use rusqlite::params;

use super::{Conn, DbResult, WriteTx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRow {
    pub user_id: String,
    pub uri: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneRow {
    pub id: i64,
    pub customer_id: i64,
    pub serial_number: String,
    pub model_id: String,
    pub description: String,
    pub groups: Vec<String>,
    pub lines: Vec<LineRow>,
}

/// Which phones a search reads.
#[derive(Debug, Clone, Copy)]
pub enum Filter<'a> {
    All,
    Serial(&'a str),
    Group(&'a str),
}

const SEP: char = '\u{1f}';

/// Phones under `path` matching `filter`, ids above `after`, by id.
pub fn page(
    conn: &Conn<'_>,
    path: &str,
    filter: Filter<'_>,
    after: i64,
    limit: usize,
) -> DbResult<Vec<PhoneRow>> {
    let (condition, value) = match filter {
        Filter::All => ("?4 IS NULL", None),
        Filter::Serial(s) => ("p.serial_number = ?4", Some(s)),
        Filter::Group(g) => (
            "EXISTS (SELECT 1 FROM phone_group_members m JOIN phone_groups g ON g.id = m.group_id
              WHERE m.phone_id = p.id AND g.name = ?4)",
            Some(g),
        ),
    };
    let sql = format!(
        "SELECT p.id, p.customer_id, p.serial_number, p.model_id, p.description,
            (SELECT group_concat(name, char(31)) FROM
                (SELECT g.name FROM phone_group_members m JOIN phone_groups g ON g.id = m.group_id
                 WHERE m.phone_id = p.id ORDER BY g.name))
         FROM phones p JOIN customers c ON c.id = p.customer_id
         WHERE substr(c.path, 1, length(?1)) = ?1 AND p.id > ?2 AND {condition}
         ORDER BY p.id LIMIT ?3"
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut phones: Vec<PhoneRow> = conn
        .sql()
        .prepare_cached(&sql)?
        .query_map(params![path, after, limit, value], |r| {
            Ok(PhoneRow {
                id: r.get(0)?,
                customer_id: r.get(1)?,
                serial_number: r.get(2)?,
                model_id: r.get(3)?,
                description: r.get(4)?,
                groups: r
                    .get::<_, Option<String>>(5)?
                    .map(|t| t.split(SEP).map(str::to_string).collect())
                    .unwrap_or_default(),
                lines: Vec::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut lines = conn
        .sql()
        .prepare_cached("SELECT user_id, uri FROM phone_lines WHERE phone_id = ? ORDER BY id")?;
    for phone in &mut phones {
        phone.lines = lines
            .query_map([phone.id], |r| {
                Ok(LineRow {
                    user_id: r.get(0)?,
                    uri: r.get(1)?,
                })
            })?
            .collect::<Result<_, _>>()?;
    }
    Ok(phones)
}

pub fn serial_taken(conn: &Conn<'_>, serial: &str, except: Option<i64>) -> DbResult<bool> {
    Ok(conn
        .sql()
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM phones WHERE serial_number = ?1 AND id IS NOT ?2)",
        )?
        .query_row(params![serial, except], |r| r.get(0))?)
}

pub fn insert(
    tx: &WriteTx<'_>,
    customer_id: i64,
    serial: &str,
    model: &str,
    description: &str,
    now: i64,
) -> DbResult<i64> {
    Ok(tx
        .sql()
        .prepare_cached(
            "INSERT INTO phones (customer_id, serial_number, model_id, description, created_on,
                updated_on) VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING id",
        )?
        .query_row(params![customer_id, serial, model, description, now], |r| {
            r.get(0)
        })?)
}

pub fn update(
    tx: &WriteTx<'_>,
    id: i64,
    serial: Option<&str>,
    model: Option<&str>,
    description: Option<&str>,
    now: i64,
) -> DbResult<()> {
    tx.sql()
        .prepare_cached(
            "UPDATE phones SET serial_number = coalesce(?2, serial_number),
                model_id = coalesce(?3, model_id), description = coalesce(?4, description),
                updated_on = ?5 WHERE id = ?1",
        )?
        .execute(params![id, serial, model, description, now])?;
    Ok(())
}

pub fn delete(tx: &WriteTx<'_>, id: i64) -> DbResult<()> {
    tx.sql().execute("DELETE FROM phones WHERE id = ?", [id])?;
    Ok(())
}

pub fn add_to_group(tx: &WriteTx<'_>, customer_id: i64, phone_id: i64, name: &str) -> DbResult<()> {
    tx.sql()
        .prepare_cached(
            "INSERT INTO phone_groups (customer_id, name) VALUES (?1, ?2)
             ON CONFLICT (customer_id, name) DO NOTHING",
        )?
        .execute(params![customer_id, name])?;
    tx.sql()
        .prepare_cached(
            "INSERT OR IGNORE INTO phone_group_members (group_id, phone_id)
             SELECT id, ?3 FROM phone_groups WHERE customer_id = ?1 AND name = ?2",
        )?
        .execute(params![customer_id, name, phone_id])?;
    Ok(())
}

pub fn remove_from_group(tx: &WriteTx<'_>, phone_id: i64, name: &str) -> DbResult<()> {
    tx.sql()
        .prepare_cached(
            "DELETE FROM phone_group_members WHERE phone_id = ?1
             AND group_id IN (SELECT id FROM phone_groups WHERE name = ?2)",
        )?
        .execute(params![phone_id, name])?;
    Ok(())
}

/// A line to add.
pub struct NewLine<'a> {
    pub subscriber_id: Option<i64>,
    pub user_id: &'a str,
    pub uri: &'a str,
    pub display_name: &'a str,
    pub password: &'a str,
    pub registration_server: &'a str,
    pub voicemail: &'a str,
}

/// Adds a line; false when the phone already has a line with that URI.
pub fn add_line(tx: &WriteTx<'_>, phone_id: i64, line: &NewLine<'_>) -> DbResult<bool> {
    let added = tx
        .sql()
        .prepare_cached(
            "INSERT INTO phone_lines (phone_id, subscriber_id, user_id, uri, display_name,
                password, registration_server, voicemail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (phone_id, uri) DO NOTHING",
        )?
        .execute(params![
            phone_id,
            line.subscriber_id,
            line.user_id,
            line.uri,
            line.display_name,
            line.password,
            line.registration_server,
            line.voicemail
        ])?;
    Ok(added == 1)
}

pub fn line_count(conn: &Conn<'_>, phone_id: i64) -> DbResult<i64> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT count(*) FROM phone_lines WHERE phone_id = ?")?
        .query_row([phone_id], |r| r.get(0))?)
}

/// Removes the lines whose `column` (user_id or uri) is `value`; returns how many.
pub fn remove_lines(tx: &WriteTx<'_>, phone_id: i64, by_uri: bool, value: &str) -> DbResult<usize> {
    let sql = if by_uri {
        "DELETE FROM phone_lines WHERE phone_id = ? AND uri = ?"
    } else {
        "DELETE FROM phone_lines WHERE phone_id = ? AND user_id = ?"
    };
    Ok(tx
        .sql()
        .prepare_cached(sql)?
        .execute(params![phone_id, value])?)
}

/// Records a profile generation or a restart request.
pub fn mark(tx: &WriteTx<'_>, phone_id: i64, restart: bool, now: i64) -> DbResult<()> {
    let sql = if restart {
        "UPDATE phones SET restart_requested_on = ?2 WHERE id = ?1"
    } else {
        "UPDATE phones SET profiles_generated_on = ?2 WHERE id = ?1"
    };
    tx.sql()
        .prepare_cached(sql)?
        .execute(params![phone_id, now])?;
    Ok(())
}

//! SQL for shared phonebooks and subscribers' own entries. A subscriber sees its own entries and
//! those of the shared phonebooks owned by its customer or a customer above it (a prefix of its
//! customer's path), selected here in SQL so pages are cut in the database.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};

use super::{Conn, DbError, DbResult, WriteTx};
use crate::core::phonebooks::{Entry, EntryPage, PhonebookSummary};

/// A shared phonebook and the path of the customer owning it.
pub struct Book {
    pub id: i64,
    pub owner_path: String,
}

pub fn by_name(conn: &Conn<'_>, name: &str) -> DbResult<Option<Book>> {
    Ok(conn
        .sql()
        .prepare_cached(
            "SELECT p.id, c.path FROM phonebooks p JOIN customers c ON c.id = p.customer_id \
             WHERE p.name = ?",
        )?
        .query_row([name], |r| {
            Ok(Book {
                id: r.get(0)?,
                owner_path: r.get(1)?,
            })
        })
        .optional()?)
}

pub fn create(tx: &WriteTx<'_>, name: &str, customer_id: i64, now: i64) -> DbResult<i64> {
    tx.sql().execute(
        "INSERT INTO phonebooks (name, customer_id, created_on, updated_on) VALUES (?1, ?2, ?3, ?3)",
        params![name, customer_id, now],
    )?;
    Ok(tx.sql().last_insert_rowid())
}

fn contact_json(entry: &Entry) -> Option<String> {
    (!entry.contact.is_empty()).then(|| serde_json::json!(entry.contact).to_string())
}

pub fn replace_entries(tx: &WriteTx<'_>, book: i64, entries: &[Entry], now: i64) -> DbResult<()> {
    let sql = tx.sql();
    sql.execute(
        "DELETE FROM phonebook_entries WHERE phonebook_id = ?",
        [book],
    )?;
    sql.execute(
        "UPDATE phonebooks SET updated_on = ?1 WHERE id = ?2",
        params![now, book],
    )?;
    let mut insert = sql.prepare_cached(
        "INSERT INTO phonebook_entries (phonebook_id, first_name, last_name, number, contact) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for e in entries {
        insert.execute(params![
            book,
            e.first_name,
            e.last_name,
            e.number,
            contact_json(e)
        ])?;
    }
    Ok(())
}

/// Every shared phonebook with its owner's path, by name.
pub fn list(conn: &Conn<'_>) -> DbResult<Vec<(PhonebookSummary, String)>> {
    let mut stmt = conn.sql().prepare_cached(
        "SELECT p.name, c.path, (SELECT count(*) FROM phonebook_entries e WHERE e.phonebook_id = p.id) \
         FROM phonebooks p JOIN customers c ON c.id = p.customer_id ORDER BY p.name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            PhonebookSummary {
                name: r.get(0)?,
                entries: r.get(2)?,
            },
            r.get(1)?,
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

const ENTRY_COLUMNS: &str =
    "e.id, e.first_name, e.last_name, e.number, e.contact, e.subscriber_id IS NOT NULL";

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Entry, Option<String>)> {
    Ok((
        Entry {
            id: Some(r.get(0)?),
            first_name: r.get(1)?,
            last_name: r.get(2)?,
            number: r.get(3)?,
            contact: BTreeMap::new(),
            private: r.get(5)?,
        },
        r.get(4)?,
    ))
}

fn with_contact((mut e, contact): (Entry, Option<String>)) -> DbResult<Entry> {
    if let Some(text) = contact {
        e.contact = serde_json::from_str(&text)
            .map_err(|err| DbError::Corrupt(format!("phonebook entry contact: {err}")))?;
    }
    Ok(e)
}

pub fn book_entries(conn: &Conn<'_>, book: i64) -> DbResult<Vec<Entry>> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM phonebook_entries e WHERE e.phonebook_id = ? ORDER BY e.id"
    );
    let mut stmt = conn.sql().prepare_cached(&sql)?;
    let rows = stmt.query_map([book], entry)?;
    rows.map(|r| with_contact(r?)).collect()
}

/// The entries subscriber `?1` sees.
const VISIBLE: &str = "(e.subscriber_id = ?1 OR e.phonebook_id IN ( \
     SELECT p.id FROM phonebooks p JOIN customers c ON c.id = p.customer_id \
     WHERE substr((SELECT sc.path FROM subscribers s JOIN customers sc ON sc.id = s.customer_id \
                   WHERE s.id = ?1), 1, length(c.path)) = c.path))";
/// Entries matching the LIKE pattern `?2` (NULL: all).
const MATCHING: &str = "(?2 IS NULL OR e.first_name LIKE ?2 ESCAPE '\\' \
     OR e.last_name LIKE ?2 ESCAPE '\\' OR e.number LIKE ?2 ESCAPE '\\')";

fn like_pattern(filter: &str) -> String {
    let escaped: String = filter
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            other => vec![other],
        })
        .collect();
    format!("%{escaped}%")
}

pub fn subscriber_page(
    conn: &Conn<'_>,
    subscriber_id: i64,
    offset: i64,
    limit: i64,
    filter: Option<&str>,
) -> DbResult<EntryPage> {
    let pattern = filter.filter(|f| !f.is_empty()).map(like_pattern);
    let size: i64 = conn
        .sql()
        .prepare_cached(&format!(
            "SELECT count(*) FROM phonebook_entries e WHERE {VISIBLE}"
        ))?
        .query_row([subscriber_id], |r| r.get(0))?;
    let filtered_size: i64 = match &pattern {
        None => size,
        Some(p) => conn
            .sql()
            .prepare_cached(&format!(
                "SELECT count(*) FROM phonebook_entries e WHERE {VISIBLE} AND {MATCHING}"
            ))?
            .query_row(params![subscriber_id, p], |r| r.get(0))?,
    };
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM phonebook_entries e WHERE {VISIBLE} AND {MATCHING} \
         ORDER BY e.last_name, e.first_name, e.id LIMIT ?3 OFFSET ?4"
    );
    let mut stmt = conn.sql().prepare_cached(&sql)?;
    let rows = stmt.query_map(params![subscriber_id, pattern, limit, offset], entry)?;
    let entries = rows
        .map(|r| with_contact(r?))
        .collect::<DbResult<Vec<_>>>()?;
    Ok(EntryPage {
        entries,
        size,
        filtered_size,
    })
}

pub fn subscriber_entry(
    conn: &Conn<'_>,
    subscriber_id: i64,
    entry_id: i64,
) -> DbResult<Option<Entry>> {
    let sql =
        format!("SELECT {ENTRY_COLUMNS} FROM phonebook_entries e WHERE {VISIBLE} AND e.id = ?2");
    conn.sql()
        .prepare_cached(&sql)?
        .query_row(params![subscriber_id, entry_id], entry)
        .optional()?
        .map(with_contact)
        .transpose()
}

pub fn insert_private(tx: &WriteTx<'_>, subscriber_id: i64, e: &Entry) -> DbResult<i64> {
    tx.sql()
        .prepare_cached(
            "INSERT INTO phonebook_entries (subscriber_id, first_name, last_name, number, contact) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            subscriber_id,
            e.first_name,
            e.last_name,
            e.number,
            contact_json(e)
        ])?;
    Ok(tx.sql().last_insert_rowid())
}

pub fn update_private(tx: &WriteTx<'_>, entry_id: i64, e: &Entry) -> DbResult<()> {
    tx.sql()
        .prepare_cached(
            "UPDATE phonebook_entries SET first_name = ?1, last_name = ?2, number = ?3, \
             contact = ?4 WHERE id = ?5",
        )?
        .execute(params![
            e.first_name,
            e.last_name,
            e.number,
            contact_json(e),
            entry_id
        ])?;
    Ok(())
}

/// Deletes one own entry, or all of them; returns how many.
pub fn delete_private(
    tx: &WriteTx<'_>,
    subscriber_id: i64,
    entry_id: Option<i64>,
) -> DbResult<usize> {
    Ok(tx.sql().execute(
        "DELETE FROM phonebook_entries WHERE subscriber_id = ?1 AND (?2 IS NULL OR id = ?2)",
        params![subscriber_id, entry_id],
    )?)
}

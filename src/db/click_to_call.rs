//! SQL for click-to-call jobs.

use rusqlite::{OptionalExtension, params};

use super::{Conn, DbResult, WriteTx};
use crate::core::click_to_call::{CallJob, PENDING};

const COLUMNS: &str = "id, subscriber_id, caller, callee, state, outcome, created_on, finished_on";

fn job(r: &rusqlite::Row<'_>) -> rusqlite::Result<CallJob> {
    Ok(CallJob {
        id: r.get(0)?,
        subscriber_id: r.get(1)?,
        caller: r.get(2)?,
        callee: r.get(3)?,
        state: r.get(4)?,
        outcome: r.get(5)?,
        created_on: r.get(6)?,
        finished_on: r.get(7)?,
    })
}

/// The subscriber's address: `user@domain`, or the user name without a domain.
pub fn address(conn: &Conn<'_>, subscriber_id: i64) -> DbResult<Option<String>> {
    Ok(conn
        .sql()
        .prepare_cached(
            "SELECT s.username || ifnull('@' || d.name, '') FROM subscribers s \
             LEFT JOIN domains d ON d.id = s.domain_id WHERE s.id = ?",
        )?
        .query_row([subscriber_id], |r| r.get(0))
        .optional()?)
}

pub fn insert(
    tx: &WriteTx<'_>,
    subscriber_id: i64,
    from_address: &str,
    to_number: &str,
    now: i64,
) -> DbResult<CallJob> {
    tx.sql()
        .prepare_cached(
            "INSERT INTO click_to_call_jobs (subscriber_id, caller, callee, state, created_on) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            subscriber_id,
            from_address,
            to_number,
            PENDING,
            now
        ])?;
    Ok(CallJob {
        id: tx.sql().last_insert_rowid(),
        subscriber_id,
        caller: from_address.to_string(),
        callee: to_number.to_string(),
        state: PENDING.to_string(),
        outcome: String::new(),
        created_on: now,
        finished_on: None,
    })
}

pub fn get(conn: &Conn<'_>, id: i64) -> DbResult<Option<CallJob>> {
    let sql = format!("SELECT {COLUMNS} FROM click_to_call_jobs WHERE id = ?");
    Ok(conn
        .sql()
        .prepare_cached(&sql)?
        .query_row([id], job)
        .optional()?)
}

pub fn finish(tx: &WriteTx<'_>, id: i64, state: &str, outcome: &str, now: i64) -> DbResult<()> {
    tx.sql().execute(
        "UPDATE click_to_call_jobs SET state = ?1, outcome = ?2, finished_on = ?3 WHERE id = ?4",
        params![state, outcome, now, id],
    )?;
    Ok(())
}

/// The newest `limit` jobs, oldest first.
pub fn newest(conn: &Conn<'_>, limit: u32) -> DbResult<Vec<CallJob>> {
    let sql = format!(
        "SELECT * FROM (SELECT {COLUMNS} FROM click_to_call_jobs ORDER BY id DESC LIMIT ?) \
         ORDER BY id"
    );
    let mut stmt = conn.sql().prepare_cached(&sql)?;
    let rows = stmt.query_map([limit], job)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

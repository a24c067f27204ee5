//! SQL for park orbits (sipXconfig ParkOrbitService).

use rusqlite::params;

use super::{Conn, DbResult, WriteTx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkOrbitRow {
    pub name: String,
    pub extension: String,
    pub description: String,
    pub enabled: bool,
    pub music: String,
}

/// Park orbits owned under `path`, by name.
pub fn list(conn: &Conn<'_>, path: &str) -> DbResult<Vec<ParkOrbitRow>> {
    let rows = conn
        .sql()
        .prepare_cached(
            "SELECT o.name, o.extension, o.description, o.enabled, o.music
             FROM park_orbits o JOIN customers c ON c.id = o.customer_id
             WHERE substr(c.path, 1, length(?1)) = ?1 ORDER BY o.name",
        )?
        .query_map([path], |r| {
            Ok(ParkOrbitRow {
                name: r.get(0)?,
                extension: r.get(1)?,
                description: r.get(2)?,
                enabled: r.get(3)?,
                music: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn name_taken(conn: &Conn<'_>, name: &str) -> DbResult<bool> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM park_orbits WHERE name = ?)")?
        .query_row([name], |r| r.get(0))?)
}

pub fn insert(tx: &WriteTx<'_>, customer_id: i64, orbit: &ParkOrbitRow, now: i64) -> DbResult<i64> {
    Ok(tx
        .sql()
        .prepare_cached(
            "INSERT INTO park_orbits (customer_id, name, extension, description, enabled, music,
                created_on) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
        )?
        .query_row(
            params![
                customer_id,
                orbit.name,
                orbit.extension,
                orbit.description,
                orbit.enabled,
                orbit.music,
                now
            ],
            |r| r.get(0),
        )?)
}

//! SQL for call groups and their rings (sipXconfig CallGroupService), and the extension check
//! call groups share with park orbits.

use rusqlite::{OptionalExtension, params};

use super::{Conn, DbResult, WriteTx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingRow {
    pub position: i64,
    pub subscriber_id: i64,
    pub user_name: String,
    pub expiration: i64,
    pub ring_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallGroupRow {
    pub id: i64,
    pub name: String,
    pub extension: String,
    pub description: String,
    pub enabled: bool,
    pub rings: Vec<RingRow>,
}

/// Call groups owned under `path`, by name, with their rings in order.
pub fn list(conn: &Conn<'_>, path: &str) -> DbResult<Vec<CallGroupRow>> {
    let mut groups: Vec<CallGroupRow> = conn
        .sql()
        .prepare_cached(
            "SELECT g.id, g.name, g.extension, g.description, g.enabled
             FROM call_groups g JOIN customers c ON c.id = g.customer_id
             WHERE substr(c.path, 1, length(?1)) = ?1 ORDER BY g.name",
        )?
        .query_map([path], |r| {
            Ok(CallGroupRow {
                id: r.get(0)?,
                name: r.get(1)?,
                extension: r.get(2)?,
                description: r.get(3)?,
                enabled: r.get(4)?,
                rings: Vec::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut rings = conn.sql().prepare_cached(
        "SELECT r.position, r.subscriber_id, s.username, r.expiration, r.ring_type
         FROM call_group_rings r JOIN subscribers s ON s.id = r.subscriber_id
         WHERE r.call_group_id = ? ORDER BY r.position",
    )?;
    for g in &mut groups {
        g.rings = rings
            .query_map([g.id], |r| {
                Ok(RingRow {
                    position: r.get(0)?,
                    subscriber_id: r.get(1)?,
                    user_name: r.get(2)?,
                    expiration: r.get(3)?,
                    ring_type: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
    }
    Ok(groups)
}

/// The id of the call group named `name` owned under `path`.
pub fn find(conn: &Conn<'_>, path: &str, name: &str) -> DbResult<Option<i64>> {
    Ok(conn
        .sql()
        .prepare_cached(
            "SELECT g.id FROM call_groups g JOIN customers c ON c.id = g.customer_id
             WHERE g.name = ?2 AND substr(c.path, 1, length(?1)) = ?1",
        )?
        .query_row(params![path, name], |r| r.get(0))
        .optional()?)
}

pub fn name_taken(conn: &Conn<'_>, name: &str, except: Option<i64>) -> DbResult<bool> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM call_groups WHERE name = ? AND id IS NOT ?)")?
        .query_row(params![name, except], |r| r.get(0))?)
}

/// Whether a call group (other than `except_group`), a park orbit or a subscriber's number
/// already answers at `extension`.
pub fn extension_taken(
    conn: &Conn<'_>,
    extension: &str,
    except_group: Option<i64>,
) -> DbResult<bool> {
    Ok(conn
        .sql()
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM call_groups WHERE extension = ?1 AND id IS NOT ?2)
                 OR EXISTS (SELECT 1 FROM park_orbits WHERE extension = ?1)
                 OR EXISTS (SELECT 1 FROM numbers WHERE number = ?1)",
        )?
        .query_row(params![extension, except_group], |r| r.get(0))?)
}

pub fn insert(
    tx: &WriteTx<'_>,
    customer_id: i64,
    name: &str,
    extension: &str,
    description: &str,
    enabled: bool,
    now: i64,
) -> DbResult<i64> {
    Ok(tx
        .sql()
        .prepare_cached(
            "INSERT INTO call_groups (customer_id, name, extension, description, enabled,
                created_on) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        )?
        .query_row(
            params![customer_id, name, extension, description, enabled, now],
            |r| r.get(0),
        )?)
}

pub fn update(
    tx: &WriteTx<'_>,
    id: i64,
    name: Option<&str>,
    extension: Option<&str>,
    description: Option<&str>,
    enabled: Option<bool>,
) -> DbResult<()> {
    tx.sql()
        .prepare_cached(
            "UPDATE call_groups SET name = coalesce(?2, name), extension = coalesce(?3, extension),
                description = coalesce(?4, description), enabled = coalesce(?5, enabled)
             WHERE id = ?1",
        )?
        .execute(params![id, name, extension, description, enabled])?;
    Ok(())
}

pub fn delete(tx: &WriteTx<'_>, id: i64) -> DbResult<()> {
    tx.sql()
        .execute("DELETE FROM call_groups WHERE id = ?", [id])?;
    Ok(())
}

/// Replaces the rings (appends after the last when `append`), numbering them from 0.
pub fn set_rings(
    tx: &WriteTx<'_>,
    id: i64,
    rings: &[(i64, i64, &str)],
    append: bool,
) -> DbResult<()> {
    if !append {
        tx.sql()
            .execute("DELETE FROM call_group_rings WHERE call_group_id = ?", [id])?;
    }
    let start: i64 = tx.sql().query_row(
        "SELECT coalesce(max(position) + 1, 0) FROM call_group_rings WHERE call_group_id = ?",
        [id],
        |r| r.get(0),
    )?;
    let mut insert = tx.sql().prepare_cached(
        "INSERT INTO call_group_rings (call_group_id, position, subscriber_id, expiration,
            ring_type) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (i, (subscriber, expiration, ring_type)) in (start..).zip(rings) {
        insert.execute(params![id, i, subscriber, expiration, ring_type])?;
    }
    Ok(())
}

//! SQL for custom call permissions (sipXconfig PermissionService).

use rusqlite::params;

use super::{Conn, DbResult, WriteTx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionRow {
    pub id: i64,
    pub name: String,
    pub label: String,
    pub description: String,
    pub default_value: bool,
}

/// Custom permissions owned under `path`, by name; with `name`/`label`, only those.
pub fn list(
    conn: &Conn<'_>,
    path: &str,
    name: Option<&str>,
    label: Option<&str>,
) -> DbResult<Vec<PermissionRow>> {
    let rows = conn
        .sql()
        .prepare_cached(
            "SELECT p.id, p.name, p.label, p.description, p.default_value
             FROM sipx_permissions p JOIN customers c ON c.id = p.customer_id
             WHERE substr(c.path, 1, length(?1)) = ?1 AND (?2 IS NULL OR p.name = ?2)
               AND (?3 IS NULL OR p.label = ?3)
             ORDER BY p.name",
        )?
        .query_map(params![path, name, label], |r| {
            Ok(PermissionRow {
                id: r.get(0)?,
                name: r.get(1)?,
                label: r.get(2)?,
                description: r.get(3)?,
                default_value: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn exists(conn: &Conn<'_>, name: &str) -> DbResult<bool> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM sipx_permissions WHERE name = ?)")?
        .query_row([name], |r| r.get(0))?)
}

/// Inserts a permission; without a name it is called `perm_<id>`, as sipXconfig names custom
/// permissions. Returns the name.
pub fn insert(
    tx: &WriteTx<'_>,
    customer_id: i64,
    name: Option<&str>,
    label: &str,
    description: &str,
    default_value: bool,
    now: i64,
) -> DbResult<String> {
    let id: i64 = tx
        .sql()
        .prepare_cached(
            "INSERT INTO sipx_permissions (customer_id, name, label, description, default_value,
                created_on) VALUES (?1, coalesce(?2, 'new-' || ?6 || '-' || random()), ?3, ?4, ?5, ?6)
             RETURNING id",
        )?
        .query_row(
            params![customer_id, name, label, description, default_value, now],
            |r| r.get(0),
        )?;
    if name.is_none() {
        tx.sql().execute(
            "UPDATE sipx_permissions SET name = 'perm_' || id WHERE id = ?",
            [id],
        )?;
    }
    Ok(tx.sql().query_row(
        "SELECT name FROM sipx_permissions WHERE id = ?",
        [id],
        |r| r.get(0),
    )?)
}

pub fn update(
    tx: &WriteTx<'_>,
    id: i64,
    label: Option<&str>,
    description: Option<&str>,
    default_value: Option<bool>,
) -> DbResult<()> {
    tx.sql()
        .prepare_cached(
            "UPDATE sipx_permissions SET label = coalesce(?2, label),
                description = coalesce(?3, description),
                default_value = coalesce(?4, default_value) WHERE id = ?1",
        )?
        .execute(params![id, label, description, default_value])?;
    Ok(())
}

/// Deletes a permission and takes it from every user holding it.
pub fn delete(tx: &WriteTx<'_>, row: &PermissionRow) -> DbResult<()> {
    tx.sql().execute(
        "DELETE FROM subscriber_permissions WHERE permission = ?",
        [&row.name],
    )?;
    tx.sql()
        .execute("DELETE FROM sipx_permissions WHERE id = ?", [row.id])?;
    Ok(())
}

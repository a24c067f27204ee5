//! SQL for the customer tree.

use rusqlite::{OptionalExtension, params};

use super::{Conn, DbResult, WriteTx, fields};
use crate::core::attrs::Field;

/// Where a customer sits in the tree.
#[derive(Debug, Clone)]
pub struct CustomerNode {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub path: String,
    pub contact_id: Option<i64>,
    pub api_permission: bool,
    pub created_on: i64,
    pub updated_on: i64,
}

const NODE_COLUMNS: &str =
    "id, parent_id, path, contact_id, api_permission, created_on, updated_on";

fn node(r: &rusqlite::Row<'_>) -> rusqlite::Result<CustomerNode> {
    Ok(CustomerNode {
        id: r.get(0)?,
        parent_id: r.get(1)?,
        path: r.get(2)?,
        contact_id: r.get(3)?,
        api_permission: r.get(4)?,
        created_on: r.get(5)?,
        updated_on: r.get(6)?,
    })
}

pub fn node_by_id(conn: &Conn<'_>, id: i64) -> DbResult<Option<CustomerNode>> {
    let sql = format!("SELECT {NODE_COLUMNS} FROM customers WHERE id = ?");
    Ok(conn
        .sql()
        .prepare_cached(&sql)?
        .query_row([id], node)
        .optional()?)
}

pub fn node_by_name(conn: &Conn<'_>, name: &str) -> DbResult<Option<CustomerNode>> {
    let sql = format!("SELECT {NODE_COLUMNS} FROM customers WHERE name = ?");
    Ok(conn
        .sql()
        .prepare_cached(&sql)?
        .query_row([name], node)
        .optional()?)
}

pub fn name_taken(conn: &Conn<'_>, name: &str, except_id: Option<i64>) -> DbResult<bool> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT 1 FROM customers WHERE name = ?1 AND id IS NOT ?2")?
        .exists(params![name, except_id])?)
}

/// Inserts a customer below `parent` (None only for the root); returns its id.
pub fn insert(
    tx: &WriteTx<'_>,
    parent: Option<&CustomerNode>,
    values: &[(&'static str, Field)],
    contact_id: Option<i64>,
    now: i64,
) -> DbResult<i64> {
    let mut all = values.to_vec();
    all.push((
        "parent_id",
        parent.map_or(Field::Null, |p| Field::Int(p.id)),
    ));
    all.push(("path", Field::Str(String::new())));
    all.push(("contact_id", contact_id.map_or(Field::Null, Field::Int)));
    all.push(("created_on", Field::Time(now)));
    all.push(("updated_on", Field::Time(now)));
    let id = fields::insert(tx, "customers", &all)?;
    let parent_path = parent.map_or("/", |p| p.path.as_str());
    tx.sql().execute(
        "UPDATE customers SET path = ?1 || ?2 || '/' WHERE id = ?2",
        params![parent_path, id],
    )?;
    Ok(id)
}

pub fn update(
    tx: &WriteTx<'_>,
    id: i64,
    values: &[(&'static str, Field)],
    now: i64,
) -> DbResult<()> {
    let mut all = values.to_vec();
    all.push(("updated_on", Field::Time(now)));
    fields::update(tx, "customers", id, &all)?;
    Ok(())
}

pub fn set_api_permission(tx: &WriteTx<'_>, id: i64, on: bool) -> DbResult<()> {
    tx.sql().execute(
        "UPDATE customers SET api_permission = ?1 WHERE id = ?2",
        params![on, id],
    )?;
    Ok(())
}

/// How many sub-customers and accounts hang below a customer directly.
pub fn dependents(conn: &Conn<'_>, id: i64) -> DbResult<(i64, i64)> {
    Ok(conn.sql().query_row(
        "SELECT (SELECT count(*) FROM customers WHERE parent_id = ?1),
                (SELECT count(*) FROM subscribers WHERE customer_id = ?1)",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

pub fn delete(tx: &WriteTx<'_>, node: &CustomerNode) -> DbResult<()> {
    tx.sql()
        .execute("DELETE FROM customers WHERE id = ?", [node.id])?;
    if let Some(contact) = node.contact_id {
        tx.sql()
            .execute("DELETE FROM contacts WHERE id = ?", [contact])?;
    }
    Ok(())
}

/// One line of a customer listing.
#[derive(Debug, Clone)]
pub struct CustomerSummary {
    pub id: i64,
    pub name: String,
    pub web_login: Option<String>,
    pub description: String,
    pub balance: f64,
    pub credit_limit: Option<f64>,
    pub base_currency: String,
}

/// The direct sub-customers of `parent_id` (or, with None, every customer), by id, paged in SQL.
pub fn list(
    conn: &Conn<'_>,
    parent_id: Option<i64>,
    offset: i64,
    limit: i64,
) -> DbResult<Vec<CustomerSummary>> {
    let mut stmt = conn.sql().prepare_cached(
        "SELECT c.id, c.name, l.login, c.description, c.balance, c.credit_limit, c.base_currency
         FROM customers c LEFT JOIN logins l ON l.customer_id = c.id AND l.role = 'customer'
         WHERE (?1 IS NULL OR c.parent_id = ?1)
         ORDER BY c.id LIMIT ?2 OFFSET ?3",
    )?;
    let rows = stmt.query_map(params![parent_id, limit, offset], |r| {
        Ok(CustomerSummary {
            id: r.get(0)?,
            name: r.get(1)?,
            web_login: r.get(2)?,
            description: r.get(3)?,
            balance: r.get(4)?,
            credit_limit: r.get(5)?,
            base_currency: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The customer's stored attributes in `defs` (secrets left out), by wire name.
pub fn read_attrs(
    conn: &Conn<'_>,
    id: i64,
    defs: &[crate::core::attrs::AttrDef],
) -> DbResult<Option<Vec<(&'static str, Field)>>> {
    fields::read(conn, "customers", id, defs)
}

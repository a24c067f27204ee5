//! SQL for authentication rules.

use rusqlite::{OptionalExtension, params};

use super::{Conn, DbResult, WriteTx, fields};
use crate::core::attrs::{AttrDef, Field};

/// An auth rule's owner, for scope checks.
#[derive(Debug, Clone)]
pub struct RuleOwner {
    pub rule_id: i64,
    pub account_id: i64,
    pub customer_path: String,
}

pub fn owner(conn: &Conn<'_>, rule_id: i64) -> DbResult<Option<RuleOwner>> {
    Ok(conn
        .sql()
        .prepare_cached(
            "SELECT r.id, r.subscriber_id, c.path FROM auth_rules r
             JOIN subscribers s ON s.id = r.subscriber_id JOIN customers c ON c.id = s.customer_id
             WHERE r.id = ?",
        )?
        .query_row([rule_id], |r| {
            Ok(RuleOwner {
                rule_id: r.get(0)?,
                account_id: r.get(1)?,
                customer_path: r.get(2)?,
            })
        })
        .optional()?)
}

pub fn insert(tx: &WriteTx<'_>, values: &[(&'static str, Field)]) -> DbResult<i64> {
    fields::insert(tx, "auth_rules", values)
}

pub fn update(tx: &WriteTx<'_>, id: i64, values: &[(&'static str, Field)]) -> DbResult<()> {
    fields::update(tx, "auth_rules", id, values)?;
    Ok(())
}

pub fn delete(tx: &WriteTx<'_>, id: i64) -> DbResult<()> {
    tx.sql()
        .execute("DELETE FROM auth_rules WHERE id = ?", [id])?;
    Ok(())
}

pub fn read(
    conn: &Conn<'_>,
    id: i64,
    defs: &[AttrDef],
) -> DbResult<Option<Vec<(&'static str, Field)>>> {
    fields::read(conn, "auth_rules", id, defs)
}

/// Filters for listing an account's rules.
pub struct RuleFilter<'a> {
    pub account_id: i64,
    pub rule_id: Option<i64>,
    pub protocol: Option<i64>,
    pub remote_ip: Option<&'a str>,
    pub offset: i64,
    pub limit: i64,
}

/// The rules matching `f` (attributes in `defs`), in id order, paged in SQL: one query a page.
pub fn list(
    conn: &Conn<'_>,
    f: &RuleFilter<'_>,
    defs: &[AttrDef],
) -> DbResult<Vec<Vec<(&'static str, Field)>>> {
    let columns: Vec<&str> = defs.iter().map(|d| d.column).collect();
    let sql = format!(
        "SELECT {} FROM auth_rules
         WHERE subscriber_id = ?1 AND (?2 IS NULL OR id = ?2) AND (?3 IS NULL OR protocol = ?3)
               AND (?4 IS NULL OR remote_ip = ?4)
         ORDER BY id LIMIT ?5 OFFSET ?6",
        columns.join(", ")
    );
    let mut stmt = conn.sql().prepare_cached(&sql)?;
    let mut rows = stmt.query(params![
        f.account_id,
        f.rule_id,
        f.protocol,
        f.remote_ip,
        f.limit,
        f.offset
    ])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut rule = Vec::with_capacity(defs.len());
        for (i, def) in defs.iter().enumerate() {
            rule.push((def.name, fields::from_sql(def, row.get_ref(i)?)?));
        }
        out.push(rule);
    }
    Ok(out)
}

//! SQL for the append-only audit log.

use rusqlite::{params, types::Value};

use super::{Conn, DbResult, WriteTx};
use crate::core::audit::{AuditFilter, AuditRecord};

pub struct NewAuditRow<'a> {
    pub at: i64,
    pub event: i64,
    pub outcome: &'static str,
    pub principal: String,
    pub login_id: Option<i64>,
    pub auth_method: &'a str,
    pub peer_ip: Option<String>,
    pub user_ip: Option<String>,
    pub user_agent: Option<String>,
    pub action_by: Option<String>,
    pub dialect: &'a str,
    pub method: &'a str,
    pub target: &'a str,
    pub detail: &'a str,
}

pub fn insert(tx: &WriteTx<'_>, row: &NewAuditRow<'_>) -> DbResult<()> {
    let mut stmt = tx.sql().prepare_cached(
        "INSERT INTO audit_log (at, event, outcome, principal, login_id, auth_method, peer_ip,
             user_ip, user_agent, action_by, dialect, method, target, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?;
    stmt.execute(params![
        row.at,
        row.event,
        row.outcome,
        row.principal,
        row.login_id,
        row.auth_method,
        row.peer_ip,
        row.user_ip,
        row.user_agent,
        row.action_by,
        row.dialect,
        row.method,
        row.target,
        row.detail
    ])?;
    Ok(())
}

/// Rows matching `filter`, newest first, at most `filter.limit`.
pub fn list(conn: &Conn<'_>, filter: &AuditFilter) -> DbResult<Vec<AuditRecord>> {
    let mut sql = String::from(
        "SELECT id, at, event, outcome, principal, auth_method, peer_ip, user_ip, user_agent,
                action_by, dialect, method, target, detail
         FROM audit_log WHERE 1 = 1",
    );
    let mut args: Vec<Value> = Vec::new();
    if let Some(p) = &filter.principal {
        sql.push_str(" AND principal = ?");
        args.push(Value::Text(p.clone()));
    }
    if let Some(m) = &filter.method {
        sql.push_str(" AND method = ?");
        args.push(Value::Text(m.clone()));
    }
    if let Some(t) = filter.since_millis {
        sql.push_str(" AND at >= ?");
        args.push(Value::Integer(t));
    }
    if let Some(t) = filter.until_millis {
        sql.push_str(" AND at < ?");
        args.push(Value::Integer(t));
    }
    if let Some(id) = filter.before_id {
        sql.push_str(" AND id < ?");
        args.push(Value::Integer(id));
    }
    sql.push_str(" ORDER BY id DESC LIMIT ?");
    args.push(Value::Integer(i64::from(filter.limit)));
    let mut stmt = conn.sql().prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
        Ok(AuditRecord {
            id: r.get(0)?,
            at_millis: r.get(1)?,
            event: r.get(2)?,
            outcome: r.get(3)?,
            principal: r.get(4)?,
            auth_method: r.get(5)?,
            peer_ip: r.get(6)?,
            user_ip: r.get(7)?,
            user_agent: r.get(8)?,
            action_by: r.get(9)?,
            dialect: r.get(10)?,
            method: r.get(11)?,
            target: r.get(12)?,
            detail: r.get(13)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

//! SQL for preference definitions and subscriber preference values.

use std::collections::BTreeMap;

use rusqlite::params;
use rusqlite::types::Value;
use serde_json::Value as Json;

use super::{Conn, DbError, DbResult, WriteTx};

/// A preference's definition.
#[derive(Debug, Clone)]
pub struct PreferenceDef {
    pub name: String,
    pub label: String,
    pub description: String,
    pub preference_group: String,
    /// boolean, int, string or enum.
    pub data_type: String,
    /// 1: one value; 0: any number.
    pub max_occur: i64,
    pub read_only: bool,
    /// `[{label, value, default_val}]`
    pub enum_values: Json,
}

pub fn defs(conn: &Conn<'_>) -> DbResult<Vec<PreferenceDef>> {
    let mut stmt = conn.sql().prepare_cached(
        "SELECT name, label, description, preference_group, data_type, max_occur, read_only,
                enum_values FROM preference_defs ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            PreferenceDef {
                name: r.get(0)?,
                label: r.get(1)?,
                description: r.get(2)?,
                preference_group: r.get(3)?,
                data_type: r.get(4)?,
                max_occur: r.get(5)?,
                read_only: r.get(6)?,
                enum_values: Json::Null,
            },
            r.get::<_, String>(7)?,
        ))
    })?;
    rows.map(|row| {
        let (mut def, enums) = row?;
        def.enum_values = serde_json::from_str(&enums)
            .map_err(|e| DbError::Corrupt(format!("enum_values of {}: {e}", def.name)))?;
        Ok(def)
    })
    .collect()
}

fn id_list(ids: &[i64]) -> (String, Vec<Value>) {
    (
        vec!["?"; ids.len()].join(", "),
        ids.iter().map(|id| Value::Integer(*id)).collect(),
    )
}

/// The preferences of the subscribers `ids`: (subscriber, name, values in order), one query.
pub fn values(conn: &Conn<'_>, ids: &[i64]) -> DbResult<Vec<(i64, String, Vec<Json>)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let (marks, args) = id_list(ids);
    let sql = format!(
        "SELECT subscriber_id, name, value FROM subscriber_preferences \
         WHERE subscriber_id IN ({marks}) ORDER BY subscriber_id, name, position"
    );
    let mut stmt = conn.sql().prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
    let mut out: BTreeMap<(i64, String), Vec<Json>> = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let text: String = r.get(2)?;
        let value = serde_json::from_str(&text)
            .map_err(|e| DbError::Corrupt(format!("preference value: {e}")))?;
        out.entry((r.get(0)?, r.get(1)?)).or_default().push(value);
    }
    Ok(out
        .into_iter()
        .map(|((id, name), values)| (id, name, values))
        .collect())
}

/// One integer preference of the subscribers `ids` that have it.
pub fn ints(conn: &Conn<'_>, ids: &[i64], name: &str) -> DbResult<Vec<(i64, i64)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let (marks, mut args) = id_list(ids);
    args.push(Value::Text(name.to_string()));
    let sql = format!(
        "SELECT subscriber_id, value FROM subscriber_preferences \
         WHERE subscriber_id IN ({marks}) AND name = ? AND position = 0"
    );
    let mut stmt = conn.sql().prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, text) = row?;
        if let Ok(n) = text.parse() {
            out.push((id, n));
        }
    }
    Ok(out)
}

/// Writes the given preferences of a subscriber (an empty list deletes one). With `all`, every
/// preference not given is deleted too.
pub fn replace(
    tx: &WriteTx<'_>,
    subscriber_id: i64,
    values: &[(String, Vec<Json>)],
    all: bool,
) -> DbResult<()> {
    if all {
        tx.sql().execute(
            "DELETE FROM subscriber_preferences WHERE subscriber_id = ?",
            [subscriber_id],
        )?;
    }
    let mut delete = tx.sql().prepare_cached(
        "DELETE FROM subscriber_preferences WHERE subscriber_id = ? AND name = ?",
    )?;
    let mut insert = tx.sql().prepare_cached(
        "INSERT INTO subscriber_preferences (subscriber_id, name, position, value)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (name, items) in values {
        delete.execute(params![subscriber_id, name])?;
        for (position, value) in items.iter().enumerate() {
            insert.execute(params![
                subscriber_id,
                name,
                i64::try_from(position).unwrap_or(i64::MAX),
                value.to_string()
            ])?;
        }
    }
    Ok(())
}

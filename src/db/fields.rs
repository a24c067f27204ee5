//! Attribute-driven row access: the column names come from the core's static attribute tables
//! (never from a client), the values are always bound parameters.

use rusqlite::types::{Value, ValueRef};

use super::{Conn, DbError, DbResult, WriteTx};
use crate::core::attrs::{AttrDef, Field, Kind};

fn to_sql(field: &Field) -> Value {
    match field {
        Field::Null => Value::Null,
        Field::Bool(b) => Value::Integer(i64::from(*b)),
        Field::Int(n) | Field::Time(n) => Value::Integer(*n),
        Field::Double(d) => Value::Real(*d),
        Field::Str(s) => Value::Text(s.clone()),
        Field::StrList(items) => {
            Value::Text(serde_json::to_string(items).unwrap_or_else(|_| "[]".into()))
        }
        Field::Json(v) => Value::Text(v.to_string()),
    }
}

/// Inserts a row of `table` from `(column, value)` pairs; returns its id.
pub fn insert(
    tx: &WriteTx<'_>,
    table: &'static str,
    values: &[(&'static str, Field)],
) -> DbResult<i64> {
    let columns: Vec<&str> = values.iter().map(|(c, _)| *c).collect();
    let marks = vec!["?"; values.len()].join(", ");
    let sql = if values.is_empty() {
        format!("INSERT INTO {table} DEFAULT VALUES")
    } else {
        format!(
            "INSERT INTO {table} ({}) VALUES ({marks})",
            columns.join(", ")
        )
    };
    let mut stmt = tx.sql().prepare_cached(&sql)?;
    stmt.execute(rusqlite::params_from_iter(
        values.iter().map(|(_, v)| to_sql(v)),
    ))?;
    Ok(tx.sql().last_insert_rowid())
}

/// Updates the given columns of row `id` of `table`; returns whether the row exists.
pub fn update(
    tx: &WriteTx<'_>,
    table: &'static str,
    id: i64,
    values: &[(&'static str, Field)],
) -> DbResult<bool> {
    if values.is_empty() {
        return Ok(true);
    }
    let sets: Vec<String> = values.iter().map(|(c, _)| format!("{c} = ?")).collect();
    let sql = format!("UPDATE {table} SET {} WHERE id = ?", sets.join(", "));
    let mut stmt = tx.sql().prepare_cached(&sql)?;
    let mut args: Vec<Value> = values.iter().map(|(_, v)| to_sql(v)).collect();
    args.push(Value::Integer(id));
    Ok(stmt.execute(rusqlite::params_from_iter(args))? == 1)
}

/// The pairs of `values` that differ from what row `id` of `table` holds (compared with SQL's
/// null-safe `IS`), so a write of an unchanged document changes nothing, stamps included.
pub fn changed(
    conn: &Conn<'_>,
    table: &'static str,
    id: i64,
    values: &[(&'static str, Field)],
) -> DbResult<Vec<(&'static str, Field)>> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let tests: Vec<String> = values.iter().map(|(c, _)| format!("{c} IS ?")).collect();
    let sql = format!("SELECT {} FROM {table} WHERE id = ?", tests.join(", "));
    let mut args: Vec<Value> = values.iter().map(|(_, v)| to_sql(v)).collect();
    args.push(Value::Integer(id));
    let same: Vec<bool> = conn
        .sql()
        .prepare_cached(&sql)?
        .query_row(rusqlite::params_from_iter(args), |row| {
            (0..values.len()).map(|i| row.get(i)).collect()
        })?;
    Ok(values
        .iter()
        .zip(same)
        .filter(|(_, same)| !same)
        .map(|(pair, _)| pair.clone())
        .collect())
}

/// Reads the non-secret attributes in `defs` of row `id` of `table`, by their wire names.
pub fn read(
    conn: &Conn<'_>,
    table: &'static str,
    id: i64,
    defs: &[AttrDef],
) -> DbResult<Option<Vec<(&'static str, Field)>>> {
    let visible: Vec<&AttrDef> = defs.iter().filter(|d| !d.secret).collect();
    let columns: Vec<&str> = visible.iter().map(|d| d.column).collect();
    let sql = format!("SELECT {} FROM {table} WHERE id = ?", columns.join(", "));
    let mut stmt = conn.sql().prepare_cached(&sql)?;
    let mut rows = stmt.query([id])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(visible.len());
    for (i, def) in visible.iter().enumerate() {
        out.push((def.name, from_sql(def, row.get_ref(i)?)?));
    }
    Ok(Some(out))
}

/// Converts a stored value back into the field its attribute describes.
pub fn from_sql(def: &AttrDef, value: ValueRef<'_>) -> DbResult<Field> {
    let field = match (def.kind, value) {
        (_, ValueRef::Null) => Field::Null,
        (Kind::Json, ValueRef::Text(t)) => Field::Json(
            serde_json::from_slice(t)
                .map_err(|e| DbError::Corrupt(format!("{}: {e}", def.column)))?,
        ),
        (Kind::Time, ValueRef::Integer(n)) => Field::Time(n),
        (Kind::List, ValueRef::Text(t)) => {
            let items: Vec<String> = serde_json::from_slice(t)
                .map_err(|e| DbError::Corrupt(format!("{}: {e}", def.column)))?;
            Field::StrList(items)
        }
        #[allow(clippy::cast_precision_loss)]
        (Kind::Double | Kind::OptDouble, ValueRef::Integer(n)) => Field::Double(n as f64),
        (_, ValueRef::Integer(n)) => Field::Int(n),
        (_, ValueRef::Real(d)) => Field::Double(d),
        (_, ValueRef::Text(t)) => Field::Str(String::from_utf8_lossy(t).into_owned()),
        (_, ValueRef::Blob(_)) => {
            return Err(DbError::Corrupt(format!("{} holds a blob", def.column)));
        }
    };
    Ok(field)
}

/// Whether row `id` exists in `table`.
pub fn exists(conn: &Conn<'_>, table: &'static str, id: i64) -> DbResult<bool> {
    let sql = format!("SELECT 1 FROM {table} WHERE id = ?");
    let mut stmt = conn.sql().prepare_cached(&sql)?;
    Ok(stmt.exists([id])?)
}

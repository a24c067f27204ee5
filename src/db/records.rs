//! SQL for the listings described in `core::records`: column names and expressions come only from
//! those static descriptions; every client value is a bound parameter.

use rusqlite::types::Value;

use super::{Conn, DbResult, fields};
use crate::core::records::{Condition, Listing, Page, Record};

/// The WHERE clause and its parameters for a listing, a scope and conditions.
fn where_clause(
    listing: &Listing,
    scope: Option<&str>,
    conditions: &[Condition],
) -> (String, Vec<Value>) {
    // A constant-true base is left out: `WHERE (1)` would cost SQLite its fast count.
    let mut clauses = Vec::new();
    if listing.base != "1" {
        clauses.push(format!("({})", listing.base));
    }
    let mut args = Vec::new();
    if let Some(prefix) = scope {
        // Paths hold only digits and slashes, so the prefix needs no LIKE escaping.
        clauses.push(format!("{} LIKE ?", listing.owner_path));
        args.push(Value::Text(format!("{prefix}%")));
    }
    for condition in conditions {
        match condition {
            Condition::IsNull(column, true) => clauses.push(format!("{column} IS NULL")),
            Condition::IsNull(column, false) => {
                clauses.push(format!("{column} IS NOT NULL"));
            }
            Condition::Eq(column, value) => {
                clauses.push(format!("{column} = ?"));
                args.push(Value::Text(value.clone()));
            }
            Condition::Like(column, value) => {
                clauses.push(format!("{column} LIKE ?"));
                args.push(Value::Text(value.clone()));
            }
            Condition::In(column, values, wanted) => {
                let marks = vec!["?"; values.len()].join(", ");
                let not = if *wanted { "" } else { "NOT " };
                clauses.push(format!("{column} {not}IN ({marks})"));
                args.extend(values.iter().map(|v| Value::Text(v.clone())));
            }
            Condition::Compare(column, op, at) => {
                clauses.push(format!("{column} {op} ?"));
                args.push(Value::Integer(*at));
            }
        }
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (filter, args)
}

fn select_list(listing: &Listing) -> String {
    let mut columns = vec![format!("{}.id", listing.table)];
    columns.extend(listing.columns.iter().map(|d| d.column.to_string()));
    columns.join(", ")
}

fn record(listing: &Listing, row: &rusqlite::Row<'_>) -> DbResult<Record> {
    let mut fields_out = Vec::with_capacity(listing.columns.len());
    for (i, def) in listing.columns.iter().enumerate() {
        fields_out.push((def.name, fields::from_sql(def, row.get_ref(i + 1)?)?));
    }
    Ok(Record {
        id: row.get(0)?,
        fields: fields_out,
    })
}

/// One page of a listing: rows in a stable order (the sort column, then the id), paged in SQL,
/// and the total when asked for.
#[allow(clippy::too_many_arguments)]
pub fn list(
    conn: &Conn<'_>,
    listing: &Listing,
    scope: Option<&str>,
    conditions: &[Condition],
    order_column: &str,
    descending: bool,
    (offset, limit, count): (i64, i64, bool),
) -> DbResult<Page> {
    let (filter, args) = where_clause(listing, scope, conditions);
    let table = listing.table;
    let direction = if descending { "DESC" } else { "ASC" };
    // A deferred join: the page's ids are found first, where SQLite can skip `offset` rows
    // through a narrow index, and only those rows are read whole; deep pages stay cheap.
    let order = format!("{order_column} {direction}, {table}.id {direction}");
    let sql = format!(
        "SELECT {} FROM {table} WHERE {table}.id IN (SELECT {table}.id FROM {table} {filter} \
         ORDER BY {order} LIMIT ? OFFSET ?) ORDER BY {order}",
        select_list(listing)
    );
    let mut page_args = args.clone();
    page_args.extend([Value::Integer(limit), Value::Integer(offset)]);
    let mut stmt = conn.sql().prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(page_args))?;
    let mut records = Vec::new();
    while let Some(row) = rows.next()? {
        records.push(record(listing, row)?);
    }
    let total = if count {
        let sql = format!("SELECT count(*) FROM {table} {filter}");
        Some(
            conn.sql()
                .prepare_cached(&sql)?
                .query_row(rusqlite::params_from_iter(args), |r| r.get(0))?,
        )
    } else {
        None
    };
    Ok(Page { records, total })
}

/// One row of a listing by id (the base condition applies) and the path of the node owning it.
pub fn get(conn: &Conn<'_>, listing: &Listing, id: i64) -> DbResult<Option<(Record, String)>> {
    let table = listing.table;
    let sql = format!(
        "SELECT {}, {} FROM {table} WHERE {table}.id = ? AND ({})",
        select_list(listing),
        listing.owner_path,
        listing.base
    );
    let mut stmt = conn.sql().prepare_cached(&sql)?;
    let mut rows = stmt.query([id])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let path: String = row.get(listing.columns.len() + 1)?;
    Ok(Some((record(listing, row)?, path)))
}

//! SQL for reading a subtree of customers at once (the admin page's customer list and counts).
//! A subtree is the range of `customers.path` values that start with its root's path; it is read
//! as a range (`path >= '/1/5/' AND path < '/1/50'`) so the `customers_path` index serves it.

use rusqlite::params;

use super::logins::ApiLoginRow;
use super::{Conn, DbResult};

/// The exclusive upper bound of the paths below and including `path` (which ends in '/'): the
/// same text with its final '/' replaced by the next character, '0'.
fn upper_bound(path: &str) -> String {
    let mut bound = path.strip_suffix('/').unwrap_or(path).to_string();
    bound.push('0');
    bound
}

/// One customer of a subtree, with its login's API gates.
#[derive(Debug, Clone)]
pub struct TreeRow {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub path: String,
    pub description: String,
    /// The customer's login and everything its API gates need; None if it has none.
    pub login: Option<ApiLoginRow>,
}

/// Columns shared by [`subtree`] and [`one`]: the customer, then its login as the API sees it.
const TREE_SELECT: &str = "SELECT c.id, c.parent_id, c.name, c.path, c.description,
        l.id, l.login, c.parent_id IS NULL, l.api_realm, l.api_ha1_md5, l.api_ha1_sha256,
        l.allow_api_calls, c.api_permission, c.blocked, c.accounts_mgmt, c.customers_mgmt,
        l.read_only, l.is_active, c.kind = 'reseller'
    FROM customers c LEFT JOIN logins l ON l.customer_id = c.id AND l.role = 'customer'";

fn tree_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TreeRow> {
    let id: i64 = r.get(0)?;
    let path: String = r.get(3)?;
    let login = match r.get::<_, Option<i64>>(5)? {
        Some(login_id) => Some(ApiLoginRow {
            login_id,
            login: r.get(6)?,
            customer_id: id,
            customer_path: path.clone(),
            is_root: r.get(7)?,
            api_realm: r.get(8)?,
            ha1_md5: r.get(9)?,
            ha1_sha256: r.get(10)?,
            allow_api_calls: r.get(11)?,
            api_permission: r.get(12)?,
            customer_blocked: r.get(13)?,
            accounts_mgmt: r.get(14)?,
            customers_mgmt: r.get(15)?,
            read_only: r.get(16)?,
            is_active: r.get(17)?,
            customer_is_reseller: r.get(18)?,
        }),
        None => None,
    };
    Ok(TreeRow {
        id,
        parent_id: r.get(1)?,
        name: r.get(2)?,
        path,
        description: r.get(4)?,
        login,
    })
}

/// The customer at `root_path` and everything below it, parents before their children, paged.
pub fn subtree(
    conn: &Conn<'_>,
    root_path: &str,
    offset: i64,
    limit: i64,
) -> DbResult<Vec<TreeRow>> {
    let sql = format!(
        "{TREE_SELECT} WHERE c.path >= ?1 AND c.path < ?2 ORDER BY c.path LIMIT ?3 OFFSET ?4"
    );
    let mut stmt = conn.sql().prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![root_path, upper_bound(root_path), limit, offset],
        tree_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One customer with its login, by id.
pub fn one(conn: &Conn<'_>, id: i64) -> DbResult<Option<TreeRow>> {
    let sql = format!("{TREE_SELECT} WHERE c.id = ?1");
    let mut stmt = conn.sql().prepare_cached(&sql)?;
    let mut rows = stmt.query_map([id], tree_row)?;
    Ok(rows.next().transpose()?)
}

/// The direct sub-customers of `parent_id`, by id, at most `limit`.
pub fn children(conn: &Conn<'_>, parent_id: i64, limit: i64) -> DbResult<Vec<TreeRow>> {
    let sql = format!("{TREE_SELECT} WHERE c.parent_id = ?1 ORDER BY c.id LIMIT ?2");
    let mut stmt = conn.sql().prepare_cached(&sql)?;
    let rows = stmt.query_map(params![parent_id, limit], tree_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many customers and accounts the subtree at `root_path` holds.
pub fn counts(conn: &Conn<'_>, root_path: &str) -> DbResult<(i64, i64)> {
    let upper = upper_bound(root_path);
    Ok(conn
        .sql()
        .prepare_cached(
            "SELECT (SELECT count(*) FROM customers WHERE path >= ?1 AND path < ?2),
                (SELECT count(*) FROM subscribers s JOIN customers c ON c.id = s.customer_id
                 WHERE c.path >= ?1 AND c.path < ?2)",
        )?
        .query_row(params![root_path, upper], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// The name of a customer, by id.
pub fn name(conn: &Conn<'_>, id: i64) -> DbResult<Option<String>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .sql()
        .prepare_cached("SELECT name FROM customers WHERE id = ?")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::upper_bound;

    #[test]
    fn subtree_bounds_exclude_siblings_with_longer_ids() {
        assert_eq!(upper_bound("/1/5/"), "/1/50");
        // '/1/5/9/' is inside; '/1/50/' and '/1/6/' are not.
        assert!("/1/5/9/" < upper_bound("/1/5/").as_str());
        assert!("/1/50/" >= upper_bound("/1/5/").as_str());
        assert!("/1/6/" >= upper_bound("/1/5/").as_str());
    }
}

//! SQL for sipXconfig users: subscribers seen with their aliases (numbers), user groups,
//! permissions and branch.

use rusqlite::{OptionalExtension, params};

use super::{Conn, DbResult, WriteTx};

/// A subscriber as sipXconfig shows it. Lists are sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: i64,
    pub customer_id: i64,
    pub customer_path: String,
    pub contact_id: Option<i64>,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub portal_pin: Option<String>,
    pub branch_name: Option<String>,
    pub aliases: Vec<String>,
    pub groups: Vec<String>,
    pub permissions: Vec<String>,
}

/// Which users a search reads.
#[derive(Debug, Clone)]
pub enum Filter<'a> {
    All,
    UserName(&'a str),
    /// A substring of the user name or of one of its numbers.
    Fuzzy(&'a str),
    Group(&'a str),
}

/// Separates list items inside one column (the unit separator cannot occur in stored names).
const SEP: char = '\u{1f}';

const USER_SQL: &str = "SELECT s.id, s.customer_id, c.path, s.contact_id, s.username,
        coalesce(ct.first_name, ''), coalesce(ct.last_name, ''), coalesce(ct.email, ''),
        s.portal_pin, s.branch_name,
        (SELECT group_concat(number, char(31)) FROM
            (SELECT number FROM numbers WHERE subscriber_id = s.id ORDER BY is_primary DESC, number)),
        (SELECT group_concat(name, char(31)) FROM
            (SELECT g.name FROM user_group_members m JOIN user_groups g ON g.id = m.group_id
             WHERE m.subscriber_id = s.id ORDER BY g.name)),
        (SELECT group_concat(permission, char(31)) FROM
            (SELECT permission FROM subscriber_permissions WHERE subscriber_id = s.id
             ORDER BY permission))
     FROM subscribers s JOIN customers c ON c.id = s.customer_id
     LEFT JOIN contacts ct ON ct.id = s.contact_id";

fn split(text: Option<String>) -> Vec<String> {
    text.map(|t| t.split(SEP).map(str::to_string).collect())
        .unwrap_or_default()
}

fn user(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: r.get(0)?,
        customer_id: r.get(1)?,
        customer_path: r.get(2)?,
        contact_id: r.get(3)?,
        username: r.get(4)?,
        first_name: r.get(5)?,
        last_name: r.get(6)?,
        email: r.get(7)?,
        portal_pin: r.get(8)?,
        branch_name: r.get(9)?,
        aliases: split(r.get(10)?),
        groups: split(r.get(11)?),
        permissions: split(r.get(12)?),
    })
}

/// One page of users under `path` (a customer path prefix) matching `filter`, with ids above
/// `after`, by id.
pub fn page(
    conn: &Conn<'_>,
    path: &str,
    filter: &Filter<'_>,
    after: i64,
    limit: usize,
) -> DbResult<Vec<UserRow>> {
    let (condition, value) = match filter {
        Filter::All => ("?4 IS NULL", None),
        Filter::UserName(name) => ("s.username = ?4", Some(name.to_string())),
        Filter::Fuzzy(text) => (
            "(instr(s.username, ?4) > 0 OR EXISTS (SELECT 1 FROM numbers n
              WHERE n.subscriber_id = s.id AND instr(n.number, ?4) > 0))",
            Some(text.to_string()),
        ),
        Filter::Group(name) => (
            "EXISTS (SELECT 1 FROM user_group_members m JOIN user_groups g ON g.id = m.group_id
              WHERE m.subscriber_id = s.id AND g.name = ?4)",
            Some(name.to_string()),
        ),
    };
    let sql = format!(
        "{USER_SQL} WHERE substr(c.path, 1, length(?1)) = ?1 AND s.id > ?2 AND {condition}
         ORDER BY s.id LIMIT ?3"
    );
    let mut stmt = conn.sql().prepare_cached(&sql)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![path, after, limit, value], user)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The id of the domain named `name`, if there is one.
pub fn domain_id(conn: &Conn<'_>, name: &str) -> DbResult<Option<i64>> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT id FROM domains WHERE name = ?")?
        .query_row([name], |r| r.get(0))
        .optional()?)
}

/// Names of the domains other than `name` owned at or below the customer path `below_path`
/// (and those nobody owns when `with_unowned`), sorted.
pub fn other_domains(
    conn: &Conn<'_>,
    name: &str,
    below_path: &str,
    with_unowned: bool,
) -> DbResult<Vec<String>> {
    let mut stmt = conn.sql().prepare_cached(
        "SELECT d.name FROM domains d LEFT JOIN customers c ON c.id = d.customer_id
         WHERE d.name <> ?1
           AND ((d.customer_id IS NULL AND ?3) OR substr(c.path, 1, length(?2)) = ?2)
         ORDER BY d.name",
    )?;
    let rows = stmt.query_map(params![name, below_path, with_unowned], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whether a subscriber other than `except` in the domain (NULL: Sippy's namespace) has this user
/// name.
pub fn username_taken(
    conn: &Conn<'_>,
    username: &str,
    domain_id: Option<i64>,
    except: Option<i64>,
) -> DbResult<bool> {
    Ok(conn
        .sql()
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM subscribers WHERE username = ?1 AND domain_id IS ?2
             AND id IS NOT ?3)",
        )?
        .query_row(params![username, domain_id, except], |r| r.get(0))?)
}

/// The owner of a number (alias), if any subscriber has it.
pub fn number_owner(conn: &Conn<'_>, number: &str) -> DbResult<Option<i64>> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT subscriber_id FROM numbers WHERE number = ?")?
        .query_row([number], |r| r.get::<_, Option<i64>>(0))
        .optional()?
        .flatten())
}

/// Replaces a subscriber's alias numbers (its primary number stays).
pub fn replace_aliases(tx: &WriteTx<'_>, subscriber_id: i64, aliases: &[String]) -> DbResult<()> {
    tx.sql().execute(
        "DELETE FROM numbers WHERE subscriber_id = ? AND is_primary = 0",
        [subscriber_id],
    )?;
    let mut insert = tx.sql().prepare_cached(
        "INSERT INTO numbers (subscriber_id, number, is_primary, sn) VALUES (?1, ?2, 0, ?2)",
    )?;
    for alias in aliases {
        insert.execute(params![subscriber_id, alias])?;
    }
    Ok(())
}

/// The group of `customer_id` named `name`, created if missing.
pub fn ensure_group(tx: &WriteTx<'_>, customer_id: i64, name: &str, now: i64) -> DbResult<i64> {
    tx.sql()
        .prepare_cached(
            "INSERT INTO user_groups (customer_id, name, created_on) VALUES (?1, ?2, ?3)
             ON CONFLICT (customer_id, name) DO NOTHING",
        )?
        .execute(params![customer_id, name, now])?;
    Ok(tx
        .sql()
        .prepare_cached("SELECT id FROM user_groups WHERE customer_id = ? AND name = ?")?
        .query_row(params![customer_id, name], |r| r.get(0))?)
}

/// The group named `name` visible under `path` that is closest to the user's customer.
pub fn find_group(conn: &Conn<'_>, customer_id: i64, name: &str) -> DbResult<Option<i64>> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT id FROM user_groups WHERE customer_id = ? AND name = ?")?
        .query_row(params![customer_id, name], |r| r.get(0))
        .optional()?)
}

pub fn add_member(tx: &WriteTx<'_>, group_id: i64, subscriber_id: i64) -> DbResult<()> {
    tx.sql()
        .prepare_cached(
            "INSERT OR IGNORE INTO user_group_members (group_id, subscriber_id) VALUES (?, ?)",
        )?
        .execute(params![group_id, subscriber_id])?;
    Ok(())
}

pub fn remove_member(tx: &WriteTx<'_>, group_id: i64, subscriber_id: i64) -> DbResult<()> {
    tx.sql()
        .prepare_cached("DELETE FROM user_group_members WHERE group_id = ? AND subscriber_id = ?")?
        .execute(params![group_id, subscriber_id])?;
    Ok(())
}

pub fn replace_permissions(
    tx: &WriteTx<'_>,
    subscriber_id: i64,
    permissions: &[String],
) -> DbResult<()> {
    tx.sql().execute(
        "DELETE FROM subscriber_permissions WHERE subscriber_id = ?",
        [subscriber_id],
    )?;
    let mut insert = tx.sql().prepare_cached(
        "INSERT OR IGNORE INTO subscriber_permissions (subscriber_id, permission) VALUES (?, ?)",
    )?;
    for p in permissions {
        insert.execute(params![subscriber_id, p])?;
    }
    Ok(())
}

/// Sets the sipXconfig-only columns of a subscriber (and its C5 `email`).
pub struct UserColumns<'a> {
    pub portal_pin: Option<&'a str>,
    pub vm_pin: Option<&'a str>,
    pub sip_password: Option<&'a str>,
    pub email: Option<&'a str>,
    pub username: Option<&'a str>,
    pub branch: Option<Option<&'a str>>,
}

pub fn update_columns(
    tx: &WriteTx<'_>,
    id: i64,
    c: &UserColumns<'_>,
    now: i64,
    by: &str,
) -> DbResult<()> {
    tx.sql()
        .prepare_cached(
            "UPDATE subscribers SET
                portal_pin = CASE WHEN ?2 IS NULL THEN portal_pin ELSE ?2 END,
                vm_password = coalesce(?3, vm_password),
                voip_password = coalesce(?4, voip_password),
                email = coalesce(?5, email),
                username = coalesce(?6, username),
                authname = coalesce(?6, authname),
                branch_name = CASE WHEN ?7 THEN ?8 ELSE branch_name END,
                updated_on = ?9, updated_by = ?10
             WHERE id = ?1",
        )?
        .execute(params![
            id,
            c.portal_pin,
            c.vm_pin,
            c.sip_password,
            c.email,
            c.username,
            c.branch.is_some(),
            c.branch.flatten(),
            now,
            by
        ])?;
    Ok(())
}

/// Sets the names and e-mail of a contact.
pub fn update_contact(
    tx: &WriteTx<'_>,
    contact_id: i64,
    first_name: Option<&str>,
    last_name: Option<&str>,
    email: Option<&str>,
) -> DbResult<()> {
    tx.sql()
        .prepare_cached(
            "UPDATE contacts SET first_name = coalesce(?2, first_name),
                last_name = coalesce(?3, last_name), email = coalesce(?4, email) WHERE id = ?1",
        )?
        .execute(params![contact_id, first_name, last_name, email])?;
    Ok(())
}

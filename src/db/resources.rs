//! SQL behind `core::resources`: the lookups its rules need and the few writes that are more than
//! a row of attributes.

use rusqlite::{OptionalExtension, params};

use super::{Conn, DbResult, WriteTx};

/// A node of the customer tree as the reseller-shaped resources see it.
#[derive(Debug, Clone)]
pub struct TreeNode {
    pub id: i64,
    pub path: String,
    pub kind: String,
    pub reseller_id: i64,
    pub status: String,
    pub contract_type: String,
    pub max_subscribers: Option<i64>,
}

pub fn tree_node(conn: &Conn<'_>, id: i64) -> DbResult<Option<TreeNode>> {
    Ok(conn
        .sql()
        .prepare_cached(
            "SELECT id, path, kind, coalesce(reseller_id, 1), status, contract_type, max_subscribers
             FROM customers WHERE id = ?",
        )?
        .query_row([id], |r| {
            Ok(TreeNode {
                id: r.get(0)?,
                path: r.get(1)?,
                kind: r.get(2)?,
                reseller_id: r.get(3)?,
                status: r.get(4)?,
                contract_type: r.get(5)?,
                max_subscribers: r.get(6)?,
            })
        })
        .optional()?)
}

/// A contact's kind, reseller (1 when it has none) and status.
pub fn contact(conn: &Conn<'_>, id: i64) -> DbResult<Option<(String, i64, String)>> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT kind, coalesce(reseller_id, 1), status FROM contacts WHERE id = ?")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?)
}

/// How many live and how many terminated customers, and how many subscribers, use a contact.
pub fn contact_users(conn: &Conn<'_>, id: i64) -> DbResult<(i64, i64)> {
    Ok(conn.sql().query_row(
        "SELECT (SELECT count(*) FROM customers WHERE contact_id = ?1 AND status <> 'terminated')
              + (SELECT count(*) FROM subscribers WHERE contact_id = ?1),
                (SELECT count(*) FROM customers WHERE contact_id = ?1 AND status = 'terminated')",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

pub fn terminate_contact(tx: &WriteTx<'_>, id: i64, now: i64) -> DbResult<()> {
    tx.sql().execute(
        "UPDATE contacts SET status = 'terminated', modify_timestamp = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

pub fn delete_contact(tx: &WriteTx<'_>, id: i64) -> DbResult<()> {
    tx.sql()
        .execute("DELETE FROM contacts WHERE id = ?", [id])?;
    Ok(())
}

/// A billing profile's reseller and status.
pub fn billing_profile(conn: &Conn<'_>, id: i64) -> DbResult<Option<(i64, String)>> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT reseller_id, status FROM billing_profiles WHERE id = ?")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Whether another live profile of the reseller already has this value in `column`.
pub fn billing_profile_taken(
    conn: &Conn<'_>,
    reseller_id: i64,
    column: &'static str,
    value: &str,
    except: Option<i64>,
) -> DbResult<bool> {
    let sql = format!(
        "SELECT 1 FROM billing_profiles WHERE reseller_id = ?1 AND {column} = ?2 \
         AND status <> 'terminated' AND id IS NOT ?3"
    );
    Ok(conn
        .sql()
        .prepare_cached(&sql)?
        .exists(params![reseller_id, value, except])?)
}

pub fn billing_profile_users(conn: &Conn<'_>, id: i64) -> DbResult<i64> {
    Ok(conn.sql().query_row(
        "SELECT count(*) FROM customers WHERE billing_profile_id = ? AND status <> 'terminated'",
        [id],
        |r| r.get(0),
    )?)
}

pub fn terminate_billing_profile(tx: &WriteTx<'_>, id: i64, now: i64) -> DbResult<()> {
    tx.sql().execute(
        "UPDATE billing_profiles SET status = 'terminated', modify_timestamp = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// The first start's default billing profile, id 1, owned by the root.
pub fn seed_default_billing_profile(tx: &WriteTx<'_>, now: i64) -> DbResult<()> {
    tx.sql().execute(
        "INSERT OR IGNORE INTO billing_profiles
             (id, reseller_id, handle, name, create_timestamp, modify_timestamp)
         VALUES (1, 1, 'default', 'Default Billing Profile', ?1, ?1)",
        [now],
    )?;
    Ok(())
}

/// A domain's id and reseller, by name.
pub fn domain_by_name(conn: &Conn<'_>, name: &str) -> DbResult<Option<(i64, i64)>> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT id, coalesce(customer_id, 1) FROM domains WHERE name = ?")?
        .query_row([name], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// A domain's name and reseller, by id.
pub fn domain(conn: &Conn<'_>, id: i64) -> DbResult<Option<(String, i64)>> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT name, coalesce(customer_id, 1) FROM domains WHERE id = ?")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

pub fn insert_domain(tx: &WriteTx<'_>, name: &str, reseller_id: i64, now: i64) -> DbResult<i64> {
    tx.sql().execute(
        "INSERT INTO domains (name, customer_id, created_on) VALUES (?1, ?2, ?3)",
        params![name, reseller_id, now],
    )?;
    Ok(tx.sql().last_insert_rowid())
}

pub fn domain_users(conn: &Conn<'_>, id: i64) -> DbResult<i64> {
    Ok(conn.sql().query_row(
        "SELECT count(*) FROM subscribers WHERE domain_id = ?",
        [id],
        |r| r.get(0),
    )?)
}

pub fn delete_domain(tx: &WriteTx<'_>, id: i64) -> DbResult<()> {
    tx.sql().execute("DELETE FROM domains WHERE id = ?", [id])?;
    Ok(())
}

/// A login's role and customer (None for a subscriber's login).
pub fn login(conn: &Conn<'_>, id: i64) -> DbResult<Option<(String, String, Option<i64>)>> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT login, role, customer_id FROM logins WHERE id = ?")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?)
}

pub fn delete_login(tx: &WriteTx<'_>, id: i64) -> DbResult<()> {
    tx.sql().execute("DELETE FROM logins WHERE id = ?", [id])?;
    Ok(())
}

/// How many subscribers a customer has.
pub fn subscriber_count(conn: &Conn<'_>, customer_id: i64) -> DbResult<i64> {
    Ok(conn.sql().query_row(
        "SELECT count(*) FROM subscribers WHERE customer_id = ?",
        [customer_id],
        |r| r.get(0),
    )?)
}

/// Whether another subscriber has this user name (or web user name) in the domain.
pub fn subscriber_name_taken(
    conn: &Conn<'_>,
    column: &'static str,
    name: &str,
    domain_id: Option<i64>,
    except: Option<i64>,
) -> DbResult<bool> {
    let sql = format!(
        "SELECT 1 FROM subscribers WHERE {column} = ?1 AND ifnull(domain_id, 0) = ifnull(?2, 0) \
         AND id IS NOT ?3"
    );
    Ok(conn
        .sql()
        .prepare_cached(&sql)?
        .exists(params![name, domain_id, except])?)
}

/// The subscriber a number belongs to, if any.
pub fn number_owner(conn: &Conn<'_>, number: &str) -> DbResult<Option<Option<i64>>> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT subscriber_id FROM numbers WHERE number = ?")?
        .query_row([number], |r| r.get(0))
        .optional()?)
}

/// A number as C5 writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number {
    pub cc: String,
    pub ac: String,
    pub sn: String,
}

impl Number {
    pub fn full(&self) -> String {
        format!("{}{}{}", self.cc, self.ac, self.sn)
    }
}

/// Replaces a subscriber's numbers: the primary one (if any) and the aliases, in order. Numbers
/// that stay keep their ids.
pub fn replace_numbers(
    tx: &WriteTx<'_>,
    subscriber_id: i64,
    primary: Option<&Number>,
    aliases: &[Number],
) -> DbResult<()> {
    let mut wanted: Vec<(String, &Number, bool)> = Vec::new();
    if let Some(p) = primary {
        wanted.push((p.full(), p, true));
    }
    wanted.extend(aliases.iter().map(|a| (a.full(), a, false)));
    let keep: Vec<&str> = wanted.iter().map(|(n, _, _)| n.as_str()).collect();
    let existing: Vec<String> = tx
        .sql()
        .prepare_cached("SELECT number FROM numbers WHERE subscriber_id = ?")?
        .query_map([subscriber_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for gone in existing.iter().filter(|n| !keep.contains(&n.as_str())) {
        tx.sql()
            .execute("DELETE FROM numbers WHERE number = ?", [gone])?;
    }
    for (full, n, is_primary) in &wanted {
        tx.sql().execute(
            "INSERT INTO numbers (subscriber_id, number, is_primary, cc, ac, sn)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(number) DO UPDATE SET is_primary = excluded.is_primary",
            params![subscriber_id, full, is_primary, n.cc, n.ac, n.sn],
        )?;
    }
    Ok(())
}

/// Terminates every subscriber of a customer (C5: terminating a customer terminates them).
pub fn delete_subscribers_of(tx: &WriteTx<'_>, customer_id: i64) -> DbResult<usize> {
    // Sippy gives each account a contact of its own; it goes with the account.
    let contacts: Vec<i64> = tx
        .sql()
        .prepare_cached(
            "SELECT contact_id FROM subscribers WHERE customer_id = ? AND contact_id IS NOT NULL",
        )?
        .query_map([customer_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let gone = tx.sql().execute(
        "DELETE FROM subscribers WHERE customer_id = ?",
        [customer_id],
    )?;
    for contact in contacts {
        tx.sql().execute(
            "DELETE FROM contacts WHERE id = ?1 AND kind = 'customer'
               AND NOT EXISTS (SELECT 1 FROM customers WHERE contact_id = ?1)
               AND NOT EXISTS (SELECT 1 FROM subscribers WHERE contact_id = ?1)",
            [contact],
        )?;
    }
    Ok(gone)
}

/// Gives a new customer its generated name, `customer-<id>`.
pub fn name_contract(tx: &WriteTx<'_>, id: i64) -> DbResult<()> {
    tx.sql().execute(
        "UPDATE customers SET name = 'customer-' || id WHERE id = ?",
        [id],
    )?;
    Ok(())
}

//! SQL for call forwarding: rules and their destinations, read for a whole page of subscribers
//! with a fixed number of queries.

use std::collections::BTreeMap;

use rusqlite::params;
use rusqlite::types::Value;

use super::{Conn, DbError, DbResult, WriteTx};
use crate::core::forwarding::{Destination, ForwardRule, PartySet, TimeEntry};

fn id_list(ids: &[i64]) -> (String, Vec<Value>) {
    (
        vec!["?"; ids.len()].join(", "),
        ids.iter().map(|id| Value::Integer(*id)).collect(),
    )
}

/// Each subscriber's SIP domain name (None: no domain, as Sippy accounts have).
pub fn domains(conn: &Conn<'_>, ids: &[i64]) -> DbResult<Vec<(i64, Option<String>)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let (marks, args) = id_list(ids);
    let sql = format!(
        "SELECT s.id, d.name FROM subscribers s LEFT JOIN domains d ON d.id = s.domain_id \
         WHERE s.id IN ({marks})"
    );
    let mut stmt = conn.sql().prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn json_list(text: Option<String>, column: &str) -> DbResult<Option<Vec<String>>> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| DbError::Corrupt(format!("{column}: {e}"))))
        .transpose()
}

fn party_set(entries: Option<Vec<String>>, mode: Option<&str>, is_regex: bool) -> Option<PartySet> {
    entries.map(|entries| PartySet {
        entries,
        whitelist: mode == Some("whitelist"),
        is_regex,
    })
}

/// The rules of the subscribers `ids`: (subscriber id, type, rule). Two queries in all.
pub fn rules(conn: &Conn<'_>, ids: &[i64]) -> DbResult<Vec<(i64, String, ForwardRule)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let (marks, args) = id_list(ids);
    let sql = format!(
        "SELECT id, subscriber_id, kind, times, sources, sources_mode, sources_is_regex, bnumbers, \
         bnumbers_mode, bnumbers_is_regex FROM forward_rules WHERE subscriber_id IN ({marks}) \
         ORDER BY subscriber_id, id"
    );
    let mut stmt = conn.sql().prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args.clone()))?;
    let mut by_rule: BTreeMap<i64, (i64, String, ForwardRule)> = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let times: Option<Vec<BTreeMap<String, String>>> = r
            .get::<_, Option<String>>(3)?
            .map(|t| serde_json::from_str(&t).map_err(|e| DbError::Corrupt(format!("times: {e}"))))
            .transpose()?;
        let rule = ForwardRule {
            destinations: Vec::new(),
            times: times.map(|ts| ts.into_iter().map(|parts| TimeEntry { parts }).collect()),
            sources: party_set(
                json_list(r.get(4)?, "sources")?,
                r.get::<_, Option<String>>(5)?.as_deref(),
                r.get(6)?,
            ),
            bnumbers: party_set(
                json_list(r.get(7)?, "bnumbers")?,
                r.get::<_, Option<String>>(8)?.as_deref(),
                r.get(9)?,
            ),
        };
        by_rule.insert(r.get(0)?, (r.get(1)?, r.get(2)?, rule));
    }
    let sql = format!(
        "SELECT d.rule_id, d.destination, d.priority, d.timeout, d.announcement_id \
         FROM forward_destinations d JOIN forward_rules f ON f.id = d.rule_id \
         WHERE f.subscriber_id IN ({marks}) ORDER BY d.rule_id, d.position"
    );
    let mut stmt = conn.sql().prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        let rule_id: i64 = r.get(0)?;
        if let Some((_, _, rule)) = by_rule.get_mut(&rule_id) {
            rule.destinations.push(Destination {
                destination: r.get(1)?,
                priority: r.get(2)?,
                timeout: r.get(3)?,
                announcement_id: r.get(4)?,
            });
        }
    }
    Ok(by_rule.into_values().collect())
}

fn set_json(set: Option<&PartySet>) -> (Option<String>, Option<&'static str>, bool) {
    match set {
        Some(s) => (
            Some(serde_json::json!(s.entries).to_string()),
            Some(if s.whitelist {
                "whitelist"
            } else {
                "blacklist"
            }),
            s.is_regex,
        ),
        None => (None, None, false),
    }
}

/// Replaces a subscriber's rules with `rules`; types not in it are removed.
pub fn replace(
    tx: &WriteTx<'_>,
    subscriber_id: i64,
    rules: &BTreeMap<String, ForwardRule>,
) -> DbResult<()> {
    tx.sql().execute(
        "DELETE FROM forward_rules WHERE subscriber_id = ?",
        [subscriber_id],
    )?;
    for (kind, rule) in rules {
        insert_rule(tx, subscriber_id, kind, rule)?;
    }
    Ok(())
}

/// Changes only the types in `changes`: a rule replaces that type's, None removes it.
pub fn replace_kinds(
    tx: &WriteTx<'_>,
    subscriber_id: i64,
    changes: &BTreeMap<String, Option<ForwardRule>>,
) -> DbResult<()> {
    let mut delete = tx
        .sql()
        .prepare_cached("DELETE FROM forward_rules WHERE subscriber_id = ? AND kind = ?")?;
    for (kind, rule) in changes {
        delete.execute(params![subscriber_id, kind])?;
        if let Some(rule) = rule {
            insert_rule(tx, subscriber_id, kind, rule)?;
        }
    }
    Ok(())
}

fn insert_rule(
    tx: &WriteTx<'_>,
    subscriber_id: i64,
    kind: &str,
    rule: &ForwardRule,
) -> DbResult<()> {
    let times = rule.times.as_ref().map(|ts| {
        serde_json::Value::Array(ts.iter().map(|t| serde_json::json!(t.parts)).collect())
            .to_string()
    });
    let (sources, sources_mode, sources_regex) = set_json(rule.sources.as_ref());
    let (bnumbers, bnumbers_mode, bnumbers_regex) = set_json(rule.bnumbers.as_ref());
    tx.sql()
        .prepare_cached(
            "INSERT INTO forward_rules (subscriber_id, kind, times, sources, sources_mode, \
         sources_is_regex, bnumbers, bnumbers_mode, bnumbers_is_regex) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            subscriber_id,
            kind,
            times,
            sources,
            sources_mode,
            sources_regex,
            bnumbers,
            bnumbers_mode,
            bnumbers_regex
        ])?;
    let rule_id = tx.sql().last_insert_rowid();
    let mut stmt = tx.sql().prepare_cached(
        "INSERT INTO forward_destinations (rule_id, position, destination, priority, timeout, \
         announcement_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (position, d) in rule.destinations.iter().enumerate() {
        stmt.execute(params![
            rule_id,
            i64::try_from(position).unwrap_or(i64::MAX),
            d.destination,
            d.priority,
            d.timeout,
            d.announcement_id
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use rusqlite::Connection;
    use rusqlite::trace::{TraceEvent, TraceEventCodes};

    use super::*;
    use crate::db::{Conn, WriteTx, migrations};

    static STATEMENTS: AtomicUsize = AtomicUsize::new(0);

    #[allow(clippy::needless_pass_by_value)] // the signature rusqlite calls back with
    fn count(event: TraceEvent<'_>) {
        if let TraceEvent::Stmt(..) = event {
            STATEMENTS.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn destinations(n: usize) -> Vec<Destination> {
        (0..n)
            .map(|i| Destination {
                destination: format!("sip:{i}@example.com"),
                priority: 1,
                timeout: 30,
                announcement_id: None,
            })
            .collect()
    }

    /// Reading forwarding costs the same number of statements for one destination or a hundred,
    /// for one subscriber or ten: no query per rule, destination or subscriber.
    #[test]
    fn reading_forwarding_costs_a_fixed_number_of_statements() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrations().to_latest(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO customers (id, parent_id, path, name, created_on, updated_on)
                 VALUES (1, NULL, '/1/', 'root', 0, 0);
             INSERT INTO domains (id, name, created_on) VALUES (1, 'example.com', 0);",
        )
        .unwrap();
        for id in 1..=10 {
            conn.execute(
                "INSERT INTO subscribers (id, customer_id, domain_id, username, billing_plan_id,
                     time_zone_id, created_on, created_by, updated_on, updated_by)
                 VALUES (?1, 1, 1, 'u' || ?1, 1, 1, 0, 't', 0, 't')",
                [id],
            )
            .unwrap();
        }
        let statements_for = |conn: &mut Connection, per_rule: usize, ids: &[i64]| {
            for id in ids {
                // 7 types: per_rule destinations each (100 in all for per_rule 15, minus 5).
                let rules: BTreeMap<String, ForwardRule> = crate::core::forwarding::KINDS
                    .iter()
                    .map(|k| {
                        let rule = ForwardRule {
                            destinations: destinations(per_rule),
                            ..ForwardRule::default()
                        };
                        ((*k).to_string(), rule)
                    })
                    .collect();
                replace(&WriteTx(Conn(conn)), *id, &rules).unwrap();
            }
            conn.trace_v2(TraceEventCodes::SQLITE_TRACE_STMT, Some(count));
            let before = STATEMENTS.load(Ordering::SeqCst);
            let read = crate::core::forwarding::read_many(&Conn(conn), ids).unwrap();
            let used = STATEMENTS.load(Ordering::SeqCst) - before;
            conn.trace_v2(TraceEventCodes::empty(), None);
            assert_eq!(read.len(), ids.len());
            assert!(read.iter().all(|f| f.rules.len() == 7));
            used
        };
        let small = statements_for(&mut conn, 1, &[1]);
        let large = statements_for(&mut conn, 15, &[2]);
        let many = statements_for(&mut conn, 15, &(1..=10).collect::<Vec<_>>());
        assert_eq!(
            small, large,
            "100 destinations cost no more statements than 7"
        );
        assert_eq!(
            small, many,
            "ten subscribers cost no more statements than one"
        );
        assert_eq!(
            small, 4,
            "domains, rules, destinations, ring timeouts: {small} statements"
        );
    }
}

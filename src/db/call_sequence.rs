//! SQL for the rings of a call sequence that are switched off (the others are cft destinations).

use rusqlite::params;

use super::{Conn, DbResult, WriteTx};
use crate::core::call_sequence::{DisabledRing, Ring};

pub fn disabled_rings(conn: &Conn<'_>, subscriber_id: i64) -> DbResult<Vec<DisabledRing>> {
    let mut stmt = conn.sql().prepare_cached(
        "SELECT position, number, expiration, simultaneous FROM disabled_rings \
         WHERE subscriber_id = ? ORDER BY position",
    )?;
    let rows = stmt.query_map([subscriber_id], |r| {
        Ok(DisabledRing {
            position: r.get(0)?,
            ring: Ring {
                number: r.get(1)?,
                expiration: r.get(2)?,
                simultaneous: r.get(3)?,
                enabled: false,
            },
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn replace_disabled(
    tx: &WriteTx<'_>,
    subscriber_id: i64,
    rings: &[DisabledRing],
) -> DbResult<()> {
    tx.sql().execute(
        "DELETE FROM disabled_rings WHERE subscriber_id = ?",
        [subscriber_id],
    )?;
    let mut insert = tx.sql().prepare_cached(
        "INSERT INTO disabled_rings (subscriber_id, position, number, expiration, simultaneous) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for d in rings {
        insert.execute(params![
            subscriber_id,
            d.position,
            d.ring.number,
            d.ring.expiration,
            d.ring.simultaneous
        ])?;
    }
    Ok(())
}

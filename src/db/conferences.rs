//! SQL for conferences.

use rusqlite::{OptionalExtension, params};

use super::{Conn, DbResult, WriteTx};
use crate::core::conferences::Conference;

const COLUMNS: &str = "subscriber_id, name, enabled, description, extension, access_code, \
     moderator_code, autorecorded, quickstart, video, send_active_video_only, max_members, moh, \
     moderated_room, public_room, locked";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Conference)> {
    Ok((
        r.get(0)?,
        Conference {
            name: r.get(1)?,
            enabled: r.get(2)?,
            description: r.get(3)?,
            extension: r.get(4)?,
            access_code: r.get(5)?,
            moderator_code: r.get(6)?,
            autorecorded: r.get(7)?,
            quickstart: r.get(8)?,
            video: r.get(9)?,
            send_active_video_only: r.get(10)?,
            max_members: r.get(11)?,
            moh: r.get(12)?,
            moderated_room: r.get(13)?,
            public_room: r.get(14)?,
            locked: r.get(15)?,
        },
    ))
}

/// The conference `name` and its owner.
pub fn by_name(conn: &Conn<'_>, name: &str) -> DbResult<Option<(i64, Conference)>> {
    let sql = format!("SELECT {COLUMNS} FROM conferences WHERE name = ?");
    Ok(conn
        .sql()
        .prepare_cached(&sql)?
        .query_row([name], row)
        .optional()?)
}

pub fn of_owner(conn: &Conn<'_>, subscriber_id: i64) -> DbResult<Vec<Conference>> {
    let sql = format!("SELECT {COLUMNS} FROM conferences WHERE subscriber_id = ? ORDER BY name");
    let mut stmt = conn.sql().prepare_cached(&sql)?;
    let rows = stmt.query_map([subscriber_id], row)?;
    rows.map(|r| Ok(r?.1)).collect()
}

pub fn count_of_owner(conn: &Conn<'_>, subscriber_id: i64) -> DbResult<i64> {
    Ok(conn
        .sql()
        .prepare_cached("SELECT count(*) FROM conferences WHERE subscriber_id = ?")?
        .query_row([subscriber_id], |r| r.get(0))?)
}

pub fn upsert(tx: &WriteTx<'_>, subscriber_id: i64, c: &Conference) -> DbResult<()> {
    let sql = format!(
        "INSERT INTO conferences ({COLUMNS}) VALUES \
         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) \
         ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, \
         description = excluded.description, extension = excluded.extension, \
         access_code = excluded.access_code, moderator_code = excluded.moderator_code, \
         autorecorded = excluded.autorecorded, quickstart = excluded.quickstart, \
         video = excluded.video, send_active_video_only = excluded.send_active_video_only, \
         max_members = excluded.max_members, moh = excluded.moh, \
         moderated_room = excluded.moderated_room, public_room = excluded.public_room"
    );
    tx.sql().prepare_cached(&sql)?.execute(params![
        subscriber_id,
        c.name,
        c.enabled,
        c.description,
        c.extension,
        c.access_code,
        c.moderator_code,
        c.autorecorded,
        c.quickstart,
        c.video,
        c.send_active_video_only,
        c.max_members,
        c.moh,
        c.moderated_room,
        c.public_room,
        c.locked
    ])?;
    Ok(())
}

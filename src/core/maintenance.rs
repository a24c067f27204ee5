//! Whole-database maintenance for the operator: backups and restores, on a data directory rather
//! than through a running core. A backup only reads, so like other reads it writes no audit row.
//! A restore replaces every row at once, so the restored database records it: its audit row is
//! written in the copy before the copy is put in place.

use std::path::Path;

use serde_json::json;

use super::actor::Actor;
use super::audit::{self, Entry, Event, Outcome};
use crate::clock::Clock;
use crate::db;
pub use crate::db::backup::{MaintenanceError, Restored, Summary};

/// Copies the data directory's database to `to` (see [`db::backup::backup`]); safe while the
/// server runs.
pub fn backup(data_dir: &Path, to: &Path, overwrite: bool) -> Result<Summary, MaintenanceError> {
    db::backup::backup(&data_dir.join(db::DB_FILE), to, overwrite)
}

/// Puts the backup `from` in place in `data_dir` (see [`db::backup::restore`]), audited as
/// `actor`. The database it replaces is kept beside it, named after the time of the restore.
pub fn restore(
    data_dir: &Path,
    from: &Path,
    actor: &Actor,
    clock: &dyn Clock,
) -> Result<Restored, MaintenanceError> {
    let now = clock.now_millis();
    let source = std::path::absolute(from).unwrap_or_else(|_| from.to_path_buf());
    db::backup::restore(data_dir, from, &aside_suffix(now), |tx, read| {
        let detail = json!({
            "from": source.display().to_string(),
            "schema_version": read.schema_version,
            "customers": read.customers,
            "accounts": read.accounts,
        })
        .to_string();
        let entry = Entry {
            event: Event::DatabaseRestored,
            outcome: Outcome::Ok,
            target: "database",
            detail: &detail,
        };
        audit::record(tx, actor, now, &entry)
    })
}

/// `20261123T125000Z`: when the replaced database was set aside, readable in a directory listing.
fn aside_suffix(millis: i64) -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| millis.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aside_suffix_is_a_utc_timestamp() {
        assert_eq!(aside_suffix(1_795_438_200_000), "20261123T125000Z");
    }
}

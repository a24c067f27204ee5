//! Starting on a data directory that cannot be used: read-only, full, or holding a database that
//! is corrupt or not switchyard's. Each case is refused before anything is written, with a message
//! that says what the operator can do and an exit code of its own (`main` maps them), and the
//! database file is never touched: no migration, no repair, no new WAL.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::db::DbError;

/// How much the start-up probe writes: SQLite needs room for its WAL and shared-memory index
/// before the first write succeeds, so a directory with less is as good as full.
const PROBE_BYTES: usize = 256 * 1024;
const PROBE_FILE: &str = ".switchyard-write-probe";

/// Why the data directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error(
        "the data directory {0} is read-only ({1}): switchyard needs to write its database there; \
         remount it read-write or give the service user write access, then start again"
    )]
    ReadOnly(PathBuf, std::io::Error),
    #[error(
        "no space left on the file system of the data directory {0}: free some space there \
         (switchyard needs at least {kib} KiB to open its database) and start again; nothing \
         was changed",
        kib = PROBE_BYTES / 1024
    )]
    NoSpace(PathBuf),
    #[error(
        "the database {0} is not a SQLite database or is corrupt ({1}); it was left untouched: \
         restore a backup with `switchyard restore`"
    )]
    Corrupt(PathBuf, String),
    #[error(
        "the database {0} is a SQLite database but not switchyard's (it holds tables switchyard \
         did not make); it was left untouched: point --data-dir at switchyard's data directory, \
         or move the file away"
    )]
    Foreign(PathBuf),
}

impl DataDirError {
    /// The process exit code, from sysexits.h so scripts and systemd can tell the cases apart:
    /// 65 (EX_DATAERR) bad database, 73 (EX_CANTCREAT) read-only, 74 (EX_IOERR) no space.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Corrupt(..) | Self::Foreign(_) => 65,
            Self::ReadOnly(..) => 73,
            Self::NoSpace(_) => 74,
        }
    }

    fn from_io(dir: &Path, e: std::io::Error) -> Option<Self> {
        match e.kind() {
            std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied => {
                Some(Self::ReadOnly(dir.to_path_buf(), e))
            }
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
                Some(Self::NoSpace(dir.to_path_buf()))
            }
            _ => None,
        }
    }

    /// The cases a failed `Db::open` can be; other failures keep their own message.
    pub fn from_db(dir: &Path, db: &Path, e: &DbError) -> Option<Self> {
        use rusqlite::ErrorCode;
        if e.is_full() {
            return Some(Self::NoSpace(dir.to_path_buf()));
        }
        match e {
            DbError::Damaged(detail) => Some(Self::Corrupt(db.to_path_buf(), detail.clone())),
            DbError::Foreign => Some(Self::Foreign(db.to_path_buf())),
            DbError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => match f.code {
                ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => {
                    Some(Self::Corrupt(db.to_path_buf(), e.to_string()))
                }
                ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied => Some(
                    Self::ReadOnly(dir.to_path_buf(), std::io::Error::other(e.to_string())),
                ),
                _ => None,
            },
            _ => None,
        }
    }
}

/// Creates the data directory if it is missing, then proves it takes writes: a probe file of
/// [`PROBE_BYTES`] is written, synced and removed. The database is not touched.
pub fn prepare(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| match DataDirError::from_io(dir, e) {
                Some(refused) => anyhow::Error::new(refused),
                None => anyhow::anyhow!("cannot create the data directory {}", dir.display()),
            })?;
    }
    let probe = dir.join(PROBE_FILE);
    let written = std::fs::File::create(&probe).and_then(|mut f| {
        f.write_all(&vec![0u8; PROBE_BYTES])?;
        f.sync_all()
    });
    // Removed whatever happened, so a failed probe leaves no half-written file behind.
    let _ = std::fs::remove_file(&probe);
    written.map_err(|e| {
        let detail = e.to_string();
        match DataDirError::from_io(dir, e) {
            Some(refused) => anyhow::Error::new(refused),
            None => anyhow::anyhow!("{detail}").context(format!(
                "cannot write in the data directory {}",
                dir.display()
            )),
        }
    })
}

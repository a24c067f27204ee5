//! Whole-database copies: an online backup of the live database, and a restore that puts such a
//! copy back. Both copy with SQLite's backup API in a single step, which reads one consistent
//! snapshot: in WAL mode the server's writer carries on meanwhile, and every transaction committed
//! before the copy started is in it.
//!
//! Neither ever leaves a half-written file under its final name: the copy is written to a
//! temporary file beside its destination, checked, synced and only then renamed into place. A
//! restore keeps the database it replaces (as `switchyard.db.replaced-<time>`), and refuses while a
//! server holds the data directory's lock.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::lock::{DataDirLock, LockError};
use super::{BUSY_TIMEOUT, Conn, DB_FILE, DbError, DbResult, WriteTx};

/// Tables every switchyard database has had since the first migration.
const REQUIRED_TABLES: [&str; 6] = [
    "customers",
    "subscribers",
    "logins",
    "trusted_hosts",
    "settings",
    "audit_log",
];
/// Files in the data directory that describe one particular database, set aside with it.
const SET_ASIDE_WITH_DB: [&str; 1] = ["root-password"];

#[derive(Debug, thiserror::Error)]
pub enum MaintenanceError {
    #[error("no switchyard database in {0}: start `switchyard serve` once, or pass --data-dir")]
    NoDatabase(PathBuf),
    #[error("{0} already exists: choose another file, or pass --overwrite to replace it")]
    Exists(PathBuf),
    #[error("{0} is one of the live database's own files: choose a file outside them")]
    OwnFile(PathBuf),
    #[error("{path} is not a switchyard database: {reason}")]
    NotSwitchyard { path: PathBuf, reason: String },
    #[error("{path} is damaged ({detail}): nothing was changed")]
    Damaged { path: PathBuf, detail: String },
    #[error(
        "{path} has schema version {found}, newer than this switchyard knows ({known}): use the \
         release that wrote it, or a newer one"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("{0}: stop the server first (e.g. `systemctl stop switchyard`), then restore")]
    InUse(LockError),
    #[error(transparent)]
    Lock(LockError),
    #[error("{0} stayed locked by another process for too long: nothing was changed; try again")]
    Busy(PathBuf),
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Db(#[from] DbError),
}

type Result<T> = std::result::Result<T, MaintenanceError>;

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> MaintenanceError {
    let path = path.to_path_buf();
    move |source| MaintenanceError::Io {
        action,
        path,
        source,
    }
}

fn sql(path: &Path) -> impl FnOnce(rusqlite::Error) -> MaintenanceError {
    let path = path.to_path_buf();
    move |source| MaintenanceError::Sqlite { path, source }
}

/// What a database holds, as counted after a backup or a restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub schema_version: i64,
    pub customers: i64,
    pub accounts: i64,
    pub audit_rows: i64,
}

/// The outcome of a restore.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The backup as it was read, before any upgrade.
    pub from: Summary,
    /// The database now in place (upgraded to the current schema, with the restore's audit row).
    pub now: Summary,
    /// Where the database that was replaced now lives, if there was one.
    pub replaced: Option<PathBuf>,
}

/// Removes a temporary file unless it was renamed into place.
struct TempFile(Option<PathBuf>);

impl TempFile {
    fn create(path: PathBuf) -> Result<Self> {
        // The copy holds password digests: private from the first byte.
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io("create", &path))?;
        Ok(Self(Some(path)))
    }

    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }

    /// Syncs the file and renames it to `dest`, then syncs the directory so the rename is durable.
    fn persist(mut self, dest: &Path) -> Result<()> {
        let path = self.0.take().unwrap_or_default();
        let synced = File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(io("sync", &path));
        if let Err(e) = synced.and_then(|()| fs::rename(&path, dest).map_err(io("rename", dest))) {
            let _ = fs::remove_file(&path);
            return Err(e);
        }
        sync_parent(dest)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(&path);
            for side in ["-journal", "-wal", "-shm"] {
                let _ = fs::remove_file(with_suffix(&path, side));
            }
        }
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// Whether `a` and `b` name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// Whether `path` is the database at `db_path` or one of its companions (`-wal`, `-shm`,
/// `-journal`): a backup written there would replace the live database under the server.
fn is_database_file(path: &Path, db_path: &Path) -> bool {
    let (Some(name), Ok(dir), Ok(db_dir)) = (
        path.file_name(),
        parent_dir(path).canonicalize(),
        parent_dir(db_path).canonicalize(),
    ) else {
        return false;
    };
    let db_name = db_path.file_name().unwrap_or_default().to_string_lossy();
    let name = name.to_string_lossy();
    dir == db_dir
        && (name == db_name
            || ["-wal", "-shm", "-journal"]
                .iter()
                .any(|s| name == format!("{db_name}{s}")))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn sync_parent(path: &Path) -> Result<()> {
    let dir = parent_dir(path);
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("sync", dir))
}

/// Refuses, with a plain reason, a file that is not an SQLite database at all.
fn check_header(path: &Path) -> Result<()> {
    let mut head = [0u8; 16];
    let mut file = File::open(path).map_err(io("read", path))?;
    let read = file.read(&mut head).map_err(io("read", path))?;
    if read < head.len() || &head != b"SQLite format 3\0" {
        return Err(MaintenanceError::NotSwitchyard {
            path: path.to_path_buf(),
            reason: "it is not an SQLite database".into(),
        });
    }
    Ok(())
}

/// Copies the whole of `from`'s main database into `to` in one step: one read transaction, so
/// the copy is a consistent snapshot however busy the writer is.
fn copy(from: &Connection, to: &mut Connection, path: &Path) -> Result<()> {
    let backup = Backup::new(from, to).map_err(sql(path))?;
    loop {
        // -1: every page at once. Lock waits happen inside, under the source's busy timeout.
        match backup.step(-1).map_err(sql(path))? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            // Busy or locked for longer than the busy timeout.
            _ => return Err(MaintenanceError::Busy(path.to_path_buf())),
        }
    }
}

/// Checks that `conn` holds an intact switchyard database this binary can open, and counts it.
fn check(conn: &Connection, path: &Path) -> Result<Summary> {
    let damaged = |detail: String| MaintenanceError::Damaged {
        path: path.to_path_buf(),
        detail,
    };
    let problems: Vec<String> = conn
        .prepare("PRAGMA integrity_check(5)")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| damaged(e.to_string()))?;
    if problems != ["ok"] {
        return Err(damaged(problems.join("; ")));
    }
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sql(path))?;
    let known = super::schema_version();
    if version > known {
        return Err(MaintenanceError::TooNew {
            path: path.to_path_buf(),
            found: version,
            known,
        });
    }
    let mut missing = Vec::new();
    for table in REQUIRED_TABLES {
        let found: bool = conn
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = ?",
                [table],
                |r| r.get(0),
            )
            .map_err(sql(path))?;
        if !found {
            missing.push(table);
        }
    }
    if version < 1 || !missing.is_empty() {
        return Err(MaintenanceError::NotSwitchyard {
            path: path.to_path_buf(),
            reason: if missing.is_empty() {
                "it has no schema version".into()
            } else {
                format!("it has no {} table", missing.join(", "))
            },
        });
    }
    let orphans: Option<String> = conn
        .query_row("SELECT \"table\" FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(sql(path))?;
    if let Some(table) = orphans {
        return Err(damaged(format!("rows in {table} point at missing rows")));
    }
    summarize(conn, path)
}

fn summarize(conn: &Connection, path: &Path) -> Result<Summary> {
    let count = |table: &str| -> Result<i64> {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .map_err(sql(path))
    };
    Ok(Summary {
        schema_version: conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sql(path))?,
        customers: count("customers")?,
        accounts: count("subscribers")?,
        audit_rows: count("audit_log")?,
    })
}

fn open_copy(path: &Path) -> Result<Connection> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql(path))
}

/// Copies the database at `db_path` to `dest` while the server may be writing to it. The copy is
/// one self-contained file (no WAL beside it), mode 0600, checked before it takes `dest`'s name.
/// `dest` is replaced only when `overwrite` is set. The live database is only read.
pub fn backup(db_path: &Path, dest: &Path, overwrite: bool) -> Result<Summary> {
    if !db_path.is_file() {
        return Err(MaintenanceError::NoDatabase(
            parent_dir(db_path).to_path_buf(),
        ));
    }
    if dest.is_dir() {
        return Err(MaintenanceError::Io {
            action: "write the backup to",
            path: dest.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::IsADirectory, "it is a directory"),
        });
    }
    if is_database_file(dest, db_path) {
        return Err(MaintenanceError::OwnFile(dest.to_path_buf()));
    }
    if dest.exists() && !overwrite {
        return Err(MaintenanceError::Exists(dest.to_path_buf()));
    }
    let Some(name) = dest.file_name() else {
        return Err(MaintenanceError::Exists(dest.to_path_buf()));
    };
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".partial-{}", std::process::id()));
    let tmp = TempFile::create(parent_dir(dest).join(tmp_name))?;

    // Read-write only so that SQLite may use the WAL index as any reader does; query_only
    // guarantees this connection never changes the live database.
    let source = open_copy(db_path)?;
    source.busy_timeout(BUSY_TIMEOUT).map_err(sql(db_path))?;
    source
        .pragma_update(None, "query_only", "ON")
        .map_err(sql(db_path))?;
    let mut copy_conn = open_copy(tmp.path())?;
    copy(&source, &mut copy_conn, db_path)?;
    drop(source);
    copy_conn
        .pragma_update_and_check(None, "journal_mode", "DELETE", |_| Ok(()))
        .map_err(sql(dest))?;
    let summary = check(&copy_conn, dest)?;
    drop(copy_conn);
    tmp.persist(dest)?;
    Ok(summary)
}

/// Puts the backup `from` in place as the database of `data_dir`. Refuses while a server runs on
/// the directory. The backup is copied beside the live database, checked (integrity, foreign keys,
/// schema), upgraded to this release's schema, given `stamp`'s audit row, synced, and only then
/// renamed over the old database in one step, so the directory holds either the old database or
/// the whole new one. The old database is kept under `switchyard.db.replaced-<aside_suffix>`.
pub fn restore<F>(data_dir: &Path, from: &Path, aside_suffix: &str, stamp: F) -> Result<Restored>
where
    F: FnOnce(&WriteTx<'_>, &Summary) -> DbResult<()>,
{
    if !from.is_file() {
        return Err(MaintenanceError::Io {
            action: "read",
            path: from.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    check_header(from)?;
    if !data_dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data_dir)
            .map_err(io("create", data_dir))?;
    }
    let _lock = DataDirLock::acquire(data_dir, "restore").map_err(|e| match e {
        LockError::Held { .. } => MaintenanceError::InUse(e),
        other @ LockError::Io { .. } => MaintenanceError::Lock(other),
    })?;

    let db_path = data_dir.join(DB_FILE);
    let tmp_path = with_suffix(&db_path, ".restoring");
    if same_file(from, &tmp_path) {
        return Err(MaintenanceError::OwnFile(from.to_path_buf()));
    }
    // A restore that died part-way left this; the lock says no other restore is writing it.
    drop(TempFile(Some(tmp_path.clone())));
    let tmp = TempFile::create(tmp_path)?;
    let (read, now) = {
        let source = Connection::open_with_flags(
            from,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql(from))?;
        let mut conn = open_copy(tmp.path())?;
        copy(&source, &mut conn, from)?;
        drop(source);
        conn.pragma_update_and_check(None, "journal_mode", "DELETE", |_| Ok(()))
            .map_err(sql(from))?;
        let read = check(&conn, from)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql(from))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql(from))?;
        super::migrations()
            .to_latest(&mut conn)
            .map_err(DbError::from)?;
        conn.execute_batch("BEGIN IMMEDIATE").map_err(sql(from))?;
        if let Err(e) = stamp(&WriteTx(Conn(&conn)), &read) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e.into());
        }
        conn.execute_batch("COMMIT").map_err(sql(from))?;
        let now = summarize(&conn, from)?;
        (read, now)
    };
    super::lock::match_owner(tmp.path(), data_dir).map_err(io("set the owner of", tmp.path()))?;

    let replaced = if db_path.exists() {
        Some(set_aside(&db_path, aside_suffix)?)
    } else {
        None
    };
    tmp.persist(&db_path)?;
    // The restore has happened; a file that cannot be moved aside is worth a warning, not a
    // failure report.
    if let Some(aside) = &replaced {
        for name in SET_ASIDE_WITH_DB {
            let file = data_dir.join(name);
            if file.exists() {
                let target = with_suffix(&file, &aside_suffix_of(aside));
                if let Err(e) = fs::rename(&file, &target) {
                    tracing::warn!(file = %file.display(), error = %e, "could not set aside");
                }
            }
        }
    }
    Ok(Restored {
        from: read,
        now,
        replaced,
    })
}

/// The `.replaced-…` suffix an aside copy was given.
fn aside_suffix_of(aside: &Path) -> String {
    let name = aside
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.strip_prefix(DB_FILE).unwrap_or_default().to_string()
}

/// Keeps the current database under a new name (a hard link, so the original name still holds a
/// whole database until the restored one is renamed over it). Its WAL is folded in first where
/// possible, so the kept copy is one file; where not, the WAL moves with it.
fn set_aside(db_path: &Path, suffix: &str) -> Result<PathBuf> {
    if let Err(e) = open_copy(db_path).and_then(|c| {
        c.busy_timeout(BUSY_TIMEOUT).map_err(sql(db_path))?;
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(sql(db_path))?;
        c.pragma_update_and_check(None, "journal_mode", "DELETE", |_| Ok(()))
            .map_err(sql(db_path))
    }) {
        tracing::warn!(error = %e, "could not fold the old database's WAL in; keeping it beside");
    }
    let mut aside = with_suffix(db_path, &format!(".replaced-{suffix}"));
    let mut n = 1;
    while aside.exists() {
        n += 1;
        aside = with_suffix(db_path, &format!(".replaced-{suffix}-{n}"));
    }
    fs::hard_link(db_path, &aside).map_err(io("keep a copy of", db_path))?;
    for side in ["-wal", "-shm"] {
        let file = with_suffix(db_path, side);
        if file.exists() {
            fs::rename(&file, with_suffix(&aside, side)).map_err(io("set aside", &file))?;
        }
    }
    Ok(aside)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    async fn filled(dir: &Path) -> Db {
        let db = Db::open(&dir.join(DB_FILE), 2).unwrap();
        db.write(|tx| {
            tx.sql().execute(
                "INSERT INTO settings (key, value) VALUES ('marker', 'before backup')",
                [],
            )?;
            Ok::<_, DbError>(())
        })
        .await
        .unwrap();
        db
    }

    fn marker(path: &Path) -> Option<String> {
        let conn = Connection::open(path).unwrap();
        conn.query_row("SELECT value FROM settings WHERE key = 'marker'", [], |r| {
            r.get(0)
        })
        .ok()
    }

    #[tokio::test]
    async fn backup_is_one_checked_private_file_and_never_overwrites_unasked() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let _db = filled(dir.path()).await;
        let dest = dir.path().join("copy.db");
        let summary = backup(&dir.path().join(DB_FILE), &dest, false).unwrap();
        assert_eq!(summary.schema_version, crate::db::schema_version());
        assert_eq!(marker(&dest).as_deref(), Some("before backup"));
        assert!(!with_suffix(&dest, "-wal").exists(), "self-contained");
        let mode = fs::metadata(&dest).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        let err = backup(&dir.path().join(DB_FILE), &dest, false).unwrap_err();
        assert!(matches!(err, MaintenanceError::Exists(_)), "{err}");
        for own in [DB_FILE, "switchyard.db-wal"] {
            let err = backup(&dir.path().join(DB_FILE), &dir.path().join(own), true).unwrap_err();
            assert!(matches!(err, MaintenanceError::OwnFile(_)), "{err}");
        }
        backup(&dir.path().join(DB_FILE), &dest, true).unwrap();
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(std::result::Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains("partial"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[tokio::test]
    async fn restore_refuses_while_the_directory_is_locked_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let _db = filled(dir.path()).await;
        let copy_path = dir.path().join("copy.db");
        backup(&dir.path().join(DB_FILE), &copy_path, false).unwrap();
        let held = DataDirLock::acquire(dir.path(), "serve").unwrap();
        let before = fs::read(dir.path().join(DB_FILE)).unwrap();
        let err = restore(dir.path(), &copy_path, "t", |_, _| Ok(())).unwrap_err();
        assert!(matches!(err, MaintenanceError::InUse(_)), "{err}");
        assert!(err.to_string().contains("stop the server first"), "{err}");
        assert_eq!(fs::read(dir.path().join(DB_FILE)).unwrap(), before);
        drop(held);
    }

    #[test]
    fn restore_refuses_files_that_are_not_switchyard_databases() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let text = dir.path().join("notes.txt");
        fs::write(&text, "hello, this is not a database at all").unwrap();
        let err = restore(&data, &text, "t", |_, _| Ok(())).unwrap_err();
        assert!(err.to_string().contains("not an SQLite database"), "{err}");

        let other = dir.path().join("other.db");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE t (x); PRAGMA user_version = 1;")
            .unwrap();
        let err = restore(&data, &other, "t", |_, _| Ok(())).unwrap_err();
        assert!(
            err.to_string().contains("is not a switchyard database"),
            "{err}"
        );
        assert!(!data.join(DB_FILE).exists(), "nothing put in place");
        let names: Vec<_> = fs::read_dir(&data)
            .unwrap()
            .filter_map(std::result::Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![super::super::lock::LOCK_FILE.to_string()]);
    }

    #[tokio::test]
    async fn a_failing_stamp_leaves_the_old_database_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let db = filled(dir.path()).await;
        let copy_path = dir.path().join("copy.db");
        backup(&dir.path().join(DB_FILE), &copy_path, false).unwrap();
        drop(db);
        let err = restore(dir.path(), &copy_path, "t", |_, _| {
            Err(DbError::Corrupt("refused".into()))
        })
        .unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
        assert_eq!(
            marker(&dir.path().join(DB_FILE)).as_deref(),
            Some("before backup")
        );
        assert!(!with_suffix(&dir.path().join(DB_FILE), ".restoring").exists());
    }
}

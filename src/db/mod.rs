//! Storage: one `SQLite` file in WAL mode. Reads come from a pool of read-only connections, each on
//! a blocking thread. Writes go to a single writer thread that owns one connection and batches
//! whatever jobs are waiting into one transaction (group commit): one fsync serves the whole batch,
//! and each job runs inside its own savepoint so one job's failure undoes only that job.
//!
//! Only this module (and its children) speaks SQL; the core calls the functions here with
//! [`Conn`] (read) or [`WriteTx`] (write) handles.

pub mod accounts;
pub mod address_book;
pub mod audit;
pub mod auth_rules;
pub mod backup;
pub mod call_groups;
pub mod call_sequence;
pub mod calls;
pub mod click_to_call;
pub mod client_certs;
pub mod conferences;
pub mod contact_information;
pub mod contacts;
pub mod credentials;
pub mod customer_tree;
pub mod customers;
pub mod fields;
pub mod forwarding;
pub mod identity;
pub mod journal;
pub mod lock;
pub mod logins;
pub mod park_orbits;
pub mod phonebooks;
pub mod phones;
pub mod preferences;
pub mod private_keys;
pub mod records;
pub mod reference;
pub mod resources;
pub mod self_care;
pub mod sessions;
pub mod settings;
pub mod sipx_permissions;
pub mod sipx_users;
pub mod trusted_hosts;
pub mod vouchers;

use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags};
use rusqlite_migration::{M, Migrations};

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "switchyard.db";
/// The most jobs committed together in one transaction.
const MAX_BATCH: usize = 512;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database pool error: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("the database writer has stopped")]
    WriterGone,
    #[error("too many writes are waiting")]
    Busy,
    #[error("a database job panicked")]
    Panicked,
    /// SQLite rolled the whole transaction back after one job's storage failure (it does on a
    /// full disk or an I/O error), undoing the batch's other jobs too.
    #[error("the change was rolled back with its batch after a storage failure")]
    RolledBack,
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// Found when opening: SQLite's own check of the file failed.
    #[error("the database is corrupt: {0}")]
    Damaged(String),
    /// Found when opening: a SQLite database with tables but no switchyard schema version.
    #[error("the database holds tables but no switchyard schema")]
    Foreign,
    #[error(
        "the database has schema version {found}, newer than this switchyard knows ({known}): \
         it was written by a newer release; run that release, or restore a backup taken before \
         the upgrade"
    )]
    TooNew { found: i64, known: i64 },
}

impl DbError {
    /// True when the database refused a write because the disk or the page limit is full.
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Sqlite(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::DiskFull)
    }

    /// What failed underneath, when the storage itself did (not the request): a read-only file
    /// system, an I/O error, a corrupt page.
    pub fn failure(&self) -> Option<&'static str> {
        use rusqlite::ErrorCode;
        if matches!(self, Self::RolledBack) {
            return Some("the write batch was rolled back after a storage failure");
        }
        let Self::Sqlite(rusqlite::Error::SqliteFailure(e, _)) = self else {
            return None;
        };
        match e.code {
            ErrorCode::ReadOnly => Some("the database has become read-only"),
            ErrorCode::SystemIoFailure => Some("an I/O error"),
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => Some("the database is corrupt"),
            _ => None,
        }
    }
}

pub type DbResult<T> = Result<T, DbError>;

/// A connection to read from, inside a read job or a write transaction.
pub struct Conn<'a>(&'a Connection);

impl Conn<'_> {
    pub(crate) fn sql(&self) -> &Connection {
        self.0
    }
}

/// A connection inside the writer's open transaction. Write functions take this type, so they
/// cannot be called from a read job.
pub struct WriteTx<'a>(Conn<'a>);

impl<'a> Deref for WriteTx<'a> {
    type Target = Conn<'a>;
    fn deref(&self) -> &Conn<'a> {
        &self.0
    }
}

/// What a write job hands back to the writer: whether it failed (so its savepoint is rolled back),
/// and how to deliver its result once the batch's commit is known.
type Delivery = Box<dyn FnOnce(DbResult<()>) + Send>;
/// A job is handed the open transaction, or the reason no transaction could be had.
type WriteJob = Box<dyn FnOnce(Result<&WriteTx<'_>, DbError>) -> (bool, Delivery) + Send>;

/// Handle to the database: cheap to clone.
#[derive(Clone)]
pub struct Db {
    readers: r2d2::Pool<SqliteConnectionManager>,
    writer: crossbeam_channel::Sender<WriteJob>,
}

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("migrations/0001_initial.sql")),
        M::up(include_str!("migrations/0002_c5.sql")),
        M::up(include_str!("migrations/0003_admin.sql")),
        M::up(include_str!("migrations/0004_forwarding.sql")),
        M::up(include_str!("migrations/0005_self_care.sql")),
        M::up(include_str!("migrations/0006_sipx.sql")),
        M::up(include_str!("migrations/0007_sipx_soap.sql")),
        M::up(include_str!("migrations/0008_sip2sip.sql")),
        M::up(include_str!("migrations/0009_address_book.sql")),
        M::up(include_str!("migrations/0010_journal.sql")),
    ])
}

/// The schema version this binary migrates to: the number of migrations it carries.
pub fn schema_version() -> i64 {
    // Counted as the migrations an empty database would need.
    Connection::open_in_memory()
        .ok()
        .and_then(|c| migrations().pending_migrations(&c).ok())
        .map_or(0, i64::from)
}

fn configure_writer(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL for readers that never block behind the writer; FULL so a commit survives power loss.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Refuses a file that does not start with SQLite's header before SQLite sees it: with a WAL
/// beside it, SQLite would take page 1 from the WAL and later checkpoint over the file.
fn check_header(path: &Path) -> DbResult<()> {
    use std::io::Read as _;
    let Ok(file) = std::fs::File::open(path) else {
        // Missing (a first start) or unreadable: SQLite creates it or says why.
        return Ok(());
    };
    let mut header = Vec::with_capacity(16);
    file.take(16)
        .read_to_end(&mut header)
        .map_err(|e| DbError::Damaged(format!("cannot read the header: {e}")))?;
    if header.is_empty() || header == b"SQLite format 3\0" {
        Ok(())
    } else {
        Err(DbError::Damaged(
            "the file does not start with SQLite's header".into(),
        ))
    }
}

/// Refuses a file that is not a database, is corrupt, is someone else's, or is newer than this
/// release, reading only.
fn check_before_writing(conn: &Connection) -> DbResult<()> {
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .map_err(damaged)?;
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(damaged)?;
    if found == 0 && objects > 0 {
        return Err(DbError::Foreign);
    }
    // A full pass over the pages (without the slower index cross-checks): a truncated or
    // overwritten file is refused at start rather than failing requests later.
    let verdict: String = conn
        .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
        .map_err(damaged)?;
    if verdict != "ok" {
        return Err(DbError::Damaged(verdict));
    }
    // Migrations only go forward: a database from a newer release is refused, not guessed at.
    let known = schema_version();
    if found > known {
        return Err(DbError::TooNew { found, known });
    }
    Ok(())
}

/// SQLite's "not a database" and "malformed" answers while checking; others stay as they are.
fn damaged(e: rusqlite::Error) -> DbError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
            DbError::Damaged(e.to_string())
        }
        _ => DbError::Sqlite(e),
    }
}

impl Db {
    /// Opens (creating if needed) the database at `path`, applies pending migrations and starts
    /// the writer thread.
    pub fn open(path: &Path, readers: u32) -> DbResult<Self> {
        check_header(path)?;
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Every check before anything writes: switching to WAL rewrites the header, and a
        // migration would write into whatever file this is.
        check_before_writing(&conn)?;
        configure_writer(&conn)?;
        migrations().to_latest(&mut conn)?;

        let manager = SqliteConnectionManager::file(path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(|c| {
                c.busy_timeout(BUSY_TIMEOUT)?;
                c.pragma_update(None, "foreign_keys", "ON")?;
                c.pragma_update(None, "query_only", "ON")
            });
        let readers = r2d2::Pool::builder()
            .max_size(readers.max(1))
            .build(manager)?;

        let (sender, receiver) = crossbeam_channel::bounded::<WriteJob>(4096);
        std::thread::Builder::new()
            .name("switchyard-db-writer".into())
            .spawn(move || run_writer(&conn, &receiver))
            .map_err(|e| DbError::Corrupt(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            readers,
            writer: sender,
        })
    }

    /// Runs `job` on a pooled read connection, on a blocking thread.
    pub async fn read<T, E, F>(&self, job: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&Conn<'_>) -> Result<T, E> + Send + 'static,
    {
        let pool = self.readers.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let conn = pool.get().map_err(DbError::from)?;
            job(&Conn(&conn))
        })
        .await;
        joined.unwrap_or_else(|_| Err(DbError::Panicked.into()))
    }

    /// Runs `job` in the writer's next transaction. The result is delivered only after the
    /// transaction has committed durably; if the job fails, its changes are rolled back and the
    /// rest of the batch is unaffected.
    pub async fn write<T, E, F>(&self, job: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&WriteTx<'_>) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel::<Result<T, E>>();
        let job: WriteJob = Box::new(move |tx| {
            let outcome = match tx {
                Ok(tx) => catch_unwind(AssertUnwindSafe(|| job(tx)))
                    .unwrap_or_else(|_| Err(DbError::Panicked.into())),
                Err(e) => Err(e.into()),
            };
            let failed = outcome.is_err();
            let deliver: Delivery = Box::new(move |committed| {
                let result = match committed {
                    Ok(()) => outcome,
                    // A failed job was rolled back whatever the commit did: its own error stands.
                    Err(_) if failed => outcome,
                    Err(e) => Err(e.into()),
                };
                // The caller may have gone away (client disconnected); the write still stands.
                let _ = reply.send(result);
            });
            (failed, deliver)
        });
        // Never block an async thread on a full queue: refuse, and let the client retry.
        self.writer.try_send(job).map_err(|e| match e {
            crossbeam_channel::TrySendError::Full(_) => DbError::Busy,
            crossbeam_channel::TrySendError::Disconnected(_) => DbError::WriterGone,
        })?;
        answer
            .await
            .unwrap_or_else(|_| Err(DbError::WriterGone.into()))
    }
}

fn run_writer(conn: &Connection, jobs: &crossbeam_channel::Receiver<WriteJob>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = jobs.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let deliveries = run_batch(conn, batch.drain(..));
        let committed = commit(conn);
        for deliver in deliveries {
            deliver(committed.as_ref().map_err(clone_error).copied());
        }
    }
}

fn run_batch(conn: &Connection, batch: impl Iterator<Item = WriteJob>) -> Vec<Delivery> {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        // Without a transaction nothing may run: every job is answered with the error.
        let message = e.to_string();
        return batch
            .map(|job| {
                job(Err(DbError::Corrupt(format!(
                    "cannot begin a transaction: {message}"
                ))))
                .1
            })
            .collect();
    }
    let tx = WriteTx(Conn(conn));
    let mut deliveries = Vec::new();
    for job in batch {
        // Outside the transaction a savepoint would open a new one, and jobs acknowledged from
        // it would hide that the ones before were undone: the rest of the batch is refused.
        if conn.is_autocommit() {
            deliveries.push(job(Err(DbError::RolledBack)).1);
            continue;
        }
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            deliveries.push(job(Err(e.into())).1);
            continue;
        }
        let (failed, deliver) = job(Ok(&tx));
        let end = if failed {
            "ROLLBACK TO job; RELEASE job"
        } else {
            "RELEASE job"
        };
        if let Err(e) = conn.execute_batch(end) {
            tracing::error!(error = %e, "closing a savepoint failed");
        }
        deliveries.push(deliver);
    }
    deliveries
}

fn commit(conn: &Connection) -> DbResult<()> {
    if conn.is_autocommit() {
        return Err(DbError::RolledBack);
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e.into())
        }
    }
}

/// `DbError` is not `Clone` (rusqlite's error is not); each job gets an equivalent copy.
fn clone_error(e: &DbError) -> DbError {
    match e {
        DbError::Sqlite(rusqlite::Error::SqliteFailure(code, msg)) => {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(*code, msg.clone()))
        }
        DbError::RolledBack => DbError::RolledBack,
        other => DbError::Corrupt(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().expect("migrations validate");
        assert!(schema_version() >= 1);
    }

    #[test]
    fn a_database_from_a_newer_release_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        drop(Db::open(&path, 1).unwrap());
        let newer = schema_version() + 1;
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", newer)
            .unwrap();
        let err = Db::open(&path, 1).err().expect("refused");
        assert!(
            err.to_string().contains("newer than this switchyard"),
            "{err}"
        );
        let version: i64 = Connection::open(&path)
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, newer);
    }

    #[test]
    fn storage_failures_are_told_apart() {
        use crate::core::CoreError;
        use rusqlite::ffi;
        let failure = |code| {
            CoreError::from(DbError::Sqlite(rusqlite::Error::SqliteFailure(
                ffi::Error::new(code),
                None,
            )))
        };
        assert!(matches!(failure(ffi::SQLITE_FULL), CoreError::StorageFull));
        for code in [
            ffi::SQLITE_READONLY,
            ffi::SQLITE_IOERR_WRITE,
            ffi::SQLITE_CORRUPT,
        ] {
            assert!(
                matches!(failure(code), CoreError::StorageFailed(_)),
                "{code}"
            );
        }
        assert!(matches!(
            failure(ffi::SQLITE_CONSTRAINT),
            CoreError::Storage(_)
        ));
    }

    #[test]
    fn a_foreign_or_corrupt_database_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
            .unwrap();
        let before = std::fs::read(&path).unwrap();
        assert!(matches!(Db::open(&path, 1), Err(DbError::Foreign)));
        assert_eq!(std::fs::read(&path).unwrap(), before);
        let garbage = b"not a database, only bytes ".repeat(200);
        std::fs::write(&path, &garbage).unwrap();
        assert!(matches!(Db::open(&path, 1), Err(DbError::Damaged(_))));
        assert_eq!(std::fs::read(&path).unwrap(), garbage);
    }

    #[tokio::test]
    async fn failed_job_rolls_back_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db"), 2).unwrap();
        let ok = db.write(|tx| {
            tx.sql()
                .execute("INSERT INTO settings (key, value) VALUES ('a', 'x')", [])?;
            Ok::<_, DbError>(())
        });
        let bad = db.write(|tx| {
            tx.sql()
                .execute("INSERT INTO settings (key, value) VALUES ('b', 'x')", [])?;
            Err::<(), _>(DbError::Corrupt("refused".into()))
        });
        let (ok, bad) = tokio::join!(ok, bad);
        ok.unwrap();
        assert!(bad.is_err());
        let keys: Vec<String> = db
            .read(|c| {
                let mut stmt = c.sql().prepare("SELECT key FROM settings ORDER BY key")?;
                let rows = stmt
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok::<_, DbError>(rows)
            })
            .await
            .unwrap();
        assert_eq!(keys, vec!["a".to_string()]);
    }

    /// SQLITE_FULL (here from `max_page_count`, as from a full disk) fails the job with an
    /// error `is_full` recognises; when SQLite rolls the whole transaction back, the batch's
    /// other jobs are not acknowledged; reads go on; and the same writer takes writes again once
    /// there is room: no restart, no poisoned state.
    #[tokio::test]
    async fn the_writer_survives_a_full_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db"), 2).unwrap();
        let cap = |pages: i64| {
            db.write(move |tx| {
                tx.sql()
                    .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
                Ok::<_, DbError>(())
            })
        };
        let insert = |key: &'static str, bytes: usize| {
            db.write(move |tx| {
                tx.sql().execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2)",
                    rusqlite::params![key, "x".repeat(bytes)],
                )?;
                Ok::<_, DbError>(())
            })
        };
        let keys = || {
            db.read(|c| {
                let mut stmt = c.sql().prepare("SELECT key FROM settings ORDER BY key")?;
                let rows = stmt
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<Vec<String>, _>>()?;
                Ok::<_, DbError>(rows)
            })
        };
        let pages: i64 = db
            .read(|c| Ok::<_, DbError>(c.sql().query_row("PRAGMA page_count", [], |r| r.get(0))?))
            .await
            .unwrap();
        cap(pages).await.unwrap();
        let full = insert("a", 64 * 1024).await.unwrap_err();
        assert!(full.is_full(), "{full:?}");
        // Queued together: whatever the order, no job is acknowledged unless it is stored.
        let (small, big, after) = tokio::join!(
            insert("small", 1),
            insert("big", 64 * 1024),
            insert("after", 1)
        );
        let stored = keys().await.unwrap();
        for (key, result) in [("small", small), ("big", big), ("after", after)] {
            assert_eq!(
                result.is_ok(),
                stored.contains(&key.to_string()),
                "{key}: {result:?}, stored {stored:?}"
            );
        }
        assert!(!stored.contains(&"big".to_string()));
        cap(1 << 30).await.unwrap();
        insert("c", 64 * 1024).await.unwrap();
        assert!(keys().await.unwrap().contains(&"c".to_string()));
    }

    #[tokio::test]
    async fn audit_log_is_append_only() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db"), 1).unwrap();
        let result = db
            .write(|tx| {
                tx.sql().execute(
                    "INSERT INTO audit_log (at, event, outcome, principal, auth_method, dialect, method)
                     VALUES (1, 1, 'ok', 'cli', 'local', 'cli', 'x')",
                    [],
                )?;
                tx.sql().execute("DELETE FROM audit_log", [])?;
                Ok::<_, DbError>(())
            })
            .await;
        assert!(result.unwrap_err().to_string().contains("append-only"));
    }
}

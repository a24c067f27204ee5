//! The data directory's lock: `switchyard serve` holds it for as long as it runs, and a restore
//! takes it before it replaces the database, so neither can happen under the other. It is an
//! advisory `flock` on `<data dir>/switchyard.lock`, released by the kernel when the process ends,
//! so a crash never leaves a stale lock behind. Operator commands that go through the core
//! (trusted hosts, audit, backup) do not take it: they work beside a running server.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "switchyard.lock";

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock; `holder` is what it wrote into the file.
    #[error("{dir} is in use by another switchyard process ({holder})")]
    Held { dir: PathBuf, holder: String },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Held while alive; dropping it (or the process ending) releases the lock.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the lock without waiting. `purpose` ("serve", "restore") is written into the file so
    /// a refused process can say who holds it.
    pub fn acquire(data_dir: &Path, purpose: &str) -> Result<Self, LockError> {
        let path = data_dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let created = !path.exists();
        // Read-only is enough to lock; a process that may not write the file (root created it
        // before ownership was fixed, say) can still take the lock, only without saying who it is.
        let (mut file, writable) = match OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
        {
            Ok(f) => (f, true),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                (File::open(&path).map_err(io)?, false)
            }
            Err(e) => return Err(io(e)),
        };
        if created {
            match_owner(&path, data_dir).map_err(io)?;
        }
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LockError::Held {
                    dir: data_dir.to_path_buf(),
                    holder: if holder.is_empty() {
                        "unknown process".into()
                    } else {
                        holder.to_string()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        if writable {
            let note = format!("switchyard {purpose}, pid {}\n", std::process::id());
            file.set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| file.write_all(note.as_bytes()))
                .map_err(io)?;
        }
        Ok(Self { _file: file })
    }
}

/// Gives `path` the owner and group of `dir` when they differ. When root works on a service's data
/// directory (a restore, say), the files it creates must stay usable by the service's own user.
pub fn match_owner(path: &Path, dir: &Path) -> std::io::Result<()> {
    let want = std::fs::metadata(dir)?;
    let have = std::fs::metadata(path)?;
    if (have.uid(), have.gid()) == (want.uid(), want.gid()) {
        return Ok(());
    }
    std::os::unix::fs::chown(path, Some(want.uid()), Some(want.gid()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_told_who_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path(), "serve").unwrap();
        let err = DataDirLock::acquire(dir.path(), "restore").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("switchyard serve, pid {}", std::process::id())),
            "{text}"
        );
        drop(first);
        DataDirLock::acquire(dir.path(), "restore").unwrap();
    }
}

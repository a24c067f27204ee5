//! A data directory that cannot be used, and a disk that fills up while the server runs.
//!
//! Start-up on a read-only directory (a read-only bind mount or tmpfs: the tests run as root,
//! whom permission bits do not stop), a full one (a small tmpfs filled with a filler file), or a
//! corrupt or foreign database must fail with a message the operator can act on and an exit code
//! of its own, leaving every file as it was. A full disk during writes must refuse writes in each
//! dialect's own way, keep serving reads, and take writes again once space is freed, without a
//! restart. Mounting needs root; a machine where it fails fails these tests.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::common::{Launch, ROOT_PASSWORD, TestApp, binary, create_root_account, run};
use crate::crash::{self, Kind, Request};

/// A mount made for one test, unmounted when dropped.
struct Mount {
    path: PathBuf,
    _parent: tempfile::TempDir,
}

impl Mount {
    fn new(args: &[&str]) -> Self {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("mnt");
        std::fs::create_dir(&path).unwrap();
        let (code, _, err) = run(Command::new("mount").args(args).arg(&path));
        assert_eq!(
            code, 0,
            "mount {args:?} failed (these tests need root and mount): {err}"
        );
        Self {
            path,
            _parent: parent,
        }
    }

    fn tmpfs(options: &str) -> Self {
        Self::new(&["-t", "tmpfs", "-o", options, "tmpfs"])
    }

    /// `source` seen read-only at a new place.
    fn read_only_view(source: &Path) -> Self {
        let mount = Self::new(&["--bind", source.to_str().unwrap()]);
        let (code, _, err) = run(Command::new("mount")
            .args(["-o", "remount,bind,ro"])
            .arg(&mount.path));
        assert_eq!(code, 0, "remount read-only failed: {err}");
        mount
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

/// Every file under `dir` with its bytes and modification time.
fn files(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            out.extend(files(&path));
        } else {
            out.insert(
                path.clone(),
                (std::fs::read(&path).unwrap(), meta.modified().unwrap()),
            );
        }
    }
    out
}

/// Every file that was there is there still, byte for byte and with its modification time
/// (but the lock file, which each start rewrites with its process id before opening anything).
fn assert_untouched(before: &BTreeMap<PathBuf, (Vec<u8>, SystemTime)>, dir: &Path) {
    let after = files(dir);
    for (path, (bytes, mtime)) in before {
        if path.ends_with("switchyard.lock") {
            continue;
        }
        let (now_bytes, now_mtime) = after
            .get(path)
            .unwrap_or_else(|| panic!("{} was removed", path.display()));
        assert!(now_bytes == bytes, "{} was changed", path.display());
        assert_eq!(now_mtime, mtime, "{} was written", path.display());
    }
}

/// Starts `serve` on `dir`, which must refuse; returns (exit code, stderr).
fn start_refused(dir: &Path) -> (i32, String) {
    let mut child = Command::new(binary())
        .args(["serve", "--data-dir"])
        .arg(dir)
        .args(["--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"])
        .env("SWITCHYARD_LOG", "warn")
        .env("SWITCHYARD_ROOT_PASSWORD", ROOT_PASSWORD)
        .env_remove("SWITCHYARD_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_mins(1);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the server started on {}: {}",
                dir.display(),
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A data directory a server has used (an account made, stopped cleanly).
fn used_data_dir() -> tempfile::TempDir {
    let app = TestApp::spawn();
    create_root_account(&app, "kept");
    let (status, dir) = app.stop();
    assert!(status.success(), "{status:?}");
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    let (code, _, err) = run(Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to));
    assert_eq!(code, 0, "cp: {err}");
}

/// Writes zeros into `dir/filler` until the file system is full; returns the filler's path.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    loop {
        if let Err(e) = file.write_all(&chunk).and_then(|()| file.sync_all()) {
            assert_eq!(e.kind(), std::io::ErrorKind::StorageFull, "{e}");
            break;
        }
    }
    // What is left is smaller than a chunk; take it too.
    let small = [0u8; 512];
    while file
        .write_all(&small)
        .and_then(|()| file.sync_all())
        .is_ok()
    {}
    path
}

fn assert_refused(dir: &Path, code: i32, message: &str) {
    let before = files(dir);
    let (got, stderr) = start_refused(dir);
    println!("{}: exit {got}: {}", dir.display(), stderr.trim());
    assert_eq!(got, code, "exit code; stderr: {stderr}");
    assert!(
        stderr.contains(message),
        "expected '{message}' in: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_untouched(&before, dir);
}

#[test]
fn a_read_only_data_directory_is_refused_untouched() {
    let data = used_data_dir();
    let view = Mount::read_only_view(data.path());
    assert_refused(
        &view.path,
        73,
        &format!("the data directory {} is read-only", view.path.display()),
    );
    // A first start on an empty read-only file system.
    let empty = Mount::tmpfs("ro,size=1m");
    assert_refused(&empty.path, 73, "is read-only");
}

#[test]
fn a_full_data_directory_is_refused_untouched() {
    let data = used_data_dir();
    let small = Mount::tmpfs("size=4m");
    copy_dir(data.path(), &small.path);
    fill(&small.path);
    assert_refused(
        &small.path,
        74,
        "no space left on the file system of the data directory",
    );
}

#[test]
fn a_corrupt_or_foreign_database_is_refused_untouched() {
    let corrupt = "is not a SQLite database or is corrupt";
    let restore = "restore a backup with `switchyard restore`";
    let garbage: Vec<u8> = (0..64 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();

    // Garbage where the database was.
    let data = used_data_dir();
    let db = data.path().join("switchyard.db");
    // Everything into the main file (the server leaves its WAL behind), so truncating it
    // really loses pages.
    rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let good = std::fs::read(&db).unwrap();
    std::fs::write(&db, &garbage).unwrap();
    assert_refused(data.path(), 65, corrupt);
    assert_refused(data.path(), 65, restore);

    // The header overwritten: the magic string gone, the rest intact.
    let mut header = good.clone();
    header[..32].copy_from_slice(&garbage[..32]);
    std::fs::write(&db, &header).unwrap();
    assert_refused(data.path(), 65, corrupt);

    // Truncated to half: pages the schema points to are missing.
    assert!(good.len() >= 8 * 4096, "a database of {} bytes", good.len());
    std::fs::write(&db, &good[..good.len() / 2]).unwrap();
    assert_refused(data.path(), 65, corrupt);

    // A SQLite database of another program.
    std::fs::remove_file(&db).unwrap();
    let other = rusqlite::Connection::open(&db).unwrap();
    other
        .execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5);")
        .unwrap();
    drop(other);
    assert_refused(data.path(), 65, "is a SQLite database but not switchyard's");
}

/// The refusal a full disk must give, in each dialect's own way.
fn is_storage_full(kind: Kind, status: u16, body: &str) -> bool {
    let says = body.contains("storage is full");
    match kind {
        Kind::XmlrpcCreate | Kind::XmlrpcFunds | Kind::XmlrpcUpdate => {
            status == 200 && crate::common::fault_code(body) == Some(507) && says
        }
        Kind::SoapAddUser => status == 500 && body.contains("soap:Server") && says,
        Kind::Sip2sipJournal | Kind::Sip2sipForward => {
            status == 507 && body.contains("\"success\":false") && says
        }
        Kind::C5Create | Kind::C5Patch | Kind::FeedCdrs => {
            status == 507 && body.contains("\"code\":507") && says
        }
        Kind::SipxPut => status == 507 && says,
    }
}

fn get(path: String, user: (String, String), digest: bool) -> Request {
    Request {
        method: "GET",
        path,
        user,
        digest,
        headers: vec!["Accept: application/json"],
        body: None,
    }
}

/// Reads in every dialect that has one; each must answer 200 with the fixture's data.
fn reads_work(base: &str, fx: &crash::Fixture) {
    let root = || ("root".to_string(), ROOT_PASSWORD.to_string());
    let reads = [
        get(
            format!("/api/customercontacts/{}", fx.contact),
            root(),
            false,
        ),
        get(format!("/api/subscribers/{}", fx.subscriber), root(), false),
        crash::xmlrpc(
            "getAccountInfo",
            &[("i_account", format!("<int>{}</int>", fx.subscriber))],
        ),
        get(
            "/sipxconfig/rest/my/contact-information".into(),
            (fx.sipx_user.clone(), "Pin-Secret-9".into()),
            false,
        ),
        get(
            format!(
                "/settings.phtml?action=get_call_forwarding&realm={}",
                fx.domain
            ),
            ("alice".into(), "web-secret".into()),
            true,
        ),
    ];
    for read in &reads {
        let (status, body) = crash::send(base, read).expect("an answer");
        assert_eq!(
            status, 200,
            "{} {} on a full disk: {body}",
            read.method, read.path
        );
        assert!(
            !body.contains("faultCode") && !body.contains("\"success\":false"),
            "{body}"
        );
    }
}

#[test]
fn a_full_disk_refuses_writes_serves_reads_and_recovers() {
    let disk = Mount::tmpfs("size=16m");
    let app = Launch {
        dir: Some(tempfile::tempdir_in(&disk.path).unwrap()),
        ..Launch::default()
    }
    .spawn();
    let db = app.data_dir().join("switchyard.db");
    let fx = crash::make_fixture(&app.https, &db, 9);
    let mut n = 0;
    let mut write = |kind: Kind| {
        n += 1;
        let marker = format!("crash-{}9-{n}-z", kind.letter());
        crash::send(&app.https, &crash::request(kind, &fx, &marker)).expect("an answer")
    };

    let filler = fill(&disk.path);
    // Writes may still land in space SQLite had already taken (WAL pages); within a bounded
    // number every kind must be refused, and never with anything but the full-disk answer.
    for kind in Kind::ALL {
        let mut refused = None;
        for _ in 0..300 {
            let (status, body) = write(kind);
            if crash::is_success(kind, status, &body) {
                continue;
            }
            refused = Some((status, body));
            break;
        }
        let (status, body) =
            refused.unwrap_or_else(|| panic!("{kind:?}: 300 writes on a full disk all succeeded"));
        println!("full disk: {kind:?}: {status} {}", body.trim());
        assert!(
            is_storage_full(kind, status, &body),
            "{kind:?} on a full disk: {status} {body}"
        );
    }
    reads_work(&app.https, &fx);
    let status = crate::common::http_status(&[&format!("{}/healthz", app.https)]);
    assert_eq!(status, "200", "healthz on a full disk");

    std::fs::remove_file(&filler).unwrap();
    for kind in Kind::ALL {
        let (status, body) = write(kind);
        assert!(
            crash::is_success(kind, status, &body),
            "{kind:?} after space was freed: {status} {body}"
        );
    }
    reads_work(&app.https, &fx);
    drop(app);
}

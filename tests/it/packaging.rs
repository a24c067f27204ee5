//! Operating the appliance: online backups under write load, restores (refused while a server
//! runs, checked before anything is replaced, audited), the data-directory lock and the
//! healthcheck command.

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::common::{
    Launch, ROOT_PASSWORD, TestApp, binary, call_xml, create_root_account, curl_post, fault_code,
    member_string, run,
};

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `switchyard <args> --data-dir <dir>` without a server.
fn cli_on(dir: &Path, args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("SWITCHYARD_LOG", "warn")
        .env_remove("SWITCHYARD_CONFIG")
        .output()
        .expect("run switchyard")
}

fn open_read_only(path: &Path) -> Connection {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

fn integrity(conn: &Connection) -> String {
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

/// The account's username as root reads it, or the fault code.
fn account_username(app: &TestApp, id: i64) -> Result<String, i64> {
    let (_, body) = curl_post(
        &app.xmlrpc_http(),
        Some(("root", ROOT_PASSWORD)),
        &call_xml(
            "getAccountInfo",
            &[("i_account", &format!("<int>{id}</int>"))],
        ),
    );
    match fault_code(&body) {
        Some(code) => Err(code),
        None => Ok(member_string(&body, "username").unwrap_or_else(|| panic!("{body}"))),
    }
}

#[test]
fn backup_under_writes_holds_every_change_acknowledged_before_it_began() {
    let app = TestApp::spawn();
    let dest = app.data_dir().join("under-load.db");
    let acknowledged = Mutex::new(Vec::<String>::new());
    let stop = AtomicBool::new(false);
    let count = || acknowledged.lock().unwrap().len();
    let wait_for = |n: usize| {
        let started = Instant::now();
        while count() < n {
            assert!(started.elapsed() < Duration::from_mins(1), "writes stalled");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let (before, out, after_backup) = std::thread::scope(|s| {
        for writer in 0..3 {
            let (app, acknowledged, stop) = (&app, &acknowledged, &stop);
            s.spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    let name = format!("w{writer}-{i}");
                    create_root_account(app, &name);
                    acknowledged.lock().unwrap().push(name);
                    i += 1;
                }
            });
        }
        wait_for(30);
        // Everything acknowledged up to here must be in the copy.
        let before = acknowledged.lock().unwrap().clone();
        let out = app.cli(&["backup", "--to", dest.to_str().unwrap()]);
        let after_backup = count();
        // The writers were still going: more writes land after the backup too.
        wait_for(after_backup + 10);
        stop.store(true, Ordering::SeqCst);
        (before, out, after_backup)
    });
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("backed up"), "{stdout}");
    assert!(
        stdout.contains("tls"),
        "the certificate is mentioned: {stdout}"
    );
    assert!(
        after_backup > before.len(),
        "writes went on during the backup"
    );

    let copy = open_read_only(&dest);
    assert_eq!(integrity(&copy), "ok");
    let names: HashSet<String> = copy
        .prepare("SELECT username FROM subscribers")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let missing: Vec<&String> = before.iter().filter(|n| !names.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not in the backup: {missing:?}"
    );
    // A snapshot, not a torn read: each account's audit row came with it, and no more.
    let audited: i64 = copy
        .query_row(
            "SELECT count(*) FROM audit_log WHERE event = 1100 AND outcome = 'ok'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(usize::try_from(audited).unwrap(), names.len());
}

#[test]
fn backup_refuses_to_overwrite_unless_asked_and_needs_a_database() {
    let app = TestApp::spawn();
    let dest = app.data_dir().join("b.db");
    std::fs::write(&dest, "an older backup").unwrap();
    let out = app.cli(&["backup", "--to", dest.to_str().unwrap()]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("already exists") && stderr.contains("--overwrite"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "an older backup");
    let out = app.cli(&["backup", "--to", dest.to_str().unwrap(), "--overwrite"]);
    assert!(out.status.success(), "{}", text(&out).1);
    assert_eq!(integrity(&open_read_only(&dest)), "ok");

    let empty = tempfile::tempdir().unwrap();
    let out = cli_on(empty.path(), &["backup", "--to", "/tmp/never-written.db"]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("no switchyard database"), "{stderr}");
    assert!(!Path::new("/tmp/never-written.db").exists());
}

#[test]
fn restore_is_refused_while_the_server_runs_and_puts_the_backup_back_once_stopped() {
    let app = TestApp::spawn();
    let kept = create_root_account(&app, "kept");
    let backup_dir = tempfile::tempdir().unwrap();
    let backup = backup_dir.path().join("nightly.db");
    let out = app.cli(&["backup", "--to", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out).1);
    let later = create_root_account(&app, "later");

    let out = app.cli(&["restore", "--from", backup.to_str().unwrap()]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("stop the server first") && stderr.contains("switchyard serve, pid"),
        "{stderr}"
    );
    assert_eq!(account_username(&app, later).as_deref(), Ok("later"));

    let (_, dir) = app.stop();
    let out = cli_on(dir.path(), &["restore", "--from", backup.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("restored") && stdout.contains("kept as"),
        "{stdout}"
    );
    let replaced: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("switchyard.db.replaced-"))
        .collect();
    assert_eq!(replaced.len(), 1, "{replaced:?}");
    // The replaced database is whole: it still has the account made after the backup.
    let old = open_read_only(&dir.path().join(&replaced[0]));
    assert_eq!(integrity(&old), "ok");
    let old_has_later: i64 = old
        .query_row(
            "SELECT count(*) FROM subscribers WHERE username = 'later'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old_has_later, 1);
    assert!(!dir.path().join("switchyard.db.restoring").exists());

    let app = Launch {
        dir: Some(dir),
        ..Launch::default()
    }
    .spawn();
    assert_eq!(account_username(&app, kept).as_deref(), Ok("kept"));
    assert_eq!(account_username(&app, later), Err(404));
    let out = app.cli(&["audit", "tail", "--method", "restore"]);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains(" 8000 ok ") && stdout.contains("nightly.db"),
        "{stdout}"
    );
}

#[test]
fn restore_refuses_damaged_and_foreign_files_and_changes_nothing() {
    let app = TestApp::spawn();
    create_root_account(&app, "precious");
    let work = tempfile::tempdir().unwrap();
    let good = work.path().join("good.db");
    assert!(
        app.cli(&["backup", "--to", good.to_str().unwrap()])
            .status
            .success()
    );
    let (_, dir) = app.stop();
    let db = dir.path().join("switchyard.db");
    let original = std::fs::read(&db).unwrap();

    // Garbage over a page in the middle of an otherwise valid copy.
    let damaged = work.path().join("damaged.db");
    let mut bytes = std::fs::read(&good).unwrap();
    let page = 4096;
    assert!(bytes.len() > 4 * page, "the copy has pages to damage");
    bytes[2 * page..3 * page].fill(0xA5);
    std::fs::write(&damaged, bytes).unwrap();
    let not_db = work.path().join("notes.txt");
    std::fs::write(&not_db, "switchyard backup notes\n").unwrap();
    let foreign = work.path().join("other.db");
    Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE things (x); PRAGMA user_version = 1;")
        .unwrap();
    let newer = work.path().join("newer.db");
    std::fs::copy(&good, &newer).unwrap();
    Connection::open(&newer)
        .unwrap()
        .pragma_update(None, "user_version", 9999)
        .unwrap();

    for (file, expected) in [
        (&damaged, "is damaged"),
        (&not_db, "not an SQLite database"),
        (&foreign, "is not a switchyard database"),
        (&newer, "newer than this switchyard knows"),
        (&work.path().join("missing.db"), "no such file"),
    ] {
        let out = cli_on(dir.path(), &["restore", "--from", file.to_str().unwrap()]);
        let (_, stderr) = text(&out);
        assert!(!out.status.success(), "{} was accepted", file.display());
        assert!(stderr.contains(expected), "{}: {stderr}", file.display());
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(std::fs::read(&db).unwrap(), original, "{}", file.display());
    }
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("replaced") || n.contains("restoring"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn restore_onto_a_new_machine_needs_no_server_first() {
    let app = TestApp::spawn();
    let id = create_root_account(&app, "moved");
    let work = tempfile::tempdir().unwrap();
    let backup = work.path().join("moving.db");
    assert!(
        app.cli(&["backup", "--to", backup.to_str().unwrap()])
            .status
            .success()
    );
    drop(app);

    // A data directory that does not exist yet is made (private to its owner).
    let elsewhere = tempfile::tempdir().unwrap();
    let data = elsewhere.path().join("var/lib/switchyard");
    let out = cli_on(&data, &["restore", "--from", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out).1);
    let mode = std::fs::metadata(&data).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    assert!(data.join("switchyard.db").is_file());

    let fresh = tempfile::tempdir().unwrap();
    let out = cli_on(
        fresh.path(),
        &["restore", "--from", backup.to_str().unwrap()],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stdout.contains("kept as"),
        "nothing was replaced: {stdout}"
    );
    let app = Launch {
        dir: Some(fresh),
        ..Launch::default()
    }
    .spawn();
    assert_eq!(account_username(&app, id).as_deref(), Ok("moved"));
}

#[test]
fn a_second_server_on_the_same_directory_is_refused() {
    let app = TestApp::spawn();
    let (code, _, err) = run(Command::new(binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(app.data_dir())
        .env_remove("SWITCHYARD_CONFIG"));
    assert_ne!(code, 0);
    assert!(
        err.contains("in use by another switchyard process")
            && err.contains("switchyard serve, pid"),
        "{err}"
    );
    assert_eq!(
        crate::common::http_status(&[&format!("{}/healthz", app.https)]),
        "200"
    );
}

fn healthcheck(app_https: &str, dir: &Path, extra: &[&str]) -> (i32, String, String) {
    let listen = app_https.trim_start_matches("https://");
    run(Command::new(binary())
        .args(["healthcheck", "--listen", listen, "--data-dir"])
        .arg(dir)
        .args(extra)
        .env_remove("SWITCHYARD_CONFIG"))
}

#[test]
fn healthcheck_exit_code_follows_the_server() {
    let app = TestApp::spawn();
    let https = app.https.clone();
    let (code, out, err) = healthcheck(&https, app.data_dir(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("/healthz: ok"), "{out}");
    // The wildcard address is probed on loopback.
    let port = https.rsplit(':').next().unwrap();
    let (code, _, err) = run(Command::new(binary())
        .args([
            "healthcheck",
            "--listen",
            &format!("0.0.0.0:{port}"),
            "--data-dir",
        ])
        .arg(app.data_dir())
        .env_remove("SWITCHYARD_CONFIG"));
    assert_eq!(code, 0, "{err}");

    // Another certificate than the one this data directory's server presents: refused.
    let other = tempfile::tempdir().unwrap();
    let (cert, key) = (other.path().join("c.pem"), other.path().join("k.pem"));
    let (code, _, err) = run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=impostor", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = healthcheck(
        &https,
        app.data_dir(),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert_ne!(code, 0);
    assert!(err.contains("different certificate"), "{err}");

    let (_, dir) = app.stop();
    let started = Instant::now();
    let (code, _, err) = healthcheck(&https, dir.path(), &["--wait", "1"]);
    assert_ne!(code, 0);
    assert!(err.contains("cannot connect"), "{err}");
    assert!(
        started.elapsed() >= Duration::from_millis(750),
        "it retried"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn under_systemd_the_generated_root_password_stays_out_of_the_journal() {
    // systemd sets JOURNAL_STREAM when stdout goes to the journal.
    let app = Launch {
        root_password: None,
        env: vec![("JOURNAL_STREAM", "8:12345")],
        ..Launch::default()
    }
    .spawn();
    let password = std::fs::read_to_string(app.data_dir().join("root-password")).unwrap();
    let password = password.trim();
    assert!(password.len() >= 20);
    assert!(
        !app.printed.iter().any(|l| l.contains(password)),
        "{:?}",
        app.printed
    );
    assert!(
        app.printed
            .iter()
            .any(|l| l.contains("created login 'root'") && l.contains("root-password")),
        "{:?}",
        app.printed
    );
}

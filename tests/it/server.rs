//! The appliance: HTTPS with a generated or given certificate, a handshake that never stalls the
//! accept loop, first-start bootstrap, graceful shutdown, data that survives a restart.

use std::io::Write;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{
    Launch, ROOT_PASSWORD, TestApp, call_xml, create_root_account, curl_post, member_string, run,
};

fn https_get(url: &str, cafile: &std::path::Path) -> (i32, String, String) {
    run(Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert"])
        .arg(cafile)
        .arg(url))
}

#[test]
fn generated_certificate_verifies_for_localhost_and_loopback() {
    let app = TestApp::spawn();
    let (code, body, err) = https_get(&format!("{}/healthz", app.https), &app.ca_file());
    assert_eq!((code, body.as_str()), (0, "ok\n"), "{err}");
    let port = app.https.rsplit(':').next().unwrap();
    let (code, body, err) = https_get(&format!("https://localhost:{port}/healthz"), &app.ca_file());
    assert_eq!((code, body.as_str()), (0, "ok\n"), "{err}");
    // The key is private to the service.
    let mode = std::fs::metadata(app.data_dir().join("tls/key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn operator_certificate_replaces_the_generated_one() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (
        dir.path().join("op-cert.pem"),
        dir.path().join("op-key.pem"),
    );
    let (code, _, err) = run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
        ])
        .args([
            "-subj",
            "/CN=operator-test",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    assert_eq!(code, 0, "{err}");
    let args = vec![
        "--tls-cert".to_string(),
        cert.display().to_string(),
        "--tls-key".to_string(),
        key.display().to_string(),
    ];
    let app = Launch {
        args,
        ..Launch::default()
    }
    .spawn();
    let (code, body, err) = https_get(&format!("{}/healthz", app.https), &cert);
    assert_eq!((code, body.as_str()), (0, "ok\n"), "{err}");
    assert!(
        !app.data_dir().join("tls/cert.pem").exists(),
        "nothing generated"
    );
}

#[test]
fn a_silent_client_does_not_stall_other_connections() {
    let app = TestApp::spawn();
    let addr = app.https.trim_start_matches("https://").to_string();
    // Several connections that never start their TLS handshake, and one that sends garbage.
    let silent: Vec<TcpStream> = (0..5).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    let mut garbage = TcpStream::connect(&addr).unwrap();
    garbage
        .write_all(b"\x16\x03\x01\xff\xffnot a handshake")
        .unwrap();
    let started = Instant::now();
    let (code, body, err) = https_get(&format!("{}/healthz", app.https), &app.ca_file());
    assert_eq!((code, body.as_str()), (0, "ok\n"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "served while others were silent"
    );
    drop(silent);
}

#[test]
fn first_start_generates_and_keeps_the_root_password() {
    let app = Launch {
        root_password: None,
        ..Launch::default()
    }
    .spawn();
    let file = app.data_dir().join("root-password");
    let password = std::fs::read_to_string(&file).unwrap().trim().to_string();
    assert!(password.len() >= 20, "a strong generated password");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        app.printed.iter().any(|l| l.contains(&password)),
        "printed once: {:?}",
        app.printed
    );
    let (status, body) = curl_post(
        &app.xmlrpc_http(),
        Some(("root", &password)),
        &call_xml("listCustomers", &[]),
    );
    assert_eq!(status, 200, "{body}");
    // A restart neither prints nor changes it.
    let (status, dir) = app.stop();
    assert!(status.success());
    let app = Launch {
        dir: Some(dir),
        root_password: None,
        ..Launch::default()
    }
    .spawn();
    assert!(app.printed.is_empty(), "{:?}", app.printed);
    let (status, _) = curl_post(
        &app.xmlrpc_http(),
        Some(("root", &password)),
        &call_xml("listCustomers", &[]),
    );
    assert_eq!(status, 200);
}

#[test]
fn data_survives_a_graceful_restart() {
    let app = TestApp::spawn();
    let id = create_root_account(&app, "survivor");
    let (status, dir) = app.stop();
    assert!(
        status.success(),
        "SIGTERM ends the server cleanly: {status:?}"
    );
    let app = Launch {
        dir: Some(dir),
        ..Launch::default()
    }
    .spawn();
    let (_, body) = curl_post(
        &app.xmlrpc_http(),
        Some(("root", ROOT_PASSWORD)),
        &call_xml(
            "getAccountInfo",
            &[("i_account", &format!("<int>{id}</int>"))],
        ),
    );
    assert_eq!(
        member_string(&body, "username").as_deref(),
        Some("survivor"),
        "{body}"
    );
}

#[test]
fn a_corrupt_database_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("switchyard.db");
    std::fs::write(&db, b"this is not a database, and must not be overwritten").unwrap();
    let out = Command::new(crate::common::binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("SWITCHYARD_ROOT_PASSWORD", ROOT_PASSWORD)
        .output()
        .unwrap();
    // 65 (EX_DATAERR): see server::data_dir::DataDirError.
    assert_eq!(out.status.code(), Some(65));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is not a SQLite database or is corrupt")
            && err.contains("restore a backup with `switchyard restore`"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        b"this is not a database, and must not be overwritten"
    );
}

#[test]
fn landing_page_lists_endpoints_and_the_certificate_fingerprint() {
    let app = TestApp::spawn();
    let (code, page, err) = https_get(&format!("{}/", app.https), &app.ca_file());
    assert_eq!(code, 0, "{err}");
    assert!(
        page.contains("/xmlapi/xmlapi") && page.contains("/healthz"),
        "{page}"
    );
    let (_, openssl, _) = run(Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(app.ca_file()));
    let expected = openssl.trim().rsplit('=').next().unwrap().to_string();
    assert!(page.contains(&expected), "{expected} not in {page}");
    let (code, css, _) = https_get(
        &format!("{}/static/switchyard.css", app.https),
        &app.ca_file(),
    );
    assert_eq!(code, 0);
    assert!(css.contains("font-family"));
}

//! Client certificates: the operator issues one from switchyard's own CA with
//! `switchyard client-cert issue`, and a client that presents it over HTTPS is authenticated as
//! that login without a password; a certificate from another CA is refused, and clients without
//! a certificate see the old behaviour (a Digest challenge).

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Launch, ROOT_PASSWORD, TestApp, account_members, call_xml, member_int, run};

/// Issues a certificate for `login` into `<dir>/<file>` with the CLI; returns its path and the
/// CLI's output.
fn issue(app: &TestApp, login: &str, dir: &Path, file: &str) -> (PathBuf, String) {
    let path = dir.join(file);
    let out = app.cli(&[
        "client-cert",
        "issue",
        "--login",
        login,
        "--out",
        path.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (path, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// POSTs `body` with curl over HTTPS, presenting `cert` (certificate and key in one file) and
/// no credentials. Returns (curl's exit code, HTTP status or 0, response body, stderr).
fn post_with_cert(
    url: &str,
    cert: Option<&Path>,
    extra: &[&str],
    body: &str,
) -> (i32, u16, String, String) {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(body.as_bytes()).unwrap();
    let data = format!("@{}", file.path().display());
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sS",
        "-k",
        "--max-time",
        "10",
        "-o",
        "-",
        "-w",
        "\n%{http_code}",
    ])
    .args(["-H", "Content-Type: text/xml", "--data-binary", &data])
    .args(extra);
    if let Some(cert) = cert {
        cmd.arg("--cert").arg(cert).arg("--key").arg(cert);
    }
    cmd.arg(url);
    let (code, out, err) = run(&mut cmd);
    let (body, status) = out.rsplit_once('\n').unwrap_or((out.as_str(), "0"));
    (
        code,
        status.trim().parse().unwrap_or(0),
        body.to_string(),
        err,
    )
}

fn create_account_xml(username: &str) -> String {
    let members = account_members(username);
    let refs: Vec<(&str, &str)> = members.iter().map(|(n, v)| (*n, v.as_str())).collect();
    call_xml("createAccount", &refs)
}

#[test]
fn a_client_certificate_authenticates_as_its_login() {
    let app = TestApp::spawn();
    let (ca_cert, ca_key) = (
        app.data_dir().join("tls/client-ca.pem"),
        app.data_dir().join("tls/client-ca-key.pem"),
    );
    assert!(ca_cert.exists(), "the client CA is made on first start");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&ca_key), 0o600);

    let files = tempfile::tempdir().unwrap();
    let (pem, printed) = issue(&app, "root", files.path(), "root.pem");
    assert_eq!(mode(&pem), 0o600, "the key file is private");
    let text = std::fs::read_to_string(&pem).unwrap();
    assert!(
        text.contains("BEGIN CERTIFICATE") && text.contains("BEGIN PRIVATE KEY"),
        "{text}"
    );
    let serial = printed
        .split_whitespace()
        .nth(3)
        .unwrap_or_else(|| panic!("no serial in {printed:?}"))
        .to_string();
    assert!(serial.bytes().all(|b| b.is_ascii_hexdigit()), "{printed}");

    // An existing file is never overwritten, and nothing is issued for an unknown login.
    let out = app.cli(&[
        "client-cert",
        "issue",
        "--login",
        "root",
        "--out",
        pem.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert_eq!(std::fs::read_to_string(&pem).unwrap(), text);
    let nobody = files.path().join("nobody.pem");
    let out = app.cli(&[
        "client-cert",
        "issue",
        "--login",
        "nobody",
        "--out",
        nobody.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!nobody.exists(), "no file is left behind");

    // No credentials, only the certificate: authenticated as root, over HTTP/2 and HTTP/1.1.
    let url = app.xmlrpc_https();
    let (code, status, body, err) =
        post_with_cert(&url, Some(&pem), &[], &create_account_xml("by-cert"));
    assert_eq!((code, status), (0, 200), "{err}{body}");
    assert!(member_int(&body, "i_account").is_some(), "{body}");
    let (code, status, body, err) = post_with_cert(
        &url,
        Some(&pem),
        &["--http1.1"],
        &call_xml("listAccounts", &[]),
    );
    assert_eq!((code, status), (0, 200), "{err}{body}");
    assert!(body.contains("by-cert"), "{body}");

    let out = app.cli(&["audit", "tail", "--method", "createAccount"]);
    let audit = String::from_utf8_lossy(&out.stdout);
    assert!(audit.contains(" 1100 ok root "), "{audit}");
    let out = app.cli(&["audit", "tail", "--principal", "cli"]);
    let audit = String::from_utf8_lossy(&out.stdout);
    assert!(
        audit.contains(" 1950 ok cli ") && audit.contains(&serial) && !audit.contains("PRIVATE"),
        "{audit}"
    );

    // Python's standard library presents it too.
    let script = "import ssl, sys, xmlrpc.client\n\
                  ctx = ssl.create_default_context()\n\
                  ctx.check_hostname = False\n\
                  ctx.verify_mode = ssl.CERT_NONE\n\
                  ctx.load_cert_chain(sys.argv[2])\n\
                  p = xmlrpc.client.ServerProxy(sys.argv[1], context=ctx)\n\
                  r = p.listAccounts({})\n\
                  print('ok', r['result'], len(r['accounts']))\n";
    let (code, out, err) = run(Command::new("python3")
        .args(["-c", script, &url])
        .arg(&pem)
        .env("PYTHONDONTWRITEBYTECODE", "1"));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), "ok OK 1", "{out}{err}");

    // Without a certificate nothing changed: a Digest challenge, then the password works.
    let (code, status, _, err) =
        post_with_cert(&url, None, &["-i"], &call_xml("listAccounts", &[]));
    assert_eq!((code, status), (0, 401), "{err}");
    let root = format!("root:{ROOT_PASSWORD}");
    let (code, status, body, err) = post_with_cert(
        &url,
        None,
        &["--digest", "-u", &root],
        &call_xml("listAccounts", &[]),
    );
    assert_eq!((code, status), (0, 200), "{err}{body}");

    // A certificate with C5's DN from another switchyard's CA is refused in the handshake.
    let other = TestApp::spawn();
    let (foreign, _) = issue(&other, "root", files.path(), "foreign.pem");
    drop(other);
    let (code, status, body, err) =
        post_with_cert(&url, Some(&foreign), &[], &call_xml("listAccounts", &[]));
    assert!(
        code != 0 || status == 401,
        "a foreign certificate got in: curl {code}, HTTP {status}: {body}{err}"
    );
    assert!(!body.contains("<name>accounts</name>"), "{body}");

    // The CA and the certificates it issued survive a restart.
    let (_, dir) = app.stop();
    let app = Launch {
        dir: Some(dir),
        ..Launch::default()
    }
    .spawn();
    let (code, status, body, err) = post_with_cert(
        &app.xmlrpc_https(),
        Some(&pem),
        &[],
        &call_xml("listAccounts", &[]),
    );
    assert_eq!((code, status), (0, 200), "{err}{body}");
    assert!(body.contains("by-cert"), "{body}");
}

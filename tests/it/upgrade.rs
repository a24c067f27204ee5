//! Upgrades: a database made by the first release's schema (exactly the first migration, filled
//! the way that release filled it) is opened by this binary, which applies every later migration;
//! the data must come through and keep working. Later migrations are picked up by themselves.

use std::path::PathBuf;

use md5::Digest as _;
use rusqlite::{Connection, params};

use crate::common::{
    Launch, ROOT_PASSWORD, TestApp, call_xml, create_root_account, curl_post, fault_code,
    member_int, member_string,
};

/// The shipped migrations, in the order they apply.
fn migrations() -> Vec<PathBuf> {
    let dir = crate::common::repo().join("src/db/migrations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    files
}

/// HA1 = H(login:realm:password), hex, as the first release stored API passwords.
fn ha1(login: &str, password: &str) -> (String, String) {
    let input = format!("{login}:switchyard:{password}");
    (
        hex::encode(md5::Md5::digest(input.as_bytes())),
        hex::encode(sha2::Sha256::digest(input.as_bytes())),
    )
}

/// A data directory whose database has only the first migration applied, with root, a customer
/// with its API login, an account with an auth rule and a balance movement, a trusted host and
/// audit rows.
fn first_release_data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let first = &migrations()[0];
    assert!(
        first
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("0001_"),
        "{}",
        first.display()
    );
    let conn = Connection::open(dir.path().join("switchyard.db")).unwrap();
    conn.execute_batch(&std::fs::read_to_string(first).unwrap())
        .unwrap();
    conn.pragma_update(None, "user_version", 1).unwrap();
    let t = 1_700_000_000_000_i64;
    let (root_md5, root_sha) = ha1("root", ROOT_PASSWORD);
    let (acme_md5, acme_sha) = ha1("acme", "acme-api-pw");
    conn.execute_batch("INSERT INTO contacts (id) VALUES (1), (2), (3);")
        .unwrap();
    conn.execute(
        "INSERT INTO customers (id, parent_id, path, name, contact_id, created_on, updated_on)
         VALUES (1, NULL, '/1/', 'root', 1, ?1, ?1)",
        [t],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO customers (id, parent_id, path, name, description, contact_id, balance,
             credit_limit, api_permission, created_on, updated_on)
         VALUES (2, 1, '/1/2/', 'Acme', 'from the first release', 2, 12.5, 100, 1, ?1, ?1)",
        [t],
    )
    .unwrap();
    for (id, login, customer, md5, sha) in [
        (1, "root", 1, &root_md5, &root_sha),
        (2, "acme", 2, &acme_md5, &acme_sha),
    ] {
        conn.execute(
            "INSERT INTO logins (id, login, customer_id, api_realm, api_ha1_md5, api_ha1_sha256,
                 allow_api_calls, created_on, updated_on)
             VALUES (?1, ?2, ?3, 'switchyard', ?4, ?5, 1, ?6, ?6)",
            params![id, login, customer, md5, sha, t],
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO subscribers (id, customer_id, contact_id, username, authname, voip_password,
             web_password, vm_password, billing_plan_id, time_zone_id, balance, credit_limit,
             created_on, created_by, updated_on, updated_by)
         VALUES (7, 2, 3, 'old-account', 'old-account', 'sip-secret', 'web-secret', '1234', 1, 1,
             3.25, 50, ?1, 'acme', ?1, 'acme')",
        [t],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO auth_rules (id, subscriber_id, protocol, remote_ip) VALUES (4, 7, 1, '192.0.2.10')",
        [],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO balance_transactions (subscriber_id, kind, amount, currency, payment_time,
             created_on)
         VALUES (7, 'add_funds', 3.25, 'USD', ?1, ?1)",
        [t],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO trusted_hosts (network, description, created_on)
         VALUES ('198.51.100.0/24', 'billing portal', ?1)",
        [t],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO audit_log (at, event, outcome, principal, auth_method, dialect, method, target)
         VALUES (?1, 1100, 'ok', 'acme', 'digest', 'xmlrpc', 'createAccount', 'account:7')",
        [t],
    )
    .unwrap();
    drop(conn);
    dir
}

#[test]
fn data_from_the_first_schema_survives_every_later_migration() {
    let app = Launch {
        dir: Some(first_release_data_dir()),
        ..Launch::default()
    }
    .spawn();
    assert!(
        !app.printed.iter().any(|l| l.contains("created login")),
        "root was kept, not made again: {:?}",
        app.printed
    );
    // The customer's own API login still authenticates and sees its account.
    let acme = Some(("acme", "acme-api-pw"));
    let (status, body) = curl_post(
        &app.xmlrpc_http(),
        acme,
        &call_xml("getAccountInfo", &[("i_account", "<int>7</int>")]),
    );
    assert_eq!((status, fault_code(&body)), (200, None), "{body}");
    assert_eq!(
        member_string(&body, "username").as_deref(),
        Some("old-account")
    );
    assert!(body.contains("3.25"), "{body}");
    let (_, body) = curl_post(
        &app.xmlrpc_http(),
        acme,
        &call_xml("getAuthRuleInfo", &[("i_authentication", "<int>4</int>")]),
    );
    assert!(body.contains("192.0.2.10"), "{body}");
    let (_, body) = curl_post(
        &app.xmlrpc_http(),
        Some(("root", ROOT_PASSWORD)),
        &call_xml("getCustomerInfo", &[("i_customer", "<int>2</int>")]),
    );
    assert!(body.contains("from the first release"), "{body}");

    // New writes carry on after the old ids.
    let id = create_root_account(&app, "after-upgrade");
    assert!(id > 7, "{id}");

    let out = app.cli(&["trusted-hosts", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("198.51.100.0/24"));
    let out = app.cli(&["audit", "tail", "--principal", "acme"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("account:7"));

    let (status, dir) = app.stop();
    assert!(status.success());
    let conn = Connection::open(dir.path().join("switchyard.db")).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(usize::try_from(version).unwrap(), migrations().len());
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
}

#[test]
fn a_backup_of_the_first_schema_is_upgraded_when_restored() {
    let old = first_release_data_dir();
    let work = tempfile::tempdir().unwrap();
    // An old release's backup is a plain copy of its database file.
    let backup = work.path().join("first-release.db");
    std::fs::copy(old.path().join("switchyard.db"), &backup).unwrap();
    let fresh = TestApp::spawn();
    let (_, dir) = fresh.stop();
    let out = std::process::Command::new(crate::common::binary())
        .args(["restore", "--from"])
        .arg(&backup)
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("SWITCHYARD_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let latest = migrations().len();
    assert!(
        stdout.contains(&format!("schema 1 -> {latest}")),
        "{stdout}"
    );
    let app = Launch {
        dir: Some(dir),
        ..Launch::default()
    }
    .spawn();
    let (_, body) = curl_post(
        &app.xmlrpc_http(),
        Some(("acme", "acme-api-pw")),
        &call_xml("listAccounts", &[]),
    );
    assert_eq!(fault_code(&body), None, "{body}");
    assert!(body.contains("old-account"), "{body}");
    assert_eq!(member_int(&body, "i_account"), Some(7), "{body}");
}

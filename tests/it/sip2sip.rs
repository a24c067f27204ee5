//! SIP2SIP `settings.phtml`, the feeds and the CLI against the real server: the replayed
//! requests of Blink and Sylk WebRTC with Python requests (tests/clients/sip2sip_requests.py),
//! `curl --digest`, `switchyard cdr import` and `switchyard voucher`, and the one model seen from
//! C5 and Sippy XML-RPC. A missing interpreter or module fails the test.

use std::process::Command;

use serde_json::{Value, json};

use crate::admin_ui::Curl;
use crate::c5::{ROOT, api, create, customer_with_domain};
use crate::clients::run_client;
use crate::common::{self, Launch, ROOT_PASSWORD, TestApp, call_xml, curl_post};

fn python(scenario: &str) {
    let app = TestApp::spawn();
    run_client(
        &app,
        "python3",
        &["tests/clients/sip2sip_requests.py", scenario],
        &format!("ok {scenario}"),
    );
}

#[test]
fn blink_cocoa_history_polling() {
    python("blink");
}

#[test]
fn blink_journal_replication_between_two_devices() {
    python("journal");
}

#[test]
fn sylk_webrtc_history() {
    python("sylk");
}

#[test]
fn expired_nonces_are_answered_stale() {
    let app = Launch {
        args: vec!["--nonce-ttl-secs".into(), "1".into()],
        ..Launch::default()
    }
    .spawn();
    run_client(
        &app,
        "python3",
        &["tests/clients/sip2sip_requests.py", "stale"],
        "ok stale",
    );
}

#[test]
fn forwarding_is_the_c5_forwarding_both_ways() {
    python("forwarding");
}

#[test]
fn dnd_and_privacy_are_c5_preferences() {
    python("dnd_privacy");
}

#[test]
fn identity_aliases_and_enum() {
    python("identity");
}

#[test]
fn bad_input_feeds_and_devices() {
    python("errors");
}

/// A subscriber `alice` (web password `alice-web`) in a fresh domain; returns (id, domain).
fn alice(app: &TestApp, tag: &str) -> (i64, String) {
    let (customer, domain) = customer_with_domain(app, tag);
    let id = create(
        app,
        "subscribers",
        &json!({"customer_id": customer, "domain": domain, "username": "alice",
                "password": "alice-sip", "webpassword": "alice-web",
                "primary_number": {"cc": 31, "ac": 20, "sn": 555_0100}}),
    );
    (id, domain)
}

/// `curl --digest` against settings.phtml: (HTTP status, Content-Type, body).
fn curl_settings(app: &TestApp, user: &str, password: &str, query: &str) -> (u16, String, String) {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sS",
        "--digest",
        "-u",
        &format!("{user}:{password}"),
        "--cacert",
    ])
    .arg(app.ca_file())
    .args(["-w", "\n%{http_code} %{content_type}"])
    .arg(format!("{}/settings.phtml?{query}", app.https));
    let (code, out, err) = common::run(&mut cmd);
    assert_eq!(code, 0, "curl failed: {err}");
    let (body, tail) = out.rsplit_once('\n').expect("status line");
    let (status, ctype) = tail.split_once(' ').unwrap_or((tail, ""));
    (
        status.parse().expect("status"),
        ctype.to_string(),
        body.to_string(),
    )
}

#[test]
fn curl_digest_reads_and_changes_forwarding() {
    let app = TestApp::spawn();
    let (id, domain) = alice(&app, "curl");
    let realm = format!("realm={domain}");
    let (status, ctype, body) = curl_settings(
        &app,
        "alice",
        "alice-web",
        &format!("action=set_call_forwarding&FNOA=%3Cvoice-mailbox%3E&{realm}"),
    );
    assert_eq!(
        (status, ctype.as_str()),
        (200, "application/json"),
        "{body}"
    );
    let reply: Value = serde_json::from_str(&body).expect("pure JSON");
    assert_eq!(reply["success"], true, "{body}");
    let (_, _, body) = curl_settings(
        &app,
        "alice",
        "alice-web",
        &format!("action=get_call_forwarding&{realm}"),
    );
    let got: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(got["FNOA"], "<voice-mailbox>", "{body}");
    let c5 = api(
        &app,
        ROOT,
        "GET",
        &format!("/api/callforwards/{id}"),
        &[],
        None,
    )
    .json();
    assert_eq!(c5["cft"]["destinations"][0]["destination"], "voicebox");

    // The SIP password works when there is a web password too? No: the web password wins.
    let (status, _, _) = curl_settings(
        &app,
        "alice",
        "alice-sip",
        &format!("action=get_identity&{realm}"),
    );
    assert_eq!(
        status, 401,
        "the SIP password is not taken when a web password is set"
    );

    let (status, ctype, body) = curl_settings(&app, "alice", "alice-web", &realm);
    assert_eq!((status, ctype.as_str()), (200, "application/json"));
    assert_eq!(
        body,
        r#"{"error_message":"Error: invalid action","success":false}"#
    );

    // HEAD (and other verbs) would run an action a client does not expect to change anything.
    let status = common::http_status(&[
        "-X",
        "PUT",
        "--digest",
        "-u",
        "alice:alice-web",
        &format!("{}/settings.phtml?action=set_dnd_on&{realm}", app.https),
    ]);
    assert_eq!(status, "405");

    // Changes are audited under the subscriber, in this dialect.
    let log = String::from_utf8_lossy(&app.cli(&["audit", "tail", "-n", "30"]).stdout).into_owned();
    assert!(
        log.lines().any(|l| l.contains(&format!("alice@{domain}"))
            && l.contains("via=sip2sip set_call_forwarding")),
        "{log}"
    );
}

#[test]
fn cdr_import_from_the_command_line() {
    let app = TestApp::spawn();
    let (_, domain) = alice(&app, "cli");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("cdrs.csv");
    let now = time::OffsetDateTime::now_utc() - time::Duration::minutes(10);
    let start = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    std::fs::write(
        &csv,
        format!(
            "call_id,account,direction,remote_party,display_name,start_time,duration,status,price\n\
             c1,alice@{domain},placed,sip:bob@{domain},,{start},61,200,0.25\n\
             c2,alice@{domain},received,sip:carol@example.org,\"Carol, C.\",{start},5,200,\n"
        ),
    )
    .unwrap();
    let data_dir = app.data_dir().to_str().unwrap().to_string();
    let import = |file: &std::path::Path| {
        Command::new(common::binary())
            .args(["cdr", "import", "--data-dir", &data_dir])
            .arg(file)
            .env("SWITCHYARD_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = import(&csv);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("imported 2 new call records of 2"),
        "{out:?}"
    );
    let again = import(&csv);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("imported 0 new call records of 2"),
        "importing the same call ids twice changes nothing: {again:?}"
    );

    // JSON lines; a bad line is named and nothing of the file is written.
    let jsonl = dir.path().join("cdrs.jsonl");
    let row = |call_id: &str, start: &str| {
        json!({"call_id": call_id, "account": format!("alice@{domain}"), "direction": "placed",
               "remote_party": "sip:x@example.org", "start_time": start, "duration": 1,
               "status": "200"})
        .to_string()
    };
    std::fs::write(
        &jsonl,
        format!("{}\n\n{}\n", row("j1", &start), row("j2", "not a time")),
    )
    .unwrap();
    let out = import(&jsonl);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3") && err.contains("RFC 3339"), "{err}");
    let bad_csv = dir.path().join("bad.csv");
    std::fs::write(&bad_csv, "call_id,account\nc9,alice@x\n").unwrap();
    let out = import(&bad_csv);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2"),
        "{out:?}"
    );

    let (status, _, body) = curl_settings(
        &app,
        "alice",
        "alice-web",
        &format!("action=get_history&realm={domain}"),
    );
    assert_eq!(status, 200);
    let history: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(history["placed"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(history["received"][0]["displayName"], "Carol, C.");
    assert_eq!(history["placed"][0]["duration"], 61);
    let usage = curl_settings(
        &app,
        "alice",
        "alice-web",
        &format!("action=get_monthly_usage&realm={domain}"),
    );
    let usage: Value = serde_json::from_str(&usage.2).unwrap();
    assert_eq!(usage["calls"], 1);
    assert!((usage["price"].as_f64().unwrap() - 0.25).abs() < 1e-9);
}

#[test]
fn vouchers_and_sippy_funds_are_one_balance_history() {
    let app = TestApp::spawn();
    let (id, domain) = alice(&app, "prepaid");
    let realm = format!("realm={domain}");
    let out = app.cli(&["voucher", "create", "--count", "2", "--value", "10"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let vouchers: Vec<(String, String)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let mut parts = l.split('\t');
            (
                parts.next().unwrap().to_string(),
                parts.next().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(vouchers.len(), 2, "{text}");
    let (vid, number) = &vouchers[0];
    assert_eq!(number.len(), 16);

    let settings = |query: &str| {
        let (status, _, body) =
            curl_settings(&app, "alice", "alice-web", &format!("{query}&{realm}"));
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<Value>(&body).unwrap()
    };
    let missing = settings(&format!("action=add_balance&id={vid}"));
    assert_eq!(missing["error_message"], "Error: missing number");
    let wrong = settings(&format!("action=add_balance&id={vid}&number=1234"));
    assert_eq!(wrong["success"], false, "{wrong}");
    let other_id = settings(&format!(
        "action=add_balance&id={}&number={number}",
        vouchers[1].0
    ));
    assert_eq!(
        other_id["success"], false,
        "a number only fits its own voucher"
    );
    let ok = settings(&format!("action=add_balance&id={vid}&number={number}"));
    assert_eq!(ok["success"], true, "{ok}");
    let reused = settings(&format!("action=add_balance&id={vid}&number={number}"));
    assert_eq!(reused["success"], false, "single use: {reused}");
    assert_eq!(settings("action=get_prepaid")["balance"], 10.0);

    // Sippy's accountAddFunds on the same subscriber shows in the same history.
    let (status, body) = curl_post(
        &app.xmlrpc_http(),
        Some(("root", ROOT_PASSWORD)),
        &call_xml(
            "accountAddFunds",
            &[
                ("i_account", &format!("<int>{id}</int>")),
                ("amount", "<double>2.5</double>"),
                ("currency", "<string>USD</string>"),
                ("payment_notes", "<string>wire transfer</string>"),
            ],
        ),
    );
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("faultCode"), "{body}");
    let history = settings("action=get_balance_history");
    let rows = history.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{history}");
    assert_eq!(rows[0]["description"], "wire transfer");
    assert_eq!(rows[0]["value"], 2.5);
    assert_eq!(rows[0]["balance"], 12.5);
    assert_eq!(rows[1]["description"], format!("Prepaid voucher {vid}"));
    assert_eq!(rows[1]["balance"], 10.0);

    let (status, ctype, csv) = curl_settings(
        &app,
        "alice",
        "alice-web",
        &format!("action=get_balance_history&csv=1&{realm}"),
    );
    assert_eq!((status, ctype.as_str()), (200, "text/csv; charset=utf-8"));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "Id,Account,Date,Action,Description,Value,Final Balance"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].contains(&format!("alice@{domain}")) && lines[1].ends_with(",2.5000,12.5000"));

    // The voucher list shows who used it; the numbers are in no audit row.
    let list = String::from_utf8_lossy(&app.cli(&["voucher", "list"]).stdout).into_owned();
    assert!(
        list.lines()
            .any(|l| l.starts_with(&format!("{vid}\t")) && l.ends_with(&format!("\t{id}"))),
        "{list}"
    );
    let log = String::from_utf8_lossy(&app.cli(&["audit", "tail", "-n", "50"]).stdout).into_owned();
    assert!(
        !log.contains(number.as_str()),
        "a voucher number leaked into the audit log"
    );
    assert!(log.contains("add_balance"), "{log}");
}

/// Posts JSON to a feed as root (Basic over TLS); returns (status, body).
fn feed(app: &TestApp, kind: &str, body: &Value) -> (u16, String) {
    let r = api(
        app,
        ROOT,
        "POST",
        &format!("/feed/{kind}"),
        &["Content-Type: application/json"],
        Some(&body.to_string()),
    );
    (r.status, r.body)
}

#[test]
fn sippy_cdr_and_registration_methods_read_the_fed_records() {
    let app = TestApp::spawn();
    let (id, domain) = alice(&app, "sippy");
    let start = (time::OffsetDateTime::now_utc() - time::Duration::minutes(5))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let rows = json!([
        {"call_id": "ok-1", "account": format!("alice@{domain}"), "direction": "placed",
         "remote_party": "sip:123@example.org", "start_time": start, "duration": 42,
         "status": "200", "price": 0.2},
        {"call_id": "busy-1", "account": format!("alice@{domain}"), "direction": "placed",
         "remote_party": "sip:456@example.org", "start_time": start, "duration": 0,
         "status": "486"},
    ]);
    let (status, body) = feed(&app, "cdrs", &rows);
    assert_eq!(status, 200, "{body}");
    let xmlrpc = |method: &str, members: &[(&str, &str)]| {
        let (status, body) = curl_post(
            &app.xmlrpc_http(),
            Some(("root", ROOT_PASSWORD)),
            &call_xml(method, members),
        );
        assert_eq!(status, 200, "{body}");
        body
    };
    let account = format!("<int>{id}</int>");
    let all = xmlrpc(
        "getAccountCDRs",
        &[("i_account", &account), ("type", "<string>all</string>")],
    );
    assert_eq!(all.matches("<name>i_cdr</name>").count(), 2, "{all}");
    assert!(
        all.contains("<string>0.20000</string>"),
        "cost is a string: {all}"
    );
    let complete = xmlrpc(
        "getAccountCDRs",
        &[
            ("i_account", &account),
            ("type", "<string>complete</string>"),
        ],
    );
    assert_eq!(
        complete.matches("<name>i_cdr</name>").count(),
        1,
        "{complete}"
    );
    assert!(complete.contains("ok-1") && !complete.contains("busy-1"));
    let old = xmlrpc(
        "getAccountCDRs",
        &[
            ("i_account", &account),
            ("type", "<string>all</string>"),
            (
                "end_date",
                "<string>10:00:00.000 GMT Mon Mar 04 2024</string>",
            ),
        ],
    );
    assert!(!old.contains("i_cdr"), "outside the window: {old}");
    let customer = xmlrpc("getCustomerCDRs", &[("type", "<string>all</string>")]);
    assert_eq!(
        customer.matches("<name>i_customer</name>").count(),
        2,
        "{customer}"
    );
    let bad = xmlrpc(
        "getAccountCDRs",
        &[("i_account", &account), ("type", "<string>most</string>")],
    );
    assert_eq!(common::fault_code(&bad), Some(400), "{bad}");

    let unregistered = xmlrpc("getRegistrationStatus", &[("i_account", &account)]);
    assert_eq!(
        common::fault_code(&unregistered),
        Some(403),
        "{unregistered}"
    );
    assert!(unregistered.contains("Account is not registered"));
    let (status, body) = feed(
        &app,
        "registrations",
        &json!({"account": format!("alice@{domain}"), "contact": "sip:alice@192.0.2.1:5060",
                "expires": 600, "user_agent": "Blink 5.6", "transport": "tls"}),
    );
    assert_eq!(status, 200, "{body}");
    let registered = xmlrpc("getRegistrationStatus", &[("i_account", &account)]);
    assert_eq!(
        common::member_string(&registered, "contact").as_deref(),
        Some("sip:alice@192.0.2.1:5060"),
        "{registered}"
    );
    assert_eq!(
        common::member_string(&registered, "user_agent").as_deref(),
        Some("Blink 5.6")
    );
}

#[test]
fn the_admin_page_creates_vouchers_for_root_only() {
    let app = TestApp::spawn();
    let (_, domain) = alice(&app, "page");
    let curl = Curl::new(&app);
    let csrf = curl.sign_in("root", ROOT_PASSWORD);
    let page = curl.get("/admin/vouchers");
    assert_eq!(page.status, 200, "{}", page.body);
    for label in [
        "<label for=\"count\">",
        "<label for=\"value\">",
        "<label for=\"currency\">",
    ] {
        assert!(page.body.contains(label), "{label}");
    }
    let no_token = curl.post("/admin/vouchers", &[("count", "1"), ("value", "5")]);
    assert_eq!(no_token.status, 403);
    let bad = curl.post(
        "/admin/vouchers",
        &[
            ("csrf", &csrf),
            ("count", "0"),
            ("value", "5"),
            ("currency", "USD"),
        ],
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.text().contains("count"), "{}", bad.body);
    let made = curl.post(
        "/admin/vouchers",
        &[
            ("csrf", &csrf),
            ("count", "1"),
            ("value", "7.5"),
            ("currency", "usd"),
        ],
    );
    assert_eq!(made.status, 200, "{}", made.body);
    let number = made
        .body
        .split("<code>")
        .find_map(|s| {
            let n = &s[..s.find("</code>")?];
            (n.len() == 16 && n.bytes().all(|b| b.is_ascii_digit())).then(|| n.to_string())
        })
        .expect("the new number on the page");
    assert!(
        !curl.get("/admin/vouchers").body.contains(&number),
        "shown only once"
    );
    let (status, _, body) = curl_settings(
        &app,
        "alice",
        "alice-web",
        &format!("action=add_balance&id=1&number={number}&realm={domain}"),
    );
    assert_eq!(status, 200);
    assert!(body.contains("\"success\":true"), "{body}");
    assert!(curl.get("/admin/vouchers").body.contains("by subscriber"));

    // A customer's login may not manage vouchers.
    crate::admin_ui::create_customer(&app, "Shop", "shop-web", "shop-api", None, true);
    let shop = Curl::new(&app);
    shop.sign_in("Shop", "shop-web");
    assert_eq!(shop.get("/admin/vouchers").status, 403);
}

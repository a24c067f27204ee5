//! The C5-style `/api/` against the real server over HTTPS with curl: the one model across
//! dialects, the audit trail, and bad input that must never yield a 5xx or change anything.
//! (The Perl LWP and Python requests clients are in `c5_clients.rs`.)

use std::process::Command;

use serde_json::{Value, json};

use crate::common::{self, ROOT_PASSWORD, TestApp, call_xml, create_root_account, curl_post};

/// One HTTP exchange.
pub struct Reply {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// Calls `/api/...` over HTTPS as `user` (Basic), with extra `-H` headers and a body.
pub fn api(
    app: &TestApp,
    user: Option<(&str, &str)>,
    method: &str,
    path: &str,
    headers: &[&str],
    body: Option<&str>,
) -> Reply {
    let dir = tempfile::tempdir().unwrap();
    let (body_file, header_file, data_file) = (
        dir.path().join("body"),
        dir.path().join("headers"),
        dir.path().join("data"),
    );
    let url = format!(
        "{}{path}",
        app.xmlrpc_https().trim_end_matches("/xmlapi/xmlapi")
    );
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "--path-as-is", "-X", method, "--cacert"])
        .arg(app.ca_file())
        .arg("-o")
        .arg(&body_file)
        .arg("-D")
        .arg(&header_file)
        .args(["-w", "%{http_code}"]);
    if let Some((login, password)) = user {
        cmd.args(["-u", &format!("{login}:{password}")]);
    }
    for h in headers {
        cmd.args(["-H", h]);
    }
    if let Some(data) = body {
        std::fs::write(&data_file, data).unwrap();
        cmd.arg("--data-binary")
            .arg(format!("@{}", data_file.display()));
    }
    if method == "HEAD" {
        cmd.arg("-I");
    }
    cmd.arg(url);
    let (code, out, err) = common::run(&mut cmd);
    assert_eq!(code, 0, "curl failed: {err}");
    Reply {
        status: out.trim().parse().unwrap_or(0),
        headers: std::fs::read_to_string(&header_file).unwrap_or_default(),
        body: std::fs::read_to_string(&body_file).unwrap_or_default(),
    }
}

pub const ROOT: Option<(&str, &str)> = Some(("root", ROOT_PASSWORD));
const JSON: &str = "Content-Type: application/json";
const PATCH: &str = "Content-Type: application/json-patch+json";

/// POSTs a JSON document as root and returns the new id from Location.
pub fn create(app: &TestApp, res: &str, doc: &Value) -> i64 {
    let r = api(
        app,
        ROOT,
        "POST",
        &format!("/api/{res}/"),
        &[JSON],
        Some(&doc.to_string()),
    );
    assert_eq!(r.status, 201, "POST {res}: {}", r.body);
    let location = r.header("location").expect("Location");
    assert!(location.starts_with(&format!("/api/{res}/")), "{location}");
    location.rsplit('/').next().unwrap().parse().unwrap()
}

/// A customer contact, a sipaccount customer and a domain; returns (customer id, domain).
pub fn customer_with_domain(app: &TestApp, tag: &str) -> (i64, String) {
    let contact = create(
        app,
        "customercontacts",
        &json!({"email": format!("{tag}@example.com"), "reseller_id": 1}),
    );
    let customer = create(
        app,
        "customers",
        &json!({"contact_id": contact, "status": "active", "type": "sipaccount",
                "billing_profile_id": 1}),
    );
    let domain = format!("{tag}.example.com");
    create(app, "domains", &json!({"domain": domain, "reseller_id": 1}));
    (customer, domain)
}

#[test]
fn a_subscriber_is_a_sippy_account_both_ways() {
    let app = TestApp::spawn();
    // XML-RPC → C5.
    let account = create_root_account(&app, "sippy-made");
    let r = api(
        &app,
        ROOT,
        "GET",
        &format!("/api/subscribers/{account}"),
        &[],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["username"], "sippy-made");
    assert_eq!(r.json()["id"], account);

    // C5 → XML-RPC.
    let (customer, domain) = customer_with_domain(&app, "both");
    let id = create(
        &app,
        "subscribers",
        &json!({"customer_id": customer, "domain": domain, "username": "c5-made",
                "password": "sip-secret", "primary_number": {"cc": 43, "ac": 1, "sn": 777}}),
    );
    let (status, body) = curl_post(
        &app.xmlrpc_http(),
        ROOT,
        &call_xml(
            "getAccountInfo",
            &[("i_account", &format!("<int>{id}</int>"))],
        ),
    );
    assert_eq!(status, 200);
    assert!(body.contains("<string>c5-made</string>"), "{body}");
    // The C5 customer is a node of the one tree: Sippy sees it too.
    let (_, body) = curl_post(
        &app.xmlrpc_http(),
        ROOT,
        &call_xml(
            "getCustomerInfo",
            &[("i_customer", &format!("<int>{customer}</int>"))],
        ),
    );
    assert!(body.contains("<name>i_customer</name>"), "{body}");
    // A change through one dialect reads back through the other.
    let (_, body) = curl_post(
        &app.xmlrpc_http(),
        ROOT,
        &call_xml(
            "updateAccount",
            &[
                ("i_account", &format!("<int>{id}</int>")),
                ("username", "<string>renamed</string>"),
            ],
        ),
    );
    assert!(!body.contains("faultCode"), "{body}");
    let r = api(
        &app,
        ROOT,
        "GET",
        &format!("/api/subscribers/{id}"),
        &[],
        None,
    );
    assert_eq!(r.json()["username"], "renamed");
}

#[test]
fn changes_are_audited_with_dialect_resource_and_no_password() {
    let app = TestApp::spawn();
    let (customer, domain) = customer_with_domain(&app, "audit");
    create(
        &app,
        "subscribers",
        &json!({"customer_id": customer, "domain": domain, "username": "audited",
                "password": "do-not-log-me", "primary_number": {"cc": 49, "ac": 30, "sn": 1}}),
    );
    let out = app.cli(&["audit", "tail", "-n", "50"]);
    let log = String::from_utf8_lossy(&out.stdout);
    let line = log
        .lines()
        .find(|l| l.contains("subscriber:") && l.contains("c5"))
        .unwrap_or_else(|| panic!("no c5 subscriber row in\n{log}"));
    assert!(line.contains("POST /api/subscribers/"), "{line}");
    assert!(line.contains("audited"), "{line}");
    assert!(
        !log.contains("do-not-log-me"),
        "a password reached the audit log"
    );
}

#[test]
fn unauthenticated_calls_get_the_basic_challenge_first() {
    let app = TestApp::spawn();
    let r = api(&app, None, "GET", "/api/subscribers/", &[], None);
    assert_eq!(r.status, 401);
    let first = r.header("www-authenticate").expect("a challenge");
    assert_eq!(first, "Basic realm=\"api_admin_http\"");
    assert!(r.headers.contains("Digest "), "digest is offered too");
    // Digest works too.
    let (code, out, err) = common::run(
        Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--digest",
                "-u",
            ])
            .arg(format!("root:{ROOT_PASSWORD}"))
            .arg("--cacert")
            .arg(app.ca_file())
            .arg(format!(
                "{}/api/subscribers/?rows=1",
                app.xmlrpc_https().trim_end_matches("/xmlapi/xmlapi")
            )),
    );
    assert_eq!((code, out.trim()), (0, "200"), "{err}");
    let r = api(
        &app,
        Some(("root", "wrong")),
        "GET",
        "/api/subscribers/",
        &[],
        None,
    );
    assert_eq!(r.status, 401);
}

/// method, path, headers, body, expected status
type Case<'a> = (&'a str, &'a str, Vec<&'a str>, Option<String>, u16);

#[test]
fn bad_input_gets_c5_statuses_and_changes_nothing() {
    let app = TestApp::spawn();
    let (customer, domain) = customer_with_domain(&app, "bad");
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let huge = r#"{"customer_id": 99999999999999999999999, "username": "x", "password": "p"}"#;
    let wrong_type = format!(
        r#"{{"customer_id": "{customer}", "domain": "{domain}", "username": ["x"], "password": 5}}"#
    );
    let cust = format!("/api/customers/{customer}");
    let cases: Vec<Case<'_>> = vec![
        (
            "POST",
            "/api/subscribers/",
            vec![JSON],
            Some("{".into()),
            400,
        ),
        ("POST", "/api/subscribers/", vec![JSON], None, 400),
        (
            "POST",
            "/api/subscribers/",
            vec!["Content-Type: text/plain"],
            Some("{}".into()),
            415,
        ),
        (
            "POST",
            "/api/subscribers/",
            vec![JSON],
            Some(deep.clone()),
            400,
        ),
        (
            "POST",
            "/api/subscribers/",
            vec![JSON],
            Some(huge.into()),
            422,
        ),
        (
            "POST",
            "/api/subscribers/",
            vec![JSON],
            Some(wrong_type),
            422,
        ),
        (
            "POST",
            "/api/subscribers/",
            vec![JSON],
            Some("[1,2]".into()),
            400,
        ),
        (
            "POST",
            "/api/subscribers/",
            vec![JSON],
            Some("{}".into()),
            422,
        ),
        ("GET", "/api/subscribers/abc", vec![], None, 400),
        ("GET", "/api/subscribers/-1", vec![], None, 400),
        (
            "GET",
            "/api/subscribers/99999999999999999999",
            vec![],
            None,
            400,
        ),
        ("GET", "/api/subscribers/424242", vec![], None, 404),
        ("GET", "/api/subscribers/?page=0", vec![], None, 400),
        ("GET", "/api/subscribers/?rows=abc", vec![], None, 400),
        ("GET", "/api/subscribers/?rows=100000000", vec![], None, 400),
        (
            "GET",
            "/api/subscribers/?create_timestamp_gt=yesterday",
            vec![],
            None,
            422,
        ),
        ("GET", "/api/nonsense/", vec![], None, 404),
        ("DELETE", &cust, vec![], None, 404),
        ("PUT", "/api/domains/1", vec![JSON], Some("{}".into()), 404),
        ("PATCH", &cust, vec![JSON], Some("[]".into()), 415),
        ("PATCH", &cust, vec![PATCH], Some("{}".into()), 400),
        (
            "PATCH",
            &cust,
            vec![PATCH],
            Some(r#"[{"path":"/status"}]"#.into()),
            400,
        ),
        (
            "PATCH",
            &cust,
            vec![PATCH],
            Some(r#"[{"op":"remove","path":"/status"}]"#.into()),
            400,
        ),
        (
            "PATCH",
            &cust,
            vec![PATCH],
            Some(r#"[{"op":"replace","path":"/nope/x","value":1}]"#.into()),
            422,
        ),
        (
            "PATCH",
            &cust,
            vec![PATCH],
            Some(r#"[{"op":"replace","path":"/status","value":"sleeping"}]"#.into()),
            422,
        ),
    ];
    let before =
        api(&app, ROOT, "GET", "/api/subscribers/", &[], None).json()["total_count"].clone();
    let audit_before = app.cli(&["audit", "tail", "-n", "10000"]).stdout.len();
    for (method, path, headers, body, want) in &cases {
        let r = api(&app, ROOT, method, path, headers, body.as_deref());
        assert_eq!(r.status, *want, "{method} {path} {body:?}: {}", r.body);
        let doc = r.json();
        assert_eq!(doc["code"], *want, "{}", r.body);
        assert!(
            doc["message"].as_str().is_some_and(|m| m.len() > 5),
            "a message a person can act on: {}",
            r.body
        );
    }
    let after =
        api(&app, ROOT, "GET", "/api/subscribers/", &[], None).json()["total_count"].clone();
    assert_eq!(before, after, "nothing was written");
    let r = api(&app, ROOT, "GET", &cust, &[], None);
    assert_eq!(r.json()["status"], "active");
    // Refusals leave audit rows; the log only grew.
    assert!(app.cli(&["audit", "tail", "-n", "10000"]).stdout.len() >= audit_before);
}

#[test]
fn validation_messages_name_the_field_and_mask_passwords() {
    let app = TestApp::spawn();
    let (customer, domain) = customer_with_domain(&app, "masked");
    let doc = json!({"customer_id": customer, "domain": domain, "username": "u",
                     "password": "x".repeat(500), "primary_number": {"cc": 1, "sn": 2}});
    let r = api(
        &app,
        ROOT,
        "POST",
        "/api/subscribers/",
        &[JSON],
        Some(&doc.to_string()),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    let message = r.json()["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with("Validation failed. field='password', input='*****'"),
        "{message}"
    );
    let r = api(
        &app,
        ROOT,
        "POST",
        "/api/customercontacts/",
        &[JSON],
        Some(r#"{"firstname": "no mail", "reseller_id": 1}"#),
    );
    assert_eq!(r.status, 422);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("Validation failed. field='email'"),
        "{}",
        r.body
    );
}

#[test]
fn collections_page_in_the_database_with_nav_links() {
    let app = TestApp::spawn();
    for i in 0..7 {
        create(
            &app,
            "customercontacts",
            &json!({"email": format!("p{i}@paging.test"), "reseller_id": 1}),
        );
    }
    let path = "/api/customercontacts/?page=2&rows=3&email=*@paging.test";
    let r = api(&app, ROOT, "GET", path, &[], None);
    let doc = r.json();
    assert_eq!(doc["total_count"], 7);
    assert_eq!(doc["_links"]["self"]["href"], path);
    assert_eq!(
        doc["_links"]["next"]["href"],
        "/api/customercontacts/?page=3&rows=3&email=*@paging.test"
    );
    assert!(doc["_links"]["prev"].is_object());
    assert_eq!(
        doc["_embedded"]["ngcp:customercontacts"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // The last page has one item: an object, not an array.
    let r = api(
        &app,
        ROOT,
        "GET",
        "/api/customercontacts/?page=3&rows=3&email=*@paging.test",
        &[],
        None,
    );
    assert!(r.json()["_embedded"]["ngcp:customercontacts"].is_object());
    assert!(r.json()["_links"].get("next").is_none());
    // An empty page has no _embedded.
    let r = api(
        &app,
        ROOT,
        "GET",
        "/api/customercontacts/?email=nobody@nowhere",
        &[],
        None,
    );
    assert!(r.json().get("_embedded").is_none());
    // no_count: no total, next decided by one extra row.
    let r = api(
        &app,
        ROOT,
        "GET",
        "/api/customercontacts/?rows=3&no_count=1&email=*@paging.test",
        &[],
        None,
    );
    assert!(r.json()["total_count"].is_null());
    assert!(r.json()["_links"]["next"].is_object());
    // Ordering.
    let r = api(
        &app,
        ROOT,
        "GET",
        "/api/customercontacts/?rows=10&email=*@paging.test&order_by=email&order_by_direction=desc",
        &[],
        None,
    );
    let emails: Vec<String> = r.json()["_embedded"]["ngcp:customercontacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["email"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = emails.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(emails, sorted);
}

#[test]
fn verbs_method_override_head_and_double_slashes() {
    let app = TestApp::spawn();
    let contact = create(
        &app,
        "customercontacts",
        &json!({"email": "v@example.com", "reseller_id": 1}),
    );
    let r = api(&app, ROOT, "OPTIONS", "/api/customercontacts/", &[], None);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("allow").as_deref(),
        Some("GET, POST, HEAD, OPTIONS")
    );
    assert!(
        r.header("accept-post")
            .unwrap()
            .ends_with("#rel-customercontacts")
    );
    let r = api(
        &app,
        ROOT,
        "HEAD",
        &format!("/api/customercontacts/{contact}"),
        &[],
        None,
    );
    assert_eq!(r.status, 200);
    assert!(!r.body.contains('{'), "HEAD sends no body: {}", r.body);
    let r = api(
        &app,
        ROOT,
        "GET",
        &format!("//api/customercontacts/{contact}"),
        &[],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api(
        &app,
        ROOT,
        "POST",
        &format!("/api/customercontacts/{contact}"),
        &["X-HTTP-Method-Override: DELETE"],
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let r = api(
        &app,
        ROOT,
        "GET",
        &format!("/api/customercontacts/{contact}"),
        &[],
        None,
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "Entity 'customercontact' not found.");
    let r = api(&app, ROOT, "OPTIONS", "/api/", &[], None);
    assert_eq!(
        r.headers.matches("rel=\"collection ").count(),
        12,
        "{}",
        r.headers
    );
    let r = api(&app, ROOT, "GET", "/api/openapi.json", &[], None);
    assert_eq!(r.json()["openapi"], "3.1.0");
    assert!(r.json()["paths"]["/api/subscribers/{id}"]["patch"].is_object());
}

/// A valid new document for each collection, unique by `n`.
fn sample(app: &TestApp, res: &str, n: usize) -> Value {
    match res {
        "resellers" => json!({"name": format!("reseller-{n}"), "status": "active"}),
        "admins" => {
            json!({"login": format!("admin-{n}"), "password": "secret-pw", "reseller_id": 1})
        }
        "systemcontacts" => json!({"email": format!("sys{n}@example.com")}),
        "customercontacts" => json!({"email": format!("c{n}@example.com"), "reseller_id": 1}),
        "customers" => {
            let contact = create(
                app,
                "customercontacts",
                &json!({"email": format!("k{n}@example.com"), "reseller_id": 1}),
            );
            json!({"contact_id": contact, "status": "active", "type": "pbxaccount", "billing_profile_id": 1})
        }
        "domains" => json!({"domain": format!("d{n}.example.com"), "reseller_id": 1}),
        "billingprofiles" => {
            json!({"name": format!("profile {n}"), "handle": format!("h{n}"), "reseller_id": 1})
        }
        "subscribers" => {
            if n == 0 {
                let contact = create(
                    app,
                    "customercontacts",
                    &json!({"email": "subs@example.com", "reseller_id": 1}),
                );
                create(
                    app,
                    "customers",
                    &json!({"contact_id": contact, "status": "active", "type": "sipaccount", "billing_profile_id": 1}),
                );
                create(
                    app,
                    "domains",
                    &json!({"domain": "subs.example.com", "reseller_id": 1}),
                );
            }
            let customers = api(
                app,
                ROOT,
                "GET",
                "/api/customers/?rows=1&order_by_direction=desc",
                &[],
                None,
            )
            .json();
            let customer = customers["_embedded"]["ngcp:customers"]["id"].clone();
            json!({"customer_id": customer, "domain": "subs.example.com", "username": format!("s{n}"),
                   "password": "pw", "primary_number": {"cc": 1, "ac": 200, "sn": format!("{n}")}})
        }
        other => panic!("no sample for {other}"),
    }
}

/// A field each collection's PATCH can replace, and a new value for it.
fn patchable(res: &str) -> (&'static str, Value) {
    match res {
        "resellers" => ("/status", json!("locked")),
        "admins" => ("/email", json!("ops@example.com")),
        "systemcontacts" | "customercontacts" => ("/city", json!("Vienna")),
        "customers" => ("/external_id", json!("crm-7")),
        "billingprofiles" => ("/prepaid", json!(true)),
        "subscribers" => ("/display_name", json!("Alice")),
        _ => ("", Value::Null),
    }
}

#[test]
fn every_collection_creates_pages_round_trips_patches_and_deletes_as_it_should() {
    let app = TestApp::spawn();
    let collections = [
        ("resellers", false, true),
        ("admins", true, true),
        ("systemcontacts", true, true),
        ("customercontacts", true, true),
        ("customers", false, true),
        ("domains", true, false),
        ("billingprofiles", true, true),
        ("subscribers", true, true),
    ];
    for (res, deletes, writes) in collections {
        let r = api(&app, ROOT, "OPTIONS", &format!("/api/{res}/"), &[], None);
        assert_eq!(r.status, 200, "{res}");
        assert_eq!(r.json()["methods"][0], "GET", "{res}");
        let ids: Vec<i64> = (0..6)
            .map(|n| create(&app, res, &sample(&app, res, n)))
            .collect();

        // Walk the collection five at a time and find every new item exactly once.
        let mut seen = Vec::new();
        let mut next = Some(format!("/api/{res}/?page=1&rows=5"));
        let mut pages = 0;
        while let Some(path) = next {
            let doc = api(&app, ROOT, "GET", &path, &[], None).json();
            assert_eq!(doc["_links"]["self"]["href"], path.as_str(), "{res}");
            let total = doc["total_count"].as_i64().unwrap();
            let embedded = &doc["_embedded"][format!("ngcp:{res}")];
            let items = embedded
                .as_array()
                .cloned()
                .unwrap_or_else(|| vec![embedded.clone()]);
            seen.extend(items.iter().map(|i| i["id"].as_i64().unwrap()));
            pages += 1;
            assert_eq!(doc["_links"].get("prev").is_some(), pages > 1, "{res}");
            next = doc["_links"]["next"]["href"].as_str().map(str::to_string);
            if next.is_none() {
                assert_eq!(
                    i64::try_from(seen.len()).unwrap(),
                    total,
                    "{res}: every item once"
                );
            }
        }
        for id in &ids {
            assert_eq!(seen.iter().filter(|s| *s == id).count(), 1, "{res} {id}");
        }

        // PUT the GET back: the representation comes back identical, links included.
        let item = format!("/api/{res}/{}", ids[0]);
        let got = api(&app, ROOT, "GET", &item, &[], None);
        let verb = if writes { "PUT" } else { "PATCH" };
        if writes {
            let put = api(
                &app,
                ROOT,
                "PUT",
                &item,
                &[JSON, "Prefer: return=representation"],
                Some(&got.body),
            );
            assert_eq!(put.status, 200, "{res}: {}", put.body);
            assert_eq!(
                put.header("preference-applied").as_deref(),
                Some("return=representation")
            );
            assert_eq!(
                put.json(),
                got.json(),
                "{res}: PUT of the GET changes nothing"
            );
            let (path, value) = patchable(res);
            let ops = json!([{"op": "replace", "path": path, "value": value}]).to_string();
            let patched = api(&app, ROOT, "PATCH", &item, &[PATCH], Some(&ops));
            assert_eq!(patched.status, 204, "{res}: {}", patched.body);
            assert_eq!(
                patched.header("preference-applied").as_deref(),
                Some("return=minimal")
            );
            let after = api(&app, ROOT, "GET", &item, &[], None).json();
            assert_eq!(after[&path[1..]], value, "{res}");
        } else {
            let r = api(&app, ROOT, "PUT", &item, &[JSON], Some(&got.body));
            assert_eq!(
                (r.status, r.json()["message"].clone()),
                (404, json!("Path not found")),
                "{res} {verb}"
            );
        }

        let r = api(
            &app,
            ROOT,
            "DELETE",
            &format!("/api/{res}/{}", ids[1]),
            &[],
            None,
        );
        if deletes {
            assert_eq!(r.status, 204, "{res}: {}", r.body);
            let gone = api(
                &app,
                ROOT,
                "GET",
                &format!("/api/{res}/{}", ids[1]),
                &[],
                None,
            );
            assert_eq!(gone.status, 404, "{res}");
        } else {
            assert_eq!(
                (r.status, r.json()["message"].clone()),
                (404, json!("Path not found")),
                "{res}"
            );
        }
    }
}

/// The 422s (and 423, 403) of notes/c5.md, each with C5's message.
#[test]
fn the_model_rules_answer_with_c5_messages() {
    let app = TestApp::spawn();
    let (customer, domain) = customer_with_domain(&app, "rules");
    let sub = |user: &str, sn: &str| {
        json!({"customer_id": customer, "domain": domain, "username": user, "password": "pw",
               "primary_number": {"cc": 43, "ac": 1, "sn": sn}, "webusername": format!("web-{user}")})
    };
    create(&app, "subscribers", &sub("first", "100"));
    let post = |res: &str, doc: &Value| {
        let r = api(
            &app,
            ROOT,
            "POST",
            &format!("/api/{res}/"),
            &[JSON],
            Some(&doc.to_string()),
        );
        (
            r.status,
            r.json()["message"].as_str().unwrap_or_default().to_string(),
        )
    };
    let cases = [
        (
            "subscribers",
            sub("second", "100"),
            422,
            "Number '431100' already exists.",
        ),
        (
            "subscribers",
            {
                let mut doc = sub("third", "101");
                doc["webusername"] = json!("web-first");
                doc
            },
            422,
            "Webusername-Domain combination 'web-first@rules.example.com' already exists.",
        ),
        (
            "subscribers",
            json!({"customer_id": customer, "domain": "nope.example.com", "username": "x", "password": "p"}),
            422,
            "Invalid 'domain', doesn't exist.",
        ),
        (
            "subscribers",
            json!({"customer_id": customer, "domain": domain, "username": "x", "password": "p"}),
            422,
            "A primary_number is required for the SIP subscriber.",
        ),
        (
            "subscribers",
            json!({"customer_id": 4242, "domain": domain, "username": "x", "password": "p"}),
            422,
            "Invalid 'customer_id'",
        ),
        (
            "customers",
            json!({"contact_id": 1, "status": "active", "billing_profile_id": 1}),
            422,
            "The contact_id is not a valid ngcp:customercontacts item, but an ngcp:systemcontacts item: 1",
        ),
        (
            "customers",
            json!({"contact_id": 4242, "status": "active", "billing_profile_id": 1}),
            422,
            "Invalid 'contact_id'",
        ),
        (
            "customercontacts",
            json!({"email": "x@example.com", "reseller_id": 4242}),
            422,
            "Invalid 'reseller_id'",
        ),
        (
            "billingprofiles",
            json!({"name": "n", "handle": "default", "reseller_id": 1}),
            422,
            "Billing profile with handle 'default' already exists for this reseller.",
        ),
        (
            "billingprofiles",
            json!({"name": "n", "handle": "n", "reseller_id": 4242}),
            422,
            "Invalid reseller ID.",
        ),
        (
            "domains",
            json!({"domain": domain, "reseller_id": 1}),
            422,
            "Domain 'rules.example.com' already exists.",
        ),
    ];
    for (res, doc, status, message) in cases {
        assert_eq!(
            post(res, &doc),
            (status, message.to_string()),
            "{res} {doc}"
        );
    }
    let contact = create(
        &app,
        "customercontacts",
        &json!({"email": "held@example.com", "reseller_id": 1}),
    );
    let limited = create(
        &app,
        "customers",
        &json!({"contact_id": contact, "status": "active", "type": "pbxaccount", "billing_profile_id": 1, "max_subscribers": 0}),
    );
    let full =
        json!({"customer_id": limited, "domain": domain, "username": "nobody", "password": "p"});
    assert_eq!(
        post("subscribers", &full),
        (
            403,
            "Maximum number of customer subscribers reached.".into()
        )
    );
    let r = api(
        &app,
        ROOT,
        "DELETE",
        &format!("/api/customercontacts/{contact}"),
        &[],
        None,
    );
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (423, json!("Contact is still in use."))
    );
    let terminate =
        json!([{"op": "replace", "path": "/status", "value": "terminated"}]).to_string();
    let path = format!("/api/customers/{limited}");
    assert_eq!(
        api(&app, ROOT, "PATCH", &path, &[PATCH], Some(&terminate)).status,
        204
    );
    let again = json!([{"op": "replace", "path": "/external_id", "value": "x"}]).to_string();
    let r = api(&app, ROOT, "PATCH", &path, &[PATCH], Some(&again));
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (
            422,
            json!("Customer is already terminated and cannot be changed.")
        )
    );
}

/// What C5's test library does first: POST /api/admincerts/, unzip the first PEM, and use it as
/// the client certificate from then on, without a password.
#[test]
fn an_admin_certificate_from_the_api_logs_in_without_a_password() {
    let app = TestApp::spawn();
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("cert.zip");
    let base = app
        .xmlrpc_https()
        .trim_end_matches("/xmlapi/xmlapi")
        .to_string();
    let (code, out, err) = common::run(
        Command::new("curl")
            .args(["-s", "-o"])
            .arg(&zip)
            .args(["-w", "%{http_code} %{content_type}", "-X", "POST", "-u"])
            .arg(format!("root:{ROOT_PASSWORD}"))
            .args([
                "-H",
                "Content-Type: application/json",
                "-d",
                "{}",
                "--cacert",
            ])
            .arg(app.ca_file())
            .arg(format!("{base}/api/admincerts/")),
    );
    assert_eq!((code, out.as_str()), (0, "201 application/zip"), "{err}");
    let pem = dir.path().join("client.pem");
    let unzip = "import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); \
         n=[x for x in z.namelist() if x.endswith('.pem')][0]; \
         assert n.startswith('NGCP-API-client-certificate-'), n; \
         open(sys.argv[2],'wb').write(z.read(n))";
    let (code, _, err) = common::run(
        Command::new("python3")
            .args(["-c", unzip])
            .arg(&zip)
            .arg(&pem),
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = common::run(
        Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cert"])
            .arg(&pem)
            .arg("--key")
            .arg(&pem)
            .arg("--cacert")
            .arg(app.ca_file())
            .arg(format!("{base}/api/subscribers/")),
    );
    assert_eq!((code, out.as_str()), (0, "200"), "{err}");
}

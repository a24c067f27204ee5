//! sipXconfig-style REST at `/sipxconfig/rest/` against the real server: the seed's curl recipes
//! (Basic over TLS with the portal PIN, `--data-binary @file.xml`), Digest, the private user key,
//! the one model with C5's `/api/callforwards`, golden representations compared byte for byte,
//! and bad input that changes nothing.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};

use crate::c5::{ROOT, Reply, api, create, customer_with_domain};
use crate::common::{self, TestApp};

pub const PIN: &str = "4242";
const XML: &str = "Accept: text/xml";
const JSON_ACCEPT: &str = "Accept: application/json";
const JSON_BODY: &str = "Content-Type: application/json";

/// A subscriber `user` in a fresh customer and domain, with portal PIN [`PIN`] set by the
/// operator's command line; (id, domain).
/// Its primary number is 43 1 2001, 43 1 2002, ... in the order of creation.
pub fn subscriber(app: &TestApp, tag: &str, user: &str) -> (i64, String) {
    static NEXT_NUMBER: AtomicU32 = AtomicU32::new(2001);
    let sn = NEXT_NUMBER.fetch_add(1, Ordering::SeqCst).to_string();
    let (customer, domain) = customer_with_domain(app, tag);
    let id = create(
        app,
        "subscribers",
        &json!({"customer_id": customer, "domain": domain, "username": user,
                "password": "sip-secret", "primary_number": {"cc": 43, "ac": 1, "sn": sn}}),
    );
    let out = app.cli(&["subscriber", "portal-pin", &id.to_string(), PIN]);
    assert!(out.status.success(), "{out:?}");
    (id, domain)
}

/// A request to `/sipxconfig/rest/<path>` as `user` with the PIN (Basic over TLS, as curl `-u`).
pub fn rest(
    app: &TestApp,
    user: Option<(&str, &str)>,
    method: &str,
    path: &str,
    headers: &[&str],
    body: Option<&str>,
) -> Reply {
    api(
        app,
        user,
        method,
        &format!("/sipxconfig/rest/{path}"),
        headers,
        body,
    )
}

fn golden(name: &str) -> String {
    let path = common::repo().join("tests/golden/sipx").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn golden_path(name: &str) -> PathBuf {
    common::repo().join("tests/golden/sipx").join(name)
}

/// The seed's recipe: `curl --insecure -X PUT https://{user}:{password}@{host}/sipxconfig/rest/
/// my/forward/ --data-binary @{file.xml}`, exactly as written (credentials in the URL).
fn seed_curl_put(app: &TestApp, user: &str, path: &str, file: &std::path::Path) -> String {
    let host = app.https.trim_start_matches("https://");
    let url = format!("https://{user}:{PIN}@{host}/sipxconfig/rest/{path}");
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sS",
        "--insecure",
        "-X",
        "PUT",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
    ])
    .arg(&url)
    .arg("--data-binary")
    .arg(format!("@{}", file.display()));
    let (code, out, err) = common::run(&mut cmd);
    assert_eq!(code, 0, "curl failed: {err}");
    out
}

#[test]
fn forward_is_the_core_forwarding_both_ways_with_golden_representations() {
    let app = TestApp::spawn();
    let (id, domain) = subscriber(&app, "sxfwd", "alice");
    let me = Some(("alice", PIN));

    // Nothing set: no rings, the default timer.
    let r = rest(&app, me, "GET", "my/forward", &[], None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type").unwrap(), "text/xml; charset=UTF-8");
    assert_eq!(r.body, golden("forward-empty.xml"));

    // The seed's curl PUT with an old client's document (old root, <position>, no timer).
    let status = seed_curl_put(
        &app,
        "alice",
        "my/forward/",
        &golden_path("forward-put.xml"),
    );
    assert_eq!(status, "200");
    let r = rest(&app, me, "GET", "my/forward", &[XML], None);
    assert_eq!(r.body, golden("forward.xml"));
    let r = rest(&app, me, "GET", "my/forward", &[JSON_ACCEPT], None);
    assert_eq!(
        r.header("content-type").unwrap(),
        "application/json; charset=UTF-8"
    );
    assert_eq!(r.body, golden("forward.json"));

    // The same rows through C5: the cft rule, priorities for ring order, timeouts.
    let cf = api(
        &app,
        ROOT,
        "GET",
        &format!("/api/callforwards/{id}"),
        &[],
        None,
    )
    .json();
    let dests = &cf["cft"]["destinations"];
    assert_eq!(dests[0]["destination"], format!("sip:1001@{domain}"));
    assert_eq!(dests[0]["timeout"], 20);
    assert_eq!(dests[1]["destination"], format!("sip:1002@{domain}"));
    assert_eq!(
        dests[1]["priority"], dests[0]["priority"],
        "'At the same time' shares the priority"
    );
    assert_eq!(dests[2]["destination"], "sip:bob@example.org");
    assert!(dests[2]["priority"].as_i64() > dests[1]["priority"].as_i64());
    assert_eq!(
        dests.as_array().unwrap().len(),
        3,
        "the disabled ring does not ring"
    );

    // And back: C5 adds the mailbox and changes the timer; sipX shows withVoicemail.
    let mut doc = cf.clone();
    doc["cft"]["destinations"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "voicebox", "timeout": 300, "priority": 9}));
    doc["cft"]["ringtimeout"] = json!(25);
    for k in ["_links", "id"] {
        doc.as_object_mut().unwrap().remove(k);
    }
    let r = api(
        &app,
        ROOT,
        "PUT",
        &format!("/api/callforwards/{id}"),
        &[JSON_BODY],
        Some(&doc.to_string()),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let seq = rest(&app, me, "GET", "my/forward", &[JSON_ACCEPT], None).json();
    assert_eq!(seq["call-sequence"]["withVoicemail"], true);
    assert_eq!(seq["call-sequence"]["expiration"], 25);
    assert_eq!(seq["call-sequence"]["rings"].as_array().unwrap().len(), 4);

    // A JSON PUT replaces every ring; withVoicemail is output only, the mailbox stays.
    let put = json!({"call-sequence": {"rings": [{"number": "1003", "expiration": 15,
        "type": "If no response", "enabled": true}], "expiration": 30, "withVoicemail": false}});
    let r = rest(
        &app,
        me,
        "PUT",
        "my/forward",
        &[JSON_BODY],
        Some(&put.to_string()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let seq = rest(&app, me, "GET", "my/forward", &[JSON_ACCEPT], None).json();
    assert_eq!(
        seq,
        json!({"call-sequence": {"rings": [{"expiration": 15, "type": "If no response",
            "enabled": true, "number": "1003"}], "expiration": 30, "withVoicemail": true}})
    );

    // my/callfwd is the same sequence as a bare JSON bean, read and written.
    let r = rest(&app, me, "GET", "my/callfwd", &[], None);
    assert_eq!(
        r.header("content-type").unwrap(),
        "application/json; charset=UTF-8"
    );
    assert_eq!(
        r.body,
        r#"{"rings":[{"expiration":15,"type":"If no response","enabled":true,"number":"1003"}],"withVM":true,"expiration":30}"#
    );
    let bean = json!({"rings": [{"number": "1004", "expiration": 12, "type": "At the same time",
        "enabled": true, "scheduleId": null}], "expiration": 22, "withVM": false});
    let r = rest(
        &app,
        me,
        "PUT",
        "my/callfwd",
        &[JSON_BODY],
        Some(&bean.to_string()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let seq = rest(&app, me, "GET", "my/forward", &[JSON_ACCEPT], None).json();
    assert_eq!(seq["call-sequence"]["rings"][0]["number"], "1004");
    assert_eq!(seq["call-sequence"]["rings"][0]["type"], "At the same time");
    assert_eq!(seq["call-sequence"]["expiration"], 22);
    let cf = api(
        &app,
        ROOT,
        "GET",
        &format!("/api/callforwards/{id}"),
        &[],
        None,
    )
    .json();
    assert_eq!(
        cf["cft"]["destinations"][0]["destination"],
        format!("sip:1004@{domain}")
    );

    // Every change is audited with the sipx dialect.
    let out = app.cli(&["audit", "tail", "-n", "30"]);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.lines()
            .any(|l| l.contains("via=sipx") && l.contains("PUT forward") && l.contains(" ok ")),
        "{log}"
    );
}

#[test]
fn subscribers_authenticate_with_the_pin_by_name_alias_digest_or_private_key() {
    let app = TestApp::spawn();
    let (id, domain) = subscriber(&app, "sxauth", "carol");
    let (_other, _) = subscriber(&app, "sxauth2", "dave");
    for user in ["carol", &format!("carol@{domain}")] {
        let r = rest(&app, Some((user, PIN)), "GET", "my/forward", &[], None);
        assert_eq!(r.status, 200, "{user}: {}", r.body);
    }
    // The SIP password is not the portal PIN.
    let r = rest(
        &app,
        Some(("carol", "sip-secret")),
        "GET",
        "my/forward",
        &[],
        None,
    );
    assert_eq!(r.status, 401);
    assert!(r.headers.contains("Digest"), "{}", r.headers);
    // No credentials: a challenge.
    assert_eq!(rest(&app, None, "GET", "my/forward", &[], None).status, 401);

    // Digest (curl --digest) with the alias number.
    let url = format!("{}/sipxconfig/rest/my/forward", app.https);
    let sub = api(
        &app,
        ROOT,
        "GET",
        &format!("/api/subscribers/{id}"),
        &[],
        None,
    )
    .json();
    let pn = &sub["primary_number"];
    let alias = format!("{}{}{}", pn["cc"], pn["ac"], pn["sn"]).replace('"', "");
    let status = common::http_status(&["--digest", "-u", &format!("{alias}@{domain}:{PIN}"), &url]);
    assert_eq!(status, "200");

    // Basic over plain HTTP is refused.
    let plain = format!("{}/sipxconfig/rest/my/forward", app.http);
    assert_eq!(
        common::http_status(&["-u", &format!("carol:{PIN}"), &plain]),
        "401"
    );

    // login details: user name and the private user key, never a password.
    let r = rest(
        &app,
        Some(("carol", PIN)),
        "GET",
        "my/logindetails",
        &[JSON_ACCEPT],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let details = r.json();
    let key = details["login-details"]["privateUserKey"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(key.len(), 32);
    assert_eq!(details["login-details"]["userName"], "carol");
    assert!(
        !r.body.contains("sip-secret") && !r.body.contains(PIN),
        "{}",
        r.body
    );
    // The same key again, and it alone authenticates every my/ route.
    let again = rest(
        &app,
        Some(("carol", PIN)),
        "GET",
        "my/logindetails",
        &[XML],
        None,
    );
    assert!(again.body.contains(&key), "{}", again.body);
    let r = rest(
        &app,
        None,
        "GET",
        &format!("private/{key}/forward"),
        &[],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let put = "<call-sequence><rings><ring><number>77</number></ring></rings></call-sequence>";
    let r = rest(
        &app,
        None,
        "PUT",
        &format!("private/{key}/forward"),
        &[],
        Some(put),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let cf = api(
        &app,
        ROOT,
        "GET",
        &format!("/api/callforwards/{id}"),
        &[],
        None,
    )
    .json();
    assert_eq!(
        cf["cft"]["destinations"][0]["destination"],
        format!("sip:77@{domain}")
    );
    assert_eq!(
        cf["cft"]["destinations"][0]["timeout"], 30,
        "default ring expiration"
    );

    // Dave's key does not open Carol's data; a wrong key is refused.
    let dave_key = rest(
        &app,
        Some(("dave", PIN)),
        "GET",
        "my/logindetails",
        &[JSON_ACCEPT],
        None,
    )
    .json()["login-details"]["privateUserKey"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(dave_key, key);
    let daves = rest(
        &app,
        None,
        "GET",
        &format!("private/{dave_key}/forward"),
        &[],
        None,
    );
    assert!(
        !daves.body.contains("<number>77</number>"),
        "{}",
        daves.body
    );
    let wrong = "0123456789abcdef0123456789abcdef";
    assert_eq!(
        rest(
            &app,
            None,
            "GET",
            &format!("private/{wrong}/forward"),
            &[],
            None
        )
        .status,
        403
    );
    assert_eq!(
        rest(&app, None, "GET", "private/short/forward", &[], None).status,
        403
    );

    // A new portal PIN takes over at once; the old one stops working.
    let r = rest(
        &app,
        Some(("carol", PIN)),
        "PUT",
        "my/portal/password/n3w-pin",
        &[],
        Some(" "),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        rest(&app, Some(("carol", PIN)), "GET", "my/forward", &[], None).status,
        401
    );
    assert_eq!(
        rest(
            &app,
            Some(("carol", "n3w-pin")),
            "GET",
            "my/forward",
            &[],
            None
        )
        .status,
        200
    );
    let r = rest(
        &app,
        Some(("carol", "n3w-pin")),
        "PUT",
        "my/portal/password/ab",
        &[],
        Some("+"),
    );
    assert_eq!(r.status, 400, "too short: {}", r.body);
    // A refused login is audited with the path, but never with the PIN it would have set.
    let r = rest(
        &app,
        Some(("carol", "wrong-pin")),
        "PUT",
        "my/portal/password/le4k-me-not",
        &[],
        Some(" "),
    );
    assert_eq!(r.status, 401, "{}", r.body);
    let audit = app.cli(&["audit", "tail", "-n", "30"]);
    let log = String::from_utf8_lossy(&audit.stdout);
    assert!(log.contains("portal/password/***"), "{log}");
    assert!(!log.contains("le4k-me-not"), "{log}");
    // The voicemail PIN is the account's vm_password (digits only).
    let r = rest(
        &app,
        Some(("carol", "n3w-pin")),
        "PUT",
        "my/voicemail/pin/0042",
        &[],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = rest(
        &app,
        Some(("carol", "n3w-pin")),
        "PUT",
        "my/voicemail/pin/12ab",
        &[],
        None,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let r = rest(
        &app,
        Some(("carol", "n3w-pin")),
        "GET",
        "my/voicemail/pin/0042",
        &[],
        None,
    );
    assert_eq!(r.status, 405);
    // Secrets never reach the audit log.
    let out = app.cli(&["audit", "tail", "-n", "50"]);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        !log.contains("n3w-pin") && !log.contains("0042") && !log.contains(&key),
        "{log}"
    );
}

#[test]
fn contact_information_shares_names_and_email_with_c5() {
    let app = TestApp::spawn();
    let (id, _) = subscriber(&app, "sxci", "erin");
    let me = Some(("erin", PIN));
    let r = rest(&app, me, "GET", "my/contact-information", &[], None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, golden("contact-information-empty.xml"));

    let status = seed_curl_put(
        &app,
        "erin",
        "my/contact-information",
        &golden_path("contact-information-put.xml"),
    );
    assert_eq!(status, "200");
    let r = rest(&app, me, "GET", "my/contact-information", &[XML], None);
    let got = r.body.replace(&timestamp(&r.body), "TIMESTAMP");
    assert_eq!(got, golden("contact-information.xml"));
    let r = rest(
        &app,
        me,
        "GET",
        "my/contact-information",
        &[JSON_ACCEPT],
        None,
    );
    let got = r.body.replace(&timestamp(&r.body), "TIMESTAMP");
    assert_eq!(got, golden("contact-information.json"));

    // C5 sees the same e-mail address.
    let sub = api(
        &app,
        ROOT,
        "GET",
        &format!("/api/subscribers/{id}"),
        &[],
        None,
    )
    .json();
    assert_eq!(sub["email"], "erin@example.com");

    // Fields PUT ignores keep their values (imId stays blank), absent ones are cleared.
    let put = json!({"contact-information": {"firstName": "Erin", "imId": "hacked",
        "enabled": false, "homeAddress": {"city": "Linz"}}});
    let r = rest(
        &app,
        me,
        "PUT",
        "my/contact-information",
        &[JSON_BODY],
        Some(&put.to_string()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let got = rest(
        &app,
        me,
        "GET",
        "my/contact-information",
        &[JSON_ACCEPT],
        None,
    )
    .json();
    let ci = &got["contact-information"];
    assert_eq!(ci["imId"], "");
    assert_eq!(ci["enabled"], true);
    assert_eq!(ci["homeAddress"], json!({"city": "Linz"}));
    assert_eq!(ci["officeAddress"], json!({}));
    assert!(
        ci.get("jobTitle").is_none() && ci.get("lastName").is_none(),
        "{ci}"
    );
}

/// The `timestamp` value of a contact-information document.
fn timestamp(body: &str) -> String {
    let after = body
        .split_once("<timestamp>")
        .map(|(_, r)| r)
        .or_else(|| body.split_once("\"timestamp\":").map(|(_, r)| r))
        .expect("a timestamp");
    after.chars().take_while(char::is_ascii_digit).collect()
}

#[test]
fn bad_input_is_a_clear_4xx_and_changes_nothing() {
    let app = TestApp::spawn();
    let (id, _) = subscriber(&app, "sxbad", "frank");
    let me = Some(("frank", PIN));
    let good = "<call-sequence><rings><ring><number>1001</number><expiration>20</expiration>\
                </ring></rings><expiration>25</expiration></call-sequence>";
    assert_eq!(
        rest(&app, me, "PUT", "my/forward", &[], Some(good)).status,
        200
    );
    let before = rest(&app, me, "GET", "my/forward", &[], None).body;
    let cf_before = api(
        &app,
        ROOT,
        "GET",
        &format!("/api/callforwards/{id}"),
        &[],
        None,
    )
    .body;

    let cases: [(&str, &[&str], &str, &str); 10] = [
        (
            "malformed XML",
            &[],
            "<call-sequence><rings>",
            "malformed XML",
        ),
        (
            "malformed JSON",
            &[JSON_BODY],
            "{\"call-sequence\":",
            "malformed JSON",
        ),
        ("unknown root", &[], "<forwarding/>", "unknown root"),
        ("empty body", &[], "", "needs a body"),
        ("dummy body", &[], "+", "needs a body"),
        (
            "bad type",
            &[],
            "<call-sequence><rings><ring><number>1</number><type>Sometimes</type></ring></rings></call-sequence>",
            "'type' must be",
        ),
        (
            "bad number",
            &[],
            "<call-sequence><rings><ring><number>the moon</number></ring></rings></call-sequence>",
            "rings.0.number",
        ),
        (
            "bad expiration",
            &[],
            "<call-sequence><rings><ring><number>1</number><expiration>soon</expiration></ring></rings></call-sequence>",
            "whole number",
        ),
        (
            "timer out of range",
            &[],
            "<call-sequence><expiration>99999</expiration></call-sequence>",
            "expiration",
        ),
        (
            "DTD",
            &[],
            "<!DOCTYPE x [<!ENTITY a \"b\">]><call-sequence/>",
            "DTD",
        ),
    ];
    for (what, headers, body, message) in cases {
        let r = rest(&app, me, "PUT", "my/forward", headers, Some(body));
        assert_eq!(r.status, 400, "{what}: {}", r.body);
        assert!(r.body.contains(message), "{what}: {}", r.body);
    }
    // Wrong Accept, unknown resources and methods.
    let r = rest(&app, me, "GET", "my/forward", &["Accept: image/png"], None);
    assert_eq!(r.status, 406, "{}", r.body);
    assert!(r.body.contains("text/xml"), "{}", r.body);
    assert_eq!(rest(&app, me, "GET", "my/nothing", &[], None).status, 404);
    assert_eq!(
        rest(&app, me, "DELETE", "my/forward", &[], None).status,
        405
    );
    assert_eq!(
        rest(&app, None, "GET", "nothing/here", &[], None).status,
        404
    );
    let r = rest(&app, me, "PUT", "my/callfwd", &[JSON_BODY], Some("[1,2]"));
    assert_eq!(r.status, 400, "{}", r.body);
    let r = rest(
        &app,
        me,
        "PUT",
        "my/contact-information",
        &[JSON_BODY],
        Some(r#"{"contact-information":{"emailAddress":"nope"}}"#),
    );
    assert_eq!(r.status, 400, "{}", r.body);

    // Nothing changed, and the server still serves.
    assert_eq!(rest(&app, me, "GET", "my/forward", &[], None).body, before);
    assert_eq!(
        api(
            &app,
            ROOT,
            "GET",
            &format!("/api/callforwards/{id}"),
            &[],
            None
        )
        .body,
        cf_before
    );
    let value: Value = rest(&app, me, "GET", "my/forward", &[JSON_ACCEPT], None).json();
    assert_eq!(value["call-sequence"]["expiration"], 25);
}

/// Imports `csv` as the shared phonebook `name` with the operator's command line.
fn import(app: &TestApp, name: &str, csv: &str) -> std::process::Output {
    let file = app.data_dir().join(format!("{name}.csv"));
    std::fs::write(&file, csv).unwrap();
    app.cli(&["phonebook", "import", name, file.to_str().unwrap()])
}

#[test]
fn phonebooks_from_the_cli_in_sipx_csv_xml_and_the_subscribers_view() {
    let app = TestApp::spawn();
    subscriber(&app, "sxpb", "gina");
    let out = import(&app, "sales", &golden("phonebook-sales.csv"));
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 entries"));

    // The seed's recipe: plain curl (no Accept) gets CSV.
    let url = format!("{}/sipxconfig/rest/phonebook/sales", app.https);
    let mut cmd = Command::new("curl");
    cmd.args([
        "-s",
        "--insecure",
        "--basic",
        "-u",
        &format!("root:{}", common::ROOT_PASSWORD),
    ])
    .arg(&url);
    let (code, body, err) = common::run(&mut cmd);
    assert_eq!(code, 0, "{err}");
    assert_eq!(body, golden("phonebook-sales.csv"));
    let r = rest(&app, ROOT, "GET", "phonebook/sales", &[XML], None);
    assert_eq!(r.body, golden("phonebook-sales.xml"));
    let r = rest(&app, ROOT, "GET", "phonebook", &[], None);
    assert!(r.body.contains("<phonebook name=\"sales\"/>"), "{}", r.body);
    assert_eq!(
        rest(&app, ROOT, "GET", "phonebook/nope", &[], None).status,
        404
    );

    // The subscriber's view with its own entry, paged, as JSON.
    let me = Some(("gina", PIN));
    let entry = r#"{"entry":{"first-name":"Zoe","last-name":"Private","number":"5550","contact-information":{"emailAddress":"zoe@example.com","shoeSize":"44"}}}"#;
    let r = rest(&app, me, "POST", "my/phonebook", &[JSON_BODY], Some(entry));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = rest(
        &app,
        me,
        "GET",
        "my/pagedphonebook?start=0",
        &[JSON_ACCEPT],
        None,
    );
    assert_eq!(r.body, golden("pagedphonebook.json"));
    let r = rest(
        &app,
        me,
        "GET",
        "my/pagedphonebook?start=5&end=2",
        &[],
        None,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let r = rest(&app, me, "GET", "my/search/phonebook", &[], None);
    assert_eq!(r.status, 400, "{}", r.body);

    // A bad file is refused with its line, and changes nothing; re-import replaces.
    let out = import(
        &app,
        "sales",
        "\"A\",\"B\",\"1\"\n\"only two\",\"fields\"\n",
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2"),
        "{out:?}"
    );
    let out = import(&app, "sales", "\"A\",\"B\",\"\"\n");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("number"),
        "{out:?}"
    );
    let r = rest(&app, ROOT, "GET", "phonebook/sales", &[], None);
    assert_eq!(r.body, golden("phonebook-sales.csv"));
    let out = import(&app, "sales", "Carol,Third,1003\n");
    assert!(out.status.success(), "{out:?}");
    let r = rest(&app, ROOT, "GET", "phonebook/sales", &[], None);
    assert_eq!(
        r.body,
        "\"First name\",\"Last name\",\"Number\"\n\"Carol\",\"Third\",\"1003\"\n"
    );
    let out = app.cli(&["audit", "tail", "-n", "40"]);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("phonebook import phonebook:sales"), "{log}");
}

#[test]
fn python_requests_phonebooks() {
    let app = TestApp::spawn();
    subscriber(&app, "sxpy", "hank");
    let out = import(&app, "sales", &golden("phonebook-sales.csv"));
    assert!(out.status.success(), "{out:?}");
    crate::clients::run_client(
        &app,
        "python3",
        &["tests/clients/sipx_requests.py", "phonebooks", "hank", PIN],
        "ok phonebooks",
    );
}

#[test]
fn python_requests_forward_with_digest() {
    let app = TestApp::spawn();
    subscriber(&app, "sxpyf", "ivy");
    crate::clients::run_client(
        &app,
        "python3",
        &["tests/clients/sipx_requests.py", "forward", "ivy", PIN],
        "ok forward",
    );
}

/// A tiny call controller on loopback: answers each POST with the next of `answers` (status,
/// body) and sends the request bodies it got down the channel.
pub fn webhook(
    answers: Vec<(u16, &'static str)>,
) -> (String, std::sync::mpsc::Receiver<(String, String)>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/originate", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for (status, body) in answers {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .unwrap();
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut content = vec![0; length];
            reader.read_exact(&mut content).unwrap();
            let _ = tx.send((
                request_line.trim().to_string(),
                String::from_utf8_lossy(&content).into_owned(),
            ));
            let reply = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            reader.get_mut().write_all(reply.as_bytes()).unwrap();
        }
    });
    (url, rx)
}

#[test]
fn click_to_call_goes_to_the_configured_call_controller() {
    // Without a controller: 503 with the reason, nothing recorded.
    let app = TestApp::spawn();
    subscriber(&app, "sxc0", "jack");
    let r = rest(
        &app,
        Some(("jack", PIN)),
        "PUT",
        "my/call/1234",
        &[],
        Some(" "),
    );
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("call_controller_url"), "{}", r.body);
    drop(app);

    let (url, requests) = webhook(vec![(200, "ringing"), (500, "trunk down")]);
    let app = crate::common::Launch {
        args: vec!["--call-controller-url".into(), url],
        ..crate::common::Launch::default()
    }
    .spawn();
    let (_, domain) = subscriber(&app, "sxc1", "kate");
    let me = Some(("kate", PIN));
    // The seed's recipe: curl -X PUT https://user:pw@host/sipxconfig/rest/call/{number}, no body.
    let host = app.https.trim_start_matches("https://");
    let status = common::http_status(&[
        "-X",
        "PUT",
        &format!("https://kate:{PIN}@{host}/sipxconfig/rest/call/(0316)123-45.67"),
    ]);
    assert_eq!(status, "200");
    let (request_line, content) = requests
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    assert_eq!(request_line, "POST /originate HTTP/1.1");
    let body: Value = serde_json::from_str(&content).unwrap();
    assert_eq!(body["callee"], "03161234567");
    assert_eq!(body["caller"], format!("kate@{domain}"));

    // A bad number: 400, nothing recorded; GET is refused.
    let r = rest(&app, me, "PUT", "my/call/12ab", &[], None);
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(rest(&app, me, "GET", "my/call/1234", &[], None).status, 405);
    // The controller refusing: 502 with its answer, the job marked failed.
    let r = rest(&app, me, "PUT", "my/call/+431", &[], Some("+"));
    assert_eq!(r.status, 502, "{}", r.body);
    assert!(r.body.contains("trunk down"), "{}", r.body);

    let out = app.cli(&["calls", "tail"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].contains("-> 03161234567 handed_over 200 OK ringing"),
        "{text}"
    );
    assert!(lines[1].contains("-> +431 failed"), "{text}");
}

#[test]
fn conferences_belong_to_their_owner() {
    let app = TestApp::spawn();
    subscriber(&app, "sxconf", "lena");
    subscriber(&app, "sxconf2", "mike");
    let me = Some(("lena", PIN));
    assert_eq!(
        rest(&app, me, "GET", "my/conferences", &[], None).body,
        "<conferences/>"
    );
    assert_eq!(
        rest(&app, me, "GET", "my/conferences/team", &[], None).status,
        404
    );
    // PUT creates; settings left out keep their defaults, then their values.
    let put = "<setting><description>Weekly &lt;team&gt; call</description>\
               <accessCode>1234</accessCode><moderatorCode>9999</moderatorCode>\
               <maxMembers>10</maxMembers></setting>";
    let r = rest(&app, me, "PUT", "my/conferences/team", &[], Some(put));
    assert_eq!(r.status, 200, "{}", r.body);
    let json = r#"{"setting":{"extension":"3100"}}"#;
    let r = rest(
        &app,
        me,
        "PUT",
        "my/conferences/team",
        &[JSON_BODY],
        Some(json),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = rest(&app, me, "GET", "my/conferences/team", &[], None);
    assert_eq!(r.body, golden("conference-setting.xml"));
    let r = rest(&app, me, "GET", "my/conferences", &[JSON_ACCEPT], None);
    assert_eq!(r.body, golden("conferences.json"));
    let r = rest(
        &app,
        me,
        "GET",
        "my/conferencedetails/team",
        &[JSON_ACCEPT],
        None,
    );
    assert_eq!(r.body, golden("conferencedetails.json"));

    // Bad settings change nothing; another user may neither read nor take the name.
    for bad in [
        r#"{"setting":{"accessCode":"12ab"}}"#,
        r#"{"setting":{"maxMembers":"many"}}"#,
        r#"{"setting":{"name":"other"}}"#,
    ] {
        let r = rest(
            &app,
            me,
            "PUT",
            "my/conferences/team",
            &[JSON_BODY],
            Some(bad),
        );
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    assert_eq!(
        rest(&app, me, "GET", "my/conferences/team", &[], None).body,
        golden("conference-setting.xml")
    );
    let them = Some(("mike", PIN));
    // Reading another's conference is answered like a missing one; taking its name is refused.
    assert_eq!(
        rest(&app, them, "GET", "my/conferences/team", &[], None).status,
        404
    );
    let r = rest(
        &app,
        them,
        "PUT",
        "my/conferences/team",
        &[JSON_BODY],
        Some(json),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        rest(&app, them, "GET", "my/conferences", &[], None).body,
        "<conferences/>"
    );
}

#[test]
fn the_admin_page_imports_phonebooks_with_csrf() {
    let app = TestApp::spawn();
    let curl = crate::admin_ui::Curl::new(&app);
    let csrf = curl.sign_in("root", common::ROOT_PASSWORD);
    let page = curl.get("/admin/phonebooks");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<label for=\"csv\">"), "{}", page.body);
    assert!(
        page.body.contains("No shared phonebooks yet."),
        "{}",
        page.body
    );

    // Without the CSRF token: refused, nothing made.
    let r = curl.post(
        "/admin/phonebooks",
        &[("name", "support"), ("csv", "A,B,1")],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // A bad line: the reason on the page, nothing made, the input kept.
    let r = curl.post(
        "/admin/phonebooks",
        &[("csrf", &csrf), ("name", "support"), ("csv", "\"A\",\"B\"")],
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.text().contains("Not imported: line 1: 2 fields"),
        "{}",
        r.body
    );
    assert_eq!(
        rest(&app, ROOT, "GET", "phonebook/support", &[], None).status,
        404
    );

    let csv = golden("phonebook-sales.csv");
    let r = curl.post(
        "/admin/phonebooks",
        &[("csrf", &csrf), ("name", "support"), ("csv", &csv)],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let page = curl.get("/admin/phonebooks?done=phonebook-imported");
    assert!(
        page.body.contains("Imported the phonebook."),
        "{}",
        page.body
    );
    assert!(page.body.contains("<code>support</code>"), "{}", page.body);
    let r = rest(&app, ROOT, "GET", "phonebook/support", &[], None);
    assert_eq!(r.body, csv);
}

//! `/api/callforwards`, `/api/subscriberpreferences` and `/api/subscriberpreferencedefs` against
//! the real server: one model with XML-RPC accounts, audit rows, isolation, refusals.

use serde_json::{Value, json};

use crate::c5::{ROOT, api, create, customer_with_domain};
use crate::common::{TestApp, create_root_account};

const JSON: &str = "Content-Type: application/json";

#[test]
fn an_xmlrpc_account_has_forwarding_and_preferences_and_changes_are_audited() {
    let app = TestApp::spawn();
    let id = create_root_account(&app, "sippy-fwd");
    let path = format!("/api/callforwards/{id}");
    let empty = api(&app, ROOT, "GET", &path, &[], None).json();
    for kind in ["cfu", "cfb", "cft", "cfna", "cfs", "cfr", "cfo"] {
        assert_eq!(empty[kind], json!({}), "{kind}");
    }
    let doc = json!({"cfu": {"destinations": [{"destination": "+4311", "timeout": 15}]}});
    let r = api(&app, ROOT, "PUT", &path, &[JSON], Some(&doc.to_string()));
    assert_eq!(r.status, 204, "{}", r.body);
    let got = api(&app, ROOT, "GET", &path, &[], None).json();
    // A Sippy account has no SIP domain: the number becomes a bare SIP URI.
    assert_eq!(got["cfu"]["destinations"][0]["destination"], "sip:+4311");
    assert_eq!(got["cfu"]["destinations"][0]["simple_destination"], "+4311");

    let prefs = format!("/api/subscriberpreferences/{id}");
    let body = json!({"concurrent_max": 3, "block_in_list": ["431*"], "nonsense": 1});
    let r = api(&app, ROOT, "PUT", &prefs, &[JSON], Some(&body.to_string()));
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(r.header("warning").unwrap().contains("nonsense"));
    let got = api(&app, ROOT, "GET", &prefs, &[], None).json();
    assert_eq!(
        (got["concurrent_max"].clone(), got["block_in_list"].clone()),
        (json!(3), json!(["431*"]))
    );

    let out = app.cli(&["audit", "tail", "-n", "20"]);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("PUT /api/callforwards/"), "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("subscriberpreferences") && l.contains("concurrent_max")),
        "{log}"
    );

    // DELETE clears every type.
    assert_eq!(api(&app, ROOT, "DELETE", &path, &[], None).status, 204);
    assert_eq!(
        api(&app, ROOT, "GET", &path, &[], None).json()["cfu"],
        json!({})
    );
}

#[test]
fn refusals_change_nothing_and_other_resellers_see_nothing() {
    let app = TestApp::spawn();
    let (customer, domain) = customer_with_domain(&app, "fwd");
    let id = create(
        &app,
        "subscribers",
        &json!({"customer_id": customer, "domain": domain, "username": "f", "password": "p",
                "primary_number": {"cc": 1, "ac": 2, "sn": 3}}),
    );
    let path = format!("/api/callforwards/{id}");
    let good = json!({"cfna": {"destinations": [{"destination": "5678", "timeout": 10}],
                               "times": [{"hour": "8-18"}]}});
    assert_eq!(
        api(&app, ROOT, "PUT", &path, &[JSON], Some(&good.to_string())).status,
        204
    );
    let before = api(&app, ROOT, "GET", &path, &[], None).body;
    assert!(before.contains(&format!("sip:5678@{domain}")));
    let bad: [(Value, &str); 4] = [
        (
            json!({"cfu": {"destinations": [{"destination": "1", "timeout": "soon"}]}}),
            "cfu.destinations.0.timeout",
        ),
        (
            json!({"cfu": {"destinations": [{"destination": "1"}], "times": [{"hour": "25"}]}}),
            "cfu.times.0",
        ),
        (
            json!({"cfu": {"destinations": [{"destination": "the moon"}]}}),
            "cfu.destinations.0.destination",
        ),
        (
            json!({"cft": {"destinations": [{"destination": "1"}], "ringtimeout": -4}}),
            "cft.ringtimeout",
        ),
    ];
    for (doc, field) in bad {
        let r = api(&app, ROOT, "PUT", &path, &[JSON], Some(&doc.to_string()));
        assert_eq!(r.status, 422, "{doc}: {}", r.body);
        assert!(r.body.contains(&format!("field='{field}'")), "{}", r.body);
    }
    assert_eq!(
        api(&app, ROOT, "GET", &path, &[], None).body,
        before,
        "nothing changed"
    );

    let prefs = format!("/api/subscriberpreferences/{id}");
    for (doc, message) in [
        (
            json!({"concurrent_max": "x"}),
            "Invalid data type for element in preference 'concurrent_max', expected 'int'",
        ),
        (
            json!({"lock": "9"}),
            "Invalid enum value in preference 'lock'",
        ),
        (
            json!({"cli": "1".repeat(129)}),
            "Preference 'cli' exceeds maximum length of 128 characters",
        ),
    ] {
        let r = api(&app, ROOT, "PUT", &prefs, &[JSON], Some(&doc.to_string()));
        assert_eq!(
            (r.status, r.json()["message"].clone()),
            (422, json!(message))
        );
    }

    // Another reseller's admin finds neither.
    let reseller = create(
        &app,
        "resellers",
        &json!({"name": "other", "status": "active"}),
    );
    create(
        &app,
        "admins",
        &json!({"login": "other-admin", "password": "secret-pw", "reseller_id": reseller}),
    );
    let other = Some(("other-admin", "secret-pw"));
    assert_eq!(api(&app, other, "GET", &path, &[], None).status, 404);
    assert_eq!(
        api(&app, other, "PUT", &prefs, &[JSON], Some("{}")).status,
        404
    );
    let page = api(&app, other, "GET", "/api/callforwards/", &[], None).json();
    assert_eq!(page["total_count"], 0);

    let defs = api(
        &app,
        ROOT,
        "GET",
        "/api/subscriberpreferencedefs/",
        &[],
        None,
    )
    .json();
    for name in [
        "block_in_mode",
        "block_in_list",
        "block_in_clir",
        "block_out_mode",
        "block_out_list",
        "block_out_override_pin",
        "clir",
        "cli",
        "allowed_clis",
        "concurrent_max",
        "music_on_hold",
        "ringtimeout",
        "lock",
        "display_name",
    ] {
        assert!(defs[name]["label"].is_string(), "{name}");
    }
    assert_eq!(defs["block_in_list"]["max_occur"], 0);
}

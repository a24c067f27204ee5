//! The LDAP address book against the real server: `ldapsearch` (OpenLDAP's client) and Python
//! ldap3 over LDAPS and StartTLS, binds as accounts, filters, paging, limits, refusals, and a
//! change through the C5 API showing in the next search.

use std::process::Command;

use serde_json::json;

use crate::c5::{ROOT, api, create, customer_with_domain};
use crate::common::{Launch, TestApp, repo, run};

const PASSWORD: &str = "web-pw-1";

struct Directory {
    app: TestApp,
    ldaps: String,
    ldap: String,
    domain: String,
    other_domain: String,
    alice: i64,
}

fn listener(app: &TestApp, scheme: &str) -> String {
    app.printed
        .iter()
        .find_map(|l| l.strip_prefix(&format!("switchyard: address book on {scheme}://")))
        .unwrap_or_else(|| panic!("no {scheme} line in {:?}", app.printed))
        .to_string()
}

/// A server with both LDAP listeners and two domains: five people in one, one in the other.
fn directory(extra: &[&str]) -> Directory {
    let mut args = vec![
        "--ldaps-listen".to_string(),
        "127.0.0.1:0".into(),
        "--ldap-listen".into(),
        "127.0.0.1:0".into(),
    ];
    args.extend(extra.iter().map(|a| (*a).to_string()));
    let app = Launch {
        args,
        ..Launch::default()
    }
    .spawn();
    let (customer, domain) = customer_with_domain(&app, "ldap");
    let (other_customer, other_domain) = customer_with_domain(&app, "elsewhere");
    let person = |user: &str, name: Option<&str>, email: &str, sn: &str| {
        let mut doc = json!({"customer_id": customer, "domain": domain, "username": user,
                             "password": "sip-pw", "webpassword": PASSWORD, "email": email});
        if let Some(name) = name {
            doc["display_name"] = json!(name);
        }
        doc["primary_number"] = json!({"cc": "43", "ac": "1", "sn": sn});
        create(&app, "subscribers", &doc)
    };
    let alice = person(
        "alice",
        Some("Alice Liddell"),
        "alice@mail.example",
        "5550001",
    );
    person(
        "alicia",
        Some("Alicia Keys"),
        "alicia@mail.example",
        "5550003",
    );
    person("alan", Some("Alan Turing"), "alan@mail.example", "5550004");
    person("bob", None, "bob@mail.example", "5550002");
    person("carol", None, "carol@mail.example", "5550005");
    create(
        &app,
        "subscribers",
        &json!({"customer_id": other_customer, "domain": other_domain, "username": "zed",
                "password": "sip-pw", "webpassword": PASSWORD,
                "primary_number": {"cc": "43", "ac": "2", "sn": "1"}}),
    );
    Directory {
        ldaps: listener(&app, "ldaps"),
        ldap: listener(&app, "ldap (StartTLS)"),
        app,
        domain,
        other_domain,
        alice,
    }
}

fn ldapsearch(d: &Directory, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new("ldapsearch");
    cmd.env("LDAPCONF", "/dev/null")
        .env("LDAPTLS_CACERT", d.app.ca_file())
        .env("LDAPTLS_REQCERT", "demand")
        .args(["-LLL", "-x"])
        .args(args);
    run(&mut cmd)
}

fn base(domain: &str) -> String {
    let dcs: Vec<String> = domain.split('.').map(|l| format!("dc={l}")).collect();
    format!("ou=addressbook,{}", dcs.join(","))
}

fn python(d: &Directory, scenario: &str) {
    let script = repo().join("tests/clients/ldap_ldap3.py");
    let (code, out, err) = run(Command::new("python3")
        .arg(script)
        .arg(scenario)
        .env("SY_LDAPS", &d.ldaps)
        .env("SY_LDAP", &d.ldap)
        .env("SY_CAFILE", d.app.ca_file())
        .env("SY_DOMAIN", &d.domain)
        .env("SY_OTHER_DOMAIN", &d.other_domain)
        .env("SY_USER", "alice")
        .env("SY_PASSWORD", PASSWORD));
    assert_eq!(code, 0, "{scenario}: {out}{err}");
    assert!(out.contains(&format!("ok {scenario}")), "{out}");
}

#[test]
fn ldapsearch_binds_as_an_account_and_finds_people_by_prefix() {
    let d = directory(&[]);
    let uri = format!("ldaps://{}", d.ldaps);
    let bind = format!("alice@{}", d.domain);
    let (code, out, err) = ldapsearch(
        &d,
        &[
            "-H",
            &uri,
            "-D",
            &bind,
            "-w",
            PASSWORD,
            "-b",
            &base(&d.domain),
            "(cn=ali*)",
            "cn",
            "mail",
            "telephoneNumber",
            "labeledURI",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("dn: uid=alice,{}", base(&d.domain))),
        "{out}"
    );
    assert!(out.contains("cn: Alice Liddell"), "{out}");
    assert!(out.contains("cn: Alicia Keys"), "{out}");
    assert!(out.contains("telephoneNumber: 4315550001"), "{out}");
    assert!(
        out.contains(&format!("labeledURI: sip:alice@{}", d.domain)),
        "{out}"
    );
    assert!(!out.contains("Alan"), "{out}");

    // The entry's own DN binds as well, and StartTLS on the plain port (-ZZ: required).
    let dn = format!("uid=bob,{}", base(&d.domain));
    let plain = format!("ldap://{}", d.ldap);
    let (code, out, err) = ldapsearch(
        &d,
        &[
            "-ZZ",
            "-H",
            &plain,
            "-D",
            &dn,
            "-w",
            PASSWORD,
            "-b",
            &base(&d.domain),
            "(|(sn=Turing)(uid=bob))",
            "uid",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let mut uids: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("uid: "))
        .collect();
    uids.sort_unstable();
    assert_eq!(uids, ["alan", "bob"], "{out}");

    // A wrong password: exit 49 (invalid credentials) and a failed_auth audit row.
    let (code, _, err) = ldapsearch(
        &d,
        &[
            "-H",
            &uri,
            "-D",
            &bind,
            "-w",
            "nope",
            "-b",
            &base(&d.domain),
            "(uid=*)",
        ],
    );
    assert_eq!(code, 49, "{err}");
    let audit = d.app.cli(&["audit", "tail", "-n", "50"]);
    let log = String::from_utf8_lossy(&audit.stdout);
    assert!(
        log.lines()
            .any(|l| l.contains("failed_auth") && l.contains("ldap") && l.contains("alice")),
        "{log}"
    );
    assert!(!log.contains("nope"), "no password in the audit log");
}

#[test]
fn a_change_through_the_api_shows_in_the_next_search() {
    let d = directory(&[]);
    let uri = format!("ldaps://{}", d.ldaps);
    let bind = format!("alice@{}", d.domain);
    let search = |filter: &str| {
        ldapsearch(
            &d,
            &[
                "-H",
                &uri,
                "-D",
                &bind,
                "-w",
                PASSWORD,
                "-b",
                &base(&d.domain),
                filter,
                "cn",
            ],
        )
    };
    assert!(search("(uid=carol)").1.contains("cn: carol"));
    let r = api(
        &d.app,
        ROOT,
        "PATCH",
        &format!("/api/subscribers/{}", d.alice),
        &["Content-Type: application/json-patch+json"],
        Some(r#"[{"op":"replace","path":"/display_name","value":"Alice Pleasance"}]"#),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let (code, out, err) = search("(cn=alice p*)");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("cn: Alice Pleasance"), "{out}");
    assert!(!search("(cn=Alice Liddell)").1.contains("uid=alice"));
}

#[test]
fn python_ldap3_filters_pages_and_refusals() {
    let d = directory(&[]);
    for scenario in ["filters", "paging", "refusals", "starttls"] {
        python(&d, scenario);
    }
}

#[test]
fn anonymous_search_is_a_lab_switch() {
    let d = directory(&["--ldap-anonymous", "true"]);
    let uri = format!("ldaps://{}", d.ldaps);
    let (code, out, err) = ldapsearch(
        &d,
        &["-H", &uri, "-b", &base(&d.domain), "(uid=bob)", "uid"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("uid: bob"), "{out}");
}

//! Real clients against the real server, as the product's users drive it: Python's
//! xmlrpc.client over requests and over httplib2 (Sippy's published example), Perl LWP with
//! RPC::XML, and seed 000's curl command exactly as written. Each test starts its own server.
//! The scripts live in tests/clients/; a missing interpreter or module fails the test.

use std::process::Command;

use crate::common::{self, ROOT_PASSWORD, TestApp};

/// Runs a client script against `app` with the SY_* environment and asserts that it exited 0
/// and printed `ok_line`; otherwise fails with everything the script printed.
pub fn run_client(app: &TestApp, program: &str, args: &[&str], ok_line: &str) {
    let ca_file = app.ca_file();
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(common::repo())
        .env("SY_HTTPS_URL", app.xmlrpc_https())
        .env("SY_HTTP_URL", app.xmlrpc_http())
        .env(
            "SY_API_URL",
            app.xmlrpc_https().trim_end_matches("/xmlapi/xmlapi"),
        )
        .env("SY_CAFILE", &ca_file)
        .env("SY_ROOT_PASSWORD", ROOT_PASSWORD)
        .env("PERL_LWP_SSL_CA_FILE", &ca_file)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let (code, out, err) = common::run(&mut cmd);
    assert!(
        code == 0 && out.lines().any(|line| line.trim() == ok_line),
        "`{program} {}` exited {code}, expected 0 and a line `{ok_line}`\n\
         --- stdout\n{out}\n--- stderr\n{err}",
        args.join(" ")
    );
}

/// One scenario of tests/clients/sippy_xmlrpc.py against a fresh server.
fn python(scenario: &str) {
    let app = TestApp::spawn();
    run_client(
        &app,
        "python3",
        &["tests/clients/sippy_xmlrpc.py", scenario],
        &format!("ok {scenario}"),
    );
}

#[test]
fn python_customer_tree() {
    python("customer_tree");
}

#[test]
fn python_account_lifecycle() {
    python("account_lifecycle");
}

#[test]
fn python_auth_rules() {
    python("auth_rules");
}

#[test]
fn python_multicall() {
    python("multicall");
}

#[test]
fn python_nonce_reuse() {
    python("nonce_reuse");
}

#[test]
fn python_values() {
    python("values");
}

/// A customer created without `web_login` gets a login named after it; that login must obey the
/// server's own `web_login` rule (1-64 characters, no spaces or ':').
#[test]
fn python_default_login() {
    python("default_login");
}

/// getAccountInfo carries every member notes/sippy.md §4 lists (sessions, balance_bak, ...).
#[test]
fn python_account_info_members() {
    python("account_info_members");
}

#[test]
fn perl_lwp() {
    let app = TestApp::spawn();
    run_client(&app, "perl", &["tests/clients/lwp_xmlrpc.pl"], "ok lwp");
}

/// The command of seed 000, verbatim; the URL is appended.
const SEED_CURL: &str = r#"curl -v -k --digest -u CustomerA:pass123 -d '<?xml version="1.0"?> <methodCall> <methodName>getAccountInfo</methodName> <params> <param> <value><struct> <member><name>i_account</name> <value><int>3</int></value> </member> </struct></value> </param> </params> </methodCall>'"#;

/// The text inside the value of the first member called `name`, without its type tag.
fn member<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let rest = body.split(&format!("<name>{name}</name>")).nth(1)?;
    let rest = rest.trim_start().strip_prefix("<value>")?;
    let inner = match rest.strip_prefix('<') {
        Some(typed) => &typed[typed.find('>')? + 1..],
        None => rest,
    };
    Some(&inner[..inner.find('<')?])
}

#[test]
fn seed_curl_command() {
    let app = TestApp::spawn();
    let url = app.xmlrpc_https();

    // Root creates CustomerA with API password pass123, Allow API Calls and the API box on.
    let create_customer = common::call_xml(
        "createCustomer",
        &[
            ("name", "<string>CustomerA</string>"),
            ("web_password", "<string>web-pass-A</string>"),
            ("i_tariff", "<nil/>"),
            ("api_password", "<string>pass123</string>"),
            ("api_access", "<int>1</int>"),
            ("api_permission", "<boolean>1</boolean>"),
        ],
    );
    let (status, body) = common::curl_post(&url, Some(("root", ROOT_PASSWORD)), &create_customer);
    assert_eq!(status, 200, "{body}");
    assert!(
        member(&body, "i_customer").is_some(),
        "createCustomer: {body}"
    );

    // CustomerA creates three accounts; on a fresh server the third is account 3.
    let mut last = String::new();
    for n in 1..=3 {
        let username = format!("seed-acct-{n}");
        let string = |v: &str| format!("<string>{v}</string>");
        let int = |v: i32| format!("<int>{v}</int>");
        let members = [
            ("username", string(&username)),
            ("web_password", string("web-pw")),
            ("authname", string(&username)),
            ("voip_password", string("voip-pw")),
            ("translation_rule", string("")),
            ("cli_translation_rule", string("")),
            ("cpe_number", string("")),
            ("vm_password", string("1234")),
            ("i_lang", string("en")),
            ("payment_currency", string("USD")),
            ("max_sessions", int(-1)),
            ("max_credit_time", int(-1)),
            ("i_billing_plan", int(1)),
            ("i_time_zone", int(1)),
            ("vm_enabled", int(0)),
            ("blocked", int(0)),
            ("payment_method", int(1)),
            ("i_export_type", int(1)),
            ("credit_limit", "<double>0</double>".to_string()),
            ("balance", "<double>0</double>".to_string()),
        ];
        let refs: Vec<(&str, &str)> = members.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let call = common::call_xml("createAccount", &refs);
        let (status, body) = common::curl_post(&url, Some(("CustomerA", "pass123")), &call);
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            member(&body, "i_account"),
            Some(n.to_string().as_str()),
            "{body}"
        );
        last = username;
    }

    // The seed's command, exactly as written, through a shell.
    let (code, out, err) = common::run(
        Command::new("sh")
            .arg("-c")
            .arg(format!("{SEED_CURL} '{url}'")),
    );
    assert_eq!(code, 0, "curl failed\n--- stdout\n{out}\n--- stderr\n{err}");
    let context = format!("--- stdout\n{out}\n--- stderr (curl -v)\n{err}");
    assert!(
        out.contains("<methodResponse>"),
        "no methodResponse\n{context}"
    );
    assert!(!out.contains("faultCode"), "a fault\n{context}");
    assert_eq!(member(&out, "result"), Some("OK"), "{context}");
    assert_eq!(member(&out, "i_account"), Some("3"), "{context}");
    assert_eq!(member(&out, "username"), Some(last.as_str()), "{context}");
    // curl's first POST is the unauthenticated probe, answered 401; the digest retry gets 200.
    assert!(
        err.contains(" 401"),
        "no 401 challenge in curl's trace\n{context}"
    );
    assert!(err.contains(" 200"), "no 200 in curl's trace\n{context}");
}

/// The n8n-nodes-sippysoft transport in Node: @foxglove/xmlrpc over @mhoc/axios-digest-auth
/// (MD5 from the first challenge although SHA-256 is offered first, quoted nc, no opaque, a new
/// nonce per call), TLS verified through NODE_EXTRA_CA_CERTS. `npm ci` installs the locked
/// packages of tests/clients/node first; a missing node or npm fails the test.
#[test]
fn node_n8n_transport() {
    let dir = common::repo().join("tests/clients/node");
    let (code, out, err) = common::run(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir),
    );
    assert_eq!(
        code,
        0,
        "`npm ci` in {} failed\n--- stdout\n{out}\n--- stderr\n{err}",
        dir.display()
    );

    let app = TestApp::spawn();
    let ca_file = app.ca_file();
    let (code, out, err) = common::run(
        Command::new("node")
            .arg("sippy_n8n.mjs")
            .current_dir(&dir)
            .env("SY_HTTPS_URL", app.xmlrpc_https())
            .env("SY_HTTP_URL", app.xmlrpc_http())
            .env(
                "SY_API_URL",
                app.xmlrpc_https().trim_end_matches("/xmlapi/xmlapi"),
            )
            .env("SY_CAFILE", &ca_file)
            .env("SY_ROOT_PASSWORD", ROOT_PASSWORD)
            .env("NODE_EXTRA_CA_CERTS", &ca_file),
    );
    assert!(
        code == 0 && out.lines().any(|line| line.trim() == "ok node"),
        "`node sippy_n8n.mjs` exited {code}, expected 0 and a line `ok node`\n\
         --- stdout\n{out}\n--- stderr\n{err}"
    );
}

//! Credential guessing is throttled on every login path and audited: after N wrong guesses
//! from one address, even the right credential is refused in the dialect's own way (429, LDAP
//! `busy`), every failure has an audit row (event 9000), the throttle has one (9100), and no
//! guessed or right secret is in them. Each path guesses from its own loopback address, so one
//! server serves them all.

use std::process::Command;

use serde_json::json;

use crate::c5::{create, customer_with_domain};
use crate::common::{Launch, ROOT_PASSWORD, TestApp, call_xml, run};

/// Failures per minute the authenticator allows an address (`auth::MAX_FAILURES`).
const API_FAILURES: usize = 20;
/// Failed admin sign-ins per 15 minutes (`core::sessions::MAX_FAILED_SIGN_INS`).
const ADMIN_FAILURES: usize = 10;
const WEB_PASSWORD: &str = "right-web-pw";
const PIN: &str = "8642";

/// curl from the loopback address `from`; (HTTP status, body).
fn curl_from(from: &str, args: &[&str]) -> (u16, String) {
    let (code, out, err) = run(Command::new("curl")
        .args(["-sk", "--max-time", "10", "--interface", from])
        .args(["-w", "\n%{http_code}"])
        .args(args));
    assert_eq!(code, 0, "curl: {err}");
    let (body, status) = out.rsplit_once('\n').unwrap();
    (status.trim().parse().unwrap(), body.to_string())
}

/// Guesses `API_FAILURES` times, each answered `refused`, then tries the right credential,
/// which must be answered 429 with Retry-After.
fn guess_then_right(
    from: &str,
    refused: u16,
    guess: impl Fn(usize) -> Vec<String>,
    right: &[&str],
) {
    for n in 0..API_FAILURES {
        let args = guess(n);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (status, body) = curl_from(from, &args);
        assert_eq!(status, refused, "guess {n} from {from}: {body}");
    }
    let mut args = vec!["-D", "-"];
    args.extend_from_slice(right);
    let (status, body) = curl_from(from, &args);
    assert_eq!(
        status, 429,
        "the right credential from {from} waits: {body}"
    );
    assert!(body.to_ascii_lowercase().contains("retry-after:"), "{body}");
}

fn audit_lines(app: &TestApp) -> Vec<String> {
    let out = app.cli(&["audit", "tail", "-n", "2000"]);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn count(lines: &[String], event: &str, dialect: &str) -> usize {
    let via = format!(" via={dialect} ");
    lines
        .iter()
        .filter(|l| l.contains(&format!(" {event} ")) && l.contains(&via))
        .count()
}

#[test]
fn every_login_path_throttles_guessing_and_audits_it() {
    let app = Launch {
        args: vec!["--ldaps-listen".into(), "127.0.0.1:0".into()],
        ..Launch::default()
    }
    .spawn();
    let (customer, domain) = customer_with_domain(&app, "guessed");
    let subscriber = create(
        &app,
        "subscribers",
        &json!({"customer_id": customer, "domain": domain, "username": "alice",
                "password": "right-sip-pw", "webpassword": WEB_PASSWORD,
                "primary_number": {"cc": 43, "ac": 1, "sn": "7770001"}}),
    );
    let out = app.cli(&["subscriber", "portal-pin", &subscriber.to_string(), PIN]);
    assert!(out.status.success(), "{out:?}");
    let (status, details) = curl_from(
        "127.0.0.1",
        &[
            "-u",
            &format!("alice@{domain}:{PIN}"),
            "-H",
            "Accept: application/json",
            &format!("{}/sipxconfig/rest/my/logindetails", app.https),
        ],
    );
    assert_eq!(status, 200, "{details}");
    let details: serde_json::Value = serde_json::from_str(&details).unwrap();
    let key = details["login-details"]["privateUserKey"]
        .as_str()
        .unwrap()
        .to_string();

    let root = |password: &str| format!("root:{password}");
    let guess = |n: usize| format!("guess-{n}");
    let xmlrpc = app.xmlrpc_https();
    let body = call_xml("listCustomers", &[]);
    // XML-RPC, HTTP Digest.
    guess_then_right(
        "127.0.0.11",
        401,
        |n| {
            [
                "--digest",
                "-u",
                &root(&guess(n)),
                "--data-binary",
                &body,
                &xmlrpc,
            ]
            .map(String::from)
            .to_vec()
        },
        &[
            "--digest",
            "-u",
            &root(ROOT_PASSWORD),
            "--data-binary",
            &body,
            &xmlrpc,
        ],
    );
    // C5 REST, Basic over TLS.
    let c5 = format!("{}/api/customers/", app.https);
    guess_then_right(
        "127.0.0.12",
        401,
        |n| ["-u", &root(&guess(n)), &c5].map(String::from).to_vec(),
        &["-u", &root(ROOT_PASSWORD), &c5],
    );
    // sipXconfig SOAP, Basic over TLS.
    let soap = format!("{}/sipxconfig/services/UserService", app.https);
    guess_then_right(
        "127.0.0.13",
        401,
        |n| {
            ["-u", &root(&guess(n)), "--data-binary", "<x/>", &soap]
                .map(String::from)
                .to_vec()
        },
        &["-u", &root(ROOT_PASSWORD), "--data-binary", "<x/>", &soap],
    );
    // sipXconfig self-care, the portal PIN over Basic.
    let my = format!("{}/sipxconfig/rest/my/forward", app.https);
    let alice = |pin: &str| format!("alice@{domain}:{pin}");
    guess_then_right(
        "127.0.0.14",
        401,
        |n| {
            ["-u", &alice(&format!("{n:04}")), &my]
                .map(String::from)
                .to_vec()
        },
        &["-u", &alice(PIN), &my],
    );
    // sipXconfig private user keys.
    let private = |key: &str| format!("{}/sipxconfig/rest/private/{key}/forward", app.https);
    guess_then_right(
        "127.0.0.15",
        403,
        |n| vec![private(&format!("{n:032x}"))],
        &[&private(&key)],
    );
    // SIP2SIP settings.phtml, Digest in the domain's realm with the web password.
    let settings = format!(
        "{}/settings.phtml?realm={domain}&action=get_identity",
        app.https
    );
    guess_then_right(
        "127.0.0.16",
        401,
        |n| {
            ["--digest", "-u", &format!("alice:{}", guess(n)), &settings]
                .map(String::from)
                .to_vec()
        },
        &[
            "--digest",
            "-u",
            &format!("alice:{WEB_PASSWORD}"),
            &settings,
        ],
    );
    // The call-record feed, Basic over TLS.
    let feed = format!("{}/feed/cdrs", app.https);
    guess_then_right(
        "127.0.0.17",
        401,
        |n| {
            ["-u", &root(&guess(n)), "--data-binary", "[]", &feed]
                .map(String::from)
                .to_vec()
        },
        &["-u", &root(ROOT_PASSWORD), "--data-binary", "[]", &feed],
    );
    admin_sign_in_is_throttled(&app, "127.0.0.18");
    ldap_bind_is_throttled(&app, &domain);

    let lines = audit_lines(&app);
    let log = lines.join("\n");
    for (dialect, failures) in [
        ("xmlrpc", API_FAILURES),
        ("c5", API_FAILURES),
        ("sipx-soap", API_FAILURES),
        ("sipx", 2 * API_FAILURES),
        ("sip2sip", API_FAILURES),
        ("feed", API_FAILURES),
        ("admin", ADMIN_FAILURES),
        ("ldap", API_FAILURES),
    ] {
        assert!(
            count(&lines, "9000", dialect) >= failures,
            "{failures} failures of {dialect} audited:\n{log}"
        );
    }
    for (dialect, throttles) in [
        ("xmlrpc", 1),
        ("c5", 1),
        ("sipx-soap", 1),
        ("sipx", 2),
        ("sip2sip", 1),
        ("feed", 1),
        ("admin", 1),
        ("ldap", 1),
    ] {
        assert_eq!(
            count(&lines, "9100", dialect),
            throttles,
            "the throttle of {dialect} audited once:\n{log}"
        );
    }
    for secret in [
        ROOT_PASSWORD,
        WEB_PASSWORD,
        "right-sip-pw",
        PIN,
        &key,
        "guess-",
        &format!("{:032x}", 3),
    ] {
        assert!(!log.contains(secret), "{secret} in the audit log");
    }
}

fn admin_sign_in_is_throttled(app: &TestApp, from: &str) {
    let jar = tempfile::NamedTempFile::new().unwrap();
    let jar = jar.path().display().to_string();
    let admin = format!("{}/admin/", app.https);
    let sign_in = format!("{}/admin/sign-in", app.https);
    let token = || {
        let (_, page) = curl_from(from, &["-b", &jar, "-c", &jar, &admin]);
        let start = page.find("name=\"csrf\" value=\"").unwrap() + 19;
        page[start..start + page[start..].find('"').unwrap()].to_string()
    };
    let attempt = |password: &str| {
        let csrf = token();
        curl_from(
            from,
            &[
                "-D",
                "-",
                "-b",
                &jar,
                "-c",
                &jar,
                "--data-urlencode",
                &format!("csrf={csrf}"),
                "--data-urlencode",
                "login=root",
                "--data-urlencode",
                &format!("password={password}"),
                &sign_in,
            ],
        )
    };
    for n in 0..ADMIN_FAILURES {
        let (status, body) = attempt(&format!("guess-{n}"));
        assert_eq!(status, 403, "{body}");
    }
    let (status, body) = attempt(ROOT_PASSWORD);
    assert_eq!(status, 429, "{body}");
    assert!(body.to_ascii_lowercase().contains("retry-after:"), "{body}");
}

/// LDAP simple binds with ldap3 (from 127.0.0.1, after every other request from there):
/// `invalidCredentials` for each guess, then `busy` for the right password.
fn ldap_bind_is_throttled(app: &TestApp, domain: &str) {
    let port = app
        .printed
        .iter()
        .find_map(|l| l.strip_prefix("switchyard: address book on ldaps://"))
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let script = format!(
        r#"
import ssl, ldap3
tls = ldap3.Tls(validate=ssl.CERT_NONE)
server = ldap3.Server("127.0.0.1", port={port}, use_ssl=True, tls=tls)
def bind(password):
    c = ldap3.Connection(server, user="alice@{domain}", password=password)
    c.open()
    c.bind()
    code = c.result["result"]
    c.unbind()
    return code
codes = [bind("guess-%d" % n) for n in range({API_FAILURES})]
assert codes == [49] * {API_FAILURES}, codes
right = bind("{WEB_PASSWORD}")
assert right == 51, right
print("ok")
"#
    );
    let (code, out, err) = run(Command::new("python3").args(["-c", &script]));
    assert_eq!((code, out.trim()), (0, "ok"), "{err}");
}

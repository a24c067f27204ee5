//! Trusted mode: credential-less requests from addresses in `trusted_hosts`, managed with the CLI
//! while the server runs; `i_customer` and `audit_info` as seed 000 says.

use crate::common::{
    Launch, TestApp, account_members, call_xml, curl_post, fault_code, http_status, member_int,
};

fn create_as_trusted(url: &str, username: &str, extra: &[(&str, &str)]) -> (u16, String) {
    let members = account_members(username);
    let mut refs: Vec<(&str, &str)> = members.iter().map(|(n, v)| (*n, v.as_str())).collect();
    refs.extend_from_slice(extra);
    curl_post(url, None, &call_xml("createAccount", &refs))
}

const AUDIT_INFO: &str = "<struct><member><name>user_ip</name><value><string>10.9.8.7</string></value></member>\
    <member><name>action_by</name><value><string>alice@portal</string></value></member></struct>";

#[test]
fn cli_changes_hold_for_the_very_next_request() {
    let app = TestApp::spawn();
    let url = app.xmlrpc_http();
    let one = [("i_customer", "<int>1</int>")];
    let (status, _) = create_as_trusted(&url, "t1", &one);
    assert_eq!(status, 401, "not trusted yet");

    let out = app.cli(&[
        "trusted-hosts",
        "add",
        "127.0.0.0/8",
        "--description",
        "loopback",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("127.0.0.0/8"));

    let with_audit = [("i_customer", "<int>1</int>"), ("audit_info", AUDIT_INFO)];
    let (status, body) = create_as_trusted(&url, "t1", &with_audit);
    assert_eq!(status, 200, "{body}");
    let id = member_int(&body, "i_account").unwrap_or_else(|| panic!("{body}"));

    // The audit row names the trusted caller, the original requester and its address.
    let tail = app.cli(&["audit", "tail", "--principal", "trusted"]);
    let text = String::from_utf8_lossy(&tail.stdout);
    let row = text
        .lines()
        .find(|l| l.contains(&format!("account:{id}")))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        row.contains("by=alice@portal") && row.contains("from=10.9.8.7"),
        "{row}"
    );

    // The account belongs to customer 1 and reads back without credentials.
    let (_, body) = curl_post(
        &url,
        None,
        &call_xml(
            "getAccountInfo",
            &[("i_account", &format!("<int>{id}</int>"))],
        ),
    );
    assert_eq!(member_int(&body, "i_customer"), Some(1), "{body}");

    // Trusted mode needs i_customer where the method needs one.
    let (_, body) = create_as_trusted(&url, "t2", &[]);
    assert_eq!(fault_code(&body), Some(400), "{body}");
    assert!(body.contains("i_customer"), "{body}");

    // curl's credential-less probe has no body: challenged even from a trusted host.
    let out = http_status(&["-X", "POST", "-H", "Content-Length: 0", &url]);
    assert_eq!(out, "401");

    let listed = app.cli(&["trusted-hosts", "list"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("127.0.0.0/8\tloopback"));
    let out = app.cli(&["trusted-hosts", "remove", "127.0.0.1/8"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, _) = create_as_trusted(&url, "t3", &one);
    assert_eq!(status, 401, "no longer trusted");
}

#[test]
fn ipv6_hosts_and_single_addresses() {
    let app = Launch {
        http_listen: "[::1]:0",
        ..Launch::default()
    }
    .spawn();
    let url = app.xmlrpc_http();
    assert!(url.contains("[::1]"), "{url}");
    let out = app.cli(&["trusted-hosts", "add", "127.0.0.1"]);
    assert!(out.status.success());
    let (status, _) = curl_post(&url, None, &call_xml("listAccounts", &[]));
    assert_eq!(status, 401, "127.0.0.1 does not cover ::1");
    let out = app.cli(&["trusted-hosts", "add", "::1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, body) = curl_post(&url, None, &call_xml("listAccounts", &[]));
    assert_eq!(status, 200, "{body}");
    assert_eq!(fault_code(&body), None, "{body}");
}

#[test]
fn bad_networks_are_refused_with_the_reason() {
    let app = TestApp::spawn();
    for bad in ["300.1.1.1", "10.0.0.0/33", "example.com", ""] {
        let out = app.cli(&["trusted-hosts", "add", bad]);
        assert!(!out.status.success(), "{bad} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not an IP address or CIDR range"), "{err}");
    }
    let out = app.cli(&["trusted-hosts", "add", "10.0.0.0/8"]);
    assert!(out.status.success());
    let out = app.cli(&["trusted-hosts", "add", "10.1.2.3/8"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("already"), "{err}");
    let out = app.cli(&["trusted-hosts", "remove", "192.168.0.0/16"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not found"));
}

//! Bad input to the XML-RPC endpoint gets a clear answer, changes nothing, and the server keeps
//! serving.

use crate::common::{
    ROOT_PASSWORD, TestApp, call_xml, create_root_account, curl_post, fault_code, http_status,
};
use std::fmt::Write as _;

const ROOT: Option<(&str, &str)> = Some(("root", ROOT_PASSWORD));

fn account_count(app: &TestApp) -> usize {
    let (_, body) = curl_post(&app.xmlrpc_http(), ROOT, &call_xml("listAccounts", &[]));
    body.matches("<name>i_account</name>").count()
}

#[test]
fn malformed_documents_get_protocol_faults() {
    let app = TestApp::spawn();
    let cases: &[(&str, i64)] = &[
        ("<methodCall><methodName>listAccounts</methodName>", -32700),
        ("not xml at all", -32700),
        (
            "<methodCall><methodName>bad name!</methodName></methodCall>",
            -32600,
        ),
        (
            "<methodCall><methodName>noSuchMethod</methodName></methodCall>",
            -32601,
        ),
        (
            "<methodCall><methodName>listAccounts</methodName><params><param><value><int>1</int></value></param></params></methodCall>",
            -32602,
        ),
        (
            "<methodCall><methodName>getAccountInfo</methodName><params><param><value><struct><member><name>i_account</name><value><int>99999999999</int></value></member></struct></value></param></params></methodCall>",
            -32600,
        ),
        (
            "<?xml version=\"1.0\" encoding=\"EBCDIC\"?><methodCall><methodName>x</methodName></methodCall>",
            -32701,
        ),
    ];
    for (body, expected) in cases {
        let (status, reply) = curl_post(&app.xmlrpc_http(), ROOT, body);
        assert_eq!(status, 200, "faults travel over HTTP 200: {reply}");
        assert_eq!(fault_code(&reply), Some(*expected), "for {body}: {reply}");
        assert!(reply.contains("<name>faultString</name>"), "{reply}");
    }
}

#[test]
fn entity_bombs_and_deep_nesting_are_refused() {
    let app = TestApp::spawn();
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><methodCall><methodName>&lol2;</methodName></methodCall>"#;
    let (status, reply) = curl_post(&app.xmlrpc_http(), ROOT, bomb);
    assert_eq!(status, 200);
    assert_eq!(fault_code(&reply), Some(-32700), "{reply}");
    assert!(
        reply.contains("DTD"),
        "the message names the problem: {reply}"
    );

    let xxe = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><methodCall><methodName>x</methodName><params><param><value>&xxe;</value></param></params></methodCall>"#;
    let (_, reply) = curl_post(&app.xmlrpc_http(), ROOT, xxe);
    assert_eq!(fault_code(&reply), Some(-32700), "{reply}");
    assert!(!reply.contains("root:"), "no file content leaks");

    let deep = format!(
        "<methodCall><methodName>listAccounts</methodName><params><param>{}{}</param></params></methodCall>",
        "<value><array><data>".repeat(200),
        "</data></array></value>".repeat(200)
    );
    let (_, reply) = curl_post(&app.xmlrpc_http(), ROOT, &deep);
    assert_eq!(fault_code(&reply), Some(-32600), "{reply}");
    // Still serving.
    let (status, reply) = curl_post(&app.xmlrpc_http(), ROOT, &call_xml("listAccounts", &[]));
    assert_eq!((status, fault_code(&reply)), (200, None), "{reply}");
}

#[test]
fn oversized_bodies_get_413() {
    let app = TestApp::spawn();
    let path = app.data_dir().join("big.xml");
    std::fs::write(&path, vec![b'a'; 5 << 20]).unwrap();
    let user = format!("root:{ROOT_PASSWORD}");
    let data = format!("@{}", path.display());
    let out = http_status(&[
        "--digest",
        "-u",
        &user,
        "--data-binary",
        &data,
        &app.xmlrpc_http(),
    ]);
    assert_eq!(out, "413");
}

#[test]
fn get_is_405_and_unknown_paths_404() {
    let app = TestApp::spawn();
    let out = http_status(&[&app.xmlrpc_http()]);
    assert_eq!(out, "405");
    let out = http_status(&[&format!("{}/nope", app.http)]);
    assert_eq!(out, "404");
}

#[test]
fn bad_parameters_change_nothing() {
    let app = TestApp::spawn();
    create_root_account(&app, "keep");
    let before = account_count(&app);
    let cases: Vec<(String, i64, &str)> = vec![
        // A missing required field, named.
        (
            call_xml("createAccount", &[("username", "<string>x1</string>")]),
            400,
            "web_password",
        ),
        // The wrong type.
        (
            call_xml("getAccountInfo", &[("i_account", "<string>one</string>")]),
            400,
            "i_account",
        ),
        // An unknown parameter.
        (
            call_xml(
                "deleteAccount",
                &[
                    ("i_account", "<int>1</int>"),
                    ("force", "<boolean>1</boolean>"),
                ],
            ),
            400,
            "force",
        ),
        // Out of range.
        (
            call_xml(
                "updateAccount",
                &[
                    ("i_account", "<int>1</int>"),
                    ("preferred_codec", "<int>99</int>"),
                ],
            ),
            400,
            "preferred_codec",
        ),
        // A reference to nothing.
        (
            call_xml(
                "updateAccount",
                &[
                    ("i_account", "<int>1</int>"),
                    ("i_billing_plan", "<int>42</int>"),
                ],
            ),
            404,
            "billing plan 42",
        ),
        // Not found.
        (
            call_xml("deleteAccount", &[("i_account", "<int>4242</int>")]),
            404,
            "account 4242",
        ),
    ];
    for (body, code, mentions) in &cases {
        let (status, reply) = curl_post(&app.xmlrpc_http(), ROOT, body);
        assert_eq!(status, 200);
        assert_eq!(fault_code(&reply), Some(*code), "{body}\n{reply}");
        assert!(
            reply.contains(mentions),
            "the message names '{mentions}': {reply}"
        );
    }
    assert_eq!(
        account_count(&app),
        before,
        "nothing was created or deleted"
    );
    // A multicall whose second call fails keeps the first call's change and reports both.
    let multicall = "<methodCall><methodName>system.multicall</methodName><params><param><value><array><data>\
         <value><struct><member><name>methodName</name><value>blockAccount</value></member>\
         <member><name>params</name><value><array><data><value><struct><member><name>i_account</name><value><int>1</int></value></member></struct></value></data></array></value></member></struct></value>\
         <value><struct><member><name>methodName</name><value>system.multicall</value></member>\
         <member><name>params</name><value><array><data/></array></value></member></struct></value>\
         </data></array></value></param></params></methodCall>";
    let (_, reply) = curl_post(&app.xmlrpc_http(), ROOT, multicall);
    assert!(
        reply.contains("<name>result</name><value><string>OK</string>"),
        "{reply}"
    );
    assert!(reply.contains("cannot be nested"), "{reply}");
}

#[test]
fn wrong_password_gets_401_and_is_audited() {
    let app = TestApp::spawn();
    let (status, _) = curl_post(
        &app.xmlrpc_http(),
        Some(("root", "wrong")),
        &call_xml("listAccounts", &[]),
    );
    assert_eq!(status, 401);
    let (status, _) = curl_post(
        &app.xmlrpc_http(),
        Some(("nobody", "x")),
        &call_xml("listAccounts", &[]),
    );
    assert_eq!(status, 401);
    let out = app.cli(&["audit", "tail", "--principal", "anonymous (root)"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("failed_auth") && text.contains("wrong login or password"),
        "{text}"
    );
}

#[test]
fn large_multicalls_and_lists_are_served_whole() {
    let app = TestApp::spawn();
    let calls = (0..300).fold(String::new(), |mut out, i| {
        let members = crate::common::account_members(&format!("bulk{i}"));
        let refs: Vec<(&str, &str)> = members.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let _ = write!(
            out,
            "<value><struct><member><name>methodName</name><value>createAccount</value></member>\
             <member><name>params</name><value><array><data><value>{}</value></data></array>\
             </value></member></struct></value>",
            crate::common::struct_xml(&refs)
        );
        out
    });
    let body = format!(
        "<methodCall><methodName>system.multicall</methodName><params><param><value><array><data>\
         {calls}</data></array></value></param></params></methodCall>"
    );
    assert!(
        body.len() > 64 * 1024,
        "large enough to be parsed off the async threads"
    );
    let (status, reply) = curl_post(&app.xmlrpc_http(), ROOT, &body);
    assert_eq!(status, 200);
    assert_eq!(
        reply.matches("<name>i_account</name>").count(),
        300,
        "{}",
        &reply[..500.min(reply.len())]
    );
    assert_eq!(account_count(&app), 300);
    let (_, page) = curl_post(
        &app.xmlrpc_http(),
        ROOT,
        &call_xml(
            "listAccounts",
            &[("offset", "<int>250</int>"), ("limit", "<int>100</int>")],
        ),
    );
    assert_eq!(
        page.matches("<name>i_account</name>").count(),
        50,
        "paged in the database"
    );
}

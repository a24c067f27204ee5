//! Every change leaves exactly one audit row; refusals and failed logins leave theirs.

use crate::common::{ROOT_PASSWORD, TestApp, call_xml, create_root_account, curl_post, fault_code};

fn audit_lines(app: &TestApp, args: &[&str]) -> Vec<String> {
    let mut all = vec!["audit", "tail", "-n", "1000"];
    all.extend_from_slice(args);
    let out = app.cli(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn one_row_per_change_and_refusals_are_logged() {
    let app = TestApp::spawn();
    let root = Some(("root", ROOT_PASSWORD));
    for name in ["a1", "a2", "a3"] {
        create_root_account(&app, name);
    }
    let (_, body) = curl_post(
        &app.xmlrpc_http(),
        root,
        &call_xml(
            "updateAccount",
            &[
                ("i_account", "<int>2</int>"),
                ("description", "<string>vip</string>"),
            ],
        ),
    );
    assert_eq!(fault_code(&body), None, "{body}");
    // A failed change: nothing changes, one refusal row.
    let (_, body) = curl_post(
        &app.xmlrpc_http(),
        root,
        &call_xml("deleteAccount", &[("i_account", "<int>99</int>")]),
    );
    assert_eq!(fault_code(&body), Some(404));

    let created = audit_lines(&app, &["--method", "createAccount"]);
    assert_eq!(
        created.iter().filter(|l| l.contains(" 1100 ok ")).count(),
        3,
        "{created:?}"
    );
    let updated = audit_lines(&app, &["--method", "updateAccount"]);
    assert_eq!(updated.len(), 1, "{updated:?}");
    assert!(
        updated[0].contains("\"description\":\"vip\"") && updated[0].contains("account:2"),
        "{updated:?}"
    );
    let refused = audit_lines(&app, &["--method", "deleteAccount"]);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].contains("refused") && refused[0].contains("account 99 not found"),
        "{refused:?}"
    );
    // Passwords never reach the log.
    let everything = audit_lines(&app, &[]).join("\n");
    assert!(
        !everything.contains("webpw") && !everything.contains("voippw"),
        "{everything}"
    );
    assert!(everything.contains("\"web_password\":\"***\""));
}

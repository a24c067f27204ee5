//! HTTP Digest as real clients use it: nonce reuse with increasing nc, replay refused, stale
//! nonces answered with `stale=true`, SHA-256 and MD5 from one challenge.

use std::process::Command;

use switchyard::auth::digest::{Algorithm, QopAuth, compute_response, ha1};

use crate::common::{Launch, ROOT_PASSWORD, call_xml, http_status, run};

/// Posts `body` with an optional Authorization header; returns (status, headers, body).
fn post(url: &str, authorization: Option<&str>, body: &str) -> (u16, String, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-D", "-", "-o", "-", "--data-binary", body, url]);
    if let Some(a) = authorization {
        cmd.args(["-H", &format!("Authorization: {a}")]);
    }
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 0, "{err}");
    let (head, rest) = out.split_once("\r\n\r\n").expect("headers");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, head.to_string(), rest.to_string())
}

/// The nonce of the first challenge in a 401's headers.
fn nonce_of(headers: &str) -> String {
    let start = headers.find("nonce=\"").expect("a challenge") + 7;
    let end = headers[start..].find('"').unwrap() + start;
    headers[start..end].to_string()
}

fn authorization(alg: Algorithm, password: &str, nonce: &str, nc: u32, uri: &str) -> String {
    let key = ha1(alg, "root", "switchyard", password);
    let nc = format!("{nc:08x}");
    let qop = QopAuth {
        qop: "auth",
        nc: &nc,
        cnonce: "0a4f113b",
    };
    let response = compute_response(alg, &key, nonce, "POST", uri, Some(qop));
    format!(
        "Digest username=\"root\", realm=\"switchyard\", nonce=\"{nonce}\", uri=\"{uri}\", \
         algorithm={}, response=\"{response}\", qop=auth, nc={nc}, cnonce=\"0a4f113b\"",
        alg.as_str()
    )
}

#[test]
fn nonce_reuse_replay_and_both_algorithms() {
    let app = Launch::default().spawn();
    let url = app.xmlrpc_http();
    let body = call_xml("listCustomers", &[]);
    let (status, headers, _) = post(&url, None, &body);
    assert_eq!(status, 401);
    let challenges: Vec<&str> = headers
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("www-authenticate"))
        .collect();
    assert_eq!(challenges.len(), 2, "{headers}");
    assert!(challenges[0].contains("algorithm=SHA-256") && challenges[1].contains("algorithm=MD5"));
    assert!(challenges.iter().all(|c| c.contains("qop=\"auth\"")));
    let nonce = nonce_of(&headers);

    for (nc, alg) in [
        (1, Algorithm::Sha256),
        (2, Algorithm::Md5),
        (3, Algorithm::Md5),
    ] {
        let auth = authorization(alg, ROOT_PASSWORD, &nonce, nc, "/xmlapi/xmlapi");
        let (status, _, reply) = post(&url, Some(&auth), &body);
        assert_eq!(status, 200, "nc {nc} reuses the nonce: {reply}");
    }
    // Replaying nc 3, or going back to 2, is refused.
    for nc in [3, 2] {
        let auth = authorization(Algorithm::Md5, ROOT_PASSWORD, &nonce, nc, "/xmlapi/xmlapi");
        let (status, headers, _) = post(&url, Some(&auth), &body);
        assert_eq!(status, 401, "replayed nc {nc}");
        assert!(!headers.contains("stale=true"));
    }
    // The digest uri must be the request's.
    let auth = authorization(Algorithm::Md5, ROOT_PASSWORD, &nonce, 9, "/other");
    assert_eq!(post(&url, Some(&auth), &body).0, 401);
    // A forged nonce is challenged afresh.
    let auth = authorization(
        Algorithm::Md5,
        ROOT_PASSWORD,
        "Zm9yZ2Vk",
        1,
        "/xmlapi/xmlapi",
    );
    assert_eq!(post(&url, Some(&auth), &body).0, 401);
}

#[test]
fn expired_nonces_are_stale_only_with_the_right_password() {
    let args = vec!["--nonce-ttl-secs".to_string(), "1".to_string()];
    let app = Launch {
        args,
        ..Launch::default()
    }
    .spawn();
    let url = app.xmlrpc_http();
    let body = call_xml("listCustomers", &[]);
    let (_, headers, _) = post(&url, None, &body);
    let nonce = nonce_of(&headers);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let auth = authorization(
        Algorithm::Sha256,
        ROOT_PASSWORD,
        &nonce,
        1,
        "/xmlapi/xmlapi",
    );
    let (status, headers, _) = post(&url, Some(&auth), &body);
    assert_eq!(status, 401);
    assert!(headers.contains("stale=true"), "{headers}");
    let auth = authorization(Algorithm::Sha256, "wrong", &nonce, 2, "/xmlapi/xmlapi");
    let (status, headers, _) = post(&url, Some(&auth), &body);
    assert_eq!(status, 401);
    assert!(
        !headers.contains("stale=true"),
        "a wrong password is never stale: {headers}"
    );
}

#[test]
fn basic_only_over_tls() {
    let app = Launch::default().spawn();
    let body = call_xml("listCustomers", &[]);
    let user = format!("root:{ROOT_PASSWORD}");
    let status = |url: &str| http_status(&["--basic", "-u", &user, "--data-binary", &body, url]);
    assert_eq!(status(&app.xmlrpc_https()), "200");
    assert_eq!(
        status(&app.xmlrpc_http()),
        "401",
        "no clear-text passwords over plain HTTP"
    );
}

#[test]
fn password_guessing_is_throttled_per_address() {
    let app = Launch::default().spawn();
    let url = app.xmlrpc_http();
    let body = call_xml("listCustomers", &[]);
    let (_, headers, _) = post(&url, None, &body);
    let nonce = nonce_of(&headers);
    let mut statuses = Vec::new();
    for nc in 1..=21 {
        let auth = authorization(Algorithm::Md5, "guess", &nonce, nc, "/xmlapi/xmlapi");
        statuses.push(post(&url, Some(&auth), &body).0);
    }
    assert!(statuses[..20].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses[20], 429, "{statuses:?}");
    // Even the right password waits out the window; the server keeps serving everyone else.
    let auth = authorization(Algorithm::Md5, ROOT_PASSWORD, &nonce, 30, "/xmlapi/xmlapi");
    let (status, headers, _) = post(&url, Some(&auth), &body);
    assert_eq!(status, 429);
    assert!(
        headers.to_ascii_lowercase().contains("retry-after:"),
        "{headers}"
    );
    let (code, out, _) = run(Command::new("curl").args(["-s", &format!("{}/healthz", app.http)]));
    assert_eq!((code, out.as_str()), (0, "ok\n"));
}

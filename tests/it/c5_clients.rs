//! The C5-style `/api/` driven by the clients of C5's ecosystem: a Perl LWP + JSON script in the
//! style of seed 004, and Python requests (tests/clients/c5_*.{pl,py}). A missing interpreter or
//! module fails the test.

use std::process::Command;

use crate::common::{self, ROOT_PASSWORD, TestApp};

fn run(program: &str, script: &str, scenario: &str) {
    let app = TestApp::spawn();
    let ca_file = app.ca_file();
    let api_url = app
        .xmlrpc_https()
        .trim_end_matches("/xmlapi/xmlapi")
        .to_string();
    let mut cmd = Command::new(program);
    cmd.args([script, scenario])
        .current_dir(common::repo())
        .env("SY_API_URL", api_url)
        .env("SY_CAFILE", &ca_file)
        .env("SY_ROOT_PASSWORD", ROOT_PASSWORD)
        .env("PERL_LWP_SSL_CA_FILE", &ca_file)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let (code, out, err) = common::run(&mut cmd);
    assert!(
        code == 0 && out.lines().any(|l| l.trim() == format!("ok {scenario}")),
        "`{program} {script} {scenario}` exited {code}\n--- stdout\n{out}\n--- stderr\n{err}"
    );
}

#[test]
fn perl_lwp_seed_004_flow() {
    run("perl", "tests/clients/c5_lwp.pl", "seed004");
}

#[test]
fn perl_lwp_errors() {
    run("perl", "tests/clients/c5_lwp.pl", "errors");
}

#[test]
fn python_requests_paging() {
    run("python3", "tests/clients/c5_requests.py", "paging");
}

#[test]
fn python_requests_patch() {
    run("python3", "tests/clients/c5_requests.py", "patch");
}

#[test]
fn python_requests_put_roundtrip() {
    run("python3", "tests/clients/c5_requests.py", "put_roundtrip");
}

#[test]
fn python_requests_reseller_isolation() {
    run("python3", "tests/clients/c5_requests.py", "reseller");
}

#[test]
fn python_requests_options_root_and_openapi() {
    run("python3", "tests/clients/c5_requests.py", "options");
}

//! The C5-style `/api/` driven by the clients of C5's ecosystem: a Perl LWP + JSON script in the
//! style of seed 004, and Python requests (tests/clients/c5_*.{pl,py}). A missing interpreter or
//! module fails the test.

use crate::clients::run_client;
use crate::common::TestApp;

fn run(program: &str, script: &str, scenario: &str) {
    let app = TestApp::spawn();
    run_client(
        &app,
        program,
        &[script, scenario],
        &format!("ok {scenario}"),
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

#[test]
fn perl_lwp_seed_004_forwarding_and_preferences() {
    run("perl", "tests/clients/c5_lwp.pl", "forwarding");
}

#[test]
fn python_requests_callforwards() {
    run("python3", "tests/clients/c5_requests.py", "callforwards");
}

#[test]
fn python_requests_preferences() {
    run("python3", "tests/clients/c5_requests.py", "preferences");
}

//! The command line: version, configuration precedence (flags > environment > file), and the
//! operator commands' refusals.

use std::process::Command;

use crate::common::{binary, run};

fn print_config(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(binary());
    cmd.arg("print-config")
        .args(args)
        .env_remove("SWITCHYARD_CONFIG");
    for key in [
        "SWITCHYARD_REALM",
        "SWITCHYARD_LISTEN",
        "SWITCHYARD_DATA_DIR",
    ] {
        cmd.env_remove(key);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 0, "{err}");
    out
}

#[test]
fn version_is_printed() {
    let (code, out, _) = run(Command::new(binary()).arg("--version"));
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        format!("switchyard {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn flags_beat_environment_beats_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("switchyard.toml");
    std::fs::write(
        &file,
        "realm = \"from-file\"\nlisten = \"127.0.0.1:9001\"\ndata_dir = \"/srv/sy\"\n",
    )
    .unwrap();
    let file_arg = file.display().to_string();
    let base = ["--config", file_arg.as_str()];

    let out = print_config(&base, &[]);
    assert!(
        out.contains("realm = \"from-file\"")
            && out.contains("127.0.0.1:9001")
            && out.contains("/srv/sy"),
        "{out}"
    );

    let out = print_config(&base, &[("SWITCHYARD_REALM", "from-env")]);
    assert!(
        out.contains("realm = \"from-env\"") && out.contains("127.0.0.1:9001"),
        "{out}"
    );

    let mut with_flag = base.to_vec();
    with_flag.extend(["--realm", "from-flag"]);
    let out = print_config(&with_flag, &[("SWITCHYARD_REALM", "from-env")]);
    assert!(out.contains("realm = \"from-flag\""), "{out}");
}

#[test]
fn bad_configuration_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "listen = \"not an address\"\n").unwrap();
    let (code, _, err) = run(Command::new(binary())
        .args(["print-config", "--config"])
        .arg(&file));
    assert_ne!(code, 0);
    assert!(
        err.contains("invalid configuration file") && err.contains("listen"),
        "{err}"
    );

    let (code, _, err) = run(Command::new(binary()).args(["print-config", "--realm", "a,b"]));
    assert_ne!(code, 0);
    assert!(err.contains("realm"), "{err}");

    let (code, _, err) =
        run(Command::new(binary()).args(["print-config", "--config", "/nonexistent/sy.toml"]));
    assert_ne!(code, 0);
    assert!(err.contains("cannot read the configuration file"), "{err}");
}

#[test]
fn operator_commands_need_an_existing_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(Command::new(binary())
        .args(["trusted-hosts", "list", "--data-dir"])
        .arg(dir.path()));
    assert_ne!(code, 0);
    assert!(err.contains("no switchyard database"), "{err}");
    assert!(
        !dir.path().join("switchyard.db").exists(),
        "nothing created"
    );
}

#[test]
fn tls_flags_go_together() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(Command::new(binary())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "/tmp/x.pem",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("SWITCHYARD_ROOT_PASSWORD", "pw"));
    assert_ne!(code, 0);
    assert!(
        err.contains("--tls-cert and --tls-key go together"),
        "{err}"
    );
    assert!(
        !dir.path().join("switchyard.db").exists(),
        "refused before touching the data"
    );
}

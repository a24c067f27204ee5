//! The test harness: starts the real `switchyard` binary on port 0 with a temporary data
//! directory, and runs real clients (curl, Python, Perl) against it.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const ROOT_PASSWORD: &str = "root-test-pw";

/// A running server. Killed when dropped.
pub struct TestApp {
    pub dir: tempfile::TempDir,
    pub https: String,
    pub http: String,
    /// What the server printed on stdout before it was listening.
    pub printed: Vec<String>,
    child: Child,
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_switchyard")
}

/// Root of the repository (for client scripts under tests/clients).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// How to start a server; `TestApp::spawn()` takes the defaults.
pub struct Launch {
    pub dir: Option<tempfile::TempDir>,
    pub http_listen: &'static str,
    pub root_password: Option<&'static str>,
    pub args: Vec<String>,
    /// Extra environment variables for the server.
    pub env: Vec<(&'static str, &'static str)>,
    /// Where the server's stderr (its log) goes; the test's own stderr when None.
    pub stderr: Option<std::fs::File>,
}

impl Default for Launch {
    fn default() -> Self {
        Self {
            dir: None,
            http_listen: "127.0.0.1:0",
            root_password: Some(ROOT_PASSWORD),
            args: Vec::new(),
            env: Vec::new(),
            stderr: None,
        }
    }
}

impl Launch {
    pub fn spawn(self) -> TestApp {
        let dir = self
            .dir
            .unwrap_or_else(|| tempfile::tempdir().expect("temp dir"));
        let mut cmd = Command::new(binary());
        cmd.args(["serve", "--data-dir"])
            .arg(dir.path())
            .args(["--listen", "127.0.0.1:0", "--http-listen", self.http_listen])
            .args(&self.args)
            .env("SWITCHYARD_LOG", "warn")
            .env_remove("SWITCHYARD_CONFIG")
            .env_remove("SWITCHYARD_ROOT_PASSWORD")
            .env_remove("JOURNAL_STREAM")
            .envs(self.env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(self.stderr.map_or_else(Stdio::inherit, Stdio::from));
        if let Some(pw) = self.root_password {
            cmd.env("SWITCHYARD_ROOT_PASSWORD", pw);
        }
        let mut child = cmd.spawn().expect("start switchyard");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (mut https, mut http, mut printed) = (None, None, Vec::new());
        while https.is_none() || http.is_none() {
            let line = rx
                .recv_timeout(Duration::from_mins(1))
                .expect("server did not start");
            if let Some(addr) = line.strip_prefix("switchyard: listening on https://") {
                https = Some(format!("https://{addr}"));
            } else if let Some(addr) = line.strip_prefix("switchyard: listening on http://") {
                http = Some(format!("http://{addr}"));
            } else {
                printed.push(line);
            }
        }
        TestApp {
            dir,
            https: https.unwrap_or_default(),
            http: http.unwrap_or_default(),
            printed,
            child,
        }
    }
}

impl TestApp {
    /// Starts a server with HTTPS and plain HTTP on loopback ports chosen by the kernel.
    pub fn spawn() -> Self {
        Launch::default().spawn()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The generated certificate, for clients that verify TLS.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("tls/cert.pem")
    }

    pub fn xmlrpc_https(&self) -> String {
        format!("{}/xmlapi/xmlapi", self.https)
    }

    pub fn xmlrpc_http(&self) -> String {
        format!("{}/xmlapi/xmlapi", self.http)
    }

    /// Runs `switchyard <args> --data-dir <dir>` and returns its output.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(binary())
            .args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            .env("SWITCHYARD_LOG", "warn")
            .output()
            .expect("run switchyard cli")
    }

    /// Sends SIGTERM, waits for the exit, and hands back the data directory.
    pub fn stop(mut self) -> (std::process::ExitStatus, tempfile::TempDir) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let status = self.child.wait().expect("wait");
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
        (status, dir)
    }
}

impl TestApp {
    /// Kills the server with SIGKILL (no shutdown of any kind) and hands back the data directory.
    pub fn kill(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command and returns (exit code, stdout, stderr); a missing tool fails the test.
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (is it installed?)"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs curl with `args` (URL included) and returns only the HTTP status it got.
pub fn http_status(args: &[&str]) -> String {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-k", "-o", "/dev/null", "-w", "%{http_code}"])
        .args(args);
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 0, "curl failed: {err}");
    out
}

/// Posts a body with curl (digest auth when `user` is given); returns (HTTP status, body).
pub fn curl_post(url: &str, user: Option<(&str, &str)>, body: &str) -> (u16, String) {
    // The body goes through a file: command lines have a length limit.
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(body.as_bytes()).expect("write body");
    let data = format!("@{}", file.path().display());
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sS",
        "-k",
        "-o",
        "-",
        "-w",
        "\n%{http_code}",
        "--data-binary",
        &data,
        url,
    ]);
    if let Some((u, p)) = user {
        cmd.args(["--digest", "-u", &format!("{u}:{p}")]);
    }
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 0, "curl failed: {err}");
    let (body, status) = out.rsplit_once('\n').expect("status line");
    (status.trim().parse().expect("status"), body.to_string())
}

/// A `<struct>` whose members are given as raw XML-RPC values.
pub fn struct_xml(members: &[(&str, &str)]) -> String {
    let members = members
        .iter()
        .fold(String::new(), |mut out, (name, value)| {
            let _ = write!(
                out,
                "<member><name>{name}</name><value>{value}</value></member>"
            );
            out
        });
    format!("<struct>{members}</struct>")
}

/// A methodCall with one struct parameter whose members are given as raw XML-RPC values.
pub fn call_xml(method: &str, members: &[(&str, &str)]) -> String {
    format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>{method}</methodName><params><param>\
         <value>{}</value></param></params></methodCall>",
        struct_xml(members)
    )
}

/// The faultCode of a fault response, if it is one.
pub fn fault_code(body: &str) -> Option<i64> {
    let rest = body.split("<name>faultCode</name>").nth(1)?;
    let start = rest.find("<int>")? + 5;
    let end = rest[start..].find("</int>")? + start;
    rest[start..end].parse().ok()
}

/// The text of the first `<string>` member called `name` in a response.
pub fn member_string(body: &str, name: &str) -> Option<String> {
    let rest = body
        .split(&format!("<name>{name}</name><value><string>"))
        .nth(1)?;
    Some(rest[..rest.find("</string>")?].to_string())
}

/// The integer member called `name` in a response.
pub fn member_int(body: &str, name: &str) -> Option<i64> {
    let rest = body.split(&format!("<name>{name}</name><value>")).nth(1)?;
    let start = rest.find('>')? + 1;
    rest[start..rest.find("</")?].parse().ok()
}

/// Values for every required createAccount field, for the given user name.
pub fn account_members(username: &str) -> Vec<(&'static str, String)> {
    let s = |v: &str| format!("<string>{v}</string>");
    vec![
        ("username", s(username)),
        ("web_password", s("webpw")),
        ("authname", s(username)),
        ("voip_password", s("voippw")),
        ("translation_rule", s("")),
        ("cli_translation_rule", s("")),
        ("cpe_number", s("")),
        ("vm_password", s("1234")),
        ("i_lang", s("en")),
        ("payment_currency", s("USD")),
        ("max_sessions", "<int>-1</int>".into()),
        ("max_credit_time", "<int>-1</int>".into()),
        ("i_billing_plan", "<int>1</int>".into()),
        ("i_time_zone", "<int>1</int>".into()),
        ("vm_enabled", "<int>0</int>".into()),
        ("blocked", "<int>0</int>".into()),
        ("payment_method", "<int>1</int>".into()),
        ("i_export_type", "<int>1</int>".into()),
        ("credit_limit", "<double>0</double>".into()),
        ("balance", "<double>0</double>".into()),
        ("i_routing_group", "<int>1</int>".into()),
    ]
}

/// Creates an account as root over plain HTTP; returns its id.
pub fn create_root_account(app: &TestApp, username: &str) -> i64 {
    let members = account_members(username);
    let refs: Vec<(&str, &str)> = members.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let (status, body) = curl_post(
        &app.xmlrpc_http(),
        Some(("root", ROOT_PASSWORD)),
        &call_xml("createAccount", &refs),
    );
    assert_eq!(status, 200, "{body}");
    member_int(&body, "i_account").unwrap_or_else(|| panic!("no i_account in {body}"))
}

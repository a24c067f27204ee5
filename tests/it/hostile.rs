//! The hostile campaign: generated malformed and hostile requests against the running server,
//! per dialect, mutated from valid ones (truncation, byte flips, huge and deep values, bad
//! encodings, wrong content types, duplicate and huge headers, mangled credentials, wrong
//! methods, path traversal, query junk), half of them authenticated (Basic over TLS, Digest,
//! a private key, the admin session cookie) so they reach the parsers. Checks: no 5xx (SOAP
//! 1.1 faults travel over HTTP 500: a `Client`, `VersionMismatch` or `MustUnderstand` fault
//! there is the dialect's own refusal, a `Server` fault a failure), no panic in the server's log, resident memory bounded, and a
//! valid request of the dialect answered correctly every [`NORMAL_EVERY`] requests.
//!
//! `SWITCHYARD_HOSTILE_COUNT` sets the requests per dialect (default [`CI_COUNT`]),
//! `SWITCHYARD_HOSTILE_SEED` the seed (default: the time; it is printed, and a run with it
//! sends the same requests) and `SWITCHYARD_HOSTILE_DIALECTS` a comma-separated choice of
//! dialects (default: all).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::json;
use sha2::Digest as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::c5::{create, customer_with_domain};
use crate::common::{ROOT_PASSWORD, TestApp, call_xml, run};

/// Requests per dialect in CI.
const CI_COUNT: u64 = 10_000;
/// Requests in flight at once.
const CONCURRENCY: usize = 12;
/// A worker checks a valid request after this many hostile ones.
const NORMAL_EVERY: u64 = 100;
/// Requests per connection before a new one (from a new loopback address, so the
/// credential-guessing throttle, which the mangled credentials trip, does not hide the parsers).
const PER_CONNECTION: u64 = 64;
/// The resident memory the server may reach during the campaign.
const RSS_LIMIT_KB: u64 = 512 * 1024;
const PIN: &str = "2468";
const WEB_PASSWORD: &str = "hostile-web-pw";

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[derive(Clone, Debug)]
struct Req {
    method: String,
    target: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Req {
    fn new(method: &str, target: &str, content_type: Option<&str>, body: &str) -> Self {
        Self {
            method: method.into(),
            target: target.into(),
            headers: content_type
                .map(|c| vec![("Content-Type".to_string(), c.as_bytes().to_vec())])
                .unwrap_or_default(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.as_bytes().to_vec()));
        self
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\n",
            self.method, self.target
        )
        .into_bytes();
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", self.body.len()).as_bytes());
        out.extend_from_slice(&self.body);
        out
    }
}

/// How a dialect's authenticated requests prove who they are.
#[derive(Clone)]
enum Auth {
    Basic(String),
    /// HTTP Digest (SHA-256, qop auth) in `realm`; the nonce comes from a first 401.
    Digest {
        user: String,
        password: String,
        realm: String,
    },
    Cookie(String),
}

struct Dialect {
    name: &'static str,
    seeds: Vec<Req>,
    auth: Auth,
    normal: Req,
    /// Whether a normal request's answer is right.
    normal_ok: fn(u16, &str) -> bool,
    /// SOAP 1.1: a fault that blames the request over HTTP 500 is a refusal, not a failure.
    soap: bool,
}

/// One mutation of a seed; `rng` decides where and how much.
fn mutate(rng: &mut Rng, req: &mut Req) {
    let huge = |rng: &mut Rng| {
        let unit = rng.pick(&["A", "9", "<a>", "[", "{\"a\":", "%", "\u{00e9}", "\0"]);
        unit.repeat(1000 + rng.below(60_000))
    };
    match rng.below(16) {
        0 => {
            let cut = rng.below(req.body.len() + 1);
            req.body.truncate(cut);
        }
        1 => {
            for _ in 0..=rng.below(8) {
                if !req.body.is_empty() {
                    let at = rng.below(req.body.len());
                    req.body[at] ^= 1 << rng.below(8);
                }
            }
        }
        2 => {
            let at = rng.below(req.body.len() + 1);
            let value = huge(rng);
            req.body.splice(at..at, value.into_bytes());
        }
        3 => {
            let depth = 100 + rng.below(5000);
            let (open, close) = *rng.pick(&[
                ("<value><array><data>", "</data></array></value>"),
                ("<a>", "</a>"),
                ("[", "]"),
                ("{\"a\":", "}"),
            ]);
            let mut body = open.repeat(depth).into_bytes();
            body.extend_from_slice(&req.body);
            body.extend_from_slice(close.repeat(depth).as_bytes());
            req.body = body;
        }
        4 => {
            let bad: &[u8] = rng.pick::<&[u8]>(&[
                &b"\xff\xfe"[..],
                b"\xc0\x80",
                b"\xe0\x80\xaf",
                b"\0",
                b"\xed\xa0\x80",
                b"\xf4\x90\x80\x80",
                b"&#0;",
                b"&#xD800;",
                b"]]>",
                b"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>",
            ]);
            let at = rng.below(req.body.len() + 1);
            req.body.splice(at..at, bad.iter().copied());
        }
        5 => {
            req.headers
                .retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
            let ct = rng.pick(&[
                "application/json",
                "text/xml",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=",
                "application/json-patch+json",
                "text/plain; charset=utf-99",
                "\u{0}",
                "",
            ]);
            req.headers
                .push(("Content-Type".into(), ct.as_bytes().to_vec()));
        }
        6 => {
            let dup = req
                .headers
                .get(rng.below(req.headers.len()))
                .cloned()
                .unwrap_or(("Accept".into(), b"*/*".to_vec()));
            for _ in 0..=rng.below(40) {
                req.headers.push(dup.clone());
            }
        }
        7 => {
            let name = rng.pick(&["X-Junk", "Accept", "Cookie", "Prefer", "User-Agent"]);
            let value = "v".repeat(100 + rng.below(70_000));
            req.headers.push(((*name).into(), value.into_bytes()));
        }
        8 => {
            req.headers
                .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
            let value = rng.pick(&[
                "Digest username=\"root\", realm=\"switchyard\", nonce=\"AAAA\", uri=\"/\", response=\"00\"",
                "Digest username=\"root\", realm=, nonce",
                "Digest username=\"ro\\\"ot\", realm=\"switchyard\", nonce=\"x\", nc=zz, qop=auth, cnonce=\"\", response=\"zz\", algorithm=SHA-999",
                "Digest ,,,,,,=",
                "Basic !!!notbase64",
                "Basic cm9vdA==",
                "Basic Og==",
                "Bearer x",
                "Negotiate YIIB",
                "Digest",
                "",
            ]);
            req.headers
                .push(("Authorization".into(), value.as_bytes().to_vec()));
        }
        9 => {
            req.method = (*rng.pick(&[
                "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "FOO",
                "get",
            ]))
            .into();
        }
        10 => {
            let suffix = rng.pick(&[
                "/../../../../etc/passwd",
                "/%2e%2e/%2e%2e/etc/passwd",
                "//",
                "/..;/",
                "/%00",
                "/%ff%fe",
                "/\u{202e}",
                "/a%2Fb",
                "/.%00.",
            ]);
            let (path, query) = match req.target.split_once('?') {
                Some((p, q)) => (p.to_string(), format!("?{q}")),
                None => (req.target.clone(), String::new()),
            };
            req.target = format!("{path}{suffix}{query}");
        }
        11 => {
            let junk = rng.pick(&[
                "%zz",
                "a=&&=b&",
                "page=-1&rows=99999999999999999999",
                "realm=%22%2C%3D",
                "action=%00",
                "x=%E2%80%AE",
                "order_by=;DROP TABLE x",
                "wsdl&wsdl",
            ]);
            let sep = if req.target.contains('?') { '&' } else { '?' };
            req.target = format!("{}{sep}{junk}", req.target);
        }
        12 => {
            let text = rng.pick(&["\u{202e}", "漢字", "\u{1F600}", "e\u{301}", "\u{feff}", "ß"]);
            let at = rng.below(req.body.len() + 1);
            req.body.splice(at..at, text.bytes());
        }
        13 => {
            let big = "9".repeat(20 + rng.below(400));
            let text = String::from_utf8_lossy(&req.body).into_owned();
            let replaced = text
                .replacen("<int>", &format!("<int>{big}"), 1)
                .replacen(":1", &format!(":{big}"), 1)
                .replacen(":\"", &format!(":\"{}", huge(rng)), 1);
            req.body = replaced.into_bytes();
        }
        14 => {
            // A header line that breaks HTTP/1 itself.
            let raw: &[u8] = rng.pick::<&[u8]>(&[
                &b"X-Bad\0: v"[..],
                b"X-Bad: a\rb",
                b" folded",
                b"Transfer-Encoding: chunked",
                b"Content-Length: 5",
            ]);
            req.headers.push(("X-Raw".into(), raw.to_vec()));
        }
        _ => {
            let keep = rng.below(req.body.len() + 1);
            req.body = req.body[..keep].to_vec();
            req.body
                .extend((0..rng.below(200)).map(|_| rng.next() as u8));
        }
    }
}

/// A TLS connection from a chosen loopback address.
struct Conn {
    stream: TlsStream<tokio::net::TcpStream>,
    buf: Vec<u8>,
    /// The Digest nonce and the last nonce count used with it.
    nonce: Option<(String, u32)>,
}

struct Client {
    server: SocketAddr,
    tls: TlsConnector,
    /// Source addresses are handed out in turn from 127.1.0.1 on.
    next_address: AtomicU64,
}

impl Client {
    async fn connect(&self) -> std::io::Result<Conn> {
        let n = self.next_address.fetch_add(1, Ordering::Relaxed);
        let ip = Ipv4Addr::new(
            127,
            1 + ((n >> 16) % 250) as u8,
            (n >> 8) as u8,
            (n as u8).max(1),
        );
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from((ip, 0)))?;
        let tcp = socket.connect(self.server).await?;
        tcp.set_nodelay(true)?;
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let stream = self.tls.connect(name, tcp).await?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
            nonce: None,
        })
    }
}

/// An answer: status, head as sent, body, whether the server closes.
struct Answer {
    status: u16,
    head: String,
    body: String,
    close: bool,
}

impl Answer {
    /// The values of header `name` (lowercase, with its colon).
    fn header_values(&self, name: &str) -> Vec<&str> {
        self.head
            .lines()
            .filter(|l| l.to_ascii_lowercase().starts_with(name))
            .map(|l| l[name.len()..].trim())
            .collect()
    }
}

async fn read_answer<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> Option<Answer> {
    let mut chunk = vec![0u8; 16384];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let raw_head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let head = raw_head.to_ascii_lowercase();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
    };
    let close = header("connection:").is_some_and(|v| v == "close");
    buf.drain(..head_end);
    let body = if let Some(len) = header("content-length:").and_then(|v| v.parse::<usize>().ok()) {
        while buf.len() < len {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        buf.drain(..len).collect::<Vec<u8>>()
    } else if header("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            };
            let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            while buf.len() < line_end + 2 + size + 2 {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            body.extend_from_slice(&buf[line_end + 2..line_end + 2 + size]);
            buf.drain(..line_end + 2 + size + 2);
            if size == 0 {
                break body;
            }
        }
    } else {
        let _ = stream.read_to_end(buf).await;
        std::mem::take(buf)
    };
    Some(Answer {
        status,
        head: raw_head,
        body: String::from_utf8_lossy(&body).into_owned(),
        close,
    })
}

fn hex_sha256(text: &str) -> String {
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// Adds the credentials of `auth` to `req` on `conn` (a Digest nonce is fetched first).
async fn authenticate(conn: &mut Conn, auth: &Auth, req: &mut Req) -> Option<()> {
    match auth {
        Auth::Basic(user_password) => {
            let value = base64::engine::general_purpose::STANDARD.encode(user_password);
            req.headers.push((
                "Authorization".into(),
                format!("Basic {value}").into_bytes(),
            ));
        }
        Auth::Cookie(cookie) => req
            .headers
            .push(("Cookie".into(), cookie.as_bytes().to_vec())),
        Auth::Digest {
            user,
            password,
            realm,
        } => {
            if conn.nonce.is_none() {
                let probe = Req::new("GET", &req.target, None, "");
                conn.stream.write_all(&probe.bytes()).await.ok()?;
                let answer = read_answer(&mut conn.stream, &mut conn.buf).await?;
                let nonce = answer
                    .header_values("www-authenticate:")
                    .into_iter()
                    .filter(|c| c.to_ascii_lowercase().contains("sha-256"))
                    .find_map(|c| c.split("nonce=\"").nth(1)?.split('"').next())?
                    .to_string();
                conn.nonce = Some((nonce, 0));
            }
            let (nonce, nc) = conn.nonce.as_mut()?;
            *nc += 1;
            let nc = format!("{nc:08x}");
            let ha1 = hex_sha256(&format!("{user}:{realm}:{password}"));
            let ha2 = hex_sha256(&format!("{}:{}", req.method, req.target));
            let response = hex_sha256(&format!("{ha1}:{nonce}:{nc}:cafe:auth:{ha2}"));
            let value = format!(
                "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{}\", \
                 algorithm=SHA-256, qop=auth, nc={nc}, cnonce=\"cafe\", response=\"{response}\"",
                req.target
            );
            req.headers
                .push(("Authorization".into(), value.into_bytes()));
        }
    }
    Some(())
}

#[derive(Default)]
struct Tally {
    sent: u64,
    statuses: BTreeMap<u16, u64>,
    /// The server closed the connection without an answer (an unparseable head).
    no_answer: u64,
    /// No answer within 40 s: a hang, a failure.
    hung: u64,
    failures: Vec<String>,
    normal_passed: u64,
    normal_failed: Vec<String>,
}

/// Whether an answer is a failure: a 5xx, except a SOAP fault that blames the request.
fn failure(dialect: &Dialect, answer: &Answer) -> Option<String> {
    if answer.status < 500 {
        return None;
    }
    // SOAP 1.1 §4.4.1: Client, VersionMismatch and MustUnderstand blame the request; only
    // Server blames the service.
    let client_fault = ["Client", "VersionMismatch", "MustUnderstand"]
        .iter()
        .any(|code| answer.body.contains(&format!("{code}</faultcode>")));
    if dialect.soap && answer.status == 500 && client_fault {
        return None;
    }
    let excerpt: String = answer.body.chars().take(600).collect();
    let excerpt = excerpt.replace(['\r', '\n'], " ");
    Some(format!("{} {excerpt}", answer.status))
}

/// Sends a request and reads its answer: Err when none came within 40 s (longer than the
/// server's request timeout, so its own 408 arrives first), Ok(None) when the server closed.
async fn exchange(conn: &mut Conn, req: &Req) -> Result<Option<Answer>, ()> {
    let sent = async {
        conn.stream.write_all(&req.bytes()).await.ok()?;
        read_answer(&mut conn.stream, &mut conn.buf).await
    };
    tokio::time::timeout(Duration::from_secs(40), sent)
        .await
        .map_err(|_| ())
}

/// A valid request on a fresh connection, answered correctly.
async fn normal_check(client: &Client, dialect: &Dialect) -> Result<(), String> {
    let mut conn = client.connect().await.map_err(|e| e.to_string())?;
    let mut req = dialect.normal.clone();
    authenticate(&mut conn, &dialect.auth, &mut req)
        .await
        .ok_or("no Digest challenge")?;
    let answer = exchange(&mut conn, &req)
        .await
        .ok()
        .flatten()
        .ok_or("no answer")?;
    if answer.status == 200 && (dialect.normal_ok)(answer.status, &answer.body) {
        Ok(())
    } else {
        Err(format!(
            "{} {}",
            answer.status,
            answer.body.chars().take(300).collect::<String>()
        ))
    }
}

/// Sends `count` hostile requests of `dialect`, [`CONCURRENCY`] at a time.
async fn campaign(client: Arc<Client>, dialect: Arc<Dialect>, seed: u64, count: u64) -> Tally {
    let next = Arc::new(AtomicU64::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let salt = dialect
        .name
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, dialect, next, tally) =
            (client.clone(), dialect.clone(), next.clone(), tally.clone());
        workers.push(tokio::spawn(async move {
            let mut conn: Option<Conn> = None;
            let mut used = 0;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    break;
                }
                if n % NORMAL_EVERY == 0 {
                    let checked = normal_check(&client, &dialect).await;
                    let mut t = tally.lock().unwrap();
                    match checked {
                        Ok(()) => t.normal_passed += 1,
                        Err(e) => t.normal_failed.push(e),
                    }
                }
                // Each request's randomness comes from the seed and its number alone.
                let mut rng = Rng::new(seed ^ salt ^ n.wrapping_mul(0x0100_0000_01b3));
                let mut req = rng.pick(&dialect.seeds).clone();
                let authenticated = rng.chance(50);
                for _ in 0..=rng.below(3) {
                    mutate(&mut rng, &mut req);
                }
                if conn.is_none() || used >= PER_CONNECTION {
                    conn = client.connect().await.ok();
                    used = 0;
                }
                used += 1;
                let answer = match conn.as_mut() {
                    Some(c) => {
                        if authenticated {
                            let _ = authenticate(c, &dialect.auth, &mut req).await;
                        }
                        exchange(c, &req).await
                    }
                    None => Ok(None),
                };
                let mut t = tally.lock().unwrap();
                t.sent += 1;
                match answer {
                    Ok(Some(answer)) => {
                        *t.statuses.entry(answer.status).or_default() += 1;
                        if let Some(f) = failure(&dialect, &answer) {
                            t.failures
                                .push(format!("request {n}: {} {}: {f}", req.method, req.target));
                        }
                        if answer.close {
                            conn = None;
                        }
                    }
                    Ok(None) => {
                        t.no_answer += 1;
                        conn = None;
                    }
                    Err(()) => {
                        t.hung += 1;
                        t.failures.push(format!(
                            "request {n}: {} {}: no answer in 40 s",
                            req.method, req.target
                        ));
                        conn = None;
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    Arc::try_unwrap(tally).ok().unwrap().into_inner().unwrap()
}

/// The resident set of `pid` in KiB.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// A TLS client that trusts exactly the server's generated certificate.
fn tls_connector(app: &TestApp) -> TlsConnector {
    let pem = std::fs::read_to_string(app.ca_file()).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(der))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

fn curl(args: &[&str]) -> String {
    let (code, out, err) = run(Command::new("curl")
        .args(["-sk", "--max-time", "10"])
        .args(args));
    assert_eq!(code, 0, "curl: {err}");
    out
}

/// Signs root in on the admin page; (the cookie header value, the session's CSRF token).
fn admin_session(app: &TestApp) -> (String, String) {
    let jar = tempfile::NamedTempFile::new().unwrap();
    let jar = jar.path().display().to_string();
    let csrf = |page: &str| {
        let start = page.find("name=\"csrf\" value=\"").unwrap() + 19;
        page[start..start + page[start..].find('"').unwrap()].to_string()
    };
    let admin = format!("{}/admin/", app.https);
    let token = csrf(&curl(&["-b", &jar, "-c", &jar, &admin]));
    curl(&[
        "-b",
        &jar,
        "-c",
        &jar,
        "--data-urlencode",
        &format!("csrf={token}"),
        "--data-urlencode",
        "login=root",
        "--data-urlencode",
        &format!("password={ROOT_PASSWORD}"),
        &format!("{}/admin/sign-in", app.https),
    ]);
    let page = curl(&["-b", &jar, "-c", &jar, &admin]);
    let cookies = std::fs::read_to_string(&jar).unwrap();
    let cookie = cookies
        .lines()
        .filter(|l| !l.starts_with('#') || l.starts_with("#HttpOnly_"))
        .filter_map(|l| {
            let fields: Vec<&str> = l.split('\t').collect();
            (fields.len() == 7).then(|| format!("{}={}", fields[5], fields[6]))
        })
        .collect::<Vec<_>>()
        .join("; ");
    (cookie, csrf(&page))
}

/// The HTTP dialects, and the LDAP address book of the same subscriber.
fn dialects(app: &TestApp) -> (Vec<Dialect>, ldap::Book) {
    let (customer, domain) = customer_with_domain(app, "hostile");
    let subscriber = create(
        app,
        "subscribers",
        &json!({"customer_id": customer, "domain": domain, "username": "alice",
                "password": "hostile-sip-pw", "webpassword": WEB_PASSWORD,
                "primary_number": {"cc": 43, "ac": 1, "sn": "8880001"}}),
    );
    let out = app.cli(&["subscriber", "portal-pin", &subscriber.to_string(), PIN]);
    assert!(out.status.success(), "{out:?}");
    // C5's requests may become a DELETE or a PUT: they get a subscriber of their own.
    let c5_subscriber = create(
        app,
        "subscribers",
        &json!({"customer_id": customer, "domain": domain, "username": "c5target",
                "password": "hostile-sip-pw", "primary_number": {"cc": 43, "ac": 1, "sn": "8880002"}}),
    );
    let details = curl(&[
        "-u",
        &format!("alice@{domain}:{PIN}"),
        "-H",
        "Accept: application/json",
        &format!("{}/sipxconfig/rest/my/logindetails", app.https),
    ]);
    let details: serde_json::Value = serde_json::from_str(&details).unwrap();
    let key = details["login-details"]["privateUserKey"]
        .as_str()
        .unwrap()
        .to_string();
    let (cookie, csrf) = admin_session(app);
    let root = Auth::Basic(format!("root:{ROOT_PASSWORD}"));
    let xml = Some("text/xml");
    let json_type = Some("application/json");
    let form = Some("application/x-www-form-urlencoded");
    let members = crate::common::account_members("hostile1");
    let members: Vec<(&str, &str)> = members.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let soap = |body: &str| {
        format!(
            "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>{body}\
             </s:Body></s:Envelope>"
        )
    };
    let find_user = soap(
        "<FindUser xmlns=\"http://www.sipfoundry.org/2007/08/21/ConfigService\"><search>\
         <byUserName>alice</byUserName></search></FindUser>",
    );
    let settings = |query: &str| format!("/settings.phtml?realm={domain}&{query}");
    let registration = json!({"account": format!("alice@{domain}"),
        "contact": "sip:alice@192.0.2.1:5060", "expires": 600, "user_agent": "Blink 5.6",
        "transport": "tls"})
    .to_string();
    let dcs: Vec<String> = domain.split('.').map(|l| format!("dc={l}")).collect();
    let book = ldap::Book {
        user: format!("alice@{domain}"),
        password: WEB_PASSWORD.into(),
        base: format!("ou=addressbook,{}", dcs.join(",")),
    };
    let http = vec![
        Dialect {
            name: "xmlrpc",
            seeds: vec![
                Req::new(
                    "POST",
                    "/xmlapi/xmlapi",
                    xml,
                    &call_xml("listCustomers", &[]),
                ),
                Req::new(
                    "POST",
                    "/xmlapi/xmlapi",
                    xml,
                    &call_xml("getAccountInfo", &[("i_account", "<int>1</int>")]),
                ),
                Req::new(
                    "POST",
                    "/xmlapi/xmlapi",
                    xml,
                    &call_xml("getCustomerInfo", &[("i_customer", "<int>1</int>")]),
                ),
                Req::new(
                    "POST",
                    "/xmlapi/xmlapi",
                    xml,
                    &call_xml("createAccount", &members),
                ),
            ],
            auth: root.clone(),
            normal: Req::new(
                "POST",
                "/xmlapi/xmlapi",
                xml,
                &call_xml("listCustomers", &[]),
            ),
            normal_ok: |_, body| body.contains("<methodResponse>") && !body.contains("faultCode"),
            soap: false,
        },
        Dialect {
            name: "c5",
            seeds: vec![
                Req::new("GET", "/api/customers/?page=1&rows=5", None, ""),
                Req::new(
                    "GET",
                    &format!("/api/subscribers/{c5_subscriber}"),
                    None,
                    "",
                ),
                Req::new(
                    "POST",
                    "/api/customercontacts/",
                    json_type,
                    r#"{"email":"h@x.example","reseller_id":1}"#,
                ),
                Req::new(
                    "PATCH",
                    &format!("/api/subscribers/{c5_subscriber}"),
                    Some("application/json-patch+json"),
                    r#"[{"op":"replace","path":"/display_name","value":"H"}]"#,
                )
                .header("Prefer", "return=representation"),
                Req::new("GET", "/api/", None, ""),
            ],
            auth: root.clone(),
            normal: Req::new("GET", "/api/customers/?rows=1", None, ""),
            normal_ok: |_, body| body.contains("_links"),
            soap: false,
        },
        Dialect {
            name: "sipx-rest",
            seeds: vec![
                Req::new("GET", "/sipxconfig/rest/my/forward", None, "")
                    .header("Accept", "text/xml"),
                Req::new(
                    "PUT",
                    "/sipxconfig/rest/my/forward",
                    xml,
                    "<call-sequence><withVoicemail>false</withVoicemail><rings><ring>\
                     <number>77</number><expiration>20</expiration><type>If no response</type>\
                     <enabled>true</enabled></ring></rings></call-sequence>",
                ),
                Req::new(
                    "PUT",
                    "/sipxconfig/rest/my/forward",
                    json_type,
                    r#"{"call-sequence":{"withVoicemail":false,"rings":[{"number":"77","expiration":20,"type":"If no response","enabled":true}]}}"#,
                ),
                Req::new("GET", "/sipxconfig/rest/my/logindetails", None, "")
                    .header("Accept", "application/json"),
                Req::new(
                    "GET",
                    &format!("/sipxconfig/rest/private/{key}/forward"),
                    None,
                    "",
                ),
            ],
            auth: Auth::Basic(format!("alice@{domain}:{PIN}")),
            normal: Req::new("GET", "/sipxconfig/rest/my/forward", None, ""),
            normal_ok: |_, body| !body.is_empty(),
            soap: false,
        },
        Dialect {
            name: "sipx-soap",
            seeds: vec![
                Req::new("POST", "/sipxconfig/services/UserService", xml, &find_user)
                    .header("SOAPAction", "\"\""),
                Req::new("GET", "/sipxconfig/services/UserService?wsdl", None, ""),
                Req::new(
                    "POST",
                    "/sipxconfig/services/PhoneService",
                    xml,
                    &soap(
                        "<FindPhone xmlns=\"http://www.sipfoundry.org/2007/08/21/ConfigService\"><search/></FindPhone>",
                    ),
                ),
            ],
            auth: root.clone(),
            normal: Req::new("POST", "/sipxconfig/services/UserService", xml, &find_user),
            normal_ok: |_, body| !body.contains("Fault"),
            soap: true,
        },
        Dialect {
            name: "sip2sip",
            seeds: vec![
                Req::new("GET", &settings("action=get_identity"), None, ""),
                Req::new("GET", &settings("action=get_call_forwarding"), None, ""),
                Req::new(
                    "GET",
                    &settings("action=set_call_forwarding&FNOA=%3Cvoice-mailbox%3E"),
                    None,
                    "",
                ),
                Req::new(
                    "POST",
                    "/settings.phtml",
                    form,
                    &format!("realm={domain}&action=get_history&calltype=placed"),
                ),
            ],
            auth: Auth::Digest {
                user: "alice".into(),
                password: WEB_PASSWORD.into(),
                realm: domain.clone(),
            },
            normal: Req::new("GET", &settings("action=get_identity"), None, ""),
            normal_ok: |_, body| !body.contains("\"success\":false"),
            soap: false,
        },
        Dialect {
            name: "feed",
            seeds: vec![
                Req::new("POST", "/feed/registrations", json_type, &registration),
                Req::new("POST", "/feed/cdrs", json_type, "[]"),
                Req::new(
                    "POST",
                    "/feed/registrations",
                    json_type,
                    &format!("[{registration}]"),
                ),
            ],
            auth: root.clone(),
            normal: Req::new("POST", "/feed/registrations", json_type, &registration),
            normal_ok: |_, _| true,
            soap: false,
        },
        Dialect {
            name: "admin",
            seeds: vec![
                Req::new("GET", "/admin/", None, ""),
                Req::new("GET", "/admin/customers/1", None, ""),
                Req::new("GET", "/admin/audit?page=2", None, ""),
                Req::new(
                    "POST",
                    "/admin/trusted-hosts/remove",
                    form,
                    &format!("csrf={csrf}&id=999999"),
                ),
            ],
            auth: Auth::Cookie(cookie),
            normal: Req::new("GET", "/admin/", None, ""),
            normal_ok: |_, body| body.contains("name=\"csrf\""),
            soap: false,
        },
    ];
    (http, book)
}

#[test]
fn hostile_requests_get_no_5xx_and_the_server_keeps_serving() {
    let count = std::env::var("SWITCHYARD_HOSTILE_COUNT")
        .ok()
        .map_or(CI_COUNT, |v| {
            v.parse().expect("SWITCHYARD_HOSTILE_COUNT: a number")
        });
    let seed = std::env::var("SWITCHYARD_HOSTILE_SEED").ok().map_or_else(
        || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        },
        |v| v.parse().expect("SWITCHYARD_HOSTILE_SEED: a number"),
    );
    println!(
        "hostile: seed {seed} (SWITCHYARD_HOSTILE_SEED={seed} repeats this run), {count} requests per dialect"
    );
    let log = tempfile::NamedTempFile::new().unwrap();
    let app = crate::common::Launch {
        stderr: Some(log.reopen().unwrap()),
        args: vec!["--ldaps-listen".into(), "127.0.0.1:0".into()],
        ..crate::common::Launch::default()
    }
    .spawn();
    let (dialects, book) = dialects(&app);
    let server: SocketAddr = app.https.trim_start_matches("https://").parse().unwrap();
    let client = Arc::new(Client {
        server,
        tls: tls_connector(&app),
        next_address: AtomicU64::new(0),
    });

    let pid = app.pid();
    let sampling = Arc::new(AtomicBool::new(true));
    let max_rss = Arc::new(AtomicU64::new(rss_kb(pid)));
    let sampler = {
        let (sampling, max_rss) = (sampling.clone(), max_rss.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                max_rss.fetch_max(rss_kb(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let mut report = String::new();
    let mut failed = Vec::new();
    let only = std::env::var("SWITCHYARD_HOSTILE_DIALECTS").unwrap_or_default();
    let mut record = |name: &str, tally: &Tally, took: Instant, before: u64| {
        let histogram: Vec<String> = tally
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}:{n}"))
            .collect();
        let line = format!(
            "hostile: {name:<9} sent {} in {:.1} s; statuses {}; closed unanswered {}; hung {}; \
             5xx {}; max RSS {} MiB (before {} MiB); normal checks {} passed, {} failed",
            tally.sent,
            took.elapsed().as_secs_f64(),
            histogram.join(" "),
            tally.no_answer,
            tally.hung,
            tally.failures.len() as u64 - tally.hung,
            max_rss.load(Ordering::Relaxed) / 1024,
            before / 1024,
            tally.normal_passed,
            tally.normal_failed.len(),
        );
        println!("{line}");
        report.push_str(&line);
        report.push('\n');
        failed.extend(
            tally
                .failures
                .iter()
                .take(5)
                .map(|f| format!("{name}: {f}")),
        );
        failed.extend(
            tally
                .normal_failed
                .iter()
                .take(5)
                .map(|f| format!("{name}: normal request: {f}")),
        );
        if tally.normal_passed == 0 {
            failed.push(format!("{name}: no normal request checked"));
        }
    };
    let chosen = |name: &str| only.is_empty() || only.split(',').any(|d| d == name);
    for dialect in dialects {
        if !chosen(dialect.name) {
            continue;
        }
        let dialect = Arc::new(dialect);
        let before = max_rss.load(Ordering::Relaxed);
        let took = Instant::now();
        let tally = runtime.block_on(campaign(client.clone(), dialect.clone(), seed, count));
        record(dialect.name, &tally, took, before);
    }
    if chosen("ldap") {
        let ldaps: SocketAddr = app
            .printed
            .iter()
            .find_map(|l| l.strip_prefix("switchyard: address book on ldaps://"))
            .unwrap()
            .parse()
            .unwrap();
        let ldap_client = Arc::new(Client {
            server: ldaps,
            tls: tls_connector(&app),
            next_address: AtomicU64::new(0),
        });
        let before = max_rss.load(Ordering::Relaxed);
        let took = Instant::now();
        let tally = runtime.block_on(ldap::campaign(ldap_client, Arc::new(book), seed, count));
        record("ldap", &tally, took, before);
    }
    sampling.store(false, Ordering::Relaxed);
    sampler.join().unwrap();
    let max_rss = max_rss.load(Ordering::Relaxed);
    print!("hostile: summary\n{report}");
    for f in &failed {
        println!("hostile: FAILED {f}");
    }
    println!(
        "hostile: all dialects in {:.1} s; server max RSS {} MiB (limit {} MiB)",
        started.elapsed().as_secs_f64(),
        max_rss / 1024,
        RSS_LIMIT_KB / 1024
    );
    drop(app);
    let server_log = std::fs::read_to_string(log.path()).unwrap_or_default();
    let panics: Vec<&str> = BufReader::new(server_log.as_bytes())
        .lines()
        .map_while(Result::ok)
        .filter(|l| l.contains("panicked"))
        .map(|_| "panic")
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert!(panics.is_empty(), "the server panicked:\n{server_log}");
    assert!(max_rss < RSS_LIMIT_KB, "RSS {max_rss} KiB");
}

/// The LDAP address book's share of the campaign, over LDAPS.
mod ldap {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use bytes::BytesMut;
    use ldap3_proto::LdapCodec;
    use ldap3_proto::proto::{
        LdapBindCred, LdapBindRequest, LdapDerefAliases, LdapFilter, LdapMsg, LdapOp,
        LdapResultCode, LdapSearchRequest, LdapSearchScope,
    };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_util::codec::{Decoder, Encoder};

    use super::{CONCURRENCY, Client, NORMAL_EVERY, Rng, Tally};

    /// The message id of the valid search sent after each hostile message.
    const SENTINEL: i32 = 7777;
    /// How long a connection may stay quiet before the exchange counts as waiting.
    const QUIET: Duration = Duration::from_millis(300);

    pub struct Book {
        pub user: String,
        pub password: String,
        pub base: String,
    }

    fn encode(msg: LdapMsg) -> Vec<u8> {
        let mut buf = BytesMut::new();
        LdapCodec::new(None, None).encode(msg, &mut buf).unwrap();
        buf.to_vec()
    }

    fn bind(book: &Book, id: i32, password: &str) -> Vec<u8> {
        encode(LdapMsg::new(
            id,
            LdapOp::BindRequest(LdapBindRequest {
                version: 3,
                dn: book.user.clone(),
                cred: LdapBindCred::Simple(password.into()),
            }),
        ))
    }

    fn search(book: &Book, id: i32, filter: LdapFilter) -> Vec<u8> {
        encode(LdapMsg::new(
            id,
            LdapOp::SearchRequest(LdapSearchRequest {
                base: book.base.clone(),
                scope: LdapSearchScope::Subtree,
                aliases: LdapDerefAliases::Never,
                sizelimit: 10,
                timelimit: 0,
                typesonly: false,
                filter,
                attrs: vec!["cn".into(), "mail".into()],
            }),
        ))
    }

    fn nested(depth: usize) -> LdapFilter {
        (0..depth).fold(LdapFilter::Present("cn".into()), |f, i| {
            if i % 2 == 0 {
                LdapFilter::And(vec![f])
            } else {
                LdapFilter::Not(Box::new(f))
            }
        })
    }

    /// A hostile message: a valid one mutated, or garbage.
    fn hostile(rng: &mut Rng, book: &Book) -> Vec<u8> {
        let mut msg = match rng.below(4) {
            0 => bind(book, 2, &format!("guess-{}", rng.next())),
            1 => search(
                book,
                2,
                LdapFilter::Equality("cn".into(), "x".repeat(rng.below(70_000))),
            ),
            2 => search(book, 2, nested(1 + rng.below(200))),
            _ => search(
                book,
                2,
                LdapFilter::Or(vec![
                    LdapFilter::Equality("mail".into(), "alice@mail.example".into()),
                    LdapFilter::Present("telephoneNumber".into()),
                ]),
            ),
        };
        match rng.below(6) {
            0 => {
                let cut = rng.below(msg.len());
                msg.truncate(cut);
            }
            1 => {
                for _ in 0..=rng.below(6) {
                    let at = rng.below(msg.len());
                    msg[at] ^= 1 << rng.below(8);
                }
            }
            2 => {
                // An oversized length: four length octets announcing up to 4 GiB.
                let mut big = vec![0x30, 0x84];
                big.extend_from_slice(&(rng.next() as u32 | 0x0100_0000).to_be_bytes());
                big.extend_from_slice(&msg[2.min(msg.len())..]);
                msg = big;
            }
            3 => {
                // Deep BER nesting by hand: constructed context tags inside each other.
                let depth = 50 + rng.below(400);
                let mut deep = Vec::new();
                for i in 0..depth {
                    let left = (depth - i - 1) * 2;
                    deep.push(0xa0);
                    deep.push(if left < 0x80 { left as u8 } else { 0x7f });
                }
                msg = [&[0x30, 0x82, 0x03, 0xe8, 0x02, 0x01, 0x02][..], &deep].concat();
            }
            4 => msg = (0..=rng.below(300)).map(|_| rng.next() as u8).collect(),
            _ => {}
        }
        msg
    }

    /// Result codes of the messages in `buf`; None when the server's bytes do not decode.
    fn decode_all(buf: &mut BytesMut, codes: &mut Vec<(i32, LdapResultCode)>) -> Option<()> {
        let mut decoder = LdapCodec::new(None, None);
        while let Some(msg) = decoder.decode(buf).ok()? {
            let code = match msg.op {
                LdapOp::BindResponse(r) => Some(r.res.code),
                LdapOp::ExtendedResponse(r) => Some(r.res.code),
                LdapOp::SearchResultDone(r)
                | LdapOp::ModifyResponse(r)
                | LdapOp::AddResponse(r)
                | LdapOp::DelResponse(r)
                | LdapOp::ModifyDNResponse(r)
                | LdapOp::CompareResult(r) => Some(r.code),
                _ => None,
            };
            if let Some(code) = code {
                codes.push((msg.msgid, code));
            }
        }
        Some(())
    }

    /// What came back for one exchange: the result codes, and how it ended.
    enum Ended {
        /// The sentinel search was answered.
        Answered,
        /// The server closed the connection (its refusal of a broken message).
        Closed,
        /// Nothing more within [`QUIET`]: the server waits for the rest of a message (bounded
        /// by the LDAP idle timeout).
        Waiting,
    }

    async fn exchange<S>(
        stream: &mut S,
        bytes: &[u8],
        until: i32,
        codes: &mut Vec<(i32, LdapResultCode)>,
    ) -> Option<Ended>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        if stream.write_all(bytes).await.is_err() {
            return Some(Ended::Closed);
        }
        let mut buf = BytesMut::new();
        let mut chunk = vec![0u8; 16384];
        loop {
            match tokio::time::timeout(QUIET, stream.read(&mut chunk)).await {
                Err(_) => return Some(Ended::Waiting),
                Ok(Ok(0) | Err(_)) => return Some(Ended::Closed),
                Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            }
            decode_all(&mut buf, codes)?;
            if codes.iter().any(|(id, _)| *id == until) {
                return Some(Ended::Answered);
            }
        }
    }

    async fn normal(client: &Client, book: &Book) -> Result<(), String> {
        let mut conn = client.connect().await.map_err(|e| e.to_string())?;
        let mut codes = Vec::new();
        let stream = &mut conn.stream;
        exchange(stream, &bind(book, 1, &book.password), 1, &mut codes).await;
        let present = LdapFilter::Present("cn".into());
        exchange(stream, &search(book, 2, present), 2, &mut codes).await;
        match codes.as_slice() {
            [(1, LdapResultCode::Success), (2, LdapResultCode::Success)] => Ok(()),
            other => Err(format!("{other:?}")),
        }
    }

    pub async fn campaign(client: Arc<Client>, book: Arc<Book>, seed: u64, count: u64) -> Tally {
        let next = Arc::new(AtomicU64::new(0));
        let tally = Arc::new(Mutex::new(Tally::default()));
        let mut workers = Vec::new();
        for _ in 0..CONCURRENCY {
            let (client, book, next, tally) =
                (client.clone(), book.clone(), next.clone(), tally.clone());
            workers.push(tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count {
                        break;
                    }
                    if n % NORMAL_EVERY == 0 {
                        let checked = normal(&client, &book).await;
                        let mut t = tally.lock().unwrap();
                        match checked {
                            Ok(()) => t.normal_passed += 1,
                            Err(e) => t.normal_failed.push(e),
                        }
                    }
                    let mut rng = Rng::new(seed ^ 0x1da9 ^ n.wrapping_mul(0x0100_0000_01b3));
                    let message = hostile(&mut rng, &book);
                    let sentinel = search(&book, SENTINEL, LdapFilter::Present("cn".into()));
                    let mut codes = Vec::new();
                    let ended = match client.connect().await {
                        Ok(mut conn) => {
                            if rng.chance(50) {
                                let bound = bind(&book, 1, &book.password);
                                exchange(&mut conn.stream, &bound, 1, &mut codes).await;
                            }
                            let bytes = [message, sentinel].concat();
                            exchange(&mut conn.stream, &bytes, SENTINEL, &mut codes).await
                        }
                        Err(_) => Some(Ended::Closed),
                    };
                    let mut t = tally.lock().unwrap();
                    t.sent += 1;
                    // The histogram counts LDAP result codes; 0, 1 and 2 stand for how the
                    // exchange ended (answered, closed, waiting) under "status" 1000 + that.
                    let how = match ended {
                        Some(Ended::Answered) => 1000,
                        Some(Ended::Closed) => 1001,
                        Some(Ended::Waiting) => 1002,
                        None => {
                            t.failures.push(format!("message {n}: undecodable answer"));
                            1003
                        }
                    };
                    *t.statuses.entry(how).or_default() += 1;
                    for (_, code) in codes {
                        let code = code as u16;
                        *t.statuses.entry(code).or_default() += 1;
                        // `other` is what a storage failure maps to: LDAP's 5xx.
                        if code == LdapResultCode::Other as u16 {
                            t.failures.push(format!("message {n}: result code other"));
                        }
                    }
                }
            }));
        }
        for w in workers {
            w.await.unwrap();
        }
        Arc::try_unwrap(tally).ok().unwrap().into_inner().unwrap()
    }
}

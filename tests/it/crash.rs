//! Crash safety against the real binary: writers in every write-capable HTTP dialect run while
//! the server is killed with SIGKILL at random moments and restarted on the same data directory.
//! After every restart the SQLite file is opened read-only and checked: every acknowledged write is
//! there, a write that was in flight is wholly there or wholly absent (its rows and its audit row
//! together), `PRAGMA integrity_check` says ok, and audit rows match changes one to one.
//!
//! The CI run makes [`CI_KILLS`] kills with one writer per kind. The long run is the same test
//! with more: `SWITCHYARD_CRASH_KILLS=200 SWITCHYARD_CRASH_WRITERS=3 cargo test --test it
//! crash::kill -- --nocapture` (`SWITCHYARD_CRASH_SEED` replays a run's kill delays).
//!
//! Every write carries a unique marker `crash-<kind><writer>-<n>-z` (a user name, an e-mail, a
//! payment note, a call id, a journal uuid, a field value), and the audit detail of every kind but
//! two carries it too, so rows and audit rows are matched marker by marker. The feed's audit row
//! (counts only) and sipXconfig's contact information (field names only) are matched by count.
//! The admin page is not driven: its writes need a browser-style session (sign-in, CSRF
//! cookie and token), and it calls the same core mutations the other dialects call.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use rusqlite::{Connection, OpenFlags};

use crate::common::{Launch, ROOT_PASSWORD, TestApp, account_members, call_xml, member_int};

/// Kills per CI run: each costs a restart and a check, about 3 s on a busy machine.
const CI_KILLS: usize = 30;
const SOAP_NS: &str = "http://www.sipfoundry.org/2007/08/21/ConfigService";
const SIPX_PIN: &str = "Pin-Secret-9";
const WEB_PASSWORD: &str = "web-secret";

/// Every kind of write the harness sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    XmlrpcCreate,
    XmlrpcFunds,
    XmlrpcUpdate,
    C5Create,
    C5Patch,
    SoapAddUser,
    SipxPut,
    Sip2sipJournal,
    Sip2sipForward,
    FeedCdrs,
}

/// How a kind's writes show in the database.
enum Shape {
    /// Each write adds one row holding its marker, and one audit row of `event` naming it.
    Create { event: i64 },
    /// Each write adds two rows (one batch), and one audit row of `event` that names neither.
    Pair { event: i64 },
    /// Each write replaces one value of the writer's own target; the audit row of `event` names
    /// the marker (`exact`) or only the target.
    Register { event: i64, exact: bool },
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::XmlrpcCreate,
        Kind::XmlrpcFunds,
        Kind::XmlrpcUpdate,
        Kind::C5Create,
        Kind::C5Patch,
        Kind::SoapAddUser,
        Kind::SipxPut,
        Kind::Sip2sipJournal,
        Kind::Sip2sipForward,
        Kind::FeedCdrs,
    ];

    /// The marker's letter: marker `crash-<letter><writer>-<n>-z`.
    pub fn letter(self) -> char {
        match self {
            Kind::XmlrpcCreate => 'a',
            Kind::XmlrpcFunds => 'b',
            Kind::XmlrpcUpdate => 'c',
            Kind::C5Create => 'd',
            Kind::C5Patch => 'e',
            Kind::SoapAddUser => 'f',
            Kind::SipxPut => 'g',
            Kind::Sip2sipJournal => 'h',
            Kind::Sip2sipForward => 'i',
            Kind::FeedCdrs => 'j',
        }
    }

    fn shape(self) -> Shape {
        match self {
            Kind::XmlrpcCreate => Shape::Create { event: 1100 },
            Kind::XmlrpcFunds => Shape::Create { event: 1103 },
            Kind::C5Create => Shape::Create { event: 1600 },
            Kind::SoapAddUser => Shape::Create { event: 3200 },
            Kind::Sip2sipJournal => Shape::Create { event: 2700 },
            Kind::FeedCdrs => Shape::Pair { event: 2300 },
            Kind::XmlrpcUpdate => Shape::Register {
                event: 1101,
                exact: true,
            },
            Kind::C5Patch => Shape::Register {
                event: 1601,
                exact: true,
            },
            Kind::Sip2sipForward => Shape::Register {
                event: 2100,
                exact: true,
            },
            Kind::SipxPut => Shape::Register {
                event: 3101,
                exact: false,
            },
        }
    }

    fn event(self) -> i64 {
        match self.shape() {
            Shape::Create { event } | Shape::Pair { event } | Shape::Register { event, .. } => {
                event
            }
        }
    }
}

/// The rows one writer's updates go to, made before the first kill.
#[derive(Clone)]
pub struct Fixture {
    /// A C5 customer contact (C5 PATCH target).
    pub contact: i64,
    /// A subscriber with a web password in `domain` (SIP2SIP, the feed, XML-RPC updates/funds).
    pub subscriber: i64,
    pub domain: String,
    /// A sipXconfig user made over SOAP with [`SIPX_PIN`] (sipXconfig REST self-care), and its
    /// subscriber id (the audit target of its changes).
    pub sipx_user: String,
    sipx_subscriber: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// A success answer arrived: the write must be there.
    Acked,
    /// An answer arrived that was not a success: counted, and checked like a lost write.
    Refused,
    /// No complete answer (the server died under it): wholly there or wholly absent.
    Lost,
    /// Never connected (the server was down): must be absent.
    Unsent,
}

struct Sent {
    kind: Kind,
    writer: usize,
    seq: u64,
    marker: String,
    outcome: Outcome,
    /// Whether a check found it committed; once known it must never change.
    committed: Option<bool>,
}

/// One HTTP request, sent with curl.
pub struct Request {
    pub method: &'static str,
    pub path: String,
    /// Basic over TLS, or Digest (`digest`).
    pub user: (String, String),
    pub digest: bool,
    pub headers: Vec<&'static str>,
    pub body: Option<String>,
}

/// (HTTP status, body), or None when no complete answer came back.
pub fn send(base: &str, req: &Request) -> Option<(u16, String)> {
    send_or_unsent(base, req).ok()?
}

/// Like [`send`]; `Err` when curl could not connect at all (its exit code 7), so nothing was sent.
fn send_or_unsent(base: &str, req: &Request) -> Result<Option<(u16, String)>, ()> {
    let mut cmd = Command::new("curl");
    cmd.args(["-sk", "--max-time", "60", "-X", req.method])
        .args(["-w", "\n%{http_code}", "-u"])
        .arg(format!("{}:{}", req.user.0, req.user.1));
    if req.digest {
        cmd.arg("--digest");
    }
    for h in &req.headers {
        cmd.args(["-H", h]);
    }
    if req.body.is_some() {
        cmd.args(["--data-binary", "@-"]);
    }
    let mut child = cmd
        .arg(format!("{base}{}", req.path))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run curl (is it installed?)");
    let mut stdin = child.stdin.take().expect("stdin");
    if let Some(body) = &req.body {
        stdin
            .write_all(body.as_bytes())
            .expect("write body to curl");
    }
    drop(stdin);
    let out = child.wait_with_output().expect("wait for curl");
    if out.status.code() == Some(7) {
        return Err(());
    }
    if !out.status.success() {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    Ok(text
        .rsplit_once('\n')
        .and_then(|(body, status)| Some((status.trim().parse().ok()?, body.to_string()))))
}

fn root() -> (String, String) {
    ("root".into(), ROOT_PASSWORD.into())
}

pub fn xmlrpc(method: &str, members: &[(&str, String)]) -> Request {
    let refs: Vec<(&str, &str)> = members.iter().map(|(n, v)| (*n, v.as_str())).collect();
    Request {
        method: "POST",
        path: "/xmlapi/xmlapi".into(),
        user: root(),
        digest: false,
        headers: vec!["Content-Type: text/xml"],
        body: Some(call_xml(method, &refs)),
    }
}

pub fn c5(method: &'static str, path: String, content_type: &'static str, body: String) -> Request {
    Request {
        method,
        path,
        user: root(),
        digest: false,
        headers: vec![content_type],
        body: Some(body),
    }
}

fn soap_add_user(name: &str) -> Request {
    Request {
        method: "POST",
        path: "/sipxconfig/services/UserService".into(),
        user: root(),
        digest: false,
        headers: vec!["Content-Type: text/xml; charset=utf-8", "SOAPAction: \"\""],
        body: Some(format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><c:AddUser xmlns:c="{SOAP_NS}"><c:user><c:userName>{name}</c:userName></c:user><c:pin>{SIPX_PIN}</c:pin></c:AddUser></s:Body></s:Envelope>"#
        )),
    }
}

/// A settings.phtml request as the fixture's subscriber (Digest in the domain's realm; the
/// realm and action ride in the query, which curl's unauthenticated first request carries too).
fn sip2sip(fx: &Fixture, query: &str, form: Option<String>) -> Request {
    Request {
        method: if form.is_some() { "POST" } else { "GET" },
        path: format!("/settings.phtml?{query}&realm={}", fx.domain),
        user: ("alice".into(), WEB_PASSWORD.into()),
        digest: true,
        headers: vec!["Content-Type: application/x-www-form-urlencoded"],
        body: form,
    }
}

fn cdr(fx: &Fixture, call_id: &str) -> serde_json::Value {
    serde_json::json!({"call_id": call_id, "account": format!("alice@{}", fx.domain),
        "direction": "placed", "remote_party": "sip:bob@example.org", "display_name": "",
        "start_time": "2026-11-01T10:00:00Z", "duration": 30, "status": "200"})
}

/// Whether an answer to a write of `kind` says it was done.
pub fn is_success(kind: Kind, status: u16, body: &str) -> bool {
    match kind {
        Kind::XmlrpcCreate | Kind::XmlrpcFunds | Kind::XmlrpcUpdate => {
            status == 200 && !body.contains("faultCode") && body.contains("<string>OK</string>")
        }
        Kind::C5Create => status == 201,
        Kind::C5Patch => status == 200 || status == 204,
        Kind::SoapAddUser => status == 200 && !body.contains("Fault"),
        Kind::SipxPut => status == 200,
        Kind::Sip2sipJournal | Kind::Sip2sipForward => {
            status == 200 && body.contains("\"success\":true")
        }
        Kind::FeedCdrs => status == 200 && body.contains("\"inserted\":2"),
    }
}

/// The request that writes `marker`.
pub fn request(kind: Kind, fx: &Fixture, marker: &str) -> Request {
    let s = |v: &str| format!("<string>{v}</string>");
    let account = format!("<int>{}</int>", fx.subscriber);
    match kind {
        Kind::XmlrpcCreate => {
            let mut members = account_members(marker);
            members.retain(|(n, _)| *n != "username" && *n != "authname");
            members.push(("username", s(marker)));
            members.push(("authname", s(marker)));
            xmlrpc("createAccount", &members)
        }
        Kind::XmlrpcFunds => xmlrpc(
            "accountAddFunds",
            &[
                ("i_account", account),
                ("amount", "<double>0.01</double>".into()),
                ("currency", s("USD")),
                ("payment_notes", s(marker)),
            ],
        ),
        Kind::XmlrpcUpdate => xmlrpc(
            "updateAccount",
            &[("i_account", account), ("cpe_number", s(marker))],
        ),
        Kind::C5Create => c5(
            "POST",
            "/api/customercontacts/".into(),
            "Content-Type: application/json",
            serde_json::json!({"email": format!("{marker}@crash.example"), "reseller_id": 1})
                .to_string(),
        ),
        Kind::C5Patch => c5(
            "PATCH",
            format!("/api/customercontacts/{}", fx.contact),
            "Content-Type: application/json-patch+json",
            serde_json::json!([{"op": "replace", "path": "/firstname", "value": marker}])
                .to_string(),
        ),
        Kind::SoapAddUser => soap_add_user(marker),
        Kind::SipxPut => Request {
            method: "PUT",
            path: "/sipxconfig/rest/my/contact-information".into(),
            user: (fx.sipx_user.clone(), SIPX_PIN.into()),
            digest: false,
            headers: vec!["Content-Type: application/json", "Accept: application/json"],
            body: Some(
                serde_json::json!({"contact-information": {"jobTitle": marker}}).to_string(),
            ),
        },
        Kind::Sip2sipJournal => {
            let data = serde_json::json!({marker: {"data": "x", "action": "add"}}).to_string();
            let form: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("data", &data)
                .finish();
            sip2sip(
                fx,
                &format!("action=put_journal_entries&uuid={marker}"),
                Some(form),
            )
        }
        Kind::Sip2sipForward => sip2sip(
            fx,
            &format!("action=set_call_forwarding&FNOA={marker}"),
            None,
        ),
        Kind::FeedCdrs => c5(
            "POST",
            "/feed/cdrs".into(),
            "Content-Type: application/json",
            serde_json::json!([
                cdr(fx, &format!("{marker}-a")),
                cdr(fx, &format!("{marker}-b"))
            ])
            .to_string(),
        ),
    }
}

/// Sends a setup request that must succeed; returns the answer.
fn setup(base: &str, req: &Request, expect: u16) -> (u16, String) {
    let (status, body) = send(base, req).expect("setup request got no answer");
    assert_eq!(status, expect, "setup {} {}: {body}", req.method, req.path);
    (status, body)
}

fn c5_create(base: &str, res: &str, doc: &serde_json::Value) -> i64 {
    let mut req = c5(
        "POST",
        format!("/api/{res}/"),
        "Content-Type: application/json",
        doc.to_string(),
    );
    req.headers.push("Accept: application/json");
    // The id is in Location.
    let (status, body) = send_with_headers(base, &req);
    assert_eq!(status, 201, "setup POST /api/{res}/: {body}");
    let location = body
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap_or_else(|| panic!("no Location in {body}"));
    location.trim().rsplit('/').next().unwrap().parse().unwrap()
}

/// Like [`send`], with the response headers before the body (for Location).
fn send_with_headers(base: &str, req: &Request) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sk", "-i", "--max-time", "60", "-X", req.method])
        .args(["-w", "\n%{http_code}", "-u"])
        .arg(format!("{}:{}", req.user.0, req.user.1));
    for h in &req.headers {
        cmd.args(["-H", h]);
    }
    if let Some(body) = &req.body {
        cmd.args(["--data-binary", body]);
    }
    let out = cmd
        .arg(format!("{base}{}", req.path))
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').expect("status line");
    (status.trim().parse().expect("status"), body.to_string())
}

pub fn make_fixture(base: &str, db: &Path, writer: usize) -> Fixture {
    let contact = c5_create(
        base,
        "customercontacts",
        &serde_json::json!({"email": format!("fx{writer}@crash.example"), "reseller_id": 1}),
    );
    let customer = c5_create(
        base,
        "customers",
        &serde_json::json!({"contact_id": contact, "status": "active", "type": "sipaccount",
            "billing_profile_id": 1}),
    );
    let domain = format!("fx{writer}.crash.example");
    c5_create(
        base,
        "domains",
        &serde_json::json!({"domain": domain, "reseller_id": 1}),
    );
    let subscriber = c5_create(
        base,
        "subscribers",
        &serde_json::json!({"customer_id": customer, "domain": domain, "username": "alice",
            "password": "sip-secret", "webpassword": WEB_PASSWORD,
            "primary_number": {"cc": 43, "ac": 1, "sn": format!("{}", 5_550_000 + writer)}}),
    );
    let sipx_user = format!("fx{writer}-sipx");
    setup(base, &soap_add_user(&sipx_user), 200);
    // The account must exist for XML-RPC too (one model): read it back once.
    let (_, body) = setup(
        base,
        &xmlrpc(
            "getAccountInfo",
            &[("i_account", format!("<int>{subscriber}</int>"))],
        ),
        200,
    );
    assert!(
        member_int(&body, "i_account") == Some(subscriber),
        "getAccountInfo: {body}"
    );
    let sipx_subscriber = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
        .query_row(
            "SELECT id FROM subscribers WHERE username = ?1",
            [&sipx_user],
            |r| r.get(0),
        )
        .unwrap();
    Fixture {
        contact,
        subscriber,
        domain,
        sipx_user,
        sipx_subscriber,
    }
}

/// What the writers share with the killer: the server's base URL (None while it is down; the
/// killer takes the write lock to check, so no request runs during a check) and the log.
struct Shared {
    base: RwLock<Option<String>>,
    log: Mutex<Vec<Sent>>,
    stop: AtomicBool,
    refusals: Mutex<Vec<String>>,
}

fn writer_loop(shared: &Shared, kind: Kind, writer: usize, fx: &Fixture) {
    let mut seq = 0u64;
    while !shared.stop.load(Ordering::SeqCst) {
        let guard = shared.base.read().unwrap();
        let Some(base) = guard.as_ref() else {
            drop(guard);
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        seq += 1;
        let marker = format!("crash-{}{writer}-{seq}-z", kind.letter());
        let outcome = match send_or_unsent(base, &request(kind, fx, &marker)) {
            Err(()) => Outcome::Unsent,
            Ok(Some((status, body))) if is_success(kind, status, &body) => Outcome::Acked,
            Ok(Some((status, body))) => {
                let mut refusals = shared.refusals.lock().unwrap();
                if refusals.len() < 10 {
                    refusals.push(format!("{kind:?} {status}: {}", truncate(&body)));
                }
                Outcome::Refused
            }
            Ok(None) => Outcome::Lost,
        };
        shared.log.lock().unwrap().push(Sent {
            kind,
            writer,
            seq,
            marker,
            outcome,
            committed: None,
        });
        drop(guard);
    }
}

fn truncate(s: &str) -> &str {
    s.get(..300).unwrap_or(s)
}

/// The markers `crash-...-z` in a text, each once.
fn markers(text: &str) -> HashSet<String> {
    let mut found = HashSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("crash-") {
        let tail = &rest[start..];
        match tail.find("-z") {
            Some(end) => {
                found.insert(tail[..end + 2].to_string());
                rest = &tail[end + 2..];
            }
            None => break,
        }
    }
    found
}

/// What one check read from the database.
#[derive(Default)]
struct Snapshot {
    /// Rows per marker (feed batches count 2).
    rows: HashMap<String, usize>,
    /// Success audit rows per marker (`exact` shapes).
    audit: HashMap<String, usize>,
    /// Success audit rows per event and target, for the shapes matched by count.
    audit_by_target: HashMap<(i64, String), usize>,
    /// The current value of each register: (kind, writer) → marker.
    registers: HashMap<(Kind, usize), String>,
}

fn read_snapshot(db: &Path, fixtures: &[Fixture]) -> Snapshot {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open the database read-only");
    let integrity: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(integrity, vec!["ok".to_string()], "integrity_check");
    let fk: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(fk, 0, "foreign_key_check found dangling references");

    let mut snap = Snapshot::default();
    let texts = |sql: &str| -> Vec<String> {
        conn.prepare(sql)
            .unwrap()
            .query_map([], |r| r.get::<_, Option<String>>(0))
            .unwrap()
            .map(|r| r.unwrap().unwrap_or_default())
            .collect()
    };
    for sql in [
        "SELECT username FROM subscribers WHERE username LIKE 'crash-%'",
        "SELECT notes FROM balance_transactions WHERE notes LIKE 'crash-%'",
        "SELECT email FROM contacts WHERE email LIKE 'crash-%'",
        "SELECT call_id FROM cdrs WHERE call_id LIKE 'crash-%'",
        "SELECT client_id FROM journal_entries WHERE client_id LIKE 'crash-%'",
    ] {
        for text in texts(sql) {
            for m in markers(&text) {
                *snap.rows.entry(m).or_default() += 1;
            }
        }
    }
    let mut stmt = conn
        .prepare(
            "SELECT event, target, detail FROM audit_log WHERE outcome = 'ok' \
             AND event IN (1100, 1101, 1103, 1600, 1601, 2100, 2300, 2700, 3101, 3200)",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (event, target, detail) = row.unwrap();
        let found = markers(&detail);
        if found.is_empty() {
            *snap.audit_by_target.entry((event, target)).or_default() += 1;
        }
        for m in found {
            *snap.audit.entry(m).or_default() += 1;
        }
    }
    for (writer, fx) in fixtures.iter().enumerate() {
        let one = |sql: &str, id: &dyn rusqlite::ToSql| -> String {
            conn.query_row(sql, [id], |r| r.get::<_, Option<String>>(0))
                .unwrap_or_default()
                .unwrap_or_default()
        };
        let values = [
            (
                Kind::XmlrpcUpdate,
                one(
                    "SELECT cpe_number FROM subscribers WHERE id = ?1",
                    &fx.subscriber,
                ),
            ),
            (
                Kind::C5Patch,
                one("SELECT first_name FROM contacts WHERE id = ?1", &fx.contact),
            ),
            (
                Kind::Sip2sipForward,
                one(
                    "SELECT group_concat(d.destination) FROM forward_destinations d \
                     JOIN forward_rules r ON r.id = d.rule_id \
                     WHERE r.subscriber_id = ?1 AND r.kind = 'cft'",
                    &fx.subscriber,
                ),
            ),
            (
                Kind::SipxPut,
                one(
                    "SELECT details FROM contact_information WHERE subscriber_id = \
                     (SELECT id FROM subscribers WHERE username = ?1)",
                    &fx.sipx_user,
                ),
            ),
        ];
        for (kind, value) in values {
            let found = markers(&value);
            assert!(
                found.len() <= 1,
                "{kind:?} of writer {writer} holds two markers: {value}"
            );
            if let Some(m) = found.into_iter().next() {
                snap.registers.insert((kind, writer), m);
            }
        }
    }
    snap
}

#[derive(Default, Debug)]
struct Figures {
    kills: usize,
    sent: usize,
    acked: usize,
    found: usize,
    refused: usize,
    lost: usize,
    unsent: usize,
    lost_committed: usize,
    lost_absent: usize,
}

/// Checks the log against a snapshot; records how lost writes resolved.
fn check(log: &mut [Sent], snap: &Snapshot, fixtures: &[Fixture]) -> Figures {
    let mut figures = Figures::default();
    let known: HashSet<&str> = log.iter().map(|s| s.marker.as_str()).collect();
    for (m, _) in snap.rows.iter().chain(snap.audit.iter()) {
        assert!(
            known.contains(m.as_str()),
            "{m} is in the database but was never sent"
        );
    }
    // Registers: per writer, the highest sequence number committed.
    let mut last_committed: HashMap<(Kind, usize), u64> = HashMap::new();
    for sent in log.iter_mut() {
        let rows = snap.rows.get(&sent.marker).copied().unwrap_or(0);
        let audit = snap.audit.get(&sent.marker).copied().unwrap_or(0);
        let committed = match sent.kind.shape() {
            Shape::Create { .. } => {
                assert!(
                    (rows, audit) == (1, 1) || (rows, audit) == (0, 0),
                    "{} ({:?}): {rows} rows and {audit} audit rows",
                    sent.marker,
                    sent.outcome
                );
                Some(rows == 1)
            }
            Shape::Pair { .. } => {
                assert!(
                    rows == 2 || rows == 0,
                    "{} ({:?}): half present, {rows} of 2 rows",
                    sent.marker,
                    sent.outcome
                );
                assert_eq!(audit, 0, "the feed's audit detail names no call");
                Some(rows == 2)
            }
            Shape::Register { exact: true, .. } => {
                assert!(audit <= 1, "{}: {audit} audit rows", sent.marker);
                Some(audit == 1)
            }
            // Matched by count below.
            Shape::Register { exact: false, .. } => None,
        };
        if let Some(committed) = committed {
            if committed && matches!(sent.kind.shape(), Shape::Register { .. }) {
                let last = last_committed.entry((sent.kind, sent.writer)).or_default();
                *last = (*last).max(sent.seq);
            }
            match sent.outcome {
                Outcome::Acked => assert!(committed, "{}: acknowledged but not found", sent.marker),
                Outcome::Unsent => assert!(!committed, "{}: never sent but found", sent.marker),
                Outcome::Refused | Outcome::Lost => {}
            }
            if let Some(before) = sent.committed {
                assert_eq!(
                    before, committed,
                    "{}: was {before} at an earlier check, now {committed}",
                    sent.marker
                );
            }
            sent.committed = Some(committed);
        }
    }
    // Exact registers: the current value is the last committed write's.
    for (writer, _) in fixtures.iter().enumerate() {
        for kind in [Kind::XmlrpcUpdate, Kind::C5Patch, Kind::Sip2sipForward] {
            let current = snap.registers.get(&(kind, writer));
            let expected = last_committed
                .get(&(kind, writer))
                .map(|seq| format!("crash-{}{writer}-{seq}-z", kind.letter()));
            assert_eq!(
                current,
                expected.as_ref(),
                "{kind:?} writer {writer}: the value is not the last committed write's"
            );
        }
    }
    // sipXconfig contact information: audit rows by count, the value no older than the last ack.
    for (writer, fx) in fixtures.iter().enumerate() {
        let sent: Vec<&Sent> = log
            .iter()
            .filter(|s| s.kind == Kind::SipxPut && s.writer == writer)
            .collect();
        let acked = sent.iter().filter(|s| s.outcome == Outcome::Acked).count();
        let audit_rows = snap
            .audit_by_target
            .iter()
            .filter(|((event, target), _)| {
                *event == Kind::SipxPut.event()
                    && *target == format!("subscriber:{}", fx.sipx_subscriber)
            })
            .map(|(_, n)| *n)
            .sum::<usize>();
        assert!(
            audit_rows >= acked && audit_rows <= sent.len(),
            "sipx writer {writer}: {audit_rows} audit rows for {acked} acknowledged of {} sent",
            sent.len()
        );
        let last_acked = sent
            .iter()
            .filter(|s| s.outcome == Outcome::Acked)
            .map(|s| s.seq)
            .max();
        if let Some(last_acked) = last_acked {
            let current = snap
                .registers
                .get(&(Kind::SipxPut, writer))
                .expect("sipx contact information after an acknowledged write");
            let seq = sent
                .iter()
                .find(|s| &s.marker == current)
                .map(|s| s.seq)
                .expect("a value that was sent");
            assert!(
                seq >= last_acked,
                "sipx writer {writer}: value of write {seq}, older than acknowledged {last_acked}"
            );
        }
        let in_flight = sent
            .iter()
            .filter(|s| matches!(s.outcome, Outcome::Lost | Outcome::Refused))
            .count();
        figures.lost_committed += audit_rows - acked;
        figures.lost_absent += in_flight - (audit_rows - acked);
    }
    // The feed: one audit row per batch present.
    let batches = log
        .iter()
        .filter(|s| s.kind == Kind::FeedCdrs && s.committed == Some(true))
        .count();
    let feed_audit: usize = snap
        .audit_by_target
        .iter()
        .filter(|((event, _), _)| *event == Kind::FeedCdrs.event())
        .map(|(_, n)| *n)
        .sum();
    assert_eq!(
        feed_audit, batches,
        "feed audit rows against batches present"
    );

    for sent in log.iter() {
        figures.sent += 1;
        match sent.outcome {
            Outcome::Acked => figures.acked += 1,
            Outcome::Refused => figures.refused += 1,
            Outcome::Lost => figures.lost += 1,
            Outcome::Unsent => figures.unsent += 1,
        }
        if sent.outcome == Outcome::Acked && sent.committed == Some(true) {
            figures.found += 1;
        }
        if matches!(sent.outcome, Outcome::Lost | Outcome::Refused) {
            match sent.committed {
                Some(true) => figures.lost_committed += 1,
                Some(false) => figures.lost_absent += 1,
                None => {}
            }
        }
    }
    // Acknowledged sipx writes were counted within the audit rows above.
    figures.found += log
        .iter()
        .filter(|s| s.kind == Kind::SipxPut && s.outcome == Outcome::Acked)
        .count();
    figures
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().map_or(default, |v| {
        v.parse().unwrap_or_else(|_| panic!("{name}={v}"))
    })
}

/// A small xorshift generator: the kill delays only need to be spread, and replayable.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn kill_nine_loses_no_acknowledged_write() {
    let started = Instant::now();
    let kills = env_number("SWITCHYARD_CRASH_KILLS", CI_KILLS);
    let writers = env_number("SWITCHYARD_CRASH_WRITERS", 1);
    let seed = env_number(
        "SWITCHYARD_CRASH_SEED",
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos() as usize
            | 1,
    );
    println!("crash: {kills} kills, {writers} writer(s) per kind, seed {seed}");
    let mut rng = Rng(seed as u64);

    let mut app = TestApp::spawn();
    let db = app.data_dir().join("switchyard.db");
    let fixtures: Vec<Fixture> = (0..writers)
        .map(|w| make_fixture(&app.https, &db, w))
        .collect();
    let shared = Arc::new(Shared {
        base: RwLock::new(Some(app.https.clone())),
        log: Mutex::new(Vec::new()),
        stop: AtomicBool::new(false),
        refusals: Mutex::new(Vec::new()),
    });
    let mut threads = Vec::new();
    for (writer, fx) in fixtures.iter().enumerate() {
        for kind in Kind::ALL {
            let (shared, fx) = (shared.clone(), fx.clone());
            threads.push(std::thread::spawn(move || {
                writer_loop(&shared, kind, writer, &fx);
            }));
        }
    }

    let mut figures = Figures::default();
    let mut longest_check = Duration::ZERO;
    for kill in 1..=kills {
        std::thread::sleep(Duration::from_millis(300 + rng.below(1700)));
        let dir = app.kill();
        // Every request of the dead server has its answer (or its failure) once the lock is ours.
        let mut base = shared.base.write().unwrap();
        *base = None;
        app = Launch {
            dir: Some(dir),
            ..Launch::default()
        }
        .spawn();
        let checking = Instant::now();
        let snap = read_snapshot(&db, &fixtures);
        let mut log = shared.log.lock().unwrap();
        figures = check(&mut log, &snap, &fixtures);
        figures.kills = kill;
        drop(log);
        longest_check = longest_check.max(checking.elapsed());
        *base = Some(app.https.clone());
        drop(base);
    }
    shared.stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().unwrap();
    }
    let per_kind: Vec<String> = Kind::ALL
        .iter()
        .map(|k| {
            let log = shared.log.lock().unwrap();
            let acked = log
                .iter()
                .filter(|s| s.kind == *k && s.outcome == Outcome::Acked)
                .count();
            format!("{k:?} {acked}")
        })
        .collect();
    println!(
        "crash: {} kills survived in {:.0?}; {} writes sent, {} acknowledged, {} of them found; \
         {} in flight at a kill: {} committed, {} absent (resolved either way, none half); \
         {} not sent (server down, none found); {} refused answers; longest check {:.0?}",
        figures.kills,
        started.elapsed(),
        figures.sent,
        figures.acked,
        figures.found,
        figures.lost,
        figures.lost_committed,
        figures.lost_absent,
        figures.unsent,
        figures.refused,
        longest_check,
    );
    println!("crash: acknowledged per kind: {}", per_kind.join(", "));
    let refusals = shared.refusals.lock().unwrap();
    for r in refusals.iter() {
        println!("crash: refused: {r}");
    }
    assert_eq!(figures.kills, kills);
    assert_eq!(figures.acked, figures.found, "acknowledged writes missing");
    assert!(
        refusals.is_empty(),
        "writes were refused with no fault injected"
    );
    for kind in Kind::ALL {
        let log = shared.log.lock().unwrap();
        assert!(
            log.iter()
                .any(|s| s.kind == kind && s.outcome == Outcome::Acked),
            "no {kind:?} write was acknowledged"
        );
    }
}

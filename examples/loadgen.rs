//! A closed-loop load generator for switchyard's benchmarks (see `bench/run.sh`, BENCHMARKS.md).
//!
//! N keep-alive HTTP/1.1 connections (plain or TLS), each a loop of requests for D seconds, or
//! until each has made `--requests` calls. Modes:
//!
//! - `hello`: `GET /` (for `examples/bare_hyper.rs`).
//! - `get-account`: Digest-authenticated XML-RPC `getAccountInfo` of `--account`.
//! - `create-account`: Digest-authenticated `createAccount` with unique usernames.
//! - `sequential-create`: one connection, `--requests` (default 1,000) `createAccount` calls in
//!   sequence; the figure is the total wall time, connection and first challenge included.
//! - `c5-get`: the C5 dialect's `GET /api/subscribers/{--subscriber}` (expects 200).
//! - `c5-create`: `POST /api/subscribers/` with a JSON body, a unique username and a unique
//!   primary number, under `--customer` and `--domain` (expects 201; `first_created` is the id
//!   from the first `Location`).
//! - `c5-page`: `GET --path` (default `/api/subscribers/?page=1&rows=10`; expects 200), for
//!   collection pages.
//! - `c5-cf-get`: `GET /api/callforwards/{--subscriber}` (expects 200).
//! - `c5-cf-put`: `PUT /api/callforwards/{--subscriber}` without `Prefer` (expects 204): `cfu` with
//!   three destinations (a number, a second number, `voicebox`; timeouts 10, 20, 30) and one time
//!   entry (`hour` 8-18, `wday` 2-6). The first number carries the call number, so every PUT
//!   changes the stored forwarding.
//! - `sipx-find-user`: SOAP `findUser` by `--user-name` at `/sipxconfig/services/UserService`
//!   (expects 200 and a `userName` in the answer).
//! - `sipx-forward-get`: sipXconfig's `GET /sipxconfig/rest/my/forward` with
//!   `Accept: application/json`, as the subscriber `--user` with its portal PIN `--password`
//!   (expects 200). It authenticates like the C5 modes (`--auth`).
//! - `sip2sip-get`: `GET --path` (default `/settings.phtml?action=get_call_forwarding`; give the
//!   `realm`), Digest as the subscriber `--user`; expects 200 and no `"success":false`.
//! - `sip2sip-set`: `POST --path` (default `/settings.phtml`) with the form
//!   `action=set_call_forwarding&FNOA=<number>`, the number changing with every call, so every
//!   call is a durable change; expects 200 and no `"success":false`.
//!
//! The C5 and SOAP modes authenticate with `--auth basic` (default: preemptive
//! `Authorization: Basic base64(user:password)` on every request, as a keep-alive script that knows
//! the realm sends it) or `--auth digest` (as below, for GET or POST). `--total N` stops the whole
//! run after N calls across all connections (for seeding an exact number of rows).
//!
//! Digest is done the way a nonce-reusing client (Python requests, Perl LWP) does it: each
//! connection's first request, sent before the measurement starts, gets the 401 challenge; every
//! later request reuses that nonce with nc 1, 2, 3, ... and a per-connection cnonce. A `401` with
//! `stale=true` takes the new nonce and retries; any other `401`, any status but the expected one
//! (200; 201 for `c5-create`) and any XML-RPC fault count as errors (the first one is printed).
//!
//! Output: a human summary on stderr and one JSON line on stdout.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use clap::{Parser, ValueEnum};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST, HeaderMap, HeaderValue, LOCATION, WWW_AUTHENTICATE,
};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde_json::json;
use switchyard::auth::digest::{Algorithm, QopAuth, compute_response, ha1};
use switchyard::dialects::xmlrpc::codec::{Value, render_method_call};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::Barrier;
use tokio_rustls::TlsConnector;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    Hello,
    GetAccount,
    CreateAccount,
    SequentialCreate,
    C5Get,
    C5Create,
    C5Page,
    C5CfGet,
    C5CfPut,
    SipxFindUser,
    SipxForwardGet,
    Sip2sipGet,
    Sip2sipSet,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Self::Hello => "hello",
            Self::GetAccount => "get-account",
            Self::CreateAccount => "create-account",
            Self::SequentialCreate => "sequential-create",
            Self::C5Get => "c5-get",
            Self::C5Create => "c5-create",
            Self::C5Page => "c5-page",
            Self::C5CfGet => "c5-cf-get",
            Self::C5CfPut => "c5-cf-put",
            Self::SipxFindUser => "sipx-find-user",
            Self::SipxForwardGet => "sipx-forward-get",
            Self::Sip2sipGet => "sip2sip-get",
            Self::Sip2sipSet => "sip2sip-set",
        }
    }

    /// Modes that authenticate as `--auth` says (C5 and SOAP).
    fn is_c5(self) -> bool {
        matches!(
            self,
            Self::C5Get
                | Self::C5Create
                | Self::C5Page
                | Self::C5CfGet
                | Self::C5CfPut
                | Self::SipxFindUser
                | Self::SipxForwardGet
        )
    }

    fn is_xmlrpc(self) -> bool {
        matches!(
            self,
            Self::GetAccount | Self::CreateAccount | Self::SequentialCreate
        )
    }

    fn is_sip2sip(self) -> bool {
        matches!(self, Self::Sip2sipGet | Self::Sip2sipSet)
    }

    fn method(self) -> Method {
        match self {
            Self::Hello
            | Self::C5Get
            | Self::C5Page
            | Self::C5CfGet
            | Self::SipxForwardGet
            | Self::Sip2sipGet => Method::GET,
            Self::C5CfPut => Method::PUT,
            _ => Method::POST,
        }
    }

    /// The status a successful call answers with.
    fn expected(self) -> StatusCode {
        match self {
            Self::C5Create => StatusCode::CREATED,
            Self::C5CfPut => StatusCode::NO_CONTENT,
            _ => StatusCode::OK,
        }
    }
}

/// How the C5 modes authenticate (the XML-RPC modes always use Digest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Auth {
    Basic,
    Digest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Alg {
    Sha256,
    Md5,
}

#[derive(Debug, Parser)]
#[command(about = "Closed-loop keep-alive load generator for switchyard benchmarks")]
struct Args {
    /// Server base URL, `http://HOST:PORT` or `https://HOST:PORT`.
    #[arg(long)]
    url: String,
    /// What each request does.
    #[arg(long, value_enum, default_value = "hello")]
    mode: Mode,
    /// Request path; default `/` for hello, `/xmlapi/xmlapi` for the XML-RPC modes,
    /// `/api/subscribers/{--subscriber}` for c5-get, `/api/subscribers/` for c5-create,
    /// `/api/subscribers/?page=1&rows=10` for c5-page, `/api/callforwards/{--subscriber}` for
    /// c5-cf-get and c5-cf-put, `/sipxconfig/rest/my/forward` for sipx-forward-get.
    #[arg(long)]
    path: Option<String>,
    /// Concurrent keep-alive connections (sequential-create always uses one).
    #[arg(short, long, default_value_t = 32)]
    connections: usize,
    /// Seconds of load (sequential-create: the most it may take).
    #[arg(short, long, default_value_t = 5.0)]
    duration: f64,
    /// Stop each connection after this many calls (sequential-create: default 1000).
    #[arg(long)]
    requests: Option<u64>,
    /// Stop the whole run after this many calls across all connections.
    #[arg(long)]
    total: Option<u64>,
    /// PEM file of the certificate (or CA) to trust for https.
    #[arg(long)]
    cacert: Option<PathBuf>,
    /// Accept any server certificate (loopback benchmarks only).
    #[arg(long)]
    insecure: bool,
    /// API login.
    #[arg(long, default_value = "root")]
    user: String,
    /// The login's API password.
    #[arg(
        long,
        env = "LOADGEN_PASSWORD",
        hide_env_values = true,
        default_value = ""
    )]
    password: String,
    /// Digest algorithm to answer with (the server offers both under one nonce).
    #[arg(long, value_enum, default_value = "sha256")]
    alg: Alg,
    /// How the C5 modes authenticate: preemptive Basic, or Digest with a reused nonce.
    #[arg(long, value_enum, default_value = "basic")]
    auth: Auth,
    /// The account getAccountInfo asks for.
    #[arg(long, default_value_t = 1)]
    account: i64,
    /// The subscriber c5-get, c5-cf-get and c5-cf-put use.
    #[arg(long, default_value_t = 1)]
    subscriber: i64,
    /// The customer c5-create makes subscribers under.
    #[arg(long, default_value_t = 1)]
    customer: i64,
    /// The user sipx-find-user looks for.
    #[arg(long, default_value = "benchuser")]
    user_name: String,
    /// The domain (name) of the subscribers c5-create makes.
    #[arg(long, default_value = "bench.example.com")]
    domain: String,
    /// Prefix of the usernames createAccount makes (a run id is appended).
    #[arg(long, default_value = "lg")]
    prefix: String,
    /// Load generator threads (1: a single-threaded runtime).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Seconds one request may take before it counts as an error.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Name of this run in the JSON line.
    #[arg(long)]
    label: Option<String>,
    /// The server's process id: its CPU time during the measured phase is reported too.
    #[arg(long)]
    server_pid: Option<u32>,
}

impl Args {
    fn uses_digest(&self) -> bool {
        self.mode.is_xmlrpc()
            || self.mode.is_sip2sip()
            || (self.mode.is_c5() && self.auth == Auth::Digest)
    }

    fn uses_basic(&self) -> bool {
        self.mode.is_c5() && self.auth == Auth::Basic
    }
}

/// Where and how to connect.
struct Target {
    host: String,
    port: u16,
    authority: HeaderValue,
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl Target {
    fn new(args: &Args) -> Result<Self> {
        let uri: Uri = args.url.parse().context("--url is not a URL")?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => bail!("--url must start with http:// or https://"),
        };
        let host = uri.host().context("--url has no host")?.to_string();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let authority =
            HeaderValue::from_str(uri.authority().context("--url has no authority")?.as_str())
                .context("--url authority is not a valid Host header")?;
        let tls = if https {
            let config = Arc::new(client_tls(args)?);
            let name = ServerName::try_from(host.trim_matches(['[', ']']).to_string())
                .context("--url host is not a valid TLS server name")?;
            Some((TlsConnector::from(config), name))
        } else {
            None
        };
        Ok(Self {
            host,
            port,
            authority,
            tls,
        })
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>> {
        let host = self.host.trim_matches(['[', ']']);
        let tcp = TcpStream::connect((host, self.port))
            .await
            .with_context(|| format!("cannot connect to {host}:{}", self.port))?;
        tcp.set_nodelay(true).context("TCP_NODELAY")?;
        match &self.tls {
            Some((connector, name)) => {
                let stream = connector
                    .connect(name.clone(), tcp)
                    .await
                    .context("TLS handshake failed")?;
                handshake(stream).await
            }
            None => handshake(tcp).await,
        }
    }
}

async fn handshake<S>(io: S) -> Result<SendRequest<Full<Bytes>>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .context("HTTP/1.1 handshake failed")?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

fn client_tls(args: &Args) -> Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let mut config = if args.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
            .with_no_client_auth()
    } else {
        let path = args
            .cacert
            .as_ref()
            .context("https needs --cacert FILE or --insecure")?;
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(path)
            .with_context(|| format!("cannot read {}", path.display()))?
        {
            let cert = cert.with_context(|| format!("{} is not PEM", path.display()))?;
            roots.add(cert).context("unusable certificate")?;
        }
        if roots.is_empty() {
            bail!("{} holds no certificate", path.display());
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Accepts any certificate but still checks the handshake signatures (`--insecure`).
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// One `WWW-Authenticate: Digest ...` challenge.
#[derive(Debug, Clone)]
struct Challenge {
    realm: String,
    nonce: String,
    opaque: Option<String>,
    algorithm: Algorithm,
    stale: bool,
}

/// Splits `k=v, k="v", ...` (quoted values may hold commas and backslash escapes).
fn auth_params(mut rest: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_ascii_whitespace());
        let Some(eq) = rest.find('=') else {
            return out;
        };
        let key = rest[..eq].trim().to_ascii_lowercase();
        rest = rest[eq + 1..].trim_start();
        let mut value = String::new();
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            rest = &quoted[end..];
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        out.push((key, value));
    }
}

fn parse_challenge(header: &str) -> Option<Challenge> {
    let (scheme, rest) = header.trim_start().split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("digest") {
        return None;
    }
    let mut realm = None;
    let mut nonce = None;
    let mut opaque = None;
    let mut algorithm = Algorithm::Md5;
    let mut stale = false;
    for (key, value) in auth_params(rest) {
        match key.as_str() {
            "realm" => realm = Some(value),
            "nonce" => nonce = Some(value),
            "opaque" => opaque = Some(value),
            "algorithm" => algorithm = Algorithm::from_name(&value)?,
            "stale" => stale = value.eq_ignore_ascii_case("true"),
            _ => {}
        }
    }
    Some(Challenge {
        realm: realm?,
        nonce: nonce?,
        opaque,
        algorithm,
        stale,
    })
}

/// The challenge offering `wanted`, else the first usable one.
fn pick_challenge(headers: &HeaderMap, wanted: Algorithm) -> Option<Challenge> {
    let all: Vec<Challenge> = headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(parse_challenge)
        .collect();
    all.iter()
        .find(|c| c.algorithm == wanted)
        .or_else(|| all.first())
        .cloned()
}

/// A connection's Digest session: one nonce, reused with increasing nc.
struct DigestSession {
    user: String,
    password: String,
    method: Method,
    uri: String,
    wanted: Algorithm,
    cnonce: String,
    challenge: Option<Challenge>,
    /// HA1 for (realm, algorithm) of the current challenge.
    ha1: Option<(String, Algorithm, String)>,
    nc: u32,
}

impl DigestSession {
    fn new(args: &Args, uri: &str) -> Result<Self> {
        let mut random = [0u8; 12];
        getrandom::fill(&mut random).context("no randomness for the cnonce")?;
        Ok(Self {
            user: args.user.clone(),
            password: args.password.clone(),
            method: args.mode.method(),
            uri: uri.to_string(),
            wanted: match args.alg {
                Alg::Sha256 => Algorithm::Sha256,
                Alg::Md5 => Algorithm::Md5,
            },
            cnonce: hex::encode(random),
            challenge: None,
            ha1: None,
            nc: 0,
        })
    }

    fn take_challenge(&mut self, challenge: Challenge) {
        self.challenge = Some(challenge);
        self.nc = 0;
    }

    /// The `Authorization` value for the next request, if a challenge is known.
    fn authorization(&mut self) -> Option<HeaderValue> {
        let challenge = self.challenge.as_ref()?;
        let alg = challenge.algorithm;
        let fresh = match &self.ha1 {
            Some((realm, a, _)) => *realm != challenge.realm || *a != alg,
            None => true,
        };
        if fresh {
            let value = ha1(alg, &self.user, &challenge.realm, &self.password);
            self.ha1 = Some((challenge.realm.clone(), alg, value));
        }
        let ha1_hex = self.ha1.as_ref().map(|(_, _, h)| h.as_str())?;
        self.nc += 1;
        let nc = format!("{:08x}", self.nc);
        let response = compute_response(
            alg,
            ha1_hex,
            &challenge.nonce,
            self.method.as_str(),
            &self.uri,
            Some(QopAuth {
                qop: "auth",
                nc: &nc,
                cnonce: &self.cnonce,
            }),
        );
        let opaque = challenge
            .opaque
            .as_ref()
            .map(|o| format!(", opaque=\"{o}\""))
            .unwrap_or_default();
        let value = format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", algorithm={}, \
             response=\"{response}\", qop=auth, nc={nc}, cnonce=\"{}\"{opaque}",
            self.user, challenge.realm, challenge.nonce, self.uri, alg, self.cnonce
        );
        HeaderValue::from_str(&value).ok()
    }
}

/// What one connection measured.
#[derive(Default)]
struct Stats {
    ok: u64,
    errors: u64,
    /// 401 challenges answered (the initial one per connection, re-challenges on stale).
    challenges: u64,
    reconnects: u64,
    /// Latency of every exchange that was not a 401, in microseconds.
    latencies_us: Vec<u32>,
    first_error: Option<String>,
    /// `i_account` of the first successful createAccount, or the id in the first c5-create
    /// `Location` (for seeding).
    first_created: Option<String>,
}

impl Stats {
    fn error(&mut self, what: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(what);
        }
    }

    fn merge(&mut self, other: Stats) {
        self.ok += other.ok;
        self.errors += other.errors;
        self.challenges += other.challenges;
        self.reconnects += other.reconnects;
        self.latencies_us.extend(other.latencies_us);
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        if self.first_created.is_none() {
            self.first_created = other.first_created;
        }
    }
}

/// Builds request bodies for a mode.
struct Bodies {
    mode: Mode,
    fixed: Bytes,
    prefix: String,
    /// c5-create: six random digits that start every primary number of this run.
    number_run: String,
    customer: i64,
    domain: String,
}

impl Bodies {
    fn new(args: &Args) -> Self {
        // Usernames stay unique across runs against one database: a random run id.
        let mut random = [0u8; 6];
        let run = match getrandom::fill(&mut random) {
            Ok(()) => hex::encode(random),
            Err(_) => format!("{:x}", std::process::id()),
        };
        let number_run = format!(
            "{:06}",
            u64::from_le_bytes([
                random[0], random[1], random[2], random[3], random[4], random[5], 0, 0
            ]) % 1_000_000
        );
        let fixed = match args.mode {
            Mode::GetAccount => Bytes::from(render_method_call(
                "getAccountInfo",
                &[Value::Struct(
                    [("i_account".to_string(), Value::Int(args.account))].into(),
                )],
            )),
            Mode::SipxFindUser => Bytes::from(format!(
                "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">\
                 <soap:Body><c:FindUser xmlns:c=\"http://www.sipfoundry.org/2007/08/21/ConfigService\">\
                 <c:search><c:byUserName>{}</c:byUserName></c:search></c:FindUser>\
                 </soap:Body></soap:Envelope>",
                args.user_name
            )),
            _ => Bytes::new(),
        };
        Self {
            mode: args.mode,
            fixed,
            prefix: format!("{}-{run}", args.prefix),
            number_run,
            customer: args.customer,
            domain: args.domain.clone(),
        }
    }

    /// The body of connection `conn`'s call `seq`, the run's call number `n`.
    fn next(&self, conn: usize, seq: u64, n: u64) -> Bytes {
        match self.mode {
            Mode::Hello
            | Mode::GetAccount
            | Mode::C5Get
            | Mode::C5Page
            | Mode::C5CfGet
            | Mode::SipxFindUser
            | Mode::SipxForwardGet
            | Mode::Sip2sipGet => self.fixed.clone(),
            // A different target every call, so every call changes the forwarding.
            Mode::Sip2sipSet => Bytes::from(format!(
                "action=set_call_forwarding&FNOA=4366{:07}",
                n % 10_000_000
            )),
            Mode::CreateAccount | Mode::SequentialCreate => Bytes::from(create_account_call(
                &format!("{}-{conn}-{seq}", self.prefix),
            )),
            Mode::C5Create => {
                // Unique across runs: the username carries the random run id, the number its
                // six random digits plus the call number (at most 16 digits in all).
                let body = json!({
                    "customer_id": self.customer,
                    "domain": self.domain,
                    "username": format!("{}-{n}", self.prefix),
                    "password": "p",
                    "primary_number": {
                        "cc": 1,
                        "ac": 555,
                        "sn": format!("{}{n:09}", self.number_run),
                    },
                });
                Bytes::from(body.to_string())
            }
            Mode::C5CfPut => {
                // Three destinations and a time set; the first number changes with every call.
                let body = json!({
                    "cfu": {
                        "destinations": [
                            {"destination": format!("43666{:05}", n % 100_000), "timeout": 10},
                            {"destination": "4366610002", "timeout": 20},
                            {"destination": "voicebox", "timeout": 30},
                        ],
                        "times": [{"hour": "8-18", "wday": "2-6"}],
                    },
                });
                Bytes::from(body.to_string())
            }
        }
    }
}

/// A createAccount call with every required attribute (ACCOUNT_ATTRS in src/core/attrs.rs);
/// root's accounts also need a routing group.
fn create_account_call(username: &str) -> String {
    let s = |v: &str| Value::Str(v.to_string());
    let fields = [
        ("username", s(username)),
        ("web_password", s("Web-pass-123")),
        ("authname", s(username)),
        ("voip_password", s("Voip-pass-123")),
        ("translation_rule", s("")),
        ("cli_translation_rule", s("")),
        ("cpe_number", s("")),
        ("vm_password", s("1234")),
        ("i_lang", s("en")),
        ("payment_currency", s("USD")),
        ("max_sessions", Value::Int(-1)),
        ("max_credit_time", Value::Int(-1)),
        ("i_billing_plan", Value::Int(1)),
        ("i_time_zone", Value::Int(1)),
        ("vm_enabled", Value::Int(0)),
        ("blocked", Value::Int(0)),
        ("payment_method", Value::Int(1)),
        ("i_export_type", Value::Int(1)),
        ("credit_limit", Value::Double(0.0)),
        ("balance", Value::Double(0.0)),
        ("i_routing_group", Value::Int(1)),
    ];
    let map = fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    render_method_call("createAccount", &[Value::Struct(map)])
}

/// Settings every connection shares.
struct Plan {
    target: Target,
    bodies: Bodies,
    args: Args,
    path: String,
    duration: Duration,
    max_calls: Option<u64>,
    timeout: Duration,
    /// Calls started so far across all connections (numbers c5-create's rows; `--total`).
    issued: AtomicU64,
    /// The preemptive `Authorization: Basic ...` value (C5 modes with `--auth basic`).
    basic: Option<HeaderValue>,
}

/// One HTTP exchange's outcome: status, headers, body.
type Exchange = (StatusCode, HeaderMap, Bytes);

async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    plan: &Plan,
    body: Bytes,
    auth: Option<HeaderValue>,
) -> Result<Exchange> {
    let mut builder = Request::builder()
        .method(plan.args.mode.method())
        .uri(plan.path.as_str())
        .header(HOST, plan.target.authority.clone());
    if plan.args.mode.is_xmlrpc() || plan.args.mode == Mode::SipxFindUser {
        builder = builder.header(CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    } else if matches!(plan.args.mode, Mode::C5Create | Mode::C5CfPut) {
        builder = builder.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    } else if plan.args.mode == Mode::SipxForwardGet {
        builder = builder.header(ACCEPT, HeaderValue::from_static("application/json"));
    } else if plan.args.mode == Mode::Sip2sipSet {
        builder = builder.header(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
    }
    if let Some(auth) = auth {
        builder = builder.header(AUTHORIZATION, auth);
    }
    let request = builder
        .body(Full::new(body))
        .context("building a request")?;
    let work = async {
        sender.ready().await.context("connection closed")?;
        let response = sender
            .send_request(request)
            .await
            .context("request failed")?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .context("reading the response body")?
            .to_bytes();
        Ok::<_, anyhow::Error>((parts.status, parts.headers, body))
    };
    tokio::time::timeout(plan.timeout, work)
        .await
        .unwrap_or_else(|_| bail!("no response within {:?}", plan.timeout))
}

/// Whether an XML-RPC response is a fault. `<fault>` is the first child of `<methodResponse>`, so
/// only the head of the body is searched (a 4 KB getAccountInfo reply need not be scanned).
fn is_fault(body: &[u8]) -> bool {
    body[..body.len().min(256)]
        .windows(b"<fault>".len())
        .any(|w| w == b"<fault>")
}

fn contains(body: &[u8], needle: &[u8]) -> bool {
    body.windows(needle.len()).any(|w| w == needle)
}

/// Whether a settings.phtml reply says `"success":false` (serde_json writes no spaces).
fn is_sip2sip_failure(body: &[u8]) -> bool {
    contains(body, b"\"success\":false")
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().take(600).collect();
    if text.chars().count() > 600 {
        out.push_str("...");
    }
    out
}

/// The `i_account` of a createAccount response, for the seeding step.
fn created_id(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let at = text.find("<name>i_account</name>")?;
    let rest = &text[at..];
    let start = rest
        .find("<int>")
        .map(|i| i + 5)
        .or_else(|| rest.find("<i4>").map(|i| i + 4))?;
    let end = rest[start..].find('<')?;
    Some(rest[start..start + end].to_string())
}

/// Sends one call, answering 401 challenges; returns whether the call counted (not cut short).
async fn call(
    sender: &mut SendRequest<Full<Bytes>>,
    plan: &Plan,
    digest: &mut Option<DigestSession>,
    body: Bytes,
    tally: &mut Stats,
    measure: bool,
) -> Result<()> {
    for _attempt in 0..3 {
        let auth = match digest.as_mut() {
            Some(session) => session.authorization(),
            None => plan.basic.clone(),
        };
        let had_auth = auth.is_some();
        let started = Instant::now();
        let (status, headers, reply) = exchange(sender, plan, body.clone(), auth).await?;
        let elapsed = started.elapsed();
        if status == StatusCode::UNAUTHORIZED
            && let Some(session) = digest.as_mut()
        {
            tally.challenges += 1;
            let Some(challenge) = pick_challenge(&headers, session.wanted) else {
                tally.error(format!(
                    "HTTP 401 without a usable Digest challenge: {}",
                    snippet(&reply)
                ));
                return Ok(());
            };
            let refused = had_auth && !challenge.stale;
            session.take_challenge(challenge);
            if refused {
                tally.error(format!(
                    "HTTP 401 (credentials refused): {}",
                    snippet(&reply)
                ));
                return Ok(());
            }
            if !measure {
                // The set-up probe only fetches the first nonce.
                return Ok(());
            }
            continue;
        }
        if !measure {
            // The set-up probe: anything but a challenge is reported but not counted.
            if status != StatusCode::OK {
                tally.error(format!(
                    "HTTP {status} on the set-up request: {}",
                    snippet(&reply)
                ));
            }
            return Ok(());
        }
        tally
            .latencies_us
            .push(u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX));
        let mode = plan.args.mode;
        if status != mode.expected() {
            tally.error(format!(
                "HTTP {status} to {} {}: {}",
                mode.method(),
                plan.path,
                snippet(&reply)
            ));
        } else if mode.is_xmlrpc() && is_fault(&reply) {
            tally.error(format!("XML-RPC fault: {}", snippet(&reply)));
        } else if mode == Mode::SipxFindUser && !contains(&reply, b"userName>") {
            tally.error(format!("findUser found nobody: {}", snippet(&reply)));
        } else if mode.is_sip2sip() && is_sip2sip_failure(&reply) {
            tally.error(format!("settings.phtml refused: {}", snippet(&reply)));
        } else {
            tally.ok += 1;
            if tally.first_created.is_none() {
                if mode.is_xmlrpc() {
                    tally.first_created = created_id(&reply);
                } else if mode == Mode::C5Create {
                    tally.first_created = headers
                        .get(LOCATION)
                        .and_then(|l| l.to_str().ok())
                        .and_then(|l| l.trim_end_matches('/').rsplit('/').next())
                        .map(str::to_string);
                }
            }
        }
        return Ok(());
    }
    tally.error("still challenged after 3 attempts".to_string());
    Ok(())
}

/// One connection: set up (connect, and for Digest modes take the first challenge), wait for the
/// others, then loop until the deadline or the call limit.
async fn connection(plan: Arc<Plan>, index: usize, barrier: Arc<Barrier>) -> Stats {
    let mut stats = Stats::default();
    let mut digest = if plan.args.uses_digest() {
        match DigestSession::new(&plan.args, &plan.path) {
            Ok(d) => Some(d),
            Err(e) => {
                stats.error(format!("{e:#}"));
                barrier.wait().await;
                return stats;
            }
        }
    } else {
        None
    };
    let mut sender = match plan.target.connect().await {
        Ok(s) => Some(s),
        Err(e) => {
            stats.error(format!("{e:#}"));
            None
        }
    };
    if let (Some(s), Some(_)) = (sender.as_mut(), digest.as_ref()) {
        // The probe carries a real body without credentials, as requests and LWP send it.
        let body = plan.bodies.next(index, u64::MAX, u64::MAX);
        if let Err(e) = call(s, &plan, &mut digest, body, &mut stats, false).await {
            stats.error(format!("{e:#}"));
            sender = None;
        }
    }
    barrier.wait().await;
    let deadline = Instant::now() + plan.duration;
    let mut seq = 0u64;
    while Instant::now() < deadline && plan.max_calls.is_none_or(|max| seq < max) {
        let n = plan.issued.fetch_add(1, Ordering::Relaxed);
        if plan.args.total.is_some_and(|total| n >= total) {
            break;
        }
        let body = plan.bodies.next(index, seq, n);
        seq += 1;
        let s = match sender.as_mut() {
            Some(s) => s,
            None => match plan.target.connect().await {
                Ok(s) => {
                    stats.reconnects += 1;
                    sender.insert(s)
                }
                Err(e) => {
                    stats.error(format!("{e:#}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        if let Err(e) = call(s, &plan, &mut digest, body, &mut stats, true).await {
            stats.error(format!("{e:#}"));
            sender = None;
        }
    }
    stats
}

/// CPU seconds (user + system, all threads) a process has used, from `/proc/PID/stat`.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3, `state`.
    let mut fields = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // USER_HZ, the unit of these fields, is 100 on every Linux architecture tokio runs on.
    Some((utime + stime) as f64 / 100.0)
}

/// CPU seconds used by this process and the server so far.
fn cpu_sample(server_pid: Option<u32>) -> (Option<f64>, Option<f64>) {
    (
        cpu_seconds("self"),
        server_pid.and_then(|pid| cpu_seconds(&pid.to_string())),
    )
}

/// The nearest-rank percentile (`per_mille` of 1000) of sorted microseconds, in milliseconds.
fn percentile_ms(sorted: &[u32], per_mille: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (sorted.len() * per_mille).div_ceil(1000);
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

async fn run(args: Args) -> Result<()> {
    let sequential = args.mode == Mode::SequentialCreate;
    let connections = if sequential {
        1
    } else {
        args.connections.max(1)
    };
    let max_calls = if sequential {
        Some(args.requests.unwrap_or(1000))
    } else {
        args.requests
    };
    if !(args.duration.is_finite() && args.duration > 0.0) {
        bail!("--duration must be a positive number of seconds");
    }
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        bail!("--timeout must be a positive number of seconds");
    }
    if (args.uses_digest() || args.uses_basic()) && args.password.is_empty() {
        bail!(
            "{} needs --password (or LOADGEN_PASSWORD)",
            args.mode.name()
        );
    }
    let path = args.path.clone().unwrap_or_else(|| match args.mode {
        Mode::Hello => "/".to_string(),
        Mode::C5Get => format!("/api/subscribers/{}", args.subscriber),
        Mode::C5Create => "/api/subscribers/".to_string(),
        Mode::C5Page => "/api/subscribers/?page=1&rows=10".to_string(),
        Mode::C5CfGet | Mode::C5CfPut => format!("/api/callforwards/{}", args.subscriber),
        Mode::SipxFindUser => "/sipxconfig/services/UserService".to_string(),
        Mode::SipxForwardGet => "/sipxconfig/rest/my/forward".to_string(),
        Mode::Sip2sipGet => "/settings.phtml?action=get_call_forwarding".to_string(),
        Mode::Sip2sipSet => "/settings.phtml".to_string(),
        _ => "/xmlapi/xmlapi".to_string(),
    });
    let basic = if args.uses_basic() {
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", args.user, args.password));
        Some(
            HeaderValue::from_str(&format!("Basic {token}"))
                .context("--user/--password make no valid Basic header")?,
        )
    } else {
        None
    };
    let plan = Arc::new(Plan {
        target: Target::new(&args)?,
        bodies: Bodies::new(&args),
        duration: Duration::from_secs_f64(args.duration),
        timeout: Duration::from_secs_f64(args.timeout),
        max_calls,
        path,
        issued: AtomicU64::new(0),
        basic,
        args,
    });

    let wall_start = Instant::now();
    let barrier = Arc::new(Barrier::new(connections + 1));
    let tasks: Vec<_> = (0..connections)
        .map(|i| tokio::spawn(connection(plan.clone(), i, barrier.clone())))
        .collect();
    barrier.wait().await;
    let start = Instant::now();
    let cpu_start = cpu_sample(plan.args.server_pid);
    let mut stats = Stats::default();
    for task in tasks {
        stats.merge(task.await.context("a connection task panicked")?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu_end = cpu_sample(plan.args.server_pid);
    let used = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| round(b - a, 2));
    let loadgen_cpu = used(cpu_start.0, cpu_end.0);
    let server_cpu = used(cpu_start.1, cpu_end.1);
    let wall = wall_start.elapsed().as_secs_f64();
    stats.latencies_us.sort_unstable();
    let calls = stats.ok + stats.errors;
    let rps = stats.ok as f64 / elapsed.max(1e-9);
    let args = &plan.args;
    let scheme = if plan.target.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let line = json!({
        "label": args.label.clone().unwrap_or_else(|| format!("{}-{scheme}", args.mode.name())),
        "mode": args.mode.name(),
        "scheme": scheme,
        "connections": connections,
        "threads": args.threads,
        "path": plan.path,
        "auth": if args.uses_digest() { Some("digest") } else if args.uses_basic() { Some("basic") } else { None },
        "algorithm": if args.uses_digest() { Some(format!("{:?}", args.alg).to_lowercase()) } else { None },
        "duration_s": round(elapsed, 3),
        "wall_s": round(wall, 3),
        "ok": stats.ok,
        "errors": stats.errors,
        "calls": calls,
        "challenges": stats.challenges,
        "reconnects": stats.reconnects,
        "rps": round(rps, 1),
        "p50_ms": round(percentile_ms(&stats.latencies_us, 500), 3),
        "p99_ms": round(percentile_ms(&stats.latencies_us, 990), 3),
        "max_ms": round(percentile_ms(&stats.latencies_us, 1000), 3),
        "loadgen_cpu_s": loadgen_cpu,
        "loadgen_cores": loadgen_cpu.map(|c| round(c / elapsed, 2)),
        "server_cpu_s": server_cpu,
        "server_cores": server_cpu.map(|c| round(c / elapsed, 2)),
        "server_cpu_us_per_ok": server_cpu
            .filter(|_| stats.ok > 0)
            .map(|c| round(c * 1e6 / stats.ok as f64, 1)),
        "first_created": stats.first_created,
        "first_error": stats.first_error,
    });
    eprintln!(
        "loadgen {} {scheme}: {} ok, {} errors in {elapsed:.3} s (wall {wall:.3} s): {rps:.0} req/s, \
         p50 {:.3} ms, p99 {:.3} ms, {} challenges",
        args.mode.name(),
        stats.ok,
        stats.errors,
        percentile_ms(&stats.latencies_us, 500),
        percentile_ms(&stats.latencies_us, 990),
        stats.challenges,
    );
    if let Some(e) = &stats.first_error {
        eprintln!("loadgen: first error: {e}");
    }
    println!("{line}");
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

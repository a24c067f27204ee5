//! The appliance's network side: listeners, an own accept loop (TLS handshakes in each
//! connection's task, under a timeout), the route table and the middleware layers.

pub mod call_controller;
pub mod data_dir;
pub mod healthcheck;
pub mod ldap;
pub mod limits;
pub mod pages;
pub mod pki;
pub mod tls;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{Extension, State};
use axum::http::{Request, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::digest::DigestAuthority;
use crate::auth::{Authenticator, ClientCert};
use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::core::Core;
use crate::db::Db;
use crate::dialects::{c5, feed, sip2sip, sipx, sipx_soap, xmlrpc};

/// How long shutdown waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Most header lines and bytes in a request head; beyond them, 431 (on HTTP/1 the byte limit is
/// hyper's read buffer, which a request head must fit in).
const MAX_HEADERS: usize = 100;
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The per-connection timeouts (`handshake_timeout_secs`, `header_timeout_secs`,
/// `idle_timeout_secs`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub handshake: Duration,
    pub header: Duration,
    pub idle: Duration,
}

impl Timeouts {
    fn of(config: &Config) -> Self {
        Self {
            handshake: Duration::from_secs(config.handshake_timeout_secs),
            header: Duration::from_secs(config.header_timeout_secs),
            idle: Duration::from_secs(config.idle_timeout_secs),
        }
    }
}

/// Facts about the connection a request arrived on, put into every request's extensions.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub tls: bool,
    /// The client certificate the TLS handshake verified against the client CA, if the client
    /// sent one (never on plain HTTP).
    pub client_cert: Option<Arc<ClientCert>>,
}

/// Shared state of the HTTP handlers.
pub struct AppState {
    pub core: Core,
    pub auth: Authenticator,
    pub xml_limits: xmlrpc::codec::Limits,
    /// SHA-256 fingerprint of the served certificate, colon-separated hex.
    pub tls_fingerprint: String,
    /// The CA that issues and verifies client certificates (`pki::issue_admin_cert_zip`).
    pub client_ca: Arc<pki::ClientCa>,
    /// When the served certificate expires (ms since the epoch), if it could be read.
    pub tls_not_after: Option<i64>,
    /// Where click-to-call requests go (`call_controller_url`), if configured.
    pub call_controller: Option<call_controller::CallController>,
}

/// The one list of mounts.
pub fn router(state: Arc<AppState>, config: &Config) -> Router {
    Router::new()
        .route("/xmlapi/xmlapi", any(xmlrpc::endpoint))
        .route("/healthz", get(healthz))
        .route("/", get(pages::index))
        .route("/static/switchyard.css", get(pages::stylesheet))
        .route("/api", any(c5::endpoint))
        .route("/api/", any(c5::endpoint))
        .route("/api/{*rest}", any(c5::endpoint))
        .route("/settings.phtml", any(sip2sip::endpoint))
        .route("/feed/{kind}", any(feed::endpoint))
        .route("/sipxconfig/services/{port}", any(sipx_soap::endpoint))
        .route("/sipxconfig/rest/{*rest}", any(sipx::endpoint))
        .merge(crate::admin::routes())
        .fallback(not_found)
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(config.request_timeout_secs),
        ))
        .layer(CatchPanicLayer::new())
        .layer(
            // One line per request: method, path (never the query), peer, status and latency.
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<axum::body::Body>| {
                    let peer = request
                        .extensions()
                        .get::<ConnInfo>()
                        .map_or_else(|| "-".to_string(), |c| c.peer.to_string());
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        // sipXconfig puts new PINs and private keys in paths.
                        path = %sipx::redacted(request.uri().path()),
                        peer = %peer,
                    )
                })
                .on_request(())
                .on_response(
                    DefaultOnResponse::new()
                        .level(Level::INFO)
                        .latency_unit(LatencyUnit::Micros),
                ),
        )
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
}

/// Anything unrouted: C5 paths written with doubled slashes (`//api/...`, as upstream tests
/// build them) go to the C5 dialect; the rest is 404.
async fn not_found(
    state: State<Arc<AppState>>,
    conn: Extension<ConnInfo>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    if c5::owns(uri.path()) {
        return c5::endpoint(state, conn, method, uri, headers, body).await;
    }
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

async fn healthz(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    match state.core.health().await {
        Ok(()) => (StatusCode::OK, "ok\n"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n"),
    }
}

/// Opens the data directory and the database, bootstraps root on first start, and returns the
/// core. Prints the generated root password once.
pub fn open_core(config: &Config, clock: SharedClock) -> Result<Core> {
    prepare_data_dir(&config.data_dir)?;
    let db_path = config.data_dir.join(crate::db::DB_FILE);
    let db = Db::open(&db_path, 8).map_err(|e| {
        match data_dir::DataDirError::from_db(&config.data_dir, &db_path, &e) {
            Some(refused) => anyhow::Error::new(refused),
            None => anyhow::Error::new(e)
                .context(format!("cannot open the database {}", db_path.display())),
        }
    })?;
    Ok(Core::new(db, clock, config.realm.clone()))
}

/// Creates the data directory if needed and proves it takes writes (`data_dir::prepare`).
fn prepare_data_dir(dir: &Path) -> Result<()> {
    data_dir::prepare(dir)
}

async fn bootstrap(core: &Core, data_dir: &Path) -> Result<()> {
    let given = std::env::var("SWITCHYARD_ROOT_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    if let Some(password) = core
        .bootstrap(given)
        .await
        .context("cannot create the root login")?
    {
        let path = data_dir.join("root-password");
        std::fs::write(&path, format!("{password}\n"))
            .and_then(|()| {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            })
            .with_context(|| format!("cannot write {}", path.display()))?;
        // Under systemd, stdout is the journal, which keeps it and lets others read it: there
        // only the file is named. systemd sets JOURNAL_STREAM when stdout or stderr goes there.
        if std::env::var_os("JOURNAL_STREAM").is_some() {
            println!(
                "switchyard: created login 'root'; its password is in {} (mode 0600)",
                path.display()
            );
        } else {
            println!("switchyard: created login 'root' with password {password}");
            println!(
                "switchyard: the password is also in {} (mode 0600)",
                path.display()
            );
        }
    }
    Ok(())
}

/// Runs the server until `shutdown` resolves, then finishes requests in flight.
pub async fn serve(config: Config, shutdown: impl Future<Output = ()> + Send) -> Result<()> {
    let clock: SharedClock = Arc::new(SystemClock);
    prepare_data_dir(&config.data_dir)?;
    // Held until the server exits: a restore (or a second server) on this directory is refused.
    let _lock = crate::db::lock::DataDirLock::acquire(&config.data_dir, "serve")
        .context("cannot start the server")?;
    let core = open_core(&config, clock.clone())?;
    bootstrap(&core, &config.data_dir).await?;

    // Config::resolve has checked that the two are given together or not at all.
    let (cert, key) = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => (cert.clone(), key.clone()),
        _ => tls::ensure_self_signed(&config.data_dir, &config.tls_names)?,
    };

    let tls_fingerprint = tls::fingerprint(&cert)?;
    let tls_not_after = tls::not_after(&cert)
        .inspect_err(|e| tracing::warn!(error = %e, "cannot read the certificate's expiry"))
        .ok();
    let client_ca = Arc::new(pki::ClientCa::ensure(&config.data_dir, core.now())?);
    let acceptor = TlsAcceptor::from(tls::server_config(&cert, &key, client_ca.verifier()?)?);

    let key = core
        .nonce_key()
        .await
        .context("cannot read the nonce key")?;
    let mut instance = [0u8; 8];
    getrandom::fill(&mut instance).context("no randomness")?;
    let digest = DigestAuthority::new(
        config.realm.clone(),
        key,
        u64::from_be_bytes(instance),
        Duration::from_secs(config.nonce_ttl_secs),
        clock,
    );
    let state = Arc::new(AppState {
        auth: Authenticator::new(core.clone(), digest),
        core,
        xml_limits: xmlrpc::codec::Limits::default(),
        tls_fingerprint,
        client_ca,
        tls_not_after,
        call_controller: config
            .call_controller_url
            .as_deref()
            .map(|url| {
                call_controller::CallController::new(url, config.call_controller_timeout_secs)
            })
            .transpose()?,
    });
    state
        .core
        .allow_anonymous_address_book(config.ldap_anonymous);
    let app = router(state.clone(), &config);

    // The address book's listeners first, so their lines come before the HTTPS line.
    let mut ldap_listeners = Vec::new();
    for (addr, mode, scheme) in [
        (config.ldaps_listen, ldap::Mode::Ldaps, "ldaps"),
        (config.ldap_listen, ldap::Mode::StartTls, "ldap (StartTLS)"),
    ] {
        if let Some(addr) = addr {
            let l = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            println!("switchyard: address book on {scheme}://{}", l.local_addr()?);
            ldap_listeners.push((l, mode));
        }
    }

    let https = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    println!("switchyard: listening on https://{}", https.local_addr()?);
    let http = match config.http_listen {
        Some(addr) => {
            let l = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            println!("switchyard: listening on http://{}", l.local_addr()?);
            Some(l)
        }
        None => None,
    };

    let graceful = Arc::new(GracefulShutdown::new());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut loops = Vec::new();
    let timeouts = Timeouts::of(&config);
    for (listener, mode) in ldap_listeners {
        loops.push(tokio::spawn(ldap::accept_loop(
            listener,
            mode,
            acceptor.clone(),
            state.clone(),
            limits::ConnectionLimits::new(ldap::MAX_CONNECTIONS, config.max_connections_per_ip),
            timeouts.handshake,
            stop_rx.clone(),
        )));
    }
    let limits =
        limits::ConnectionLimits::new(config.max_connections, config.max_connections_per_ip);
    let listeners = std::iter::once((https, Some(acceptor))).chain(http.map(|l| (l, None)));
    for (listener, tls) in listeners {
        loops.push(tokio::spawn(accept_loop(
            listener,
            tls,
            app.clone(),
            graceful.clone(),
            limits.clone(),
            timeouts,
            stop_rx.clone(),
        )));
    }
    shutdown.await;
    tracing::info!("shutting down: finishing requests in flight");
    let _ = stop_tx.send(true);
    for l in loops {
        let _ = l.await;
    }
    if let Ok(graceful) = Arc::try_unwrap(graceful)
        && tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
            .await
            .is_err()
    {
        tracing::warn!("some connections did not finish within {DRAIN_TIMEOUT:?}");
    }
    Ok(())
}

/// The next connection; None when told to stop. Accepting never waits for a free place: the
/// caller decides with [`limits::ConnectionLimits::admit`].
pub(crate) async fn next_connection(
    listener: &TcpListener,
    stop: &mut watch::Receiver<bool>,
) -> Option<(tokio::net::TcpStream, SocketAddr)> {
    loop {
        tokio::select! {
            _ = stop.changed() => return None,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => return Some(accepted),
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

/// The TLS handshake of a connection, under `timeout`; None (logged) when it fails.
pub(crate) async fn tls_handshake<S>(
    acceptor: &TlsAcceptor,
    stream: S,
    peer: SocketAddr,
    timeout: Duration,
) -> Option<tokio_rustls::server::TlsStream<S>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            None
        }
    }
}

/// Accepts connections until told to stop. Each connection runs in its own task: the TLS
/// handshake there, under a timeout, so a silent client never stalls accepting. A connection
/// over a limit is shed ([`shed`]) rather than left waiting.
async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    graceful: Arc<GracefulShutdown>,
    limits: Arc<limits::ConnectionLimits>,
    timeouts: Timeouts,
    mut stop: watch::Receiver<bool>,
) {
    while let Some((stream, peer)) = next_connection(&listener, &mut stop).await {
        let slot = match limits.admit(peer.ip()) {
            limits::Admission::Serve(slot) => slot,
            limits::Admission::Shed(permit) => {
                tracing::debug!(%peer, "over a connection limit: answering 503");
                let tls = tls.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    shed(stream, tls, peer).await;
                });
                continue;
            }
            limits::Admission::Close => {
                tracing::debug!(%peer, "over every connection limit: closed");
                continue;
            }
        };
        let local = stream.local_addr().unwrap_or(peer);
        let _ = stream.set_nodelay(true);
        let mut info = ConnInfo {
            peer,
            local,
            tls: tls.is_some(),
            client_cert: None,
        };
        let app = app.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let mut builder = ConnBuilder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(timeouts.header)
                .max_headers(MAX_HEADERS)
                .max_buf_size(MAX_HEADER_BYTES);
            builder
                .http2()
                .timer(TokioTimer::new())
                .max_header_list_size(u32::try_from(MAX_HEADER_BYTES).unwrap_or(u32::MAX));
            let activity = limits::Activity::new();
            let service = |info: ConnInfo| {
                let activity = activity.clone();
                hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(info.clone());
                    let in_flight = activity.request();
                    let answer = app.clone().oneshot(request);
                    async move {
                        let answer = answer.await;
                        drop(in_flight);
                        answer
                    }
                })
            };
            if let Some(acceptor) = tls {
                let Some(stream) = tls_handshake(&acceptor, stream, peer, timeouts.handshake).await
                else {
                    return;
                };
                // Only a certificate the client-CA verifier accepted gets here.
                info.client_cert = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(pki::peer_client_cert)
                    .map(Arc::new);
                let io = TokioIo::new(limits::Tracked::new(stream, activity.clone()));
                let conn = builder.serve_connection(io, service(info));
                until_idle(watcher.watch(conn.into_owned()), &activity, timeouts, peer).await;
            } else {
                let io = TokioIo::new(limits::Tracked::new(stream, activity.clone()));
                let conn = builder.serve_connection(io, service(info));
                until_idle(watcher.watch(conn.into_owned()), &activity, timeouts, peer).await;
            }
        });
    }
}

/// Drives a connection until it ends or has been idle too long (then it is dropped, which
/// closes it): the header timeout before its first byte (hyper's own header timeout starts only
/// once the first bytes have told HTTP/1 from HTTP/2), the idle timeout after.
async fn until_idle(
    conn: impl Future<Output = impl Sized>,
    activity: &limits::Activity,
    timeouts: Timeouts,
    peer: SocketAddr,
) {
    tokio::pin!(conn);
    loop {
        let (idle_for, moved) = activity.idle_for();
        let idle = if moved {
            timeouts.idle
        } else {
            timeouts.header
        };
        if idle_for >= idle {
            tracing::debug!(%peer, "closing an idle connection");
            return;
        }
        tokio::select! {
            _ = &mut conn => return,
            () = tokio::time::sleep(idle.saturating_sub(idle_for)) => {}
        }
    }
}

/// Answers a connection over a limit with 503 and `Retry-After`, then closes it; all within
/// [`limits::SHED_TIMEOUT`]. On TLS this costs a handshake: the alternative, closing without a
/// word, leaves clients unable to tell overload from a dead server, so the handshake is paid
/// under a short timeout and the number of connections being shed at once is capped
/// ([`limits::ConnectionLimits`]); beyond that cap connections are closed at once.
async fn shed(stream: tokio::net::TcpStream, tls: Option<TlsAcceptor>, peer: SocketAddr) {
    let busy = hyper::service::service_fn(|_request: Request<hyper::body::Incoming>| async {
        let mut response = axum::response::Response::new(http_body_util::Full::new(
            bytes::Bytes::from_static(b"the server is busy; try again later\n"),
        ));
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        let headers = response.headers_mut();
        headers.insert(header::RETRY_AFTER, limits::RETRY_AFTER_SECS.into());
        headers.insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        Ok::<_, std::convert::Infallible>(response)
    });
    let mut builder = ConnBuilder::new(TokioExecutor::new());
    builder
        .http1()
        .keep_alive(false)
        .timer(TokioTimer::new())
        .header_read_timeout(limits::SHED_TIMEOUT)
        .max_headers(MAX_HEADERS)
        .max_buf_size(MAX_HEADER_BYTES);
    let answer = async {
        let _ = stream.set_nodelay(true);
        if let Some(acceptor) = tls {
            let Some(stream) = tls_handshake(&acceptor, stream, peer, limits::SHED_TIMEOUT).await
            else {
                return;
            };
            let _ = builder.serve_connection(TokioIo::new(stream), busy).await;
        } else {
            let _ = builder.serve_connection(TokioIo::new(stream), busy).await;
        }
    };
    let _ = tokio::time::timeout(limits::SHED_TIMEOUT, answer).await;
}

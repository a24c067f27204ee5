//! The benchmark ceiling: a bare hyper 1 server that answers `200 hello` to anything, over plain
//! HTTP and over HTTPS (rustls with the ring provider, a self-signed certificate made with rcgen
//! at start). It uses the same runtime, connection builder and TLS set-up as switchyard's own
//! listener (multi-thread tokio, hyper-util's auto builder, ALPN h2 + http/1.1, `TCP_NODELAY`), so
//! the difference measured against switchyard is the application, not the plumbing.
//!
//! ```text
//! cargo run --release --example bare_hyper -- --cert-out /tmp/bare.pem --exit-after 120
//! ```
//!
//! Prints `bare_hyper: listening on http://ADDR` and `bare_hyper: listening on https://ADDR`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

#[derive(Debug, Parser)]
#[command(about = "Bare hyper hello server: the ceiling for switchyard's benchmarks")]
struct Args {
    /// Plain HTTP listening address.
    #[arg(long, default_value = "127.0.0.1:0")]
    http: SocketAddr,
    /// HTTPS listening address.
    #[arg(long, default_value = "127.0.0.1:0")]
    https: SocketAddr,
    /// Write the self-signed certificate (PEM) here, for clients that verify it.
    #[arg(long)]
    cert_out: Option<PathBuf>,
    /// Exit by itself after this many seconds (a safety net for scripted runs).
    #[arg(long)]
    exit_after: Option<u64>,
}

fn tls_config(cert_out: Option<&PathBuf>) -> Result<Arc<ServerConfig>> {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .context("cannot generate a self-signed certificate")?;
    if let Some(path) = cert_out {
        std::fs::write(path, certified.cert.pem())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .context("the generated certificate and key do not match")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

async fn hello(_request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"hello"))))
}

async fn accept_loop(listener: TcpListener, tls: Option<TlsAcceptor>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                eprintln!("bare_hyper: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let tls = tls.clone();
        tokio::spawn(async move {
            let builder = ConnBuilder::new(TokioExecutor::new());
            let service = hyper::service::service_fn(hello);
            if let Some(acceptor) = tls {
                if let Ok(stream) = acceptor.accept(stream).await {
                    let _ = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
            } else {
                let _ = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            }
        });
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let acceptor = TlsAcceptor::from(tls_config(args.cert_out.as_ref())?);
    let http = TcpListener::bind(args.http)
        .await
        .with_context(|| format!("cannot listen on {}", args.http))?;
    let https = TcpListener::bind(args.https)
        .await
        .with_context(|| format!("cannot listen on {}", args.https))?;
    println!("bare_hyper: listening on http://{}", http.local_addr()?);
    println!("bare_hyper: listening on https://{}", https.local_addr()?);

    let servers = async {
        tokio::join!(accept_loop(http, None), accept_loop(https, Some(acceptor)));
    };
    let limit = async {
        match args.exit_after {
            Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = servers => {}
        () = limit => eprintln!("bare_hyper: --exit-after reached, exiting"),
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

//! `switchyard healthcheck`: asks the configured HTTPS listener for `/healthz`, for monitoring and
//! for the systemd unit. It trusts exactly the certificate the server serves from its
//! configuration (the generated one in the data directory, or the operator's), compared byte for
//! byte, so a self-signed certificate needs no CA and another server on the port fails the check.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::config::Config;

/// How long to wait between attempts while `--wait` allows more.
const RETRY_EVERY: Duration = Duration::from_millis(250);
/// The most of the answer read: the status line is all that matters.
const MAX_HEAD: usize = 8192;

/// Accepts the one certificate it was given, and checks the handshake signatures with it.
#[derive(Debug)]
struct Pinned {
    cert: CertificateDer<'static>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the server presented a different certificate than the configured one".into(),
            ))
        }
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
            &self.provider.signature_verification_algorithms,
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
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Where to connect: the HTTPS listen address, with a wildcard replaced by loopback.
pub fn probe_address(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

fn certificate_path(config: &Config) -> PathBuf {
    config
        .tls_cert
        .clone()
        .unwrap_or_else(|| super::tls::generated_paths(&config.data_dir).0)
}

fn connector(config: &Config) -> Result<TlsConnector> {
    let path = certificate_path(config);
    let cert = CertificateDer::pem_file_iter(&path)
        .with_context(|| {
            format!(
                "cannot read the server's certificate {} (the server makes it on first start)",
                path.display()
            )
        })?
        .next()
        .with_context(|| format!("{} holds no certificate", path.display()))?
        .with_context(|| format!("{} is not a PEM certificate file", path.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Pinned { cert, provider }))
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(tls)))
}

/// One attempt: the status code and reason phrase of `GET /healthz`.
async fn probe(config: &Config, addr: SocketAddr) -> Result<(u16, String)> {
    let connector = connector(config)?;
    let tcp = TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to {addr} (is the server running?)"))?;
    let mut tls = connector
        .connect(ServerName::IpAddress(addr.ip().into()), tcp)
        .await
        .with_context(|| format!("TLS with {addr} failed"))?;
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: switchyard-healthcheck\r\n\
         Connection: close\r\n\r\n"
    );
    tls.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(2).any(|w| w == b"\r\n") {
        let n = tls.read(&mut buf).await?;
        if n == 0 || head.len() > MAX_HEAD {
            bail!("{addr} closed the connection without an HTTP answer");
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let line = head.lines().next().unwrap_or_default();
    let mut parts = line.splitn(3, ' ');
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        bail!("{addr} answered something other than HTTP: {line:?}");
    };
    if !version.starts_with("HTTP/") {
        bail!("{addr} answered something other than HTTP: {line:?}");
    }
    let code = code
        .parse()
        .map_err(|_| anyhow!("{addr} answered an unreadable status line: {line:?}"))?;
    Ok((code, parts.next().unwrap_or_default().to_string()))
}

/// Checks the server named by `config` answers `/healthz` with 200. Retries for up to `wait`
/// (zero: one attempt); each attempt may take up to `timeout`. Returns what to print on success.
pub async fn check(config: &Config, wait: Duration, timeout: Duration) -> Result<String> {
    let addr = probe_address(config.listen);
    let url = format!("https://{addr}/healthz");
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let outcome = match tokio::time::timeout(timeout, probe(config, addr)).await {
            Ok(Ok((200, _))) => return Ok(format!("{url}: ok")),
            Ok(Ok((code, reason))) => anyhow!("{url} answered {code} {reason}"),
            Ok(Err(e)) => e.context(url.clone()),
            Err(_) => anyhow!("{url} did not answer within {timeout:?}"),
        };
        if tokio::time::Instant::now() + RETRY_EVERY > deadline {
            return Err(outcome);
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_listeners_are_probed_on_loopback() {
        let probe = |s: &str| probe_address(s.parse().unwrap()).to_string();
        assert_eq!(probe("0.0.0.0:8443"), "127.0.0.1:8443");
        assert_eq!(probe("[::]:8443"), "[::1]:8443");
        assert_eq!(probe("192.0.2.7:443"), "192.0.2.7:443");
    }
}

//! TLS: the operator's certificate, or a self-signed one generated on first start and kept in the
//! data directory.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::danger::ClientCertVerifier;

/// Where the generated certificate and key live inside the data directory.
pub fn generated_paths(data_dir: &Path) -> (PathBuf, PathBuf) {
    (
        data_dir.join("tls").join("cert.pem"),
        data_dir.join("tls").join("key.pem"),
    )
}

/// The names a generated certificate covers: localhost, loopback addresses, this host's name
/// and any configured extras.
fn certificate_names(extra: &[String]) -> Vec<String> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if let Ok(host) = fs::read_to_string("/proc/sys/kernel/hostname") {
        let host = host.trim();
        if !host.is_empty() {
            names.push(host.to_string());
        }
    }
    names.extend(extra.iter().cloned());
    names.sort();
    names.dedup();
    names
}

fn write_private(path: &Path, contents: &str) -> Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// Generates and stores a self-signed certificate unless one is already there; returns its paths.
pub fn ensure_self_signed(data_dir: &Path, extra_names: &[String]) -> Result<(PathBuf, PathBuf)> {
    let (cert_path, key_path) = generated_paths(data_dir);
    if cert_path.exists() && key_path.exists() {
        return Ok((cert_path, key_path));
    }
    let dir = data_dir.join("tls");
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let names = certificate_names(extra_names);
    let certified = rcgen::generate_simple_self_signed(names.clone())
        .context("cannot generate a self-signed certificate")?;
    // Write the key first: a certificate without its key would be unusable.
    let _ = fs::remove_file(&key_path);
    write_private(&key_path, &certified.signing_key.serialize_pem())?;
    fs::write(&cert_path, certified.cert.pem())
        .with_context(|| format!("cannot write {}", cert_path.display()))?;
    tracing::info!(names = ?names, path = %cert_path.display(), "generated a self-signed TLS certificate");
    Ok((cert_path, key_path))
}

/// A rustls server configuration (ring provider, HTTP/2 and HTTP/1.1) from PEM files, asking
/// clients for a certificate through `client_verifier` (see [`super::pki::ClientCa::verifier`]).
pub fn server_config(
    cert_path: &Path,
    key_path: &Path,
    client_verifier: Arc<dyn ClientCertVerifier>,
) -> Result<Arc<ServerConfig>> {
    let certs = CertificateDer::pem_file_iter(cert_path)
        .with_context(|| format!("cannot read TLS certificate {}", cert_path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is not a PEM certificate file", cert_path.display()))?;
    if certs.is_empty() {
        bail!("{} holds no certificate", cert_path.display());
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .with_context(|| format!("cannot read TLS private key {}", key_path.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_client_cert_verifier(client_verifier)
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not match")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The SHA-256 fingerprint of the first certificate in a PEM file, as colon-separated hex.
pub fn fingerprint(cert_path: &Path) -> Result<String> {
    use sha2::Digest;
    let cert = CertificateDer::pem_file_iter(cert_path)
        .with_context(|| format!("cannot read TLS certificate {}", cert_path.display()))?
        .next()
        .with_context(|| format!("{} holds no certificate", cert_path.display()))?
        .with_context(|| format!("{} is not a PEM certificate file", cert_path.display()))?;
    let digest = sha2::Sha256::digest(cert.as_ref());
    Ok(digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":"))
}

/// When the first certificate in a PEM file expires (its `notAfter`), in milliseconds since the
/// Unix epoch.
pub fn not_after(cert_path: &Path) -> Result<i64> {
    let cert = CertificateDer::pem_file_iter(cert_path)
        .with_context(|| format!("cannot read TLS certificate {}", cert_path.display()))?
        .next()
        .with_context(|| format!("{} holds no certificate", cert_path.display()))?
        .with_context(|| format!("{} is not a PEM certificate file", cert_path.display()))?;
    der_not_after(cert.as_ref())
        .with_context(|| format!("cannot read the expiry of {}", cert_path.display()))
}

/// One DER element: its tag, its contents, and what follows it.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[count..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The `notAfter` of a DER certificate: Certificate → tbsCertificate → (version, serial,
/// signature, issuer) → validity → notAfter (RFC 5280 §4.1).
fn der_not_after(der: &[u8]) -> Result<i64> {
    const SEQUENCE: u8 = 0x30;
    const VERSION: u8 = 0xa0;
    let bad = || anyhow::anyhow!("not an X.509 certificate");
    let (tag, certificate, _) = der_element(der).ok_or_else(bad)?;
    anyhow::ensure!(tag == SEQUENCE, "not an X.509 certificate");
    let (tag, tbs, _) = der_element(certificate).ok_or_else(bad)?;
    anyhow::ensure!(tag == SEQUENCE, "not an X.509 certificate");
    let mut rest = tbs;
    let (tag, _, after) = der_element(rest).ok_or_else(bad)?;
    if tag == VERSION {
        rest = after;
    }
    // serial, signature algorithm, issuer
    for _ in 0..3 {
        rest = der_element(rest).ok_or_else(bad)?.2;
    }
    let (tag, validity, _) = der_element(rest).ok_or_else(bad)?;
    anyhow::ensure!(tag == SEQUENCE, "no validity in the certificate");
    let (_, _, after_not_before) = der_element(validity).ok_or_else(bad)?;
    let (tag, time, _) = der_element(after_not_before).ok_or_else(bad)?;
    let text = std::str::from_utf8(time).map_err(|_| bad())?;
    parse_asn1_time(tag, text).ok_or_else(|| anyhow::anyhow!("unreadable notAfter '{text}'"))
}

/// UTCTime (tag 0x17, `YYMMDDHHMMSSZ`) or GeneralizedTime (tag 0x18, `YYYYMMDDHHMMSSZ`).
fn parse_asn1_time(tag: u8, text: &str) -> Option<i64> {
    let digits = text.strip_suffix('Z')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, rest) = match (tag, digits.len()) {
        (0x17, 12) => {
            let yy: i32 = digits[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &digits[2..])
        }
        (0x18, 14) => (digits[..4].parse().ok()?, &digits[4..]),
        _ => return None,
    };
    let field = |i: usize| rest[i..i + 2].parse::<u8>().ok();
    let month = time::Month::try_from(field(0)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, field(2)?).ok()?;
    let at = date
        .with_hms(field(4)?, field(6)?, field(8)?)
        .ok()?
        .assume_utc();
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_expiry_of_a_generated_certificate() {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.not_after = rcgen::date_time_ymd(2031, 7, 9);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let millis = der_not_after(cert.der()).unwrap();
        assert_eq!(millis, 1_941_321_600_000, "2031-07-09T00:00:00Z");
        // rcgen's default validity runs to 4096, past UTCTime: GeneralizedTime.
        let far = rcgen::CertificateParams::new(vec!["x".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        assert!(der_not_after(far.der()).unwrap() > 4_000_000_000_000);
        assert!(der_not_after(b"\x30\x03\x02\x01\x01").is_err());
        assert!(der_not_after(&[]).is_err());
    }

    #[test]
    fn asn1_times() {
        assert_eq!(parse_asn1_time(0x17, "700101000000Z"), Some(0));
        assert_eq!(
            parse_asn1_time(0x17, "491231235959Z"),
            Some(2_524_607_999_000)
        );
        assert_eq!(parse_asn1_time(0x18, "19700101000001Z"), Some(1000));
        assert_eq!(parse_asn1_time(0x17, "701301000000Z"), None);
        assert_eq!(parse_asn1_time(0x17, "7001010000Z"), None);
    }
}

//! switchyard's own client-certificate authority (C5's `admincerts`, design: notes/c5.md §9).
//!
//! On first start a CA key and a self-signed CA certificate are generated with rcgen and kept in
//! `<data>/tls/client-ca.pem` and `client-ca-key.pem` (mode 0600). The HTTPS listener asks every
//! client for a certificate issued by this CA but does not require one ([`ClientCa::verifier`]);
//! a certificate it verified reaches the auth layer as an [`auth::ClientCert`] (serial and subject
//! DN, [`peer_client_cert`]). Issuing signs a fresh key pair here and records serial → login
//! through the core ([`issue_client_cert`]); no key material ever reaches the core, the database,
//! the audit log or the logs.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SerialNumber,
};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use time::OffsetDateTime;

use crate::auth::{self, CLIENT_CERT_CN};
use crate::core::actor::Actor;
use crate::core::{Core, CoreError};

/// The common name of the CA certificate.
const CA_CN: &str = "switchyard client CA";
/// How long the CA is valid: longer than an appliance lives, since a new CA voids every
/// certificate issued so far.
const CA_VALIDITY_DAYS: i64 = 30 * 365;
/// How long an issued client certificate is valid.
pub const CLIENT_CERT_VALIDITY_DAYS: i64 = 365;
/// How far back `not_before` is set, for clients whose clock is a little behind.
const BACKDATE_SECS: i64 = 3600;

/// Where the client CA's certificate and key live inside the data directory.
pub fn ca_paths(data_dir: &Path) -> (PathBuf, PathBuf) {
    (
        data_dir.join("tls").join("client-ca.pem"),
        data_dir.join("tls").join("client-ca-key.pem"),
    )
}

/// The client CA: its certificate and the key that signs client certificates.
pub struct ClientCa {
    cert: CertificateDer<'static>,
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for ClientCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCa").finish_non_exhaustive()
    }
}

/// A freshly issued client certificate. The private key exists only here and in what is handed
/// to the client; `Debug` leaves it out.
pub struct IssuedCert {
    /// The serial number, lowercase hex (as [`auth::ClientCert::serial`] will show it).
    pub serial: String,
    /// The end of the validity, in milliseconds since the epoch.
    pub not_after_millis: i64,
    pub cert_pem: String,
    key_pem: String,
}

impl std::fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCert")
            .field("serial", &self.serial)
            .field("not_after_millis", &self.not_after_millis)
            .finish_non_exhaustive()
    }
}

impl IssuedCert {
    /// The private key, PKCS#8 PEM.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// Certificate and key in one PEM file, as C5 hands them out (`curl --cert F --key F`).
    pub fn combined_pem(&self) -> String {
        format!("{}{}", self.cert_pem, self.key_pem)
    }

    /// C5's file name for the combined PEM.
    pub fn file_name(&self) -> String {
        format!("NGCP-API-client-certificate-{}.pem", self.serial)
    }
}

fn datetime(unix_secs: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(unix_secs).context("time out of range")
}

/// A serial as the TLS layer and the database show it: lowercase hex of the INTEGER's magnitude,
/// without leading zero bytes.
pub fn serial_hex(raw: &[u8]) -> String {
    let start = raw.iter().position(|b| *b != 0).unwrap_or(raw.len());
    let hex = hex::encode(&raw[start..]);
    if hex.is_empty() { "0".into() } else { hex }
}

/// 16 random bytes, positive and without a leading zero byte, so the DER INTEGER holds exactly
/// these bytes and [`serial_hex`] of the parsed certificate gives the same text.
fn random_serial() -> Result<[u8; 16]> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).context("no randomness for a serial number")?;
    bytes[0] = (bytes[0] & 0x7f).max(1);
    Ok(bytes)
}

/// Writes `contents` to `path` through a temporary file and a rename, so a crash never leaves a
/// half-written file behind.
fn write_atomically(path: &Path, contents: &str, mode: u32) -> Result<()> {
    let tmp = path.with_extension("pem.tmp");
    let _ = fs::remove_file(&tmp);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

impl ClientCa {
    /// Loads the client CA from the data directory, generating it on first use.
    pub fn ensure(data_dir: &Path, now_millis: i64) -> Result<Self> {
        let (cert_path, key_path) = ca_paths(data_dir);
        match (cert_path.exists(), key_path.exists()) {
            (true, true) => return Self::load(&cert_path, &key_path),
            (true, false) => bail!(
                "{} exists but its key {} is missing: restore the key, or move the certificate \
                 away to make a new client CA (client certificates issued so far then stop \
                 working)",
                cert_path.display(),
                key_path.display()
            ),
            // Nothing yet, or a key left by a start that stopped before writing the certificate.
            _ => {}
        }
        let dir = data_dir.join("tls");
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let (cert_pem, key_pem) = Self::generate(now_millis)?;
        // The key first: a CA certificate without its key could verify but never issue.
        write_atomically(&key_path, &key_pem, 0o600)?;
        write_atomically(&cert_path, &cert_pem, 0o644)?;
        tracing::info!(path = %cert_path.display(), "generated the client-certificate CA");
        Self::load(&cert_path, &key_path)
    }

    /// A new CA key and self-signed CA certificate, as (certificate PEM, key PEM).
    fn generate(now_millis: i64) -> Result<(String, String)> {
        let now = now_millis.div_euclid(1000);
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, CA_CN);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "switchyard");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.serial_number = Some(SerialNumber::from_slice(&random_serial()?));
        params.not_before = datetime(now - BACKDATE_SECS)?;
        params.not_after = datetime(now + CA_VALIDITY_DAYS * 86_400)?;
        let key = KeyPair::generate().context("cannot generate the client CA key")?;
        let cert = params
            .self_signed(&key)
            .context("cannot sign the client CA certificate")?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// Loads the CA from PEM files, checking that the key belongs to the certificate.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Self> {
        let cert_pem = fs::read_to_string(cert_path)
            .with_context(|| format!("cannot read the client CA {}", cert_path.display()))?;
        let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .with_context(|| format!("{} is not a PEM certificate", cert_path.display()))?;
        let key_pem = fs::read_to_string(key_path)
            .with_context(|| format!("cannot read the client CA key {}", key_path.display()))?;
        let key = KeyPair::from_pem(&key_pem)
            .with_context(|| format!("{} is not a usable private key", key_path.display()))?;
        let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref())
            .map_err(|e| anyhow::anyhow!("{} is not a certificate: {e}", cert_path.display()))?;
        if parsed.public_key().raw != key.subject_public_key_info().as_slice() {
            bail!(
                "the client CA key {} does not belong to {}",
                key_path.display(),
                cert_path.display()
            );
        }
        let issuer = Issuer::from_ca_cert_der(&cert, key)
            .with_context(|| format!("{} cannot issue certificates", cert_path.display()))?;
        Ok(Self {
            cert,
            cert_pem,
            issuer,
        })
    }

    /// The CA certificate, PEM (what clients may use to check what they hold).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The TLS client-certificate verifier: asks for a certificate issued by this CA, accepts
    /// clients without one (the auth layer decides per mount), refuses any other certificate in
    /// the handshake.
    pub fn verifier(&self) -> Result<Arc<dyn ClientCertVerifier>> {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.cert.clone())
            .context("the client CA certificate is not a usable trust anchor")?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .allow_unauthenticated()
            .build()
            .context("cannot build the client-certificate verifier")
    }

    /// Issues a client certificate with C5's DN (`CN=Sipwise NGCP API client certificate`), a
    /// random serial, client-auth usage, valid for [`CLIENT_CERT_VALIDITY_DAYS`] from `now_millis`.
    pub fn issue(&self, now_millis: i64) -> Result<IssuedCert> {
        self.issue_with_cn(CLIENT_CERT_CN, now_millis)
    }

    fn issue_with_cn(&self, cn: &str, now_millis: i64) -> Result<IssuedCert> {
        let now = now_millis.div_euclid(1000);
        let not_after = now + CLIENT_CERT_VALIDITY_DAYS * 86_400;
        let serial = random_serial()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        params.not_before = datetime(now - BACKDATE_SECS)?;
        params.not_after = datetime(not_after)?;
        let key = KeyPair::generate().context("cannot generate a client key")?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .context("cannot sign the client certificate")?;
        Ok(IssuedCert {
            serial: serial_hex(&serial),
            not_after_millis: not_after * 1000,
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// The serial and subject of the certificate a client presented, already verified by
/// [`ClientCa::verifier`] during the handshake (`chain[0]` is the client's own certificate).
pub fn peer_client_cert(chain: &[CertificateDer<'_>]) -> Option<auth::ClientCert> {
    let (_, cert) = x509_parser::parse_x509_certificate(chain.first()?.as_ref()).ok()?;
    Some(auth::ClientCert {
        serial: serial_hex(cert.raw_serial()),
        subject: cert.subject().to_string(),
    })
}

/// Why a certificate could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The core refused to record it (not a login, unknown login, ...): map like any
    /// [`CoreError`].
    #[error(transparent)]
    Core(#[from] CoreError),
    /// Key generation or signing failed: an internal error.
    #[error("cannot issue a client certificate: {0}")]
    Pki(String),
}

/// Issues a client certificate for the acting login and records it through the core (audited as
/// `ClientCertIssued`, without key material). Trusted hosts and the operator are refused.
pub async fn issue_client_cert(
    core: &Core,
    actor: &Actor,
    ca: &ClientCa,
) -> Result<IssuedCert, IssueError> {
    let issued = ca
        .issue(core.now())
        .map_err(|e| IssueError::Pki(format!("{e:#}")))?;
    core.record_client_cert(actor, &issued.serial, issued.not_after_millis)
        .await?;
    Ok(issued)
}

/// Issues a client certificate for the login called `login`: the operator's command line.
pub async fn issue_client_cert_for(
    core: &Core,
    actor: &Actor,
    ca: &ClientCa,
    login: &str,
) -> Result<IssuedCert, IssueError> {
    let issued = ca
        .issue(core.now())
        .map_err(|e| IssueError::Pki(format!("{e:#}")))?;
    core.record_client_cert_for(actor, login, &issued.serial, issued.not_after_millis)
        .await?;
    Ok(issued)
}

/// The body of C5's `POST /api/admincerts/` answer (`Content-Type: application/zip`).
#[derive(Debug)]
pub struct AdminCertZip {
    /// The archive: `NGCP-API-client-certificate-<serial>.pem` (certificate and key) and
    /// `README.txt`.
    pub zip: Vec<u8>,
    pub serial: String,
}

/// Issues a client certificate for the acting login (as [`issue_client_cert`]) and packs it the
/// way C5's `POST /api/admincerts/` hands it out.
pub async fn issue_admin_cert_zip(
    core: &Core,
    actor: &Actor,
    ca: &ClientCa,
) -> Result<AdminCertZip, IssueError> {
    let issued = issue_client_cert(core, actor, ca).await?;
    let zip = admin_cert_zip(&issued, core.now()).map_err(|e| IssueError::Pki(format!("{e:#}")))?;
    Ok(AdminCertZip {
        zip,
        serial: issued.serial,
    })
}

fn readme(issued: &IssuedCert) -> String {
    let until = OffsetDateTime::from_unix_timestamp(issued.not_after_millis.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    format!(
        "NGCP API client certificate, serial {serial}, valid until {until}.\r\n\
         \r\n\
         {file} holds the certificate and its private key. Keep it secret: it\r\n\
         authenticates as the login it was issued to, without a password.\r\n\
         \r\n\
         Use it with curl:\r\n\
         \x20 curl --cert {file} --key {file} https://HOST/api/\r\n\
         Python requests:\r\n\
         \x20 requests.get(url, cert='{file}')\r\n\
         Perl LWP:\r\n\
         \x20 $ua->ssl_opts(SSL_cert_file => '{file}', SSL_key_file => '{file}');\r\n",
        serial = issued.serial,
        file = issued.file_name(),
    )
}

/// Packs an issued certificate as C5 does: a zip with the combined PEM and a README. The entries
/// are stored, not compressed: they are two small text files.
pub fn admin_cert_zip(issued: &IssuedCert, now_millis: i64) -> Result<Vec<u8>> {
    use zip::write::SimpleFileOptions;
    let mut options =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    if let Ok(now) = OffsetDateTime::from_unix_timestamp(now_millis.div_euclid(1000))
        && let Ok(year) = u16::try_from(now.year())
        && let Ok(at) = zip::DateTime::from_date_and_time(
            year,
            now.month().into(),
            now.day(),
            now.hour(),
            now.minute(),
            now.second(),
        )
    {
        options = options.last_modified_time(at);
    }
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    writer.start_file(issued.file_name(), options.unix_permissions(0o600))?;
    writer.write_all(issued.combined_pem().as_bytes())?;
    writer.start_file("README.txt", options.unix_permissions(0o644))?;
    writer.write_all(readme(issued).as_bytes())?;
    Ok(writer.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    fn parsed(pem: &str) -> (String, String, i64, bool) {
        let der = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
        let client_auth = cert
            .extended_key_usage()
            .unwrap()
            .is_some_and(|e| e.value.client_auth);
        (
            serial_hex(cert.raw_serial()),
            cert.subject().to_string(),
            cert.validity().not_after.timestamp(),
            client_auth,
        )
    }

    #[test]
    fn the_ca_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = ClientCa::ensure(dir.path(), NOW).unwrap();
        let (cert_path, key_path) = ca_paths(dir.path());
        let mode = |p: &Path| {
            use std::os::unix::fs::PermissionsExt;
            fs::metadata(p).unwrap().permissions().mode() & 0o777
        };
        assert_eq!(mode(&key_path), 0o600);
        let again = ClientCa::ensure(dir.path(), NOW + 1000).unwrap();
        assert_eq!(first.cert, again.cert, "loaded, not generated again");
        assert_eq!(first.cert_pem(), fs::read_to_string(&cert_path).unwrap());

        // A key that does not belong to the certificate is refused with a clear message.
        let other = tempfile::tempdir().unwrap();
        ClientCa::ensure(other.path(), NOW).unwrap();
        let (_, other_key) = ca_paths(other.path());
        fs::copy(&other_key, &key_path).unwrap();
        let err = ClientCa::ensure(dir.path(), NOW).unwrap_err();
        assert!(format!("{err:#}").contains("does not belong"), "{err:#}");

        fs::remove_file(&key_path).unwrap();
        let err = ClientCa::ensure(dir.path(), NOW).unwrap_err();
        assert!(format!("{err:#}").contains("is missing"), "{err:#}");
    }

    #[test]
    fn issued_certificates_carry_c5s_dn_a_serial_and_client_auth() {
        let dir = tempfile::tempdir().unwrap();
        let ca = ClientCa::ensure(dir.path(), NOW).unwrap();
        let a = ca.issue(NOW).unwrap();
        let b = ca.issue(NOW).unwrap();
        assert_ne!(a.serial, b.serial);
        assert_eq!(a.serial.len(), 32);
        assert_eq!(
            a.not_after_millis,
            NOW + CLIENT_CERT_VALIDITY_DAYS * 86_400_000
        );
        let (serial, subject, not_after, client_auth) = parsed(&a.cert_pem);
        assert_eq!(serial, a.serial, "the serial reads back as recorded");
        assert_eq!(subject, format!("CN={CLIENT_CERT_CN}"));
        assert_eq!(not_after * 1000, a.not_after_millis);
        assert!(client_auth);
        assert!(a.key_pem().starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(!format!("{a:?}").contains("PRIVATE"), "Debug hides the key");
        let combined = a.combined_pem();
        assert!(combined.contains("BEGIN CERTIFICATE") && combined.contains("BEGIN PRIVATE KEY"));
        assert_eq!(
            a.file_name(),
            format!("NGCP-API-client-certificate-{}.pem", a.serial)
        );
    }

    #[test]
    fn serials_are_canonical_hex() {
        assert_eq!(serial_hex(&[0, 0, 0x0a, 0xff]), "0aff");
        assert_eq!(serial_hex(&[0x7f, 0x01]), "7f01");
        assert_eq!(serial_hex(&[0]), "0");
        for _ in 0..64 {
            let s = random_serial().unwrap();
            assert!((1..0x80).contains(&s[0]));
            assert_eq!(serial_hex(&s).len(), 32);
        }
    }

    /// The verifier accepts this CA's certificates and clients without one, and refuses a
    /// certificate from another CA.
    #[test]
    fn the_verifier_trusts_only_this_ca() {
        use rustls::pki_types::UnixTime;
        let dir = tempfile::tempdir().unwrap();
        let ca = ClientCa::ensure(dir.path(), NOW).unwrap();
        let verifier = ca.verifier().unwrap();
        assert!(!verifier.client_auth_mandatory(), "asked for, not required");
        assert!(verifier.offer_client_auth());
        let at = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(NOW / 1000 + 60).unwrap(),
        ));
        let ours = ca.issue(NOW).unwrap();
        let ours = CertificateDer::from_pem_slice(ours.cert_pem.as_bytes()).unwrap();
        assert!(verifier.verify_client_cert(&ours, &[], at).is_ok());

        let other_dir = tempfile::tempdir().unwrap();
        let other = ClientCa::ensure(other_dir.path(), NOW).unwrap();
        let theirs = other.issue(NOW).unwrap();
        let theirs = CertificateDer::from_pem_slice(theirs.cert_pem.as_bytes()).unwrap();
        assert!(verifier.verify_client_cert(&theirs, &[], at).is_err());

        let later = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(NOW / 1000 + (CLIENT_CERT_VALIDITY_DAYS + 1) * 86_400).unwrap(),
        ));
        assert!(
            verifier.verify_client_cert(&ours, &[], later).is_err(),
            "expired"
        );

        let seen = peer_client_cert(std::slice::from_ref(&ours)).unwrap();
        assert_eq!(seen.subject, format!("CN={CLIENT_CERT_CN}"));
        let other_cn = ca.issue_with_cn("someone else", NOW).unwrap();
        let other_cn = CertificateDer::from_pem_slice(other_cn.cert_pem.as_bytes()).unwrap();
        assert_eq!(
            peer_client_cert(&[other_cn]).unwrap().subject,
            "CN=someone else"
        );
        assert_eq!(peer_client_cert(&[]), None);
    }

    #[test]
    fn the_zip_holds_the_pem_and_a_readme() {
        let dir = tempfile::tempdir().unwrap();
        let ca = ClientCa::ensure(dir.path(), NOW).unwrap();
        let issued = ca.issue(NOW).unwrap();
        let bytes = admin_cert_zip(&issued, NOW).unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut names: Vec<String> = archive
            .file_names()
            .map(|n| n.unwrap().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, vec![issued.file_name(), "README.txt".to_string()]);
        let mut pem = String::new();
        archive
            .by_name(&issued.file_name())
            .unwrap()
            .read_to_string(&mut pem)
            .unwrap();
        assert_eq!(pem, issued.combined_pem());
        let mut readme = String::new();
        archive
            .by_name("README.txt")
            .unwrap()
            .read_to_string(&mut readme)
            .unwrap();
        assert!(readme.contains(&issued.serial), "{readme}");
    }
}

//! Configuration: flags, then `SWITCHYARD_*` environment variables, then a TOML file, then the
//! embedded defaults, in that order of precedence. Only bootstrap settings live here (where to
//! listen, where the data is, TLS files); everything editable at run time lives in the database.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// The file read when no `--config` is given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/switchyard/switchyard.toml";

/// Settings that may come from flags, the environment or the file. Every field is optional here;
/// [`Config::resolve`] fills the defaults.
#[derive(Debug, Default, Clone, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Data directory (database, generated certificate, root password file).
    #[arg(long, env = "SWITCHYARD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// HTTPS listen address.
    #[arg(long, env = "SWITCHYARD_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Also listen for plain HTTP here (lab use only).
    #[arg(long, env = "SWITCHYARD_HTTP_LISTEN")]
    pub http_listen: Option<SocketAddr>,
    /// PEM certificate chain to serve instead of the generated one (needs --tls-key).
    #[arg(long, env = "SWITCHYARD_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "SWITCHYARD_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Extra names for the generated certificate (repeat, or comma-separated in the environment).
    #[arg(long = "tls-name", env = "SWITCHYARD_TLS_NAMES", value_delimiter = ',')]
    #[serde(default)]
    pub tls_names: Vec<String>,
    /// HTTP Digest realm. API passwords are stored as digests for this realm: changing it
    /// needs the API passwords to be set again.
    #[arg(long, env = "SWITCHYARD_REALM")]
    pub realm: Option<String>,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "SWITCHYARD_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Longest a request may take, in seconds.
    #[arg(long, env = "SWITCHYARD_REQUEST_TIMEOUT_SECS")]
    pub request_timeout_secs: Option<u64>,
    /// Most connections served at once; beyond it a connection gets 503 and is closed.
    #[arg(long, env = "SWITCHYARD_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Most connections served at once from one client address; beyond it, 503.
    #[arg(long, env = "SWITCHYARD_MAX_CONNECTIONS_PER_IP")]
    pub max_connections_per_ip: Option<usize>,
    /// How long a client may take to finish its TLS handshake, in seconds.
    #[arg(long, env = "SWITCHYARD_HANDSHAKE_TIMEOUT_SECS")]
    pub handshake_timeout_secs: Option<u64>,
    /// How long a client may take to send a request's headers, in seconds (on HTTP/1 this also
    /// closes a keep-alive connection waiting that long for its next request).
    #[arg(long, env = "SWITCHYARD_HEADER_TIMEOUT_SECS")]
    pub header_timeout_secs: Option<u64>,
    /// A connection that moves no bytes and has no request being handled for this long is
    /// closed, in seconds.
    #[arg(long, env = "SWITCHYARD_IDLE_TIMEOUT_SECS")]
    pub idle_timeout_secs: Option<u64>,
    /// How long a Digest nonce stays fresh, in seconds.
    #[arg(long, env = "SWITCHYARD_NONCE_TTL_SECS")]
    pub nonce_ttl_secs: Option<u64>,
    /// Serve the LDAP address book over TLS (LDAPS) here; off unless given.
    #[arg(long, env = "SWITCHYARD_LDAPS_LISTEN")]
    pub ldaps_listen: Option<SocketAddr>,
    /// Serve the LDAP address book in plain LDAP here, for clients that ask for StartTLS; a bind
    /// or search before StartTLS is refused. Off unless given.
    #[arg(long, env = "SWITCHYARD_LDAP_LISTEN")]
    pub ldap_listen: Option<SocketAddr>,
    /// Let the LDAP address book be searched without a bind (labs only).
    #[arg(long, env = "SWITCHYARD_LDAP_ANONYMOUS")]
    pub ldap_anonymous: Option<bool>,
    /// Entries each account's replication journal keeps; the oldest are dropped beyond it.
    #[arg(long, env = "SWITCHYARD_JOURNAL_MAX_ENTRIES")]
    pub journal_max_entries: Option<usize>,
    /// The call controller that places sipXconfig click-to-call calls: an `http://` URL that
    /// gets a JSON POST per call. Unset: click-to-call answers 503.
    #[arg(long, env = "SWITCHYARD_CALL_CONTROLLER_URL")]
    pub call_controller_url: Option<String>,
    /// How long the call controller may take to answer, in seconds.
    #[arg(long, env = "SWITCHYARD_CALL_CONTROLLER_TIMEOUT_SECS")]
    pub call_controller_timeout_secs: Option<u64>,
}

/// The resolved configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub http_listen: Option<SocketAddr>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_names: Vec<String>,
    pub realm: String,
    pub max_body_bytes: usize,
    pub request_timeout_secs: u64,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub handshake_timeout_secs: u64,
    pub header_timeout_secs: u64,
    pub idle_timeout_secs: u64,
    pub nonce_ttl_secs: u64,
    pub ldaps_listen: Option<SocketAddr>,
    pub ldap_listen: Option<SocketAddr>,
    pub ldap_anonymous: bool,
    pub journal_max_entries: usize,
    pub call_controller_url: Option<String>,
    pub call_controller_timeout_secs: u64,
}

/// The data directory used when none is configured: `$XDG_DATA_HOME/switchyard`, else
/// `~/.local/share/switchyard`, else `./switchyard-data`.
pub fn default_data_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("switchyard");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home).join(".local/share/switchyard");
    }
    PathBuf::from("switchyard-data")
}

fn read_file(path: &Path) -> Result<Settings> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid configuration file {}", path.display()))
}

impl Config {
    /// Resolves `given` (flags and environment, as parsed by clap) over the file and defaults.
    /// `config_file` is `--config`; without it the default file is read if it exists.
    pub fn resolve(given: Settings, config_file: Option<&Path>) -> Result<Self> {
        let file = match config_file {
            Some(path) => read_file(path)?,
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                read_file(Path::new(DEFAULT_CONFIG_FILE))?
            }
            None => Settings::default(),
        };
        let tls_names = if given.tls_names.is_empty() {
            file.tls_names
        } else {
            given.tls_names
        };
        let config = Self {
            data_dir: given
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(default_data_dir),
            listen: given
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 8443))),
            http_listen: given.http_listen.or(file.http_listen),
            tls_cert: given.tls_cert.or(file.tls_cert),
            tls_key: given.tls_key.or(file.tls_key),
            tls_names,
            realm: given
                .realm
                .or(file.realm)
                .unwrap_or_else(|| "switchyard".into()),
            max_body_bytes: given
                .max_body_bytes
                .or(file.max_body_bytes)
                .unwrap_or(4 << 20),
            request_timeout_secs: given
                .request_timeout_secs
                .or(file.request_timeout_secs)
                .unwrap_or(30),
            max_connections: given
                .max_connections
                .or(file.max_connections)
                .unwrap_or(1024),
            max_connections_per_ip: given
                .max_connections_per_ip
                .or(file.max_connections_per_ip)
                .unwrap_or(256),
            handshake_timeout_secs: given
                .handshake_timeout_secs
                .or(file.handshake_timeout_secs)
                .unwrap_or(10),
            header_timeout_secs: given
                .header_timeout_secs
                .or(file.header_timeout_secs)
                .unwrap_or(10),
            idle_timeout_secs: given
                .idle_timeout_secs
                .or(file.idle_timeout_secs)
                .unwrap_or(60),
            nonce_ttl_secs: given.nonce_ttl_secs.or(file.nonce_ttl_secs).unwrap_or(300),
            ldaps_listen: given.ldaps_listen.or(file.ldaps_listen),
            ldap_listen: given.ldap_listen.or(file.ldap_listen),
            ldap_anonymous: given
                .ldap_anonymous
                .or(file.ldap_anonymous)
                .unwrap_or(false),
            journal_max_entries: given
                .journal_max_entries
                .or(file.journal_max_entries)
                .unwrap_or(crate::core::journal::DEFAULT_CAPACITY),
            call_controller_url: given.call_controller_url.or(file.call_controller_url),
            call_controller_timeout_secs: given
                .call_controller_timeout_secs
                .or(file.call_controller_timeout_secs)
                .unwrap_or(5),
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<()> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            anyhow::bail!("--tls-cert and --tls-key go together: give both or neither");
        }
        if self.realm.is_empty() || self.realm.contains(['"', ',', '=', '\\']) {
            anyhow::bail!("the realm must be non-empty and contain no quotes, commas, '=' or '\\'");
        }
        if self.max_body_bytes < 1024 {
            anyhow::bail!("max_body_bytes must be at least 1024");
        }
        if self.journal_max_entries == 0 {
            anyhow::bail!("journal_max_entries must be positive");
        }
        if self.request_timeout_secs == 0 || self.max_connections == 0 || self.nonce_ttl_secs == 0 {
            anyhow::bail!(
                "request_timeout_secs, max_connections and nonce_ttl_secs must be positive"
            );
        }
        if self.max_connections_per_ip == 0
            || self.handshake_timeout_secs == 0
            || self.header_timeout_secs == 0
            || self.idle_timeout_secs == 0
        {
            anyhow::bail!(
                "max_connections_per_ip, handshake_timeout_secs, header_timeout_secs and \
                 idle_timeout_secs must be positive"
            );
        }
        if let Some(url) = &self.call_controller_url {
            crate::server::call_controller::CallController::new(url, 1)?;
        }
        if !(1..=60).contains(&self.call_controller_timeout_secs) {
            anyhow::bail!("call_controller_timeout_secs must be 1 to 60");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "realm = \"from-file\"\nmax_body_bytes = 2048\n").unwrap();
        let given = Settings {
            realm: Some("from-flag".into()),
            ..Settings::default()
        };
        let config = Config::resolve(given, Some(&file)).unwrap();
        assert_eq!(config.realm, "from-flag");
        assert_eq!(config.max_body_bytes, 2048);
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "listen_on = \"1.2.3.4:5\"\n").unwrap();
        let err = Config::resolve(Settings::default(), Some(&file)).unwrap_err();
        assert!(format!("{err:#}").contains("listen_on"));
    }

    #[test]
    fn shipped_example_parses() {
        let text = include_str!("../packaging/switchyard.toml");
        let settings: Settings = toml::from_str(text).unwrap();
        assert!(settings.listen.is_some());
    }
}

//! The command line: `serve`, and operator commands that act on a data directory through the core
//! (another dialect: it parses, calls the core, prints). They work while the server runs, except
//! `restore`, which refuses while a server holds the data directory.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::clock::SystemClock;
use crate::config::{Config, Settings};
use crate::core::Core;
use crate::core::actor::Actor;
use crate::core::audit::AuditFilter;
use crate::core::calls::{CdrInput, Fed};
use crate::server::pki;

#[derive(Debug, Parser)]
#[command(
    name = "switchyard",
    version,
    about = "Provisioning appliance for small VoIP operators"
)]
pub struct Cli {
    /// Configuration file (TOML). Default: /etc/switchyard/switchyard.toml if it exists.
    #[arg(long, global = true, env = "SWITCHYARD_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve every dialect over HTTPS (and plain HTTP if asked).
    Serve(Settings),
    /// Manage the hosts whose credential-less requests are trusted.
    #[command(subcommand)]
    TrustedHosts(TrustedHostsCommand),
    /// Read the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Issue client certificates from switchyard's own CA.
    #[command(subcommand)]
    ClientCert(ClientCertCommand),
    /// Manage subscribers' sipXconfig credentials.
    #[command(subcommand)]
    Subscriber(SubscriberCommand),
    /// Read sipXconfig click-to-call jobs.
    #[command(subcommand)]
    Calls(CallsCommand),
    /// Manage sipXconfig's shared phonebooks.
    #[command(subcommand)]
    Phonebook(PhonebookCommand),
    /// Print the resolved configuration.
    PrintConfig(Settings),
    /// Import call records (CDRs) that the SIP proxy wrote.
    #[command(subcommand)]
    Cdr(CdrCommand),
    /// Manage prepaid vouchers (SIP2SIP add_balance).
    #[command(subcommand)]
    Voucher(VoucherCommand),
    /// Copy the database to a file, consistently, while the server runs.
    Backup {
        /// The backup file to write (mode 0600: it holds password digests).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        overwrite: bool,
        #[command(flatten)]
        settings: Settings,
    },
    /// Put a backup in place of the database. The server must be stopped; the database it
    /// replaces is kept beside it as switchyard.db.replaced-<time>.
    Restore {
        /// The backup file to restore.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        #[command(flatten)]
        settings: Settings,
    },
    /// Ask the configured HTTPS listener for /healthz; exit 0 when it answers 200.
    Healthcheck {
        /// Keep trying for up to this many seconds (for service start-up).
        #[arg(long, value_name = "SECS", default_value_t = 0)]
        wait: u64,
        /// Give up on one attempt after this many seconds.
        #[arg(long, value_name = "SECS", default_value_t = 5)]
        timeout: u64,
        #[command(flatten)]
        settings: Settings,
    },
}

#[derive(Debug, Subcommand)]
enum TrustedHostsCommand {
    /// Trust an IP address or CIDR range (IPv4 or IPv6).
    Add {
        network: String,
        #[arg(long, default_value = "")]
        description: String,
        #[command(flatten)]
        settings: Settings,
    },
    /// List trusted networks.
    List {
        #[command(flatten)]
        settings: Settings,
    },
    /// Stop trusting a network.
    Remove {
        network: String,
        #[command(flatten)]
        settings: Settings,
    },
}

#[derive(Debug, Subcommand)]
enum CallsCommand {
    /// The newest click-to-call jobs, oldest of them first.
    Tail {
        /// How many jobs.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: u32,
        #[command(flatten)]
        settings: Settings,
    },
}

#[derive(Debug, Subcommand)]
enum PhonebookCommand {
    /// Create the shared phonebook NAME from a CSV file ("First name","Last name","Number"),
    /// or replace all its entries.
    Import {
        name: String,
        file: PathBuf,
        #[command(flatten)]
        settings: Settings,
    },
}

#[derive(Debug, Subcommand)]
enum SubscriberCommand {
    /// Set a subscriber's user-portal PIN (what sipXconfig's /my/... routes take as password).
    PortalPin {
        /// The subscriber's id (as in /api/subscribers/{id}).
        id: i64,
        /// The new PIN: 4 to 64 printable characters.
        pin: String,
        #[command(flatten)]
        settings: Settings,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// The newest audit rows, oldest of them first.
    Tail {
        /// How many rows.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: u32,
        /// Only rows of this principal (login name, "trusted", "cli").
        #[arg(long)]
        principal: Option<String>,
        /// Only rows of this method.
        #[arg(long)]
        method: Option<String>,
        #[command(flatten)]
        settings: Settings,
    },
}

#[derive(Debug, Subcommand)]
enum ClientCertCommand {
    /// Issue a certificate that authenticates as LOGIN without a password, and write it with
    /// its private key to one PEM file (mode 0600; for `curl --cert FILE --key FILE`).
    Issue {
        /// The customer or admin login the certificate authenticates as.
        #[arg(long)]
        login: String,
        /// Where to write the certificate and key; an existing file is not overwritten.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        settings: Settings,
    },
}

fn core_for(settings: Settings, config_file: Option<&std::path::Path>) -> Result<Core> {
    Ok(config_and_core(settings, config_file)?.1)
}

fn config_and_core(
    settings: Settings,
    config_file: Option<&std::path::Path>,
) -> Result<(Config, Core)> {
    let config = Config::resolve(settings, config_file)?;
    if !config.data_dir.join("switchyard.db").exists() {
        anyhow::bail!(
            "no switchyard database in {}: start `switchyard serve` once, or pass --data-dir",
            config.data_dir.display()
        );
    }
    let core = crate::server::open_core(&config, Arc::new(SystemClock))?;
    Ok((config, core))
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    let config_file = cli.config.as_deref();
    match cli.command {
        Command::Serve(settings) => {
            let config = Config::resolve(settings, config_file)?;
            crate::server::serve(config, shutdown_signal()).await
        }
        Command::PrintConfig(settings) => {
            let config = Config::resolve(settings, config_file)?;
            print!(
                "{}",
                toml::to_string(&config).context("cannot render the configuration")?
            );
            Ok(())
        }
        Command::TrustedHosts(cmd) => trusted_hosts(cmd, config_file).await,
        Command::Calls(CallsCommand::Tail { lines, settings }) => {
            let core = core_for(settings, config_file)?;
            let jobs = core
                .list_calls(&Actor::operator("calls tail"), lines)
                .await?;
            for job in jobs {
                let at = crate::dialects::xmlrpc::convert::sippy_date(job.created_on);
                println!(
                    "{at} #{} subscriber={} {} -> {} {} {}",
                    job.id, job.subscriber_id, job.caller, job.callee, job.state, job.outcome
                );
            }
            Ok(())
        }
        Command::Phonebook(PhonebookCommand::Import {
            name,
            file,
            settings,
        }) => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let entries = crate::dialects::sipx::phonebook_csv::read(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let core = core_for(settings, config_file)?;
            let count = core
                .import_phonebook(&Actor::operator("phonebook import"), name.clone(), entries)
                .await?;
            println!("switchyard: phonebook '{name}' now holds {count} entries");
            Ok(())
        }
        Command::Subscriber(SubscriberCommand::PortalPin { id, pin, settings }) => {
            let core = core_for(settings, config_file)?;
            core.set_portal_pin(&Actor::operator("subscriber portal-pin"), id, pin)
                .await?;
            println!("switchyard: portal PIN of subscriber {id} set");
            Ok(())
        }
        Command::Cdr(cmd) => cdr(cmd, config_file).await,
        Command::Voucher(cmd) => voucher(cmd, config_file).await,
        Command::ClientCert(ClientCertCommand::Issue {
            login,
            out,
            settings,
        }) => issue_client_cert(&login, &out, settings, config_file).await,
        Command::Backup {
            to,
            overwrite,
            settings,
        } => {
            let config = Config::resolve(settings, config_file)?;
            let data_dir = config.data_dir.clone();
            let dest = to.clone();
            let summary = tokio::task::spawn_blocking(move || {
                crate::core::maintenance::backup(&data_dir, &dest, overwrite)
            })
            .await
            .context("the backup stopped unexpectedly")??;
            println!(
                "switchyard: backed up {} to {} (schema {}, {} customers, {} accounts, {} audit rows)",
                config.data_dir.display(),
                to.display(),
                summary.schema_version,
                summary.customers,
                summary.accounts,
                summary.audit_rows
            );
            let tls = match (&config.tls_cert, &config.tls_key) {
                (Some(cert), Some(key)) => format!("{} and {}", cert.display(), key.display()),
                _ => config.data_dir.join("tls").display().to_string(),
            };
            println!(
                "switchyard: the TLS certificate and key are not in the backup; to keep the \
                 certificate's fingerprint, also copy {tls}"
            );
            Ok(())
        }
        Command::Restore { from, settings } => {
            let config = Config::resolve(settings, config_file)?;
            let data_dir = config.data_dir.clone();
            let source = from.clone();
            let restored = tokio::task::spawn_blocking(move || {
                crate::core::maintenance::restore(
                    &data_dir,
                    &source,
                    &Actor::operator("restore"),
                    &SystemClock,
                )
            })
            .await
            .context("the restore stopped unexpectedly")??;
            println!(
                "switchyard: restored {} into {} (schema {} -> {}, {} customers, {} accounts)",
                from.display(),
                config.data_dir.display(),
                restored.from.schema_version,
                restored.now.schema_version,
                restored.now.customers,
                restored.now.accounts
            );
            if let Some(replaced) = restored.replaced {
                println!(
                    "switchyard: the database it replaced is kept as {}",
                    replaced.display()
                );
            }
            Ok(())
        }
        Command::Healthcheck {
            wait,
            timeout,
            settings,
        } => {
            let config = Config::resolve(settings, config_file)?;
            let timeout = Duration::from_secs(timeout.max(1));
            let ok = crate::server::healthcheck::check(&config, Duration::from_secs(wait), timeout)
                .await?;
            println!("{ok}");
            Ok(())
        }
        Command::Audit(AuditCommand::Tail {
            lines,
            principal,
            method,
            settings,
        }) => {
            let core = core_for(settings, config_file)?;
            let filter = AuditFilter {
                principal,
                method,
                limit: lines,
                ..AuditFilter::default()
            };
            let rows = core
                .audit_log(&Actor::operator("audit tail"), filter)
                .await?;
            for row in rows.iter().rev() {
                let at = crate::dialects::xmlrpc::convert::sippy_date(row.at_millis);
                println!(
                    "{} #{} {} {} {} by={} from={} via={} {} {} {}",
                    at,
                    row.id,
                    row.event,
                    row.outcome,
                    row.principal,
                    row.action_by.as_deref().unwrap_or("-"),
                    row.user_ip.as_deref().unwrap_or("-"),
                    row.dialect,
                    row.method,
                    row.target,
                    row.detail
                );
            }
            Ok(())
        }
    }
}

async fn trusted_hosts(
    cmd: TrustedHostsCommand,
    config_file: Option<&std::path::Path>,
) -> Result<()> {
    match cmd {
        TrustedHostsCommand::Add {
            network,
            description,
            settings,
        } => {
            let core = core_for(settings, config_file)?;
            let actor = Actor::operator("trusted-hosts add");
            let net = core
                .add_trusted_host(&actor, &network, &description)
                .await?;
            println!("trusted: {net}");
        }
        TrustedHostsCommand::List { settings } => {
            let core = core_for(settings, config_file)?;
            for host in core
                .list_trusted_hosts(&Actor::operator("trusted-hosts list"))
                .await?
            {
                println!("{}\t{}", host.network, host.description);
            }
        }
        TrustedHostsCommand::Remove { network, settings } => {
            let core = core_for(settings, config_file)?;
            let actor = Actor::operator("trusted-hosts remove");
            let net = core.remove_trusted_host(&actor, &network).await?;
            println!("no longer trusted: {net}");
        }
    }
    Ok(())
}

async fn issue_client_cert(
    login: &str,
    out: &std::path::Path,
    settings: Settings,
    config_file: Option<&std::path::Path>,
) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let (config, core) = config_and_core(settings, config_file)?;
    // Refuse an existing file before anything is issued.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .with_context(|| format!("cannot create {}", out.display()))?;
    let written = async {
        let ca = pki::ClientCa::ensure(&config.data_dir, core.now())?;
        let actor = Actor::operator("client-cert issue");
        let issued = pki::issue_client_cert_for(&core, &actor, &ca, login).await?;
        file.write_all(issued.combined_pem().as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", out.display()))?;
        anyhow::Ok(issued)
    }
    .await;
    let issued = match written {
        Ok(issued) => issued,
        Err(e) => {
            // Leave no empty or partial key file behind.
            let _ = std::fs::remove_file(out);
            return Err(e);
        }
    };
    let until = crate::dialects::xmlrpc::convert::sippy_date(issued.not_after_millis);
    println!(
        "issued client certificate {} for '{login}', valid until {until}: {}",
        issued.serial,
        out.display()
    );
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

#[derive(Debug, Subcommand)]
enum CdrCommand {
    /// Import FILE: JSON lines (one record per line) or CSV with a header row, with the fields
    /// call_id, account (user@domain), direction (placed|received), remote_party, display_name,
    /// start_time (RFC 3339), duration (s), status, price (optional). All or nothing: a bad line
    /// is reported and nothing is written. A record already imported changes nothing.
    Import {
        file: PathBuf,
        #[command(flatten)]
        settings: Settings,
    },
}

#[derive(Debug, Subcommand)]
enum VoucherCommand {
    /// Create vouchers and print each one's id and secret number (shown only now).
    Create {
        /// How many vouchers.
        #[arg(long, default_value_t = 1)]
        count: i64,
        /// What each is worth.
        #[arg(long)]
        value: f64,
        /// ISO 4217 currency; it must be the paying account's.
        #[arg(long, default_value = "USD")]
        currency: String,
        #[command(flatten)]
        settings: Settings,
    },
    /// List vouchers, newest first, and who used them.
    List {
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[command(flatten)]
        settings: Settings,
    },
}

/// Reads a CDR file: JSON lines when its first non-blank character is `{`, else CSV with a
/// header row. Each record is named by its line for error messages.
pub(crate) fn read_cdr_file(text: &str) -> Result<Vec<Fed<CdrInput>>> {
    if text.trim_start().starts_with('{') {
        return text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| {
                let place = format!("line {}", i + 1);
                serde_json::from_str(line)
                    .map(|row| Fed {
                        place: place.clone(),
                        row,
                    })
                    .with_context(|| format!("{place}: not a call record"))
            })
            .collect();
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .context("line 1: no CSV header row")?
        .clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.context("unreadable CSV")?;
        let line = record.position().map_or(0, csv::Position::line);
        let place = format!("line {line}");
        let row: CdrInput = record
            .deserialize(Some(&headers))
            .with_context(|| format!("{place}: not a call record"))?;
        rows.push(Fed { place, row });
    }
    Ok(rows)
}

async fn cdr(cmd: CdrCommand, config_file: Option<&std::path::Path>) -> Result<()> {
    let CdrCommand::Import { file, settings } = cmd;
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let rows = read_cdr_file(&text).with_context(|| format!("{}", file.display()))?;
    let core = core_for(settings, config_file)?;
    let summary = core
        .import_cdrs(&Actor::operator("cdr import"), rows)
        .await
        .with_context(|| format!("{}: nothing was imported", file.display()))?;
    println!(
        "switchyard: imported {} new call records of {} in {}",
        summary.inserted,
        summary.received,
        file.display()
    );
    Ok(())
}

async fn voucher(cmd: VoucherCommand, config_file: Option<&std::path::Path>) -> Result<()> {
    match cmd {
        VoucherCommand::Create {
            count,
            value,
            currency,
            settings,
        } => {
            let core = core_for(settings, config_file)?;
            let created = core
                .create_vouchers(&Actor::operator("voucher create"), count, value, currency)
                .await?;
            println!("id\tnumber\tvalue\tcurrency");
            for v in created {
                println!("{}\t{}\t{}\t{}", v.id, v.number, v.value, v.currency);
            }
        }
        VoucherCommand::List { limit, settings } => {
            let core = core_for(settings, config_file)?;
            let list = core
                .list_vouchers(&Actor::operator("voucher list"), None, Some(limit))
                .await?;
            println!("id\tvalue\tcurrency\tcreated_by\tused_by");
            for v in list {
                let used = v.used_by.map_or_else(|| "-".to_string(), |s| s.to_string());
                println!(
                    "{}\t{}\t{}\t{}\t{used}",
                    v.id, v.value, v.currency, v.created_by
                );
            }
        }
    }
    Ok(())
}

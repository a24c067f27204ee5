//! A load generator for switchyard's LDAP address book (see `bench/ldap.sh`, BENCHMARKS.md).
//!
//! One LDAPS connection: a simple bind, then searches with `--filter` under `--base`, one at a
//! time (each waits for its SearchResultDone), for `--duration` seconds after `--warmup`
//! searches. The certificate in `--cacert` is the one trusted root. Output: a human summary on
//! stderr and one JSON line on stdout (searches per second, entries per search, latencies).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use ldap3_proto::LdapCodec;
use ldap3_proto::proto::{
    LdapBindCred, LdapBindRequest, LdapBindResponse, LdapDerefAliases, LdapFilter, LdapMsg, LdapOp,
    LdapResultCode, LdapSearchRequest, LdapSearchScope,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use serde_json::json;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_util::codec::Framed;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    label: String,
    /// host:port of the LDAPS listener.
    #[arg(long)]
    addr: String,
    #[arg(long)]
    cacert: PathBuf,
    #[arg(long)]
    bind_dn: String,
    #[arg(long)]
    password: String,
    #[arg(long)]
    base: String,
    #[arg(long)]
    filter: String,
    /// The search's size limit (0: the server's).
    #[arg(long, default_value_t = 50)]
    size_limit: i32,
    #[arg(long, default_value_t = 4)]
    duration: u64,
    #[arg(long, default_value_t = 200)]
    warmup: u32,
}

fn tls(cacert: &PathBuf) -> Result<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(cacert).context("read --cacert")? {
        roots
            .add(cert.context("PEM")?)
            .context("unusable certificate")?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Reads answers to `msgid` until its final one; returns (result code, entries seen).
async fn finish<S>(conn: &mut Framed<S, LdapCodec>, msgid: i32) -> Result<(LdapResultCode, usize)>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut entries = 0;
    loop {
        let msg = conn.next().await.context("connection closed")??;
        if msg.msgid != msgid {
            bail!("answer to message {} while waiting for {msgid}", msg.msgid);
        }
        match msg.op {
            LdapOp::SearchResultEntry(_) => entries += 1,
            LdapOp::SearchResultDone(r) | LdapOp::BindResponse(LdapBindResponse { res: r, .. }) => {
                return Ok((r.code, entries));
            }
            other => bail!("unexpected answer {other:?}"),
        }
    }
}

/// One search; waits for its last answer.
async fn search<S>(
    conn: &mut Framed<S, LdapCodec>,
    msgid: i32,
    args: &Args,
    filter: &LdapFilter,
) -> Result<(LdapResultCode, usize)>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    conn.send(LdapMsg {
        msgid,
        op: LdapOp::SearchRequest(LdapSearchRequest {
            base: args.base.clone(),
            scope: LdapSearchScope::Subtree,
            aliases: LdapDerefAliases::Never,
            sizelimit: args.size_limit,
            timelimit: 0,
            typesonly: false,
            filter: filter.clone(),
            attrs: vec!["cn".into(), "mail".into(), "telephoneNumber".into()],
        }),
        ctrl: vec![],
    })
    .await?;
    finish(conn, msgid).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    let host = args
        .addr
        .rsplit_once(':')
        .map_or("127.0.0.1", |(h, _)| h)
        .to_string();
    let tcp = TcpStream::connect(&args.addr).await.context("connect")?;
    tcp.set_nodelay(true)?;
    let stream = TlsConnector::from(Arc::new(tls(&args.cacert)?))
        .connect(ServerName::try_from(host)?, tcp)
        .await
        .context("TLS")?;
    let mut conn = Framed::new(stream, LdapCodec::default());
    conn.send(LdapMsg {
        msgid: 1,
        op: LdapOp::BindRequest(LdapBindRequest {
            version: 3,
            dn: args.bind_dn.clone(),
            cred: LdapBindCred::Simple(args.password.clone()),
        }),
        ctrl: vec![],
    })
    .await?;
    let (code, _) = finish(&mut conn, 1).await?;
    if code != LdapResultCode::Success {
        bail!("bind refused: {code:?}");
    }
    let filter = ldap3_proto::parse_ldap_filter_str(&args.filter)
        .map_err(|e| anyhow::anyhow!("bad filter: {e:?}"))?;
    let mut msgid = 1;
    for _ in 0..args.warmup {
        msgid += 1;
        search(&mut conn, msgid, &args, &filter).await?;
    }
    let (mut latencies, mut entries, mut errors) = (Vec::new(), 0usize, 0usize);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(args.duration) {
        let t = Instant::now();
        msgid += 1;
        let (code, n) = search(&mut conn, msgid, &args, &filter).await?;
        latencies.push(t.elapsed());
        entries += n;
        if !matches!(
            code,
            LdapResultCode::Success | LdapResultCode::SizeLimitExceeded
        ) {
            errors += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    // The latency at `per_mille` thousandths of the sorted run, in microseconds.
    let pct = |per_mille: usize| {
        let i = latencies.len().saturating_sub(1) * per_mille / 1000;
        latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    let n = latencies.len();
    let rate = n as f64 / elapsed;
    eprintln!(
        "{}: {n} searches in {elapsed:.1} s = {rate:.0}/s, {:.1} entries each, p50 {:.0} µs, p99 {:.0} µs, {errors} errors",
        args.label,
        entries as f64 / n.max(1) as f64,
        pct(500),
        pct(990)
    );
    println!(
        "{}",
        json!({"label": args.label, "searches": n, "seconds": elapsed, "rps": rate,
               "entries_per_search": entries as f64 / n.max(1) as f64,
               "p50_us": pct(500), "p99_us": pct(990), "errors": errors})
    );
    Ok(())
}

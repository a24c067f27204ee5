//! The LDAP listeners: LDAPS (TLS from the first byte) and plain LDAP for StartTLS, with the
//! HTTPS certificate. Each connection reads LDAPv3 messages with `ldap3_proto`'s codec (size
//! and nesting limits), hands them to `dialects::ldap`, and is closed when idle, when a client
//! floods it, or on shutdown.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use ldap3_proto::LdapCodec;
use ldap3_proto::proto::{LdapMsg, LdapResultCode};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_util::codec::Framed;

use super::limits::{Admission, ConnectionLimits};
use super::{AppState, next_connection, tls_handshake};
use crate::dialects::ldap::{LdapSession, Reply, disconnection};

/// Largest LDAP message accepted, and its deepest BER nesting (bounds filter depth too).
const MAX_MESSAGE_BYTES: usize = 64 * 1024;
const MAX_BER_DEPTH: usize = 48;
/// A connection with no request for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_mins(5);
/// LDAP connections served at once, per listener; beyond it (or `max_connections_per_ip` from
/// one address) a connection is closed at once: LDAP has no "busy, come back later" before a
/// request, and a client retries a closed connection anyway.
pub const MAX_CONNECTIONS: usize = 512;
/// Operations one address may make per window; beyond that its requests get `busy`.
const MAX_OPERATIONS: u32 = 100_000;
const OPERATION_WINDOW_MILLIS: i64 = 10_000;
const MAX_TRACKED_ADDRESSES: usize = 10_000;

/// Counts operations per address in fixed windows (binds and searches alike); failed binds are
/// throttled harder by the authenticator.
#[derive(Default)]
pub struct OperationLimit(Mutex<HashMap<IpAddr, (i64, u32)>>);

impl OperationLimit {
    /// Counts one operation; false when the address is over its limit.
    fn allow(&self, ip: IpAddr, now: i64) -> bool {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_TRACKED_ADDRESSES && !map.contains_key(&ip) {
            map.retain(|_, (start, _)| now < *start + OPERATION_WINDOW_MILLIS);
        }
        let entry = map.entry(ip).or_insert((now, 0));
        if now >= entry.0 + OPERATION_WINDOW_MILLIS {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 <= MAX_OPERATIONS
    }
}

/// Which kind of listener: TLS from the start, or plain until StartTLS.
#[derive(Clone, Copy)]
pub enum Mode {
    Ldaps,
    StartTls,
}

/// Accepts LDAP connections until told to stop.
pub async fn accept_loop(
    listener: TcpListener,
    mode: Mode,
    acceptor: TlsAcceptor,
    state: Arc<AppState>,
    limits: Arc<ConnectionLimits>,
    handshake_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let limit = Arc::new(OperationLimit::default());
    while let Some((stream, peer)) = next_connection(&listener, &mut stop).await {
        let Admission::Serve(permit) = limits.admit(peer.ip()) else {
            tracing::debug!(%peer, "over an LDAP connection limit: closed");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (state, acceptor, limit, stop) =
            (state.clone(), acceptor.clone(), limit.clone(), stop.clone());
        tokio::spawn(async move {
            let _permit = permit;
            match mode {
                Mode::Ldaps => {
                    let Some(tls) = tls_handshake(&acceptor, stream, peer, handshake_timeout).await
                    else {
                        return;
                    };
                    let mut session = LdapSession::new(state.clone(), peer, true);
                    serve(&mut framed(tls), &mut session, &state, &limit, stop).await;
                }
                Mode::StartTls => {
                    let mut session = LdapSession::new(state.clone(), peer, false);
                    let mut plain = framed(stream);
                    if serve(&mut plain, &mut session, &state, &limit, stop.clone()).await {
                        let Some(tls) =
                            tls_handshake(&acceptor, plain.into_inner(), peer, handshake_timeout)
                                .await
                        else {
                            return;
                        };
                        session.upgraded();
                        serve(&mut framed(tls), &mut session, &state, &limit, stop).await;
                    }
                }
            }
        });
    }
}

/// `ldap3_proto`'s codec, refusing at once a message that is not a BER SEQUENCE or whose
/// header announces more than [`MAX_MESSAGE_BYTES`]: the codec alone would wait for the
/// announced bytes until its buffer limit, holding the connection.
pub(crate) struct Codec(LdapCodec);

impl Codec {
    /// The codec with this server's limits on message size and BER depth.
    pub(crate) fn new() -> Self {
        Self(LdapCodec::new(Some(MAX_MESSAGE_BYTES), Some(MAX_BER_DEPTH)))
    }

    /// Checks the first bytes of the next message: Err when it cannot be a message we accept.
    fn check_header(buf: &[u8]) -> std::io::Result<()> {
        let refuse = |what: &str| {
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                what.to_string(),
            ))
        };
        let Some(&tag) = buf.first() else {
            return Ok(());
        };
        if tag != 0x30 {
            return refuse("an LDAP message is a BER SEQUENCE");
        }
        let Some(&first) = buf.get(1) else {
            return Ok(());
        };
        if first < 0x80 {
            return if Self::known_operation(&buf[2..]) {
                Ok(())
            } else {
                refuse("unknown LDAP operation")
            };
        }
        let octets = usize::from(first & 0x7f);
        if octets == 0 || octets > 4 {
            return refuse("unsupported BER length");
        }
        let Some(length) = buf.get(2..2 + octets) else {
            return Ok(());
        };
        let announced = length
            .iter()
            .fold(0usize, |n, &b| (n << 8) | usize::from(b));
        if announced > MAX_MESSAGE_BYTES {
            return refuse("LDAP message too large");
        }
        if !Self::known_operation(&buf[2 + octets..]) {
            return refuse("unknown LDAP operation");
        }
        Ok(())
    }

    /// Whether the operation of a message whose contents start `contents` is one ldap3_proto
    /// decodes (true while the bytes are not there yet). ldap3_proto prints every unknown
    /// application tag to stdout (`println!`): a client could fill the journal with them, and
    /// where stdout is a closed pipe each print panics the connection's task.
    fn known_operation(contents: &[u8]) -> bool {
        // messageID INTEGER (short form), then the protocolOp's tag.
        let (Some(&0x02), Some(&id_len)) = (contents.first(), contents.get(1)) else {
            return true;
        };
        if id_len >= 0x80 {
            return true;
        }
        let Some(&tag) = contents.get(2 + usize::from(id_len)) else {
            return true;
        };
        if tag & 0xc0 != 0x40 {
            // Not an APPLICATION tag: ldap3_proto refuses it without printing.
            return true;
        }
        let constructed = tag & 0x20 != 0;
        match tag & 0x1f {
            2 => true,
            10 | 16 => !constructed,
            0 | 1 | 3..=9 | 11..=15 | 19 | 23..=25 => constructed,
            _ => false,
        }
    }
}

impl tokio_util::codec::Decoder for Codec {
    type Item = LdapMsg;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut bytes::BytesMut) -> std::io::Result<Option<LdapMsg>> {
        Self::check_header(buf)?;
        self.0.decode(buf)
    }
}

impl tokio_util::codec::Encoder<LdapMsg> for Codec {
    type Error = std::io::Error;

    fn encode(&mut self, msg: LdapMsg, buf: &mut bytes::BytesMut) -> std::io::Result<()> {
        self.0.encode(msg, buf)
    }
}

fn framed<S: AsyncRead + AsyncWrite>(stream: S) -> Framed<S, Codec> {
    Framed::new(stream, Codec::new())
}

/// Serves requests until the connection ends; true when the client asked for StartTLS and the
/// caller should run the handshake now.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    framed: &mut Framed<S, Codec>,
    session: &mut LdapSession,
    state: &AppState,
    limit: &OperationLimit,
    mut stop: watch::Receiver<bool>,
) -> bool {
    loop {
        let next = tokio::select! {
            _ = stop.changed() => {
                let _ = framed.send(disconnection(LdapResultCode::Unavailable, "the server is shutting down")).await;
                return false;
            }
            next = tokio::time::timeout(IDLE_TIMEOUT, framed.next()) => next,
        };
        let msg: LdapMsg = match next {
            Err(_) => {
                let _ = framed
                    .send(disconnection(
                        LdapResultCode::Unavailable,
                        "idle for too long",
                    ))
                    .await;
                return false;
            }
            Ok(None) => return false,
            Ok(Some(Ok(msg))) => msg,
            Ok(Some(Err(e))) => {
                tracing::debug!(error = %e, "unreadable LDAP message");
                let _ = framed
                    .send(disconnection(
                        LdapResultCode::ProtocolError,
                        "unreadable or oversized LDAP message",
                    ))
                    .await;
                return false;
            }
        };
        if !limit.allow(session.peer(), state.core.now()) {
            let _ = framed
                .send(disconnection(
                    LdapResultCode::Busy,
                    "too many requests from your address; try again later",
                ))
                .await;
            return false;
        }
        match session.handle(msg).await {
            Reply::Send(messages) => {
                for m in messages {
                    if framed.feed(m).await.is_err() {
                        return false;
                    }
                }
                if framed.flush().await.is_err() {
                    return false;
                }
            }
            Reply::StartTls(answer) => return framed.send(answer).await.is_ok(),
            Reply::Close => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_announcing_too_much_or_not_a_sequence_are_refused_at_once() {
        assert!(Codec::check_header(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(Codec::check_header(&[0x04, 0x01]).is_err());
        assert!(Codec::check_header(&[0x30, 0x85, 0, 0, 0, 0, 1]).is_err());
        assert!(Codec::check_header(&[0x30, 0x82, 0x01, 0x00]).is_ok());
        assert!(
            Codec::check_header(&[0x30, 0x84, 0x00]).is_ok(),
            "wait for more bytes"
        );
        assert!(Codec::check_header(&[0x30, 0x0c]).is_ok());
        assert!(Codec::check_header(&[]).is_ok());
    }

    #[test]
    fn unknown_operations_are_refused_before_ldap3_proto_prints_them() {
        // SEQUENCE { messageID 1, [APPLICATION n] }.
        let message = |op: u8| [0x30, 0x05, 0x02, 0x01, 0x01, op, 0x00];
        for unknown in [
            0x71,
            0x74,
            0x7a,
            0x7f,
            0x40,
            0x4a | 0x20,
            0x50 | 0x20,
            0x63 & 0xdf,
        ] {
            assert!(
                Codec::check_header(&message(unknown)).is_err(),
                "{unknown:#x}"
            );
        }
        // Bind, unbind, search, delete, abandon, extended; a non-APPLICATION tag is left to
        // ldap3_proto; too few bytes yet.
        for known in [0x60, 0x42, 0x63, 0x4a, 0x50, 0x77, 0x04] {
            assert!(Codec::check_header(&message(known)).is_ok(), "{known:#x}");
        }
        assert!(Codec::check_header(&[0x30, 0x05, 0x02, 0x01]).is_ok());
        // A message id in long form: left to ldap3_proto.
        assert!(Codec::check_header(&[0x30, 0x06, 0x02, 0x81, 0x01, 0x01, 0x71, 0x00]).is_ok());
    }
}

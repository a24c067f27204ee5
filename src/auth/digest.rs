//! HTTP Digest authentication for the server side (RFC 7616, with the RFC 2069 form that has no
//! `qop`), tuned to what real clients send (see notes/sippy.md §6).
//!
//! Nonces are self-describing and signed: issue time, the issuing instance and an issue counter
//! under an HMAC. Verifying one needs no stored state; only the nonce counts seen so far are kept,
//! in memory, which is why a nonce is bound to the instance that issued it (design.md §4).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use subtle::ConstantTimeEq;

use crate::clock::SharedClock;

/// How many nonces the replay tracker remembers at most, unless told otherwise.
pub const DEFAULT_MAX_TRACKED_NONCES: usize = 100_000;

/// Hash algorithm of a Digest exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    /// Every supported algorithm in the order they are offered: RFC 7616 prefers SHA-256, and
    /// clients that take the last challenge (requests, httplib2) need MD5 last.
    pub const ALL: [Self; 2] = [Self::Sha256, Self::Md5];

    /// The name used in headers.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Sha256 => "SHA-256",
        }
    }

    /// Reads a header's algorithm name, ignoring case. `-sess` variants are not supported.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str().eq_ignore_ascii_case(name))
    }

    /// `H(parts joined by ':')` as lowercase hex.
    fn hash_hex(self, parts: &[&str]) -> String {
        fn run<D: sha2::Digest>(parts: &[&str]) -> String {
            let mut hasher = D::new();
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    hasher.update(b":");
                }
                hasher.update(part.as_bytes());
            }
            hex::encode(hasher.finalize())
        }
        match self {
            Self::Md5 => run::<md5::Md5>(parts),
            Self::Sha256 => run::<sha2::Sha256>(parts),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// H(username:realm:password) as lowercase hex: the only form in which a password is stored.
pub fn ha1(alg: Algorithm, username: &str, realm: &str, password: &str) -> String {
    alg.hash_hex(&[username, realm, password])
}

/// The `qop=auth` inputs of a response, exactly as the client sent them (they are hashed as text,
/// so `nc` keeps its case: LWP sends uppercase hex).
#[derive(Debug, Clone, Copy)]
pub struct QopAuth<'a> {
    pub qop: &'a str,
    pub nc: &'a str,
    pub cnonce: &'a str,
}

/// The `response` a client must send: `H(HA1:nonce:nc:cnonce:qop:HA2)` with `qop`, the RFC 2069
/// `H(HA1:nonce:HA2)` without, where `HA2 = H(method:uri)`. `ha1_hex` must be lowercase hex.
pub fn compute_response(
    alg: Algorithm,
    ha1_hex: &str,
    nonce: &str,
    method: &str,
    uri: &str,
    qop: Option<QopAuth<'_>>,
) -> String {
    let ha2 = alg.hash_hex(&[method, uri]);
    match qop {
        Some(q) => alg.hash_hex(&[ha1_hex, nonce, q.nc, q.cnonce, q.qop, &ha2]),
        None => alg.hash_hex(&[ha1_hex, nonce, &ha2]),
    }
}

/// Why an `Authorization` header could not be read as Digest credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("not a Digest authorization")]
    NotDigest,
    #[error("malformed Digest authorization: {0}")]
    Malformed(&'static str),
    #[error("Digest authorization lacks `{0}`")]
    Missing(&'static str),
    #[error("unsupported Digest feature: {0}")]
    Unsupported(String),
}

/// A parsed `Authorization: Digest ...` header.
#[derive(Clone)]
pub struct DigestCredentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Algorithm,
    pub qop: Option<String>,
    pub nc: Option<u32>,
    /// `nc` exactly as sent, since the client hashed these characters.
    pub nc_raw: Option<String>,
    pub cnonce: Option<String>,
    pub opaque: Option<String>,
}

impl fmt::Debug for DigestCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestCredentials")
            .field("username", &self.username)
            .field("realm", &self.realm)
            .field("nonce", &self.nonce)
            .field("uri", &self.uri)
            .field("response", &"<redacted>")
            .field("algorithm", &self.algorithm)
            .field("qop", &self.qop)
            .field("nc", &self.nc)
            .field("nc_raw", &self.nc_raw)
            .field("cnonce", &self.cnonce)
            .field("opaque", &self.opaque)
            .finish()
    }
}

/// Parses an `Authorization` header value. Lenient about what clients really send: quoted or bare
/// values, any order, any key case, optional spaces, quoted `nc`, missing `opaque`.
pub fn parse_authorization(header_value: &str) -> Result<DigestCredentials, DigestError> {
    let value = header_value.trim_start();
    let scheme_end = value
        .find(|c: char| c.is_ascii_whitespace())
        .unwrap_or(value.len());
    if !value[..scheme_end].eq_ignore_ascii_case("digest") {
        return Err(DigestError::NotDigest);
    }
    let mut params = parse_params(&value[scheme_end..])?;
    let mut take = |key: &str| params.remove(key);

    if take("username*").is_some() {
        return Err(DigestError::Unsupported(
            "username* (RFC 8187 encoded username)".into(),
        ));
    }
    if take("userhash").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Err(DigestError::Unsupported("userhash=true".into()));
    }
    let algorithm = match take("algorithm") {
        None => Algorithm::Md5,
        Some(name) => Algorithm::from_name(&name)
            .ok_or_else(|| DigestError::Unsupported(format!("algorithm {name}")))?,
    };
    let nc_raw = take("nc");
    let nc = nc_raw.as_deref().map(parse_nc).transpose()?;
    let credentials = DigestCredentials {
        username: take("username").ok_or(DigestError::Missing("username"))?,
        realm: take("realm").ok_or(DigestError::Missing("realm"))?,
        nonce: take("nonce").ok_or(DigestError::Missing("nonce"))?,
        uri: take("uri").ok_or(DigestError::Missing("uri"))?,
        response: take("response").ok_or(DigestError::Missing("response"))?,
        algorithm,
        qop: take("qop"),
        nc,
        nc_raw,
        cnonce: take("cnonce"),
        opaque: take("opaque"),
    };
    if credentials.qop.is_some() {
        if credentials.nc.is_none() {
            return Err(DigestError::Missing("nc"));
        }
        if credentials.cnonce.is_none() {
            return Err(DigestError::Missing("cnonce"));
        }
    }
    Ok(credentials)
}

fn parse_nc(text: &str) -> Result<u32, DigestError> {
    let bad = || DigestError::Malformed("nc must be up to 8 hex digits");
    if text.is_empty() || text.len() > 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    u32::from_str_radix(text, 16).map_err(|_| bad())
}

/// Splits `key=value, key="quoted \"value\"", ...` into lowercase keys and unquoted values.
/// Commas are optional between pairs and empty list elements are skipped.
fn parse_params(input: &str) -> Result<std::collections::HashMap<String, String>, DigestError> {
    let bytes = input.as_bytes();
    let mut params = std::collections::HashMap::new();
    let mut pos = 0;
    let skip = |pos: &mut usize, pred: fn(u8) -> bool| {
        while *pos < bytes.len() && pred(bytes[*pos]) {
            *pos += 1;
        }
    };
    loop {
        skip(&mut pos, |b| b.is_ascii_whitespace() || b == b',');
        if pos == bytes.len() {
            return Ok(params);
        }
        let key_start = pos;
        skip(&mut pos, |b| {
            !(b.is_ascii_whitespace() || b == b'=' || b == b',' || b == b'"')
        });
        let key = input[key_start..pos].to_ascii_lowercase();
        skip(&mut pos, |b| b.is_ascii_whitespace());
        if key.is_empty() || bytes.get(pos) != Some(&b'=') {
            return Err(DigestError::Malformed("expected `name=value` parameters"));
        }
        pos += 1;
        skip(&mut pos, |b| b.is_ascii_whitespace());
        let value = if bytes.get(pos) == Some(&b'"') {
            pos += 1;
            let mut value = String::new();
            let mut start = pos;
            loop {
                match bytes.get(pos) {
                    None => {
                        return Err(DigestError::Malformed("unterminated quoted value"));
                    }
                    Some(b'"') => break,
                    Some(b'\\') => {
                        value.push_str(&input[start..pos]);
                        // The escaped character starts the next run; skipping its first byte
                        // is enough, as continuation bytes are never `"` or `\`.
                        start = pos + 1;
                        pos += 2;
                    }
                    Some(_) => pos += 1,
                }
            }
            value.push_str(&input[start..pos]);
            pos += 1;
            value
        } else {
            let start = pos;
            skip(&mut pos, |b| !(b.is_ascii_whitespace() || b == b','));
            input[start..pos].to_owned()
        };
        if params.insert(key, value).is_some() {
            return Err(DigestError::Malformed("duplicate parameter"));
        }
    }
}

/// Outcome of checking a Digest response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// Wrong digest or unknown user: re-challenge with `stale=false`.
    BadCredentials,
    /// Right digest on an expired or forgotten nonce: re-challenge with `stale=true`.
    Stale,
    /// A nonce count already used.
    Replay,
    WrongRealm,
    UriMismatch,
    /// Not one of this instance's nonces: re-challenge with `stale=false`.
    NonceForged,
}

/// Stands in for the HA1 of an unknown user; sliced to the algorithm's hex length.
const DUMMY_HA1: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const NONCE_BODY: usize = 24;
const NONCE_TAG: usize = 16;

/// A nonce's identity in the tracker: issue second, then the issue counter. Ordered by issue time
/// so that pruning takes from the front.
type NonceId = (i64, [u8; 8]);

/// Highest nonce count seen per nonce; [`u32::MAX`] marks a nonce spent by a form without `nc`.
struct NonceTracker {
    seen: BTreeMap<NonceId, u32>,
    /// Untracked nonces issued in or before this second were issued before this process started or
    /// were evicted, so a use cannot be told from a replay; they are treated as stale.
    forgotten_through: i64,
    max: usize,
}

impl NonceTracker {
    /// Records a use with nonce count `nc` (`None`: single-use form). `expired_before` is the issue
    /// second below which nonces are expired and need no tracking.
    fn record(&mut self, id: NonceId, nc: Option<u32>, expired_before: i64) -> Verdict {
        if let Some(highest) = self.seen.get_mut(&id) {
            return match nc {
                Some(nc) if nc > *highest => {
                    *highest = nc;
                    Verdict::Ok
                }
                _ => Verdict::Replay,
            };
        }
        if id.0 <= self.forgotten_through {
            return Verdict::Stale;
        }
        if nc == Some(0) {
            return Verdict::Replay;
        }
        while let Some(oldest) = self.seen.first_entry()
            && oldest.key().0 < expired_before
        {
            oldest.remove();
        }
        if self.seen.len() >= self.max
            && let Some((&(second, _), _)) = self.seen.first_key_value()
        {
            // Evict whole seconds: simple, and never evicts part of a second.
            self.forgotten_through = second;
            self.seen = self.seen.split_off(&(second.saturating_add(1), [0; 8]));
        }
        self.seen.insert(id, nc.unwrap_or(u32::MAX));
        Verdict::Ok
    }
}

/// Issues Digest challenges for one realm and checks the answers.
pub struct DigestAuthority {
    realm: String,
    mac: Hmac<sha2::Sha256>,
    instance_id: u64,
    ttl_secs: i64,
    opaque: String,
    clock: SharedClock,
    tracker: Mutex<NonceTracker>,
    issued: AtomicU64,
}

impl fmt::Debug for DigestAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestAuthority")
            .field("realm", &self.realm)
            .field("instance_id", &self.instance_id)
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl DigestAuthority {
    /// `key` signs nonces. Nonces issued before this call are treated as stale even if the key is
    /// reused, because the replay tracker starts empty. `realm` should contain no `,` or `=`
    /// (axios-digest-auth splits on them).
    pub fn new(
        realm: String,
        key: [u8; 32],
        instance_id: u64,
        nonce_ttl: Duration,
        clock: SharedClock,
    ) -> Self {
        let mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
        let opaque = hex::encode(
            &mac.clone()
                .chain_update(b"switchyard digest opaque")
                .finalize()
                .into_bytes()[..16],
        );
        let started = clock.now_secs();
        Self {
            realm,
            mac,
            instance_id,
            ttl_secs: i64::try_from(nonce_ttl.as_secs()).unwrap_or(i64::MAX),
            opaque,
            clock,
            tracker: Mutex::new(NonceTracker {
                seen: BTreeMap::new(),
                forgotten_through: started.saturating_sub(1),
                max: DEFAULT_MAX_TRACKED_NONCES,
            }),
            issued: AtomicU64::new(0),
        }
    }

    /// Caps the replay tracker at `max` nonces (at least one).
    #[must_use]
    #[cfg(test)]
    pub fn with_max_tracked(self, max: usize) -> Self {
        self.tracker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .max = max.max(1);
        self
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// How many nonces the replay tracker holds now, for metrics.
    #[cfg(test)]
    pub fn tracked_nonces(&self) -> usize {
        self.tracker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .seen
            .len()
    }

    /// `WWW-Authenticate` values: SHA-256 then MD5, one fresh nonce, exactly `qop="auth"`.
    pub fn challenges(&self, stale: bool) -> Vec<String> {
        self.challenges_in(&self.realm, stale)
    }

    /// [`Self::challenges`] for another realm: the self-care dialects challenge in the realm a
    /// request names (SIP2SIP's SIP domain). Nonces do not depend on the realm.
    pub fn challenges_in(&self, realm: &str, stale: bool) -> Vec<String> {
        let nonce = self.issue_nonce();
        let realm = realm.replace('\\', "\\\\").replace('"', "\\\"");
        let stale = if stale { ", stale=true" } else { "" };
        Algorithm::ALL
            .iter()
            .map(|alg| {
                format!(
                    "Digest realm=\"{realm}\", qop=\"auth\", algorithm={alg}, nonce=\"{nonce}\", opaque=\"{}\"{stale}",
                    self.opaque
                )
            })
            .collect()
    }

    /// `base64url(issue second ‖ instance id ‖ issue counter ‖ HMAC of those, first 16 bytes)`:
    /// no `,` or `=`, and checkable without stored state. The counter makes every nonce of this
    /// instance unique; the HMAC, not randomness, is what makes them unforgeable.
    fn issue_nonce(&self) -> String {
        let mut nonce = [0u8; NONCE_BODY + NONCE_TAG];
        nonce[..8].copy_from_slice(&self.clock.now_secs().to_be_bytes());
        nonce[8..16].copy_from_slice(&self.instance_id.to_be_bytes());
        let serial = self.issued.fetch_add(1, Ordering::Relaxed);
        nonce[16..NONCE_BODY].copy_from_slice(&serial.to_be_bytes());
        let tag = self
            .mac
            .clone()
            .chain_update(&nonce[..NONCE_BODY])
            .finalize()
            .into_bytes();
        nonce[NONCE_BODY..].copy_from_slice(&tag[..NONCE_TAG]);
        URL_SAFE_NO_PAD.encode(nonce)
    }

    /// The nonce's identity if this instance issued it.
    fn authentic_nonce(&self, nonce: &str) -> Option<NonceId> {
        let bytes = URL_SAFE_NO_PAD.decode(nonce).ok()?;
        let bytes: [u8; NONCE_BODY + NONCE_TAG] = bytes.try_into().ok()?;
        let (body, tag) = bytes.split_at(NONCE_BODY);
        self.mac
            .clone()
            .chain_update(body)
            .verify_truncated_left(tag)
            .ok()?;
        let field = |range: std::ops::Range<usize>| -> [u8; 8] {
            let mut out = [0u8; 8];
            out.copy_from_slice(&body[range]);
            out
        };
        (u64::from_be_bytes(field(8..16)) == self.instance_id)
            .then(|| (i64::from_be_bytes(field(0..8)), field(16..24)))
    }

    /// Checks a response to one of our challenges. `ha1_hex` is the stored lowercase HA1 for
    /// (username, realm, algorithm), `None` for an unknown user. Checks run in this order: realm,
    /// uri, nonce authenticity, digest, expiry, replay; so a wrong digest is never called stale.
    pub fn verify(
        &self,
        creds: &DigestCredentials,
        method: &str,
        request_uri: &str,
        ha1_hex: Option<&str>,
    ) -> Verdict {
        self.verify_in(&self.realm, creds, method, request_uri, ha1_hex)
    }

    /// [`Self::verify`] for a response to [`Self::challenges_in`] `realm`.
    pub fn verify_in(
        &self,
        realm: &str,
        creds: &DigestCredentials,
        method: &str,
        request_uri: &str,
        ha1_hex: Option<&str>,
    ) -> Verdict {
        if creds.realm != realm {
            return Verdict::WrongRealm;
        }
        if creds.uri != request_uri {
            return Verdict::UriMismatch;
        }
        let Some(id) = self.authentic_nonce(&creds.nonce) else {
            return Verdict::NonceForged;
        };
        let (qop, nc) = match (
            creds.qop.as_deref(),
            creds.nc_raw.as_deref(),
            creds.cnonce.as_deref(),
        ) {
            (None, ..) => (None, None),
            (Some(qop), Some(nc), Some(cnonce)) if qop.eq_ignore_ascii_case("auth") => {
                let Some(nc_value) = creds.nc else {
                    return Verdict::BadCredentials;
                };
                (Some(QopAuth { qop, nc, cnonce }), Some(nc_value))
            }
            _ => return Verdict::BadCredentials,
        };

        // An unknown user costs the same hashing as a known one.
        let dummy = &DUMMY_HA1[..match creds.algorithm {
            Algorithm::Md5 => 32,
            Algorithm::Sha256 => 64,
        }];
        let expected = compute_response(
            creds.algorithm,
            ha1_hex.unwrap_or(dummy),
            &creds.nonce,
            method,
            &creds.uri,
            qop,
        );
        let matches: bool = expected
            .as_bytes()
            .ct_eq(creds.response.to_ascii_lowercase().as_bytes())
            .into();
        if !matches || ha1_hex.is_none() {
            return Verdict::BadCredentials;
        }

        let expired_before = self.clock.now_secs().saturating_sub(self.ttl_secs);
        if id.0 < expired_before {
            return Verdict::Stale;
        }
        self.tracker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(id, nc, expired_before)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;

    const REALM: &str = "switchyard";
    const TTL: Duration = Duration::from_mins(5);

    fn authority(clock: &ManualClock, instance_id: u64) -> DigestAuthority {
        DigestAuthority::new(
            REALM.into(),
            [7; 32],
            instance_id,
            TTL,
            Arc::new(clock.clone()),
        )
    }

    fn setup() -> (ManualClock, DigestAuthority) {
        let clock = ManualClock::new(1_700_000_000_000);
        let auth = authority(&clock, 1);
        (clock, auth)
    }

    /// The stored HA1 of the only known user, alice/secret.
    fn lookup(creds: &DigestCredentials) -> Option<String> {
        (creds.username == "alice").then(|| ha1(creds.algorithm, "alice", REALM, "secret"))
    }

    fn challenge_params(challenge: &str) -> std::collections::HashMap<String, String> {
        let rest = challenge.strip_prefix("Digest ").unwrap();
        parse_params(rest).unwrap()
    }

    /// A curl-style answer to `challenge`.
    fn answer(challenge: &str, user: &str, password: &str, uri: &str, nc: u32) -> String {
        let p = challenge_params(challenge);
        let alg = Algorithm::from_name(&p["algorithm"]).unwrap();
        let nc = format!("{nc:08x}");
        let cnonce = "MTIzNDU2Nzg5MGFi";
        let response = compute_response(
            alg,
            &ha1(alg, user, &p["realm"], password),
            &p["nonce"],
            "POST",
            uri,
            Some(QopAuth {
                qop: "auth",
                nc: &nc,
                cnonce,
            }),
        );
        format!(
            "Digest username=\"{user}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", \
             cnonce=\"{cnonce}\", nc={nc}, qop=auth, response=\"{response}\", \
             opaque=\"{}\", algorithm={alg}",
            p["realm"], p["nonce"], p["opaque"]
        )
    }

    fn check(auth: &DigestAuthority, header: &str, uri: &str) -> Verdict {
        let creds = parse_authorization(header).unwrap();
        auth.verify(&creds, "POST", uri, lookup(&creds).as_deref())
    }

    #[test]
    fn rfc2617_vector() {
        let ha1 = ha1(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
        );
        let qop = QopAuth {
            qop: "auth",
            nc: "00000001",
            cnonce: "0a4f113b",
        };
        let response = compute_response(
            Algorithm::Md5,
            &ha1,
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            "GET",
            "/dir/index.html",
            Some(qop),
        );
        assert_eq!(response, "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn rfc7616_vectors() {
        let header = r#"Digest username="Mufasa",
               realm="http-auth@example.org",
               uri="/dir/index.html",
               algorithm=SHA-256,
               nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
               nc=00000001,
               cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
               qop=auth,
               response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
               opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
        let creds = parse_authorization(header).unwrap();
        assert_eq!(creds.algorithm, Algorithm::Sha256);
        for (alg, expected) in [
            (Algorithm::Md5, "8ca523f5e9506fed4657c9700eebdbec"),
            (
                Algorithm::Sha256,
                "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
            ),
        ] {
            let qop = QopAuth {
                qop: creds.qop.as_deref().unwrap(),
                nc: creds.nc_raw.as_deref().unwrap(),
                cnonce: creds.cnonce.as_deref().unwrap(),
            };
            let ha1 = ha1(alg, &creds.username, &creds.realm, "Circle of Life");
            let response = compute_response(alg, &ha1, &creds.nonce, "GET", &creds.uri, Some(qop));
            assert_eq!(response, expected, "{alg}");
        }
    }

    #[test]
    fn algorithm_names() {
        assert_eq!(Algorithm::from_name("sha-256"), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::from_name("md5"), Some(Algorithm::Md5));
        assert_eq!(Algorithm::from_name("MD5-sess"), None);
        assert_eq!(Algorithm::Sha256.to_string(), "SHA-256");
    }

    #[test]
    fn parses_curl() {
        let creds = parse_authorization(
            r#"Digest username="alice", realm="switchyard", nonce="abc-_1", uri="/xmlapi/xmlapi", cnonce="ZjA2NDZl", nc=00000001, qop=auth, response="0123abcd", opaque="ff00", algorithm=SHA-256"#,
        )
        .unwrap();
        assert_eq!(creds.username, "alice");
        assert_eq!(creds.realm, "switchyard");
        assert_eq!(creds.nonce, "abc-_1");
        assert_eq!(creds.uri, "/xmlapi/xmlapi");
        assert_eq!(creds.response, "0123abcd");
        assert_eq!(creds.algorithm, Algorithm::Sha256);
        assert_eq!(creds.qop.as_deref(), Some("auth"));
        assert_eq!(creds.nc, Some(1));
        assert_eq!(creds.cnonce.as_deref(), Some("ZjA2NDZl"));
        assert_eq!(creds.opaque.as_deref(), Some("ff00"));
    }

    #[test]
    fn parses_lwp_uppercase_nc_and_quoted_algorithm() {
        let creds = parse_authorization(
            r#"Digest username="alice", realm="switchyard", qop=auth, algorithm="MD5", uri="/xmlapi/xmlapi", nonce="n", nc=0000000A, cnonce="65f0a1b2", response="aa", opaque="o""#,
        )
        .unwrap();
        assert_eq!(creds.algorithm, Algorithm::Md5);
        assert_eq!(creds.nc, Some(10));
        assert_eq!(creds.nc_raw.as_deref(), Some("0000000A"));
    }

    #[test]
    fn parses_requests_quoted_qop() {
        let creds = parse_authorization(
            r#"Digest username="alice", realm="switchyard", nonce="n", uri="/x?a=1,2", response="aa", opaque="o", algorithm="SHA-256", qop="auth", nc=00000003, cnonce="d8e8fca2dc0f896f""#,
        )
        .unwrap();
        assert_eq!(creds.uri, "/x?a=1,2");
        assert_eq!(creds.qop.as_deref(), Some("auth"));
        assert_eq!(creds.nc, Some(3));
    }

    #[test]
    fn parses_axios_quoted_nc_without_opaque_or_spaces() {
        let creds = parse_authorization(
            r#"Digest username="alice",realm="switchyard",nonce="n",uri="/xmlapi/xmlapi",qop="auth",algorithm="MD5",response="aa",nc="00000002",cnonce="c""#,
        )
        .unwrap();
        assert_eq!(creds.nc, Some(2));
        assert_eq!(creds.opaque, None);
    }

    #[test]
    fn parses_bare_values_odd_spacing_and_key_case() {
        let creds = parse_authorization(
            "digest   USERNAME = alice ,Realm=switchyard,, nonce=n , uri=/x, Response=aa, \
             algorithm=md5, qop=auth, nc=1, cnonce=c, userhash=false",
        )
        .unwrap();
        assert_eq!(creds.username, "alice");
        assert_eq!(creds.realm, "switchyard");
        assert_eq!(creds.response, "aa");
        assert_eq!(creds.nc, Some(1));
    }

    #[test]
    fn parses_escapes_and_legacy_form() {
        let creds = parse_authorization(
            r#"Digest username="DOM\\al\"ice", realm="sw", nonce="n", uri="/", response="aa""#,
        )
        .unwrap();
        assert_eq!(creds.username, r#"DOM\al"ice"#);
        assert_eq!(creds.algorithm, Algorithm::Md5);
        assert_eq!((creds.qop, creds.nc, creds.cnonce), (None, None, None));

        let creds = parse_authorization(
            r#"Digest username="J\ä\ß", realm="r€", nonce=n, uri=/, response=aa"#,
        )
        .unwrap();
        assert_eq!(
            (creds.username.as_str(), creds.realm.as_str()),
            ("Jäß", "r€")
        );
    }

    #[test]
    fn debug_redacts_response() {
        let creds = parse_authorization(
            r#"Digest username="u", realm="r", nonce="n", uri="/", response="feedface""#,
        )
        .unwrap();
        let shown = format!("{creds:?}");
        assert!(!shown.contains("feedface"));
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn rejects_malformed() {
        let full = r#"username="u", realm="r", nonce="n", uri="/", response="aa""#;
        assert_eq!(
            parse_authorization("Basic dXNlcjpwYXNz").unwrap_err(),
            DigestError::NotDigest
        );
        assert_eq!(
            parse_authorization(&format!("Digestive {full}")).unwrap_err(),
            DigestError::NotDigest
        );
        assert_eq!(
            parse_authorization("Digest").unwrap_err(),
            DigestError::Missing("username")
        );
        assert_eq!(
            parse_authorization(r#"Digest username="u", realm="r", nonce="n", uri="/""#)
                .unwrap_err(),
            DigestError::Missing("response")
        );
        assert_eq!(
            parse_authorization(&format!("Digest {full}, qop=auth, cnonce=c")).unwrap_err(),
            DigestError::Missing("nc")
        );
        assert_eq!(
            parse_authorization(&format!("Digest {full}, qop=auth, nc=1")).unwrap_err(),
            DigestError::Missing("cnonce")
        );
        for bad in [
            r#"Digest username="u"#,
            "Digest username",
            "Digest =u",
            r#"Digest username="u", username="v""#,
        ] {
            assert!(
                matches!(parse_authorization(bad), Err(DigestError::Malformed(_))),
                "{bad}"
            );
        }
        for nc in ["zz", "", "123456789", "+1"] {
            let header = format!("Digest {full}, qop=auth, nc={nc}, cnonce=c");
            assert!(
                matches!(parse_authorization(&header), Err(DigestError::Malformed(_))),
                "{nc}"
            );
        }
    }

    #[test]
    fn rejects_unsupported_features_saying_so() {
        let full = r#"realm="r", nonce="n", uri="/", response="aa""#;
        for header in [
            format!("Digest username*=UTF-8''J%C3%A4s, {full}"),
            format!(r#"Digest username="u", userhash=true, {full}"#),
            format!(r#"Digest username="u", algorithm=MD5-sess, {full}"#),
        ] {
            let err = parse_authorization(&header).unwrap_err();
            assert!(matches!(err, DigestError::Unsupported(_)), "{header}");
            assert!(err.to_string().contains("unsupported"));
        }
    }

    #[test]
    fn challenge_format() {
        let (_, auth) = setup();
        let challenges = auth.challenges(false);
        assert_eq!(challenges.len(), 2);
        let (sha, md5) = (&challenges[0], &challenges[1]);
        assert!(sha.contains("algorithm=SHA-256"), "{sha}");
        assert!(md5.contains("algorithm=MD5"), "{md5}");
        for c in &challenges {
            assert!(c.starts_with("Digest realm=\"switchyard\""), "{c}");
            assert_eq!(c.matches("qop=").count(), 1);
            assert!(c.contains(r#"qop="auth","#), "{c}");
            assert!(!c.contains("stale"), "{c}");
            let p = challenge_params(c);
            for key in ["nonce", "opaque"] {
                assert!(!p[key].contains([',', '=', '"']), "{key}: {}", p[key]);
            }
        }
        let (p_sha, p_md5) = (challenge_params(sha), challenge_params(md5));
        assert_eq!(p_sha["nonce"], p_md5["nonce"]);
        assert_eq!(p_sha["opaque"], p_md5["opaque"]);

        let again = auth.challenges(true);
        assert!(again.iter().all(|c| c.ends_with(", stale=true")));
        assert_ne!(challenge_params(&again[0])["nonce"], p_sha["nonce"]);
    }

    #[test]
    fn full_flow_with_nonce_counts() {
        let (_, auth) = setup();
        let challenges = auth.challenges(false);
        let uri = "/xmlapi/xmlapi";
        for challenge in &challenges {
            // The same nonce is good for either algorithm, sharing one count.
            let first = if challenge.contains("SHA-256") { 1 } else { 4 };
            for nc in first..first + 3 {
                let header = answer(challenge, "alice", "secret", uri, nc);
                assert_eq!(check(&auth, &header, uri), Verdict::Ok, "nc {nc}");
            }
            let repeat = answer(challenge, "alice", "secret", uri, first + 2);
            assert_eq!(check(&auth, &repeat, uri), Verdict::Replay);
            let lower = answer(challenge, "alice", "secret", uri, first);
            assert_eq!(check(&auth, &lower, uri), Verdict::Replay);
        }
        assert_eq!(auth.tracked_nonces(), 1);
    }

    #[test]
    fn first_count_may_skip_but_not_be_zero() {
        let (_, auth) = setup();
        let challenges = auth.challenges(false);
        let zero = answer(&challenges[1], "alice", "secret", "/", 0);
        assert_eq!(check(&auth, &zero, "/"), Verdict::Replay);
        let two = answer(&challenges[1], "alice", "secret", "/", 2);
        assert_eq!(check(&auth, &two, "/"), Verdict::Ok);
    }

    #[test]
    fn uppercase_nc_is_hashed_as_sent() {
        let (_, auth) = setup();
        let challenge = &auth.challenges(false)[1];
        let p = challenge_params(challenge);
        let ha1 = ha1(Algorithm::Md5, "alice", REALM, "secret");
        let qop = QopAuth {
            qop: "auth",
            nc: "0000000A",
            cnonce: "65f0a1b2",
        };
        let response = compute_response(Algorithm::Md5, &ha1, &p["nonce"], "POST", "/", Some(qop));
        let header = format!(
            r#"Digest username="alice", realm="{REALM}", qop=auth, algorithm="MD5", uri="/", nonce="{}", nc=0000000A, cnonce="65f0a1b2", response="{}""#,
            p["nonce"],
            response.to_uppercase()
        );
        assert_eq!(check(&auth, &header, "/"), Verdict::Ok);
    }

    #[test]
    fn legacy_form_is_single_use() {
        let (_, auth) = setup();
        let p = challenge_params(&auth.challenges(false)[1]);
        let ha1 = ha1(Algorithm::Md5, "alice", REALM, "secret");
        let response = compute_response(Algorithm::Md5, &ha1, &p["nonce"], "POST", "/", None);
        let header = format!(
            r#"Digest username="alice", realm="{REALM}", nonce="{}", uri="/", response="{response}""#,
            p["nonce"]
        );
        assert_eq!(check(&auth, &header, "/"), Verdict::Ok);
        assert_eq!(check(&auth, &header, "/"), Verdict::Replay);
        let with_nc = answer(&auth.challenges(false)[1], "alice", "secret", "/", 1);
        assert_eq!(check(&auth, &with_nc, "/"), Verdict::Ok);
    }

    #[test]
    fn auth_int_is_refused() {
        let (_, auth) = setup();
        let header = answer(&auth.challenges(false)[0], "alice", "secret", "/", 1)
            .replace("qop=auth", "qop=auth-int");
        assert_eq!(check(&auth, &header, "/"), Verdict::BadCredentials);
    }

    #[test]
    fn wrong_password_and_unknown_user() {
        let (_, auth) = setup();
        let challenge = &auth.challenges(false)[0];
        let wrong = answer(challenge, "alice", "guess", "/", 1);
        assert_eq!(check(&auth, &wrong, "/"), Verdict::BadCredentials);
        let unknown = answer(challenge, "mallory", "secret", "/", 1);
        assert_eq!(check(&auth, &unknown, "/"), Verdict::BadCredentials);
        // Failures do not spend the nonce count.
        let right = answer(challenge, "alice", "secret", "/", 1);
        assert_eq!(check(&auth, &right, "/"), Verdict::Ok);
    }

    #[test]
    fn expired_nonce_is_stale_only_with_the_right_digest() {
        let (clock, auth) = setup();
        let challenge = &auth.challenges(false)[0];
        clock.advance(TTL);
        let at_ttl = answer(challenge, "alice", "secret", "/", 1);
        assert_eq!(check(&auth, &at_ttl, "/"), Verdict::Ok);
        clock.advance(Duration::from_secs(1));
        let right = answer(challenge, "alice", "secret", "/", 2);
        assert_eq!(check(&auth, &right, "/"), Verdict::Stale);
        let wrong = answer(challenge, "alice", "guess", "/", 2);
        assert_eq!(check(&auth, &wrong, "/"), Verdict::BadCredentials);
    }

    #[test]
    fn forged_and_foreign_nonces() {
        let (clock, auth) = setup();
        let challenge = auth.challenges(false).remove(0);
        let nonce = challenge_params(&challenge)["nonce"].clone();
        let mut tampered = nonce.clone().into_bytes();
        tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        for bad in [tampered.as_str(), "", "not base64!", "AAAA"] {
            let header = answer(&challenge.replace(&nonce, bad), "alice", "secret", "/", 1);
            assert_eq!(check(&auth, &header, "/"), Verdict::NonceForged, "{bad}");
        }
        let other = authority(&clock, 2);
        let theirs = answer(&other.challenges(false)[0], "alice", "secret", "/", 1);
        assert_eq!(check(&auth, &theirs, "/"), Verdict::NonceForged);
    }

    #[test]
    fn realm_and_uri_must_match() {
        let (_, auth) = setup();
        let challenge = &auth.challenges(false)[0];
        let elsewhere = challenge.replace("realm=\"switchyard\"", "realm=\"other\"");
        let header = answer(&elsewhere, "alice", "secret", "/", 1);
        assert_eq!(check(&auth, &header, "/"), Verdict::WrongRealm);
        let header = answer(challenge, "alice", "secret", "/xmlapi/xmlapi", 1);
        assert_eq!(
            check(&auth, &header, "/xmlapi/xmlapi?x"),
            Verdict::UriMismatch
        );
    }

    #[test]
    fn restart_does_not_reopen_used_nonces() {
        let (clock, auth) = setup();
        let challenge = &auth.challenges(false)[0];
        let header = answer(challenge, "alice", "secret", "/", 1);
        assert_eq!(check(&auth, &header, "/"), Verdict::Ok);
        clock.advance(Duration::from_secs(10));
        let restarted = authority(&clock, 1);
        assert_eq!(check(&restarted, &header, "/"), Verdict::Stale);
    }

    #[test]
    fn tracker_prunes_expired_and_caps_live_entries() {
        let (clock, auth) = setup();
        let auth = auth.with_max_tracked(3);
        let use_fresh = || {
            let challenge = auth.challenges(false).remove(0);
            let header = answer(&challenge, "alice", "secret", "/", 1);
            assert_eq!(check(&auth, &header, "/"), Verdict::Ok);
            challenge
        };
        for _ in 0..3 {
            use_fresh();
        }
        assert_eq!(auth.tracked_nonces(), 3);
        clock.advance(TTL + Duration::from_secs(1));
        let oldest_live = use_fresh();
        assert_eq!(auth.tracked_nonces(), 1, "expired nonces pruned");

        let mut newest = oldest_live.clone();
        for _ in 0..4 {
            clock.advance(Duration::from_secs(1));
            newest = use_fresh();
        }
        assert_eq!(auth.tracked_nonces(), 3);
        // The evicted nonce is forgotten, and a forgotten nonce must not look unused.
        let again = answer(&oldest_live, "alice", "secret", "/", 2);
        assert_eq!(check(&auth, &again, "/"), Verdict::Stale);
        let again = answer(&newest, "alice", "secret", "/", 2);
        assert_eq!(check(&auth, &again, "/"), Verdict::Ok);
    }

    #[test]
    fn eviction_within_one_second_forgets_the_whole_second() {
        let (_, auth) = setup();
        let auth = auth.with_max_tracked(2);
        let challenges: Vec<String> = (0..3).map(|_| auth.challenges(false).remove(0)).collect();
        for challenge in &challenges {
            let header = answer(challenge, "alice", "secret", "/", 1);
            assert_eq!(check(&auth, &header, "/"), Verdict::Ok);
        }
        assert_eq!(auth.tracked_nonces(), 1);
        let verdicts: Vec<Verdict> = challenges
            .iter()
            .map(|c| check(&auth, &answer(c, "alice", "secret", "/", 2), "/"))
            .collect();
        assert_eq!(verdicts, [Verdict::Stale, Verdict::Stale, Verdict::Ok]);
    }

    #[test]
    fn authority_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<DigestAuthority>();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// One parameter as a client may write it: quoted (with `\` escapes), or bare when the value
    /// allows it; the name in any case.
    fn written(name: &str, value: &str, quote: bool, upper: bool) -> String {
        let name = if upper {
            name.to_ascii_uppercase()
        } else {
            name.to_string()
        };
        let bare_ok = !value.is_empty()
            && !value.starts_with('"')
            && !value.contains(|c: char| c.is_ascii_whitespace() || c == ',');
        if quote || !bare_ok {
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
            format!("{name}=\"{escaped}\"")
        } else {
            format!("{name}={value}")
        }
    }

    proptest! {
        /// Any values, quoted or bare, in any order, case and separators, read back as sent.
        #[test]
        fn parameters_round_trip(
            values in proptest::collection::vec("\\PC{0,12}|[\"\\\\, =]{0,6}", 6),
            quoting in proptest::collection::vec((any::<bool>(), any::<bool>()), 9),
            nc in 1_u32..,
            sha256 in any::<bool>(),
            separator in proptest::sample::select(vec![", ", ",", " ", " ,\t", ",,"]),
            order in Just((0..9).collect::<Vec<usize>>()).prop_shuffle(),
        ) {
            let names = ["username", "realm", "nonce", "uri", "response", "cnonce"];
            let algorithm = if sha256 { "SHA-256" } else { "MD5" };
            let nc_raw = format!("{nc:08x}");
            let mut params: Vec<(&str, &str)> =
                names.iter().copied().zip(values.iter().map(String::as_str)).collect();
            params.extend([("algorithm", algorithm), ("qop", "auth"), ("nc", nc_raw.as_str())]);
            let header = order
                .iter()
                .map(|&i| {
                    let (name, value) = params[i];
                    written(name, value, quoting[i].0, quoting[i].1)
                })
                .collect::<Vec<_>>()
                .join(separator);
            let creds = parse_authorization(&format!("Digest {header}")).unwrap();
            prop_assert_eq!(&creds.username, &values[0]);
            prop_assert_eq!(&creds.realm, &values[1]);
            prop_assert_eq!(&creds.nonce, &values[2]);
            prop_assert_eq!(&creds.uri, &values[3]);
            prop_assert_eq!(&creds.response, &values[4]);
            prop_assert_eq!(creds.cnonce.as_deref(), Some(values[5].as_str()));
            prop_assert_eq!(creds.algorithm.as_str(), algorithm);
            prop_assert_eq!(creds.qop.as_deref(), Some("auth"));
            prop_assert_eq!(creds.nc, Some(nc));
        }
    }
}

//! Entry points for the fuzz targets in `fuzz/` to the parsers that are private to their modules.
//! Each one calls the parser the server runs, as the server calls it; parsers that are already
//! public are called by the targets directly.

use axum::http::{HeaderMap, HeaderValue, Uri, header};
use bytes::BytesMut;
use ldap3_proto::proto::{LdapFilter, LdapMsg};
use tokio_util::codec::{Decoder as _, Encoder as _};

use crate::core::CoreResult;
use crate::core::address_book::Filter;
use crate::core::calls::{CdrInput, Fed};

/// The user name and password of a `Basic` Authorization header (`auth::basic_credentials`).
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    crate::auth::basic_credentials(header)
}

/// SIP2SIP's parameters of a request to `/settings.phtml?{query}` with this content type and
/// body. None when the query or content type could not arrive in an HTTP request at all.
pub fn sip2sip_params(
    query: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Option<Result<Vec<(String, String)>, String>> {
    let uri: Uri = format!("/settings.phtml?{query}").parse().ok()?;
    let mut headers = HeaderMap::new();
    if let Some(ct) = content_type {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).ok()?);
    }
    Some(
        crate::dialects::sip2sip::Params::parse(&uri, &headers, body)
            .map(|params| params.0.into_iter().collect()),
    )
}

/// The rows of a `switchyard cdr import` file (JSON lines or CSV).
pub fn cdr_file(text: &str) -> anyhow::Result<Vec<Fed<CdrInput>>> {
    crate::cli::read_cdr_file(text)
}

/// Decodes LDAP messages from `buf` with the listener's codec (header check, size and BER depth
/// limits) until it needs more bytes or refuses them, as a connection reads them.
pub fn ldap_decode(buf: &mut BytesMut) -> (Vec<LdapMsg>, Option<std::io::Error>) {
    let mut codec = crate::server::ldap::Codec::new();
    let mut messages = Vec::new();
    loop {
        match codec.decode(buf) {
            Ok(Some(msg)) => messages.push(msg),
            Ok(None) => return (messages, None),
            Err(e) => return (messages, Some(e)),
        }
    }
}

/// Encodes a message as the listener sends it.
pub fn ldap_encode(msg: LdapMsg) -> std::io::Result<BytesMut> {
    let mut buf = BytesMut::new();
    crate::server::ldap::Codec::new().encode(msg, &mut buf)?;
    Ok(buf)
}

/// An LDAP search filter as the address book's filter, refused when over its limits, as a search
/// converts and checks it.
pub fn ldap_filter(filter: &LdapFilter) -> CoreResult<Filter> {
    let converted = crate::dialects::ldap::core_filter(filter);
    converted.check()?;
    Ok(converted)
}

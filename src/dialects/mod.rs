//! Wire dialects: thin translations between a wire format and the core.

pub mod c5;
pub mod feed;
pub mod ldap;
pub mod sip2sip;
pub mod sipx;
pub mod sipx_soap;
pub mod xmlrpc;

/// Adds one `WWW-Authenticate` header per challenge, in order, to a 401 answer.
pub(crate) fn add_challenges(
    response: &mut axum::response::Response,
    challenges: impl IntoIterator<Item = String>,
) {
    for value in challenges {
        if let Ok(v) = axum::http::HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .append(axum::http::header::WWW_AUTHENTICATE, v);
        }
    }
}

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

/// One route of one dialect as its dispatcher serves it: built from the dispatcher's own table,
/// so a route added to a dialect shows up here (and in the isolation matrix) without anyone
/// listing it twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub dialect: &'static str,
    /// The HTTP method, or `CALL` for an XML-RPC method or a SOAP operation, `OP` for an LDAP
    /// operation, `ACTION` for a SIP2SIP action (GET and POST alike).
    pub method: &'static str,
    /// A path pattern (`{id}` for a segment), or the method, operation or action name.
    pub route: String,
    /// Whether a successful call changes data (and so writes an audit row).
    pub mutates: bool,
}

impl RouteSpec {
    pub fn new(
        dialect: &'static str,
        method: &'static str,
        route: impl Into<String>,
        mutates: bool,
    ) -> Self {
        Self {
            dialect,
            method,
            route: route.into(),
            mutates,
        }
    }
}

/// Every route of every dialect, the admin page included.
pub fn all_routes() -> Vec<RouteSpec> {
    [
        xmlrpc::routes(),
        c5::routes(),
        sipx_soap::routes(),
        sipx::routes(),
        sip2sip::routes(),
        feed::routes(),
        ldap::routes(),
        crate::admin::route_specs(),
    ]
    .concat()
}

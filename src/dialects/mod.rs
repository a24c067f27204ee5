//! Wire dialects: thin translations between a wire format and the core.

pub mod c5;
pub mod feed;
pub mod ldap;
pub mod sip2sip;
pub mod sipx;
pub mod sipx_soap;
pub mod xmlrpc;

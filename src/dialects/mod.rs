//! Wire dialects: thin translations between a wire format and the core.

pub mod c5;
pub mod ldap;
pub mod sipx;
pub mod sipx_soap;
pub mod xmlrpc;

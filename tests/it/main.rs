//! The one integration-test binary: every test drives the real server with real clients.

mod audit;
mod auth_digest;
mod common;
mod server;
mod trusted_hosts;
mod xmlrpc_errors;

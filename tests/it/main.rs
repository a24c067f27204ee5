//! The one integration-test binary: every test drives the real server with real clients.

// Test code: a panic is the failure report, and synchronous tests may sleep.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod admin_ui;
mod audit;
mod auth_digest;
mod cli;
mod clients;
mod common;
mod server;
mod trusted_hosts;
mod xmlrpc_errors;

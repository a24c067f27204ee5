//! The one integration-test binary: every test drives the real server with real clients.

// Test code: a panic is the failure report, and synchronous tests may sleep.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod admin_ui;
mod audit;
mod audit_completeness;
mod auth_digest;
mod c5;
mod c5_clients;
mod c5_features;
mod cli;
mod client_cert;
mod clients;
mod common;
mod crash;
mod floods;
mod hostile;
mod isolation;
mod ldap;
mod packaging;
mod server;
mod sip2sip;
mod sipx_rest;
mod sipx_soap;
mod storage_faults;
mod throttles;
mod trusted_hosts;
mod upgrade;
mod xmlrpc_errors;

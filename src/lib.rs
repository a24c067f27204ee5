//! switchyard: a provisioning appliance serving several softswitch API dialects over one core.
//! See ARCHITECTURE.md for the code map.

pub mod admin;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod core;
pub mod db;
pub mod dialects;
pub mod fuzzing;
pub mod server;

//! switchyard: a provisioning appliance serving several softswitch API dialects over one core.
//! See ARCHITECTURE.md for the code map.

pub mod auth;
pub mod clock;
pub mod dialects;

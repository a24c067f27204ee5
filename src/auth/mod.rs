//! Turning a request's credentials into a principal.

pub mod digest;

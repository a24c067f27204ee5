//! Wire dialects: thin translations between a wire format and the core.

pub mod xmlrpc;

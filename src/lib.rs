//! mcpmux as a library: configuration, and (in later modules) the
//! multiplexer itself; the binary in `main.rs` is a thin CLI over it.

pub mod cli;
pub mod config;

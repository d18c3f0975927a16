//! mcpmux as a library: configuration (`config`), the merged catalog
//! (`names`, `router`) and secret-safe messages (`redact`); the binary in
//! `main.rs` is a thin shell over them.

pub mod cli;
pub mod config;
pub mod names;
pub mod redact;
pub mod router;

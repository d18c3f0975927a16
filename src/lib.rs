//! mcpmux as a library: configuration (`config`), the backends and their
//! supervision (`backend`), the merged catalog (`names`, `router`), the shared
//! state and call path (`hub`), the MCP server clients see (`front`), the
//! client endpoints (`listen`) and the commands that run it all (`serve`,
//! `cli`); the binary in `main.rs` is a thin shell over them.

pub mod backend;
pub mod cli;
pub mod config;
pub mod front;
pub mod hub;
pub mod listen;
pub mod names;
pub mod redact;
pub mod router;
pub mod serve;

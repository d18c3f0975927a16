//! mcpmux as a library: configuration (`config`) and what the runtime makes
//! of it (`resolve`), the backends and their supervision (`backend`) with
//! their changing credentials (`auth`), the
//! merged catalog (`names`, `router`), progress routing (`progress`), the
//! shared state and call path (`hub`), the MCP server clients see (`front`)
//! with its era bridge (`bridge`), the client endpoints (`listen`), life
//! under systemd (`daemon`) and the commands that run it all (`serve`,
//! `doctor`, `connect`, `cli`); the binary in `main.rs` is a thin shell over
//! them.

pub mod auth;
pub mod backend;
pub mod baked;
pub mod bridge;
pub mod cli;
pub mod clients;
pub mod config;
pub mod connect;
pub mod daemon;
pub mod doctor;
pub mod filter;
pub mod forward;
pub mod front;
pub mod fronts;
pub mod hub;
pub mod import;
pub mod install;
pub mod lane;
pub mod listen;
pub mod meta_tools;
pub mod metrics;
pub mod names;
pub mod otel;
pub mod profile;
pub mod progress;
pub mod redact;
pub mod relay;
pub mod resolve;
pub mod router;
pub mod search;
pub mod serve;
pub mod sessions;
pub mod subscriptions;
pub mod uri;

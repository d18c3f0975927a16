//! Configuration: the types generated from the JSON Schema (`types`), the
//! runtime they call (`support`), and loading a file into them (`load`, with
//! `${VAR}` expansion in `env` and source positions in `locate`).

mod env;
pub mod load;
mod locate;
pub mod support;
pub mod types;

pub use env::expand as expand_env;
pub use load::{Diagnostic, LoadError, load_file, parse, resolve};
pub use support::Secret;
pub use types::*;

//! Configuration: the types generated from the JSON Schema (`types`), the
//! runtime they call (`support`, the `mcpmux-config-support` crate under the
//! path the generated code names), and loading a file into them (`load`, with
//! `${VAR}` expansion in `env` — from the process environment, else the
//! `env` file beside the configuration — source positions in `locate`, and
//! the cross-references the schema cannot state: prefixes distinct, profiles
//! naming real backends, client tokens present). The only hand-written code on
//! a generated type is `Backend::effective_prefix`, a derived value.

mod env;
pub mod load;
mod locate;
pub mod types;

pub use env::expand as expand_env;
pub use load::{
    Diagnostic, LoadError, Overrides, check_no_env, env_file_beside, env_file_vars, literal_secrets, load_file,
    load_for_run, no_env, parse, parse_with, resolve, written_redacted,
};
pub use mcpmux_config_support as support;
pub use support::Secret;
pub use types::*;

impl Backend {
    /// The prefix of this backend's public names: `prefix` if set, else its name.
    pub fn effective_prefix(&self) -> &str {
        self.prefix().as_deref().unwrap_or(self.name())
    }
}

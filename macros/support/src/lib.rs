//! The runtime mcpmux's generated configuration code calls into, and the
//! contract between the generator (`mcpmux-codegen`) and the app: the
//! redacting [`Secret`], Go-style [`duration`] text, [`pointer`]s (RFC 6901)
//! and the [`Errors`] collector the generated validator fills. Nothing here
//! knows the schema; it is the vocabulary the generator speaks. The app
//! re-exports it as `mcpmux::config::support`, the path the generated code
//! names.
//!
//! The generator itself uses only the text syntax (durations, pointers), so
//! everything else is behind the default `runtime` feature.

pub mod duration;
mod error;
pub mod pointer;
#[cfg(feature = "runtime")]
mod secret;
#[cfg(feature = "runtime")]
mod validate;

pub use error::{Target, ValidationError};
pub use pointer::Path;
#[cfg(feature = "runtime")]
pub use regex_lite::Regex;
#[cfg(feature = "runtime")]
pub use secret::Secret;
#[cfg(feature = "runtime")]
pub use validate::{Errors, did_you_mean, integral_numbers};

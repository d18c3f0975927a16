//! The configuration baked in at build time, if any (`build.rs` writes it
//! from `MCPMUX_BAKED_CONFIG`): its text as written, with `${VAR}`
//! references resolved when mcpmux starts, and the generated `match` from a
//! backend's prefix to its position — the seam where the baked router and
//! the runtime one meet.

/// A configuration baked into the binary.
#[derive(Debug, Clone, Copy)]
pub struct Baked {
    /// The file name it was baked from (no directory).
    pub file: &'static str,
    /// Its text, as written.
    pub text: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/baked.rs"));

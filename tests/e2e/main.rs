//! End-to-end tests of `mcpmux serve` and `mcpmux list` with real parts: the
//! real binary, real child processes and sockets on 127.0.0.1, rmcp clients
//! in both protocol eras over stdio and HTTP, rmcp test backends (this very
//! binary, re-executed with `MCPMUX_TEST_BACKEND=1`) and the npm "everything"
//! reference server. Run by `cargo test` (harness: libtest-mimic).

mod backend;
mod cases;
mod harness;
mod interop;
mod matrix;

use libtest_mimic::{Arguments, Trial};

fn main() {
    if std::env::var_os("MCPMUX_TEST_BACKEND").is_some() {
        backend::run();
        return;
    }
    // The HTTP test client speaks TLS through rustls like mcpmux does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = Arguments::from_args();
    let trials = cases::all().into_iter().chain(matrix::all()).collect();
    libtest_mimic::run(&args, trials).exit();
}

/// A test case: a name and an async body.
pub fn trial(name: &str, body: fn() -> harness::Result) -> Trial {
    Trial::test(name, move || {
        body().map_err(|e| libtest_mimic::Failed::from(e.to_string()))
    })
}

//! End-to-end tests of `mcpmux serve` and `mcpmux list` with real parts: the
//! real binary, real child processes and sockets on 127.0.0.1, rmcp clients
//! in both protocol eras over stdio and HTTP, rmcp test backends (this very
//! binary, re-executed with `MCPMUX_TEST_BACKEND=1`) and the npm "everything"
//! reference server, the Python SDK as client and as server. Run by `cargo
//! test` (harness: libtest-mimic). The cases are kept by area: the main
//! scenario, calls, the catalog, supervision, credentials, interop with
//! peers nobody here wrote, and the client × backend matrix.

mod backend;
mod baked;
mod calls;
mod catalog;
mod conformance;
mod connect;
mod credentials;
mod daemon;
mod filters;
mod harness;
mod hostile;
mod import;
mod interop;
mod lane;
mod matrix;
mod metrics;
mod oauth;
#[cfg(feature = "otel")]
mod otel;
mod profiles;
mod reference;
mod scenario;
mod search;
mod sessions;
mod supervision;
mod surface;

use libtest_mimic::{Arguments, Trial};

fn main() {
    if std::env::var_os("MCPMUX_TEST_BACKEND").is_some_and(|v| v == "reference") {
        reference::run();
        return;
    }
    if std::env::var_os("MCPMUX_TEST_BACKEND").is_some() {
        backend::run();
        return;
    }
    // The HTTP test client speaks TLS through rustls like mcpmux does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = Arguments::from_args();
    let trials = [
        scenario::all(),
        calls::all(),
        catalog::all(),
        supervision::all(),
        credentials::all(),
        connect::all(),
        surface::all(),
        interop::all(),
        matrix::all(),
        conformance::all(),
        oauth::all(),
        daemon::all(),
        baked::all(),
        hostile::all(),
        sessions::all(),
        lane::all(),
        filters::all(),
        search::all(),
        profiles::all(),
        import::all(),
        metrics::all(),
        #[cfg(feature = "otel")]
        otel::all(),
    ]
    .into_iter()
    .flatten()
    .collect();
    libtest_mimic::run(&args, trials).exit();
}

/// A test case: a name and an async body.
pub fn trial(name: &str, body: fn() -> harness::Result) -> Trial {
    Trial::test(name, move || {
        body().map_err(|e| libtest_mimic::Failed::from(e.to_string()))
    })
}

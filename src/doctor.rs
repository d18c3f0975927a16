//! `mcpmux doctor`: tries every configured backend once, as `list` does,
//! and reports per backend whether it started or connected, how it
//! authenticates and where that stands, how many tools it offers, how long
//! its first attempt took and its latency (the median of three pings) — a
//! readable table, exit 1 if any is broken.

use std::io::Write;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use crate::backend::Status;
use crate::config::{Auth, Backend as Entry, Config};
use crate::hub::Hub;
use crate::resolve::{Mode, Resolved};

/// One backend's line.
struct Row {
    name: String,
    kind: String,
    auth: String,
    state: String,
    tools: String,
    took: String,
    /// The median of a few round trips (`ping`).
    ping: String,
    ok: bool,
}

/// The median of three round trips to a connected backend: `ping`, or
/// where that is not answered (2026-07-28 servers need not), a first page
/// of tools/list.
async fn ping(b: &crate::backend::Backend) -> Option<std::time::Duration> {
    let peer = b.peer()?;
    let limit = std::time::Duration::from_secs(5);
    let mut use_list = false;
    let mut times = Vec::new();
    while times.len() < 3 {
        let began = std::time::Instant::now();
        let answered = if use_list {
            tokio::time::timeout(limit, peer.list_tools(None)).await.ok()?.is_ok()
        } else {
            let request = rmcp::model::ClientRequest::PingRequest(Default::default());
            tokio::time::timeout(limit, peer.send_request(request))
                .await
                .ok()?
                .is_ok()
        };
        match (answered, use_list) {
            (true, _) => times.push(began.elapsed()),
            (false, false) => use_list = true,
            (false, true) => return None,
        }
    }
    times.sort();
    Some(times[1])
}

/// How an entry authenticates, and (for OAuth) whether a login is stored.
fn auth_of(entry: &Entry, settings: &crate::auth::AuthSettings) -> String {
    match entry {
        Entry::Command(c) if c.env.is_empty() => "-".into(),
        Entry::Command(c) => format!("env ({} set)", c.env.len()),
        Entry::Http(h) => match &h.auth {
            Auth::None(_) => "none".into(),
            Auth::Bearer(_) => "bearer".into(),
            Auth::Header(x) => format!("header {}", x.header),
            Auth::Command(_) => "credential helper".into(),
            Auth::Oauth(_) => {
                let store = crate::auth::store_for(settings, entry.name(), &h.endpoint);
                let logged_in = store
                    .read()
                    .is_ok_and(|r| r.credentials.is_some_and(|c| c.token_response.is_some()));
                if logged_in {
                    "oauth (logged in)".into()
                } else {
                    "oauth (not logged in)".into()
                }
            }
        },
    }
}

pub async fn doctor(config: Config, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let resolved = Resolved::new(&config, Mode::List);
    if resolved.backends.is_empty() {
        writeln!(out, "no backends configured")?;
        return Ok(ExitCode::FAILURE);
    }
    crate::serve::install_crypto();
    let hub = Hub::new(&resolved);
    let shutdown = CancellationToken::new();
    crate::serve::on_signals(shutdown.clone());
    let mut tasks = hub.start(&shutdown);
    tokio::select! {
        () = hub.wait_settled(resolved.list_wait()) => {}
        () = shutdown.cancelled() => {
            // Interrupted: the backends (their own process groups) are ended all the same.
            hub.stop_backends(std::time::Duration::from_secs(15)).await;
            anyhow::bail!("interrupted");
        }
    }
    let mut rows = Vec::new();
    for (b, entry) in hub.backends().iter().zip(&config.backends) {
        let status = b.status();
        let (state, ok) = match &*status {
            Status::Ready { protocol, .. } => (format!("ok (protocol {protocol})"), true),
            _ if b.authorizing() => (format!("needs a login: run `mcpmux auth login {}`", b.spec.name), false),
            Status::Connecting => ("still connecting".into(), false),
            Status::Down { error, .. } => (error.clone(), false),
            Status::Stopped => ("stopped".into(), false),
        };
        let catalog = b.catalog();
        rows.push(Row {
            name: b.spec.name.to_string(),
            kind: match entry {
                Entry::Command(c) => format!("command {}", c.command[0]),
                Entry::Http(_) => "http".into(),
            },
            auth: auth_of(entry, &resolved.settings.auth),
            state,
            tools: if ok {
                catalog.tools.len().to_string()
            } else {
                "-".into()
            },
            took: b
                .first_attempt_took()
                .map_or_else(|| "-".into(), |d| format!("{:.2}s", d.as_secs_f64())),
            ping: match ping(b).await {
                Some(d) => format!("{:.2}ms", d.as_secs_f64() * 1000.0),
                None => "-".into(),
            },
            ok,
        });
    }
    shutdown.cancel();
    hub.stop_backends(std::time::Duration::from_secs(15)).await;
    while tasks.join_next().await.is_some() {}
    let width = |f: fn(&Row) -> &str, title: &str| {
        rows.iter()
            .map(|r| f(r).chars().count())
            .max()
            .unwrap_or(0)
            .max(title.len())
    };
    let (wn, wk, wa, wt, wd, wp) = (
        width(|r| &r.name, "BACKEND"),
        width(|r| &r.kind, "KIND"),
        width(|r| &r.auth, "AUTH"),
        width(|r| &r.tools, "TOOLS"),
        width(|r| &r.took, "TOOK"),
        width(|r| &r.ping, "PING"),
    );
    writeln!(
        out,
        "{:<wn$}  {:<wk$}  {:<wa$}  {:>wt$}  {:>wd$}  {:>wp$}  STATE",
        "BACKEND", "KIND", "AUTH", "TOOLS", "TOOK", "PING"
    )?;
    for r in &rows {
        writeln!(
            out,
            "{:<wn$}  {:<wk$}  {:<wa$}  {:>wt$}  {:>wd$}  {:>wp$}  {}",
            r.name, r.kind, r.auth, r.tools, r.took, r.ping, r.state
        )?;
    }
    let broken = rows.iter().filter(|r| !r.ok).count();
    if broken == 0 {
        writeln!(out, "\nall {} backends are fine", rows.len())?;
        Ok(ExitCode::SUCCESS)
    } else {
        writeln!(out, "\n{broken} of {} backends need attention", rows.len())?;
        Ok(ExitCode::FAILURE)
    }
}

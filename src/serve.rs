//! Running mcpmux: `serve` binds the client endpoint first (so clients can
//! connect at once), starts every backend's supervisor, serves until the
//! client leaves or a signal arrives, then stops every backend (and so every
//! child process group). `list` connects the backends once, prints the merged
//! catalog and exits.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::backend::Status;
use crate::config::Config;
use crate::hub::Hub;
use crate::listen;
use crate::resolve::{Listen, Mode, Resolved};

/// How long backends get to stop (a child: stdin closed, SIGTERM, then SIGKILL).
const STOP: Duration = Duration::from_secs(15);

fn no_backends() -> anyhow::Error {
    anyhow::anyhow!(
        "no backends configured: add them under `backends:` in the configuration, or pass --backend NAME=COMMAND"
    )
}

/// TLS for https backends: rustls with the ring provider, roots from the platform.
fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Cancels `shutdown` on SIGINT or SIGTERM.
fn on_signals(shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cannot watch SIGTERM: {e}");
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("interrupted; shutting down"),
            _ = term.recv() => tracing::info!("terminated; shutting down"),
        }
        shutdown.cancel();
    });
}

async fn stop(mut tasks: JoinSet<()>) {
    if tokio::time::timeout(STOP, async { while tasks.join_next().await.is_some() {} })
        .await
        .is_err()
    {
        tracing::warn!("some backends did not stop within {STOP:?}");
    }
}

/// A line about where the backends stand.
fn summary(hub: &Hub) -> String {
    let ready = hub
        .backends
        .iter()
        .filter(|b| matches!(&*b.status(), Status::Ready { .. }))
        .count();
    format!(
        "{ready} of {} backends connected, {} tools",
        hub.backends.len(),
        hub.router().tools.len()
    )
}

pub async fn serve(config: Config) -> anyhow::Result<()> {
    let resolved = Resolved::new(&config, Mode::Serve);
    if resolved.backends.is_empty() {
        return Err(no_backends());
    }
    install_crypto();
    let shutdown = CancellationToken::new();
    on_signals(shutdown.clone());
    let hub = Hub::new(&resolved);
    let listener = match &resolved.listen {
        Listen::Http { address, path } => Some((listen::bind(address).await?, path.clone())),
        Listen::Stdio => None,
    };
    let tasks = hub.start(&shutdown);
    let watcher = hub.clone();
    tokio::spawn(async move {
        watcher.wait_settled(Duration::from_secs(86_400)).await;
        tracing::info!("ready: {}", summary(&watcher));
    });
    let served = match listener {
        Some((l, path)) => listen::http(hub.clone(), l, path, shutdown.clone()).await,
        None => listen::stdio(hub.clone(), shutdown.clone()).await,
    };
    shutdown.cancel();
    stop(tasks).await;
    served
}

/// One row of `mcpmux list --json`.
#[derive(serde::Serialize)]
struct ListedTool<'a> {
    name: &'a str,
    backend: &'a str,
    original_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

#[derive(serde::Serialize)]
struct ListedBackend<'a> {
    name: &'a str,
    prefix: &'a str,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<String>,
    tools: usize,
}

pub async fn list(config: Config, json: bool, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    // One attempt each: a listing should not wait out a retry schedule.
    let resolved = Resolved::new(&config, Mode::List);
    if resolved.backends.is_empty() {
        return Err(no_backends());
    }
    install_crypto();
    let shutdown = CancellationToken::new();
    on_signals(shutdown.clone());
    let hub = Hub::new(&resolved);
    let tasks = hub.start(&shutdown);
    hub.wait_settled(resolved.list_wait()).await;
    let router = hub.router();
    let code = write_listing(&hub, &router, json, out);
    shutdown.cancel();
    stop(tasks).await;
    Ok(code?)
}

fn write_listing(
    hub: &Arc<Hub>,
    router: &crate::router::Router,
    json: bool,
    out: &mut dyn Write,
) -> std::io::Result<ExitCode> {
    let rows: Vec<ListedTool<'_>> = router
        .tools
        .iter()
        .zip(&router.owners)
        .map(|(t, owner)| {
            let original = router.route(&t.name).map_or("", |r| &*r.name);
            let description = hub.backends.get(owner).and_then(|b| {
                b.catalog()
                    .tools
                    .iter()
                    .find(|x| x.name == original)
                    .and_then(|x| x.description.as_ref().map(|d| d.to_string()))
            });
            ListedTool {
                name: &t.name,
                backend: owner,
                original_name: original,
                description,
            }
        })
        .collect();
    let backends: Vec<ListedBackend<'_>> = hub
        .backends
        .iter()
        .map(|b| ListedBackend {
            name: &b.spec.name,
            prefix: &b.spec.prefix,
            status: b.describe_status(),
            protocol: match &*b.status() {
                Status::Ready { protocol, .. } => Some(protocol.to_string()),
                _ => None,
            },
            tools: router.owners.iter().filter(|o| **o == b.spec.name).count(),
        })
        .collect();
    let all_ready = backends.iter().all(|b| b.protocol.is_some());
    if json {
        let report = serde_json::json!({ "tools": rows, "backends": backends, "clashes": router.clashes.iter().map(|c| serde_json::json!({"name": c.public, "kept": c.kept, "dropped": c.dropped})).collect::<Vec<_>>() });
        writeln!(out, "{}", serde_json::to_string_pretty(&report).unwrap_or_default())?;
    } else {
        let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
        let bwidth = rows.iter().map(|r| r.backend.len()).max().unwrap_or(7).max(7);
        writeln!(out, "{:width$}  {:bwidth$}  DESCRIPTION", "TOOL", "BACKEND")?;
        for r in &rows {
            let line = r.description.as_deref().unwrap_or("").lines().next().unwrap_or("");
            let line: String = if line.chars().count() > 80 {
                line.chars().take(77).chain("...".chars()).collect()
            } else {
                line.to_string()
            };
            writeln!(out, "{:width$}  {:bwidth$}  {line}", r.name, r.backend)?;
        }
        writeln!(out)?;
        for b in &backends {
            writeln!(out, "backend {}: {} ({} tools)", b.name, b.status, b.tools)?;
        }
        for c in &router.clashes {
            writeln!(
                out,
                "clash: {:?} is offered by {} and {}; {}'s is served",
                c.public, c.kept, c.dropped, c.kept
            )?;
        }
    }
    Ok(if all_ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

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

use crate::backend::{self, Status};
use crate::config::Config;
use crate::hub::Hub;
use crate::listen;
use crate::resolve::{Listen, Mode, Resolved};
use crate::router::{Named, Names, Router};

/// How long backends get to stop (a child: stdin closed, SIGTERM, then SIGKILL).
const STOP: Duration = Duration::from_secs(15);

fn no_backends() -> anyhow::Error {
    anyhow::anyhow!(
        "no backends configured: add them under `backends:` in the configuration, or pass --backend NAME=COMMAND"
    )
}

/// TLS for https backends: rustls with the ring provider, roots from the platform.
pub fn install_crypto() {
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
    let router = hub.router();
    format!(
        "{ready} of {} backends connected, {} tools, {} prompts, {} resources, {} resource templates",
        hub.backends.len(),
        router.tools.items.len(),
        router.prompts.items.len(),
        router.resources.len(),
        router.templates.len()
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

/// One named item (tool or prompt) of `mcpmux list`.
#[derive(serde::Serialize)]
struct ListedItem<'a> {
    name: &'a str,
    backend: &'a str,
    original_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

/// One resource or resource template of `mcpmux list`.
#[derive(serde::Serialize)]
struct ListedResource<'a> {
    uri: &'a str,
    backend: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
}

#[derive(serde::Serialize)]
struct ListedBackend<'a> {
    name: &'a str,
    prefix: &'a str,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<String>,
    tools: usize,
    prompts: usize,
    resources: usize,
    resource_templates: usize,
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

/// The rows of one kind of named item, with each one's own description.
fn named_rows<'a, T: Named>(
    hub: &Hub,
    names: &'a Names<T>,
    own: impl Fn(&backend::Catalog, &str) -> Option<String>,
) -> Vec<ListedItem<'a>> {
    names
        .items
        .iter()
        .zip(&names.owners)
        .map(|(item, owner)| {
            let original = names.route(item.name()).map_or("", |r| &*r.name);
            let description = hub.backends.get(owner).and_then(|b| own(&b.catalog(), original));
            ListedItem {
                name: item.name(),
                backend: owner,
                original_name: original,
                description,
            }
        })
        .collect()
}

fn write_listing(hub: &Arc<Hub>, router: &Router, json: bool, out: &mut dyn Write) -> std::io::Result<ExitCode> {
    let tools = named_rows(hub, &router.tools, |c, name| {
        c.tools
            .iter()
            .find(|t| t.name == name)
            .and_then(|t| t.description.as_ref().map(|d| d.to_string()))
    });
    let prompts = named_rows(hub, &router.prompts, |c, name| {
        c.prompts
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.description.clone())
    });
    let resources: Vec<ListedResource<'_>> = router
        .resources
        .iter()
        .zip(&router.resource_owners)
        .map(|(r, owner)| ListedResource {
            uri: &r.uri,
            backend: owner,
            name: &r.name,
            description: r.description.as_deref(),
        })
        .collect();
    let templates: Vec<ListedResource<'_>> = router
        .templates
        .iter()
        .zip(&router.template_owners)
        .map(|(t, owner)| ListedResource {
            uri: &t.uri_template,
            backend: owner,
            name: &t.name,
            description: t.description.as_deref(),
        })
        .collect();
    let count = |owners: &[Arc<str>], b: &str| owners.iter().filter(|o| ***o == *b).count();
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
            tools: count(&router.tools.owners, &b.spec.name),
            prompts: count(&router.prompts.owners, &b.spec.name),
            resources: count(&router.resource_owners, &b.spec.name),
            resource_templates: count(&router.template_owners, &b.spec.name),
        })
        .collect();
    let all_ready = backends.iter().all(|b| b.protocol.is_some());
    let clashes: Vec<_> = router.clashes().collect();
    if json {
        let report = serde_json::json!({
            "tools": tools,
            "prompts": prompts,
            "resources": resources,
            "resource_templates": templates,
            "backends": backends,
            "clashes": clashes.iter().map(|c| serde_json::json!({"name": c.public, "kept": c.kept, "dropped": c.dropped})).collect::<Vec<_>>(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&report).unwrap_or_default())?;
    } else {
        table(
            out,
            "TOOL",
            tools.iter().map(|r| (r.name, r.backend, r.description.as_deref())),
        )?;
        if !prompts.is_empty() {
            writeln!(out)?;
            table(
                out,
                "PROMPT",
                prompts.iter().map(|r| (r.name, r.backend, r.description.as_deref())),
            )?;
        }
        if !resources.is_empty() {
            writeln!(out)?;
            table(
                out,
                "RESOURCE",
                resources.iter().map(|r| (r.uri, r.backend, Some(r.name))),
            )?;
        }
        if !templates.is_empty() {
            writeln!(out)?;
            table(
                out,
                "RESOURCE TEMPLATE",
                templates.iter().map(|r| (r.uri, r.backend, Some(r.name))),
            )?;
        }
        writeln!(out)?;
        for b in &backends {
            let mut offers = format!("{} tools", b.tools);
            for (n, what) in [
                (b.prompts, "prompts"),
                (b.resources, "resources"),
                (b.resource_templates, "resource templates"),
            ] {
                if n > 0 {
                    offers.push_str(&format!(", {n} {what}"));
                }
            }
            writeln!(out, "backend {}: {} ({offers})", b.name, b.status)?;
        }
        for c in &clashes {
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

/// A table of `(name, backend, description)` rows under `heading`.
fn table<'a>(
    out: &mut dyn Write,
    heading: &str,
    rows: impl Iterator<Item = (&'a str, &'a str, Option<&'a str>)> + Clone,
) -> std::io::Result<()> {
    let width = rows.clone().map(|r| r.0.len()).max().unwrap_or(0).max(heading.len());
    let bwidth = rows.clone().map(|r| r.1.len()).max().unwrap_or(0).max(7);
    writeln!(out, "{heading:width$}  {:bwidth$}  DESCRIPTION", "BACKEND")?;
    for (name, backend, description) in rows {
        let line = description.unwrap_or("").lines().next().unwrap_or("");
        let line: String = if line.chars().count() > 80 {
            line.chars().take(77).chain("...".chars()).collect()
        } else {
            line.to_string()
        };
        writeln!(out, "{name:width$}  {backend:bwidth$}  {line}")?;
    }
    Ok(())
}

//! Running mcpmux: where the configuration comes from (`--config`, else the
//! baked one, else the search path) and `mcpmux config`; `serve` binds the
//! client endpoint first (so clients can connect at once), starts every
//! backend's supervisor, answers SIGHUP (reload) and SIGUSR1 (retry), serves
//! until the client leaves or SIGTERM/SIGINT, lets calls in flight finish,
//! then stops every backend (and so every child process group). `list`
//! connects the backends once, prints the merged catalog and exits.

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
use crate::profile::{Kind, View};
use crate::resolve::{Listen, Mode, Resolved};
use crate::router::{Named, Names, Router};

/// How long READY waits for backends' first tries at most.
const READY_WAIT: Duration = Duration::from_secs(90);

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
pub fn on_signals(shutdown: CancellationToken) {
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
    let backends = hub.backends();
    let ready = backends
        .iter()
        .filter(|b| matches!(&*b.status(), Status::Ready { .. }))
        .count();
    let router = hub.router();
    format!(
        "{ready} of {} backends connected, {} tools, {} prompts, {} resources, {} resource templates",
        backends.len(),
        router.tools.items.len(),
        router.prompts.items.len(),
        router.resources.len(),
        router.templates.len()
    )
}

/// Where a running mcpmux's configuration comes from, so that SIGHUP can
/// read it again.
#[derive(Debug, Clone, Default)]
pub struct Source {
    /// `--config`, if given (else the search path).
    pub explicit: Option<std::path::PathBuf>,
    /// What the command line adds.
    pub overrides: crate::config::Overrides,
    /// The profile a stdio client is served (`--profile`; None: the whole catalog).
    pub profile: Option<String>,
}

impl Source {
    fn load(&self) -> Result<Config, crate::config::LoadError> {
        load_config(self.explicit.as_deref(), &self.overrides)
    }
}

/// The configuration a run uses: `--config` when given; else the one baked
/// into the binary, if any; else the search path (runtime-config mode).
/// Variables are resolved from the environment either way.
pub fn load_config(
    explicit: Option<&std::path::Path>,
    overrides: &crate::config::Overrides,
) -> Result<Config, crate::config::LoadError> {
    match (explicit, crate::baked::BAKED) {
        (None, Some(baked)) => crate::config::parse_with(
            baked.text,
            &format!("(baked) {}", baked.file),
            &crate::config::load::process_env,
            overrides,
        )
        .map_err(|diagnostics| crate::config::LoadError::Invalid { diagnostics }),
        _ => crate::config::load_for_run(explicit, overrides),
    }
}

/// `mcpmux config`: the configuration in force, as written (`${VAR}`
/// references unresolved, so no secret is printed unless written literally
/// in a file).
pub fn print_config(explicit: Option<&std::path::Path>, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match (explicit, crate::baked::BAKED) {
        (None, Some(baked)) => {
            writeln!(out, "# baked into this binary from {}", baked.file)?;
            out.write_all(baked.text.as_bytes())?;
        }
        _ => {
            let path = crate::config::resolve(explicit)?;
            let file = path.display().to_string();
            let doc = crate::config::written_redacted(&std::fs::read_to_string(&path)?, &file)
                .map_err(|d| anyhow::anyhow!("{}", d.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")))?;
            writeln!(out, "# {file} (literal secrets redacted)")?;
            out.write_all(yaml_serde::to_string(&doc)?.as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the daemon: binds the endpoint (a socket systemd passed wins over
/// `listen.address`), starts the backends, tells systemd it is ready once
/// each had its first try, and serves until SIGTERM/SIGINT (or, on stdio,
/// until the client leaves). SIGHUP reloads the configuration; SIGUSR1
/// retries every backend that is waiting to.
pub async fn serve(
    config: Config,
    source: Source,
    activation: Vec<(std::os::fd::RawFd, String)>,
) -> anyhow::Result<()> {
    let mut resolved = Resolved::new(&config, Mode::Serve);
    if resolved.backends.is_empty() {
        return Err(no_backends());
    }
    install_crypto();
    // First, so that an early SIGHUP or SIGTERM is handled, not fatal.
    let mut signals = Signals::new()?;
    let notifier = crate::daemon::Notifier::default();
    let shutdown = CancellationToken::new();
    let hub = Hub::new(&resolved);
    let view = match (&source.profile, &resolved.listen) {
        (None, _) => hub.views.everything.clone(),
        (Some(p), Listen::Http(front)) => anyhow::bail!(
            "--profile serves one profile over stdio; over HTTP every profile is served at {}/{p}",
            front.path.trim_end_matches('/')
        ),
        (Some(p), Listen::Stdio) => hub
            .views
            .get(Some(p))
            .ok_or_else(|| anyhow::anyhow!("{}", unknown_profile(&hub, p)))?,
    };
    // A passed socket wins over the configured address; the path and the
    // front door's settings still apply.
    let http = match (&resolved.listen, activation.is_empty()) {
        (Listen::Http(front), true) => Some((vec![listen::bind(&front.address).await?], front.clone())),
        (Listen::Http(front), false) => Some((listen::activated(&activation)?, front.clone())),
        (Listen::Stdio, false) => {
            let front = crate::resolve::HttpListen::new(&config.listen, crate::resolve::Address::Tcp(String::new()));
            Some((listen::activated(&activation)?, front))
        }
        (Listen::Stdio, true) => None,
    };
    let tasks = hub.start(&shutdown);
    if let Some(address) = config.listen.metrics.clone() {
        tokio::spawn(crate::metrics::serve(hub.clone(), address, shutdown.clone()));
    }
    notifier.watchdog(shutdown.clone());
    {
        let hub = hub.clone();
        let notifier = notifier.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            // Bounded well inside the unit's TimeoutStartSec: a backend still
            // trying then shows as pending in STATUS.
            if tokio::time::timeout(READY_WAIT, crate::daemon::first_tries(&hub))
                .await
                .is_err()
            {
                tracing::warn!("some backends are still on their first try after {READY_WAIT:?}; ready anyway");
            }
            if stop.is_cancelled() {
                return;
            }
            let status = crate::daemon::status_line(&hub);
            tracing::info!("ready: {}", summary(&hub));
            notifier.ready(&status);
            crate::daemon::follow_status(hub, notifier, stop);
        });
    }
    let mut served = {
        let hub = hub.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            match http {
                Some((listeners, front)) => listen::http(hub, listeners, &front, shutdown).await,
                None => listen::stdio(hub, view, shutdown).await,
            }
        })
    };
    let result = loop {
        tokio::select! {
            r = &mut served => break r.unwrap_or_else(|e| Err(anyhow::anyhow!("the endpoint failed: {e}"))),
            s = signals.next() => match s {
                Signal::Stop(why) => {
                    tracing::info!("{why}; shutting down");
                    notifier.stopping();
                    shutdown.cancel();
                }
                Signal::Reload | Signal::Retry if shutdown.is_cancelled() => {}
                Signal::Reload => {
                    notifier.reloading();
                    reload(&hub, &source, &mut resolved).await;
                    notifier.ready(&crate::daemon::status_line(&hub));
                }
                Signal::Retry => {
                    let n = hub.retry_pending();
                    tracing::info!("SIGUSR1: retrying {n} backend(s) now");
                }
            },
        }
    };
    notifier.stopping();
    shutdown.cancel();
    hub.stop_backends(STOP).await;
    stop(tasks).await;
    result
}

/// SIGHUP: reads and validates the configuration again; an invalid one is
/// reported and the running one kept; a valid one's backends are applied
/// (added, removed, changed; the unchanged ones left alone).
async fn reload(hub: &Hub, source: &Source, current: &mut Resolved) {
    let config = match source.load() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("SIGHUP: keeping the running configuration; the new one is not valid:\n{e}");
            return;
        }
    };
    let next = Resolved::new(&config, Mode::Serve);
    if next.listen != current.listen {
        tracing::warn!("SIGHUP: the listen section changed; restart mcpmux to apply it (ignored until then)");
    }
    if next.settings != current.settings {
        tracing::warn!(
            "SIGHUP: connect_retry, token_store, eager_auth or listen.page_size changed; restart mcpmux to apply them \
             (ignored until then)"
        );
    }
    if next.profiles != current.profiles {
        tracing::warn!("SIGHUP: the profiles changed; restart mcpmux to apply them (ignored until then)");
    }
    let done = hub.reload(&next).await;
    tracing::info!(
        added = ?done.added,
        removed = ?done.removed,
        restarted = ?done.restarted,
        unchanged = done.unchanged.len(),
        "SIGHUP: configuration reloaded"
    );
    current.backends = next.backends;
}

/// What a signal asks of the daemon.
enum Signal {
    Stop(&'static str),
    Reload,
    Retry,
}

/// The signals the daemon answers.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    usr1: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
            usr1: signal(SignalKind::user_defined1())?,
        })
    }

    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.term.recv() => Signal::Stop("terminated (SIGTERM)"),
            _ = self.int.recv() => Signal::Stop("interrupted (SIGINT)"),
            _ = self.hup.recv() => Signal::Reload,
            _ = self.usr1.recv() => Signal::Retry,
        }
    }
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

/// One profile of `mcpmux list`: what it offers now.
#[derive(serde::Serialize)]
struct ListedProfile<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    tool_mode: &'static str,
    tools: usize,
    prompts: usize,
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
    /// What its filters hid from its catalog, each with the rule.
    #[serde(skip_serializing_if = "backend::Hidden::is_empty")]
    hidden: backend::Hidden,
}

/// `mcpmux list`: the merged catalog (or `profile`'s part of it), each
/// backend's state and what its filters hid, and the profiles.
pub async fn list(
    config: Config,
    json: bool,
    profile: Option<String>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    // One attempt each: a listing should not wait out a retry schedule.
    let resolved = Resolved::new(&config, Mode::List);
    if resolved.backends.is_empty() {
        return Err(no_backends());
    }
    install_crypto();
    let shutdown = CancellationToken::new();
    on_signals(shutdown.clone());
    let hub = Hub::new(&resolved);
    let view = match &profile {
        None => hub.views.everything_listed.clone(),
        Some(p) => match hub.views.profiles.get(p) {
            Some(p) => p.listed.clone(),
            None => anyhow::bail!("{}", unknown_profile(&hub, p)),
        },
    };
    let tasks = hub.start(&shutdown);
    tokio::select! {
        () = hub.wait_settled(resolved.list_wait()) => {}
        () = shutdown.cancelled() => {
            hub.stop_backends(STOP).await;
            anyhow::bail!("interrupted");
        }
    }
    let router = hub.router();
    let code = write_listing(&hub, &router, &view, json, out);
    shutdown.cancel();
    hub.stop_backends(STOP).await;
    stop(tasks).await;
    Ok(code?)
}

/// The rows of one kind of named item `view` shows, with each one's own description.
fn named_rows<'a, T: Named>(
    hub: &Hub,
    names: &'a Names<T>,
    (view, kind): (&View, Kind),
    own: impl Fn(&backend::Catalog, &str) -> Option<String>,
) -> Vec<ListedItem<'a>> {
    names
        .items
        .iter()
        .zip(&names.owners)
        .filter(|(item, owner)| view.hides(kind, owner, item.name()).is_none())
        .map(|(item, owner)| {
            let original = names.route(item.name()).map_or("", |r| &*r.name);
            let description = hub.backends().get(owner).and_then(|b| own(&b.catalog(), original));
            ListedItem {
                name: item.name(),
                backend: owner,
                original_name: original,
                description,
            }
        })
        .collect()
}

fn write_listing(
    hub: &Arc<Hub>,
    router: &Router,
    view: &View,
    json: bool,
    out: &mut dyn Write,
) -> std::io::Result<ExitCode> {
    let tools = named_rows(hub, &router.tools, (view, Kind::Tool), |c, name| {
        c.tools
            .iter()
            .find(|t| t.name == name)
            .and_then(|t| t.description.as_ref().map(|d| d.to_string()))
    });
    let prompts = named_rows(hub, &router.prompts, (view, Kind::Prompt), |c, name| {
        c.prompts
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.description.clone())
    });
    let resources: Vec<ListedResource<'_>> = router
        .resources
        .iter()
        .zip(&router.resource_owners)
        .filter(|(_, owner)| view.backend_in(owner))
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
        .filter(|(_, owner)| view.backend_in(owner))
        .map(|(t, owner)| ListedResource {
            uri: &t.uri_template,
            backend: owner,
            name: &t.name,
            description: t.description.as_deref(),
        })
        .collect();
    let count = |owners: &[Arc<str>], b: &str| owners.iter().filter(|o| ***o == *b).count();
    let all = hub.backends();
    let backends: Vec<ListedBackend<'_>> = all
        .iter()
        .filter(|b| view.backend_in(&b.spec.name))
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
            hidden: b.catalog().hidden.clone(),
        })
        .collect();
    let all_ready = backends.iter().all(|b| b.protocol.is_some());
    let clashes: Vec<_> = router.clashes().collect();
    // The profiles, with what each offers now (in a profile's own listing, none).
    let profiles: Vec<ListedProfile<'_>> = if view.is_everything() {
        hub.views
            .profiles
            .iter()
            .map(|(name, p)| ListedProfile {
                name,
                description: p.view.description.as_deref(),
                tool_mode: if p.view.search { "search" } else { "all" },
                tools: p.view.tools(router).len(),
                prompts: p.view.prompts(router).len(),
            })
            .collect()
    } else {
        Vec::new()
    };
    if json {
        let report = serde_json::json!({
            "tools": tools,
            "prompts": prompts,
            "resources": resources,
            "resource_templates": templates,
            "backends": backends,
            "clashes": clashes.iter().map(|c| serde_json::json!({"name": c.public, "kept": c.kept, "dropped": c.dropped})).collect::<Vec<_>>(),
            "profiles": profiles,
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
            if !b.hidden.is_empty() {
                writeln!(out, "  hidden by its filters: {}", b.hidden.summary())?;
            }
        }
        for c in &clashes {
            writeln!(
                out,
                "clash: {:?} is offered by {} and {}; {}'s is served",
                c.public, c.kept, c.dropped, c.kept
            )?;
        }
        for p in &profiles {
            let mode = if p.tool_mode == "search" { ", search mode" } else { "" };
            let about = p.description.map(|d| format!(": {d}")).unwrap_or_default();
            writeln!(
                out,
                "profile {}: {} tools, {} prompts{mode}{about}",
                p.name, p.tools, p.prompts
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

/// The error for `--profile NAME` when the configuration has no such profile.
fn unknown_profile(hub: &Hub, name: &str) -> String {
    let known: Vec<&str> = hub.views.profiles.keys().map(String::as_str).collect();
    if known.is_empty() {
        format!("no profile {name:?} in the configuration (it defines none; add one under profiles)")
    } else {
        format!(
            "no profile {name:?} in the configuration (it defines {})",
            known.join(", ")
        )
    }
}

//! The shared state every client session works on: the backends (keyed by
//! name, one supervisor each, replaced by a reload that diffs them by name),
//! the router snapshot — rebuilt from what the backends publish, on
//! demand and by one task that follows their changes and tells the connected
//! clients (debounced, in both protocol eras) — and the routing of each
//! client request to its backend: tools, prompts, resources (by public URI),
//! completions, subscriptions and log levels (a hidden item refused with the
//! filter rule that hid it). It also keeps the search index of the snapshot
//! and the per-backend metrics. Sending one request to one backend is
//! `forward`'s job.

#![allow(deprecated)] // logging/setLevel and resources/subscribe are deprecated (SEP-2577), still what 2025-era peers speak

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientRequest, CompleteRequest, CompleteRequestParams,
    CompleteResult, GetPromptRequestParams, GetPromptResponse, InitializeResult, LoggingLevel, PromptsCapability,
    ReadResourceRequestParams, ReadResourceResponse, Reference, ResourcesCapability, ServerCapabilities, ServerResult,
    SetLevelRequestParams, SubscribeRequestParams, Tool, ToolsCapability, UnsubscribeRequestParams,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use tokio_util::sync::CancellationToken;

use crate::backend::{self, Backend, Changes, Status};
use crate::forward::{Failure, ParkedCalls};
use crate::fronts::{Changed, Session};
use crate::profile::{Kind, View};
use crate::relay::Relay;
use crate::resolve::{Resolved, Settings};
use crate::router::{Router, Source};
use crate::subscriptions::Target;
use crate::{redact, uri};

/// Bursts of catalog changes within this window reach clients as one notification.
const DEBOUNCE: Duration = Duration::from_millis(50);
/// How long a client's tools/list waits for backends whose catalog went stale.
const STALE_WAIT: Duration = Duration::from_secs(5);

/// How long a removed or changed backend gets to stop at a reload.
const RELOAD_STOP: Duration = Duration::from_secs(10);

/// What a reload did, by backend name.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reloaded {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub restarted: Vec<String>,
    pub unchanged: Vec<String>,
}

/// The backends, in configuration order and by name.
#[derive(Default)]
pub struct Backends {
    list: Vec<Arc<Backend>>,
    by_name: HashMap<Arc<str>, Arc<Backend>>,
}

impl Backends {
    pub fn iter(&self) -> std::slice::Iter<'_, Arc<Backend>> {
        self.list.iter()
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Backend>> {
        self.by_name.get(name)
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// A backend's supervisor task and what stops it.
struct Supervisor {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// What a view in search mode serves from one catalog: the tools it shows,
/// their search index, and the two meta-tools describing them.
#[derive(Clone)]
pub struct Searchable {
    pub tools: Arc<Vec<Tool>>,
    pub index: Arc<crate::search::Index>,
    pub meta: Arc<Vec<Tool>>,
}

/// A view's `Searchable`, with the router version it was built from.
type SearchCache = (u64, Searchable);

pub struct Hub {
    /// The backends of the configuration in force (replaced whole by a reload).
    backends: ArcSwap<Backends>,
    supervisors: Mutex<HashMap<Arc<str>, Supervisor>>,
    /// Cancelled when mcpmux stops: every supervisor's token is its child.
    stopping: CancellationToken,
    pub settings: Settings,
    changes: Arc<Changes>,
    router: ArcSwap<Router>,
    info: ArcSwap<InitializeResult>,
    /// What each view in search mode serves (`Searchable`, by profile name;
    /// None: the whole catalog), with the router version it was built from.
    search: Mutex<HashMap<Option<Arc<str>>, SearchCache>>,
    /// The whole catalog's view and the profiles'.
    pub views: crate::profile::Views,
    /// Per-backend request counts, failures, latency (`listen.metrics`).
    pub metrics: crate::metrics::Metrics,
    rebuild_lock: Mutex<()>,
    /// Progress, logs, resource updates and list changes on their way to clients.
    pub relay: Arc<Relay>,
    /// Calls whose 2026-07-28 client was asked something mid-call.
    pub(crate) parked: ParkedCalls,
    started: Instant,
}

impl Hub {
    pub fn new(resolved: &Resolved) -> Arc<Hub> {
        let changes = Arc::new(Changes::default());
        let mut backends = Backends::default();
        for spec in &resolved.backends {
            let b = Arc::new(Backend::new(spec.clone(), changes.clone(), &resolved.settings.auth));
            backends.by_name.insert(spec.name.clone(), b.clone());
            backends.list.push(b);
        }
        let hub = Hub {
            backends: ArcSwap::from_pointee(backends),
            supervisors: Mutex::default(),
            stopping: CancellationToken::new(),
            settings: resolved.settings.clone(),
            changes,
            router: ArcSwap::from_pointee(Router::default()),
            info: ArcSwap::from_pointee(InitializeResult::new(ServerCapabilities::default())),
            rebuild_lock: Mutex::new(()),
            search: Mutex::default(),
            views: crate::profile::Views::new(resolved.settings.search_mode, &resolved.profiles),
            metrics: crate::metrics::Metrics::new(),
            relay: Arc::default(),
            parked: ParkedCalls::default(),
            started: Instant::now(),
        };
        hub.info.store(Arc::new(hub.server_info()));
        Arc::new(hub)
    }

    /// Starts one supervisor per backend and the task that follows their
    /// changes and tells clients; all stop on `shutdown`.
    pub fn start(self: &Arc<Self>, shutdown: &CancellationToken) -> tokio::task::JoinSet<()> {
        let mut tasks = tokio::task::JoinSet::new();
        // Backends stop with `stop_backends`, after calls in flight finished,
        // not when `shutdown` begins.
        for b in self.backends().iter() {
            self.supervise(b.clone());
        }
        let hub = Arc::downgrade(self);
        let mut changed = self.changes.subscribe();
        let stop = shutdown.clone();
        tasks.spawn(async move {
            let mut told = Arc::new(Router::default());
            loop {
                tokio::select! {
                    r = changed.changed() => if r.is_err() { return },
                    () = stop.cancelled() => return,
                }
                tokio::time::sleep(DEBOUNCE).await;
                changed.borrow_and_update();
                let Some(h) = hub.upgrade() else { return };
                let now = h.router();
                if now.generation != told.generation {
                    let what = Changed {
                        tools: now.tools.items != told.tools.items,
                        prompts: now.prompts.items != told.prompts.items,
                        resources: now.resources != told.resources || now.templates != told.templates,
                    };
                    told = now;
                    if what.any() {
                        h.relay.fronts.changed(what).await;
                    }
                }
            }
        });
        tasks
    }

    /// The backends of the configuration in force.
    pub fn backends(&self) -> Arc<Backends> {
        self.backends.load_full()
    }

    /// Starts `b`'s supervisor.
    fn supervise(&self, b: Arc<Backend>) {
        let stop = self.stopping.child_token();
        let task = tokio::spawn(backend::supervise(
            b.clone(),
            self.settings.retry.clone(),
            self.relay.clone(),
            stop.clone(),
        ));
        let previous = self
            .supervisors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(b.spec.name.clone(), Supervisor { stop, task });
        debug_assert!(previous.is_none(), "one supervisor per backend");
    }

    /// Stops the supervisor of backend `name` and waits (up to `limit`) until
    /// its backend's processes are gone.
    async fn unsupervise(&self, name: &str, limit: Duration) {
        let Some(s) = self.supervisors.lock().unwrap_or_else(|e| e.into_inner()).remove(name) else {
            return;
        };
        s.stop.cancel();
        let abort = s.task.abort_handle();
        if tokio::time::timeout(limit, s.task).await.is_err() {
            tracing::warn!(backend = name, "did not stop within {limit:?}; abandoning it");
            abort.abort();
        }
        self.parked.drop_backend(name);
    }

    /// Stops every backend (each process group ended), waiting up to `limit`.
    pub async fn stop_backends(&self, limit: Duration) {
        self.stopping.cancel();
        let names: Vec<Arc<str>> = self
            .supervisors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        let stops = names.iter().map(|n| self.unsupervise(n, limit));
        futures::future::join_all(stops).await;
    }

    /// Applies a new configuration's backends: starts the added ones, stops
    /// the removed ones, restarts the changed ones and leaves the unchanged
    /// ones (their process, sessions, tokens and calls in flight) alone.
    /// Clients hear of the list changes as usual.
    pub async fn reload(&self, resolved: &Resolved) -> Reloaded {
        let old = self.backends();
        let mut next = Backends::default();
        let mut report = Reloaded::default();
        let mut start = Vec::new();
        for spec in &resolved.backends {
            let b = match old.get(&spec.name) {
                Some(b) if b.spec == *spec => {
                    report.unchanged.push(spec.name.to_string());
                    b.clone()
                }
                found => {
                    let b = Backend::new(spec.clone(), self.changes.clone(), &self.settings.auth);
                    if let Some(old) = found {
                        // Connection counts go on, so nothing of the old
                        // process's calls is mistaken for the new one's.
                        b.continue_epochs_from(old);
                        report.restarted.push(spec.name.to_string());
                    } else {
                        report.added.push(spec.name.to_string());
                    }
                    let b = Arc::new(b);
                    start.push(b.clone());
                    b
                }
            };
            next.by_name.insert(spec.name.clone(), b.clone());
            next.list.push(b);
        }
        report.removed = old
            .iter()
            .filter(|b| next.get(&b.spec.name).is_none())
            .map(|b| b.spec.name.to_string())
            .collect();
        // The old processes end before their replacements start (a backend
        // may hold a port or a lock file).
        let ending = report
            .removed
            .iter()
            .chain(&report.restarted)
            .map(|n| self.unsupervise(n, RELOAD_STOP));
        futures::future::join_all(ending).await;
        self.backends.store(Arc::new(next));
        for b in start {
            self.supervise(b);
        }
        self.changes.publish();
        report
    }

    /// Wakes every backend waiting to retry (SIGUSR1): it tries again now.
    pub fn retry_pending(&self) -> usize {
        self.backends().iter().filter(|b| b.retry_now()).count()
    }

    /// The current snapshot (rebuilt first if a backend changed since).
    pub fn router(&self) -> Arc<Router> {
        let r = self.router.load_full();
        if r.version == self.changes.version() {
            return r;
        }
        self.rebuild()
    }

    /// What `initialize` / `server/discover` answer (cheap: a cached value).
    pub fn info(&self) -> InitializeResult {
        (**self.info.load()).clone()
    }

    /// Rebuilds the snapshot from the connected backends' catalogs.
    fn rebuild(&self) -> Arc<Router> {
        let _serial = self.rebuild_lock.lock().unwrap_or_else(|e| e.into_inner());
        let version = self.changes.version();
        let prev = self.router.load_full();
        if prev.version == version {
            return prev;
        }
        let backends = self.backends();
        let catalogs: Vec<(&Arc<Backend>, Arc<backend::Catalog>)> = backends
            .iter()
            .filter(|b| matches!(&*b.status(), Status::Ready { .. }))
            .map(|b| (b, b.catalog()))
            .collect();
        let sources: Vec<Source<'_>> = catalogs
            .iter()
            .map(|(b, catalog)| Source {
                backend: &b.spec.name,
                prefix: &b.spec.prefix,
                description: b.spec.description.as_deref(),
                tools: &catalog.tools,
                prompts: &catalog.prompts,
                resources: &catalog.resources,
                templates: &catalog.templates,
                fresh_until: catalog.fresh_until,
            })
            .collect();
        let mut next = Router::build(prev.generation + 1, &sources);
        next.version = version;
        if next.same_catalog(&prev) {
            // Same tools for clients: their cursors stay valid.
            next.generation = prev.generation;
        }
        let prev_clashes: Vec<_> = prev.clashes().collect();
        for c in next.clashes().filter(|c| !prev_clashes.contains(c)) {
            tracing::warn!(
                "name {:?} is offered by backends {:?} and {:?}; only {:?}'s is served (give one of them a prefix)",
                c.public,
                c.kept,
                c.dropped,
                c.kept
            );
        }
        let prev_renamed: Vec<_> = prev.renamed().collect();
        for r in next.renamed().filter(|r| !prev_renamed.contains(r)) {
            tracing::warn!(backend = %r.backend, "{:?} is exposed as {:?} to fit client name limits", r.original, r.public);
        }
        if next.generation != prev.generation {
            tracing::debug!(
                generation = next.generation,
                tools = next.tools.items.len(),
                prompts = next.prompts.items.len(),
                resources = next.resources.len(),
                "snapshot rebuilt"
            );
        }
        let next = Arc::new(next);
        self.router.store(next.clone());
        self.info.store(Arc::new(self.server_info()));
        next
    }

    /// Lists again, all at once, every connected backend whose catalog's
    /// declared freshness has run out (2026-07-28 `ttlMs`), so a client's
    /// list shows what the backends offer now. A backend slower than
    /// `STALE_WAIT` to answer is served from its previous catalog this time
    /// (its listing goes on, and clients hear when it changes the list).
    pub async fn refresh_stale(&self) {
        let backends = self.backends();
        for b in backends.iter() {
            b.client_arrived();
        }
        let now = Instant::now();
        let refreshes: Vec<_> = backends
            .iter()
            .filter(|b| b.catalog().is_stale(now) && b.peer().is_some())
            .map(|b| {
                let b = b.clone();
                tokio::spawn(async move { b.refresh_if_stale().await })
            })
            .collect();
        if !refreshes.is_empty() {
            let _ = tokio::time::timeout(STALE_WAIT, async {
                for r in refreshes {
                    let _ = r.await;
                }
            })
            .await;
        }
    }

    /// What mcpmux offers clients: everything it can carry, not only what
    /// the backends up at this moment offer — backends arrive later, and a
    /// client's capabilities are fixed at its handshake.
    fn server_info(&self) -> InitializeResult {
        let mut caps = ServerCapabilities::default();
        let mut tools = ToolsCapability::default();
        tools.list_changed = Some(true);
        caps.tools = Some(tools);
        let mut prompts = PromptsCapability::default();
        prompts.list_changed = Some(true);
        caps.prompts = Some(prompts);
        let mut resources = ResourcesCapability::default();
        resources.list_changed = Some(true);
        resources.subscribe = Some(true);
        caps.resources = Some(resources);
        caps.completions = Some(Default::default());
        caps.logging = Some(Default::default());
        let mut info = InitializeResult::new(caps);
        info.server_info = backend::implementation();
        info.instructions = Some(self.instructions(&self.views.everything));
        info
    }

    /// What `initialize` / `server/discover` answer a session of `view`: a
    /// profile's names only its own backends.
    pub fn info_for(&self, view: &View) -> InitializeResult {
        let mut info = self.info();
        if !view.is_everything() {
            info.instructions = Some(self.instructions(view));
        }
        info
    }

    fn instructions(&self, view: &View) -> String {
        let mut out = String::from(
            "mcpmux serves the tools of several MCP servers through this one connection. \
             Each tool name starts with the prefix of the server it belongs to:\n",
        );
        for b in self.backends().iter().filter(|b| view.backend_in(&b.spec.name)) {
            let pattern = if b.spec.prefix.is_empty() {
                "(unprefixed)".to_string()
            } else {
                format!("{}__*", b.spec.prefix)
            };
            match &b.spec.description {
                Some(d) => out.push_str(&format!("- {pattern}: {} — {d}\n", b.spec.name)),
                None => out.push_str(&format!("- {pattern}: {}\n", b.spec.name)),
            }
        }
        for b in self.backends().iter().filter(|b| view.backend_in(&b.spec.name)) {
            if let Status::Ready {
                instructions: Some(text),
                ..
            } = &*b.status()
                && !text.trim().is_empty()
            {
                out.push_str(&format!("\nInstructions of {}:\n{}\n", b.spec.name, text.trim()));
            }
        }
        out
    }

    /// Waits until every backend has finished its first connection attempt,
    /// or `limit` has passed.
    pub async fn wait_settled(&self, limit: Duration) {
        self.wait_settled_where(limit, |_| true).await;
    }

    /// The tools `view` shows, their search index and the meta-tools (built
    /// on first use after each change of the catalog).
    pub fn search_index(&self, view: &View) -> Searchable {
        let router = self.router();
        let mut cached = self.search.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((version, s)) = cached.get(&view.name)
            && *version == router.version
        {
            return s.clone();
        }
        let tools = Arc::new(view.tools(&router).into_owned());
        let s = Searchable {
            index: Arc::new(crate::search::Index::build(&tools)),
            meta: Arc::new(crate::meta_tools::build(&router, view, tools.len())),
            tools,
        };
        cached.insert(view.name.clone(), (router.version, s.clone()));
        s
    }

    /// Wakes on every change of a backend's state or catalog.
    pub fn subscribe_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Waits until the backends `which` selects have finished their first attempt.
    async fn wait_settled_where(&self, limit: Duration, which: impl Fn(&Backend) -> bool) {
        let mut rx = self.changes.subscribe();
        let _ = tokio::time::timeout(limit, async {
            while !self.backends().iter().filter(|b| which(b)).all(|b| b.settled()) {
                if rx.changed().await.is_err() {
                    return;
                }
            }
        })
        .await;
    }

    /// The backend whose filter hid the tool or prompt `public`, and the rule.
    fn hidden_by_filter(&self, what: &str, public: &str) -> Option<(Arc<Backend>, String)> {
        self.backends().iter().find_map(|b| {
            let catalog = b.catalog();
            let hidden = if what == "tool" {
                &catalog.hidden.tools
            } else {
                &catalog.hidden.prompts
            };
            hidden
                .iter()
                .find(|h| crate::names::public_name(&b.spec.prefix, &h.name).0 == public)
                .map(|h| (b.clone(), h.rule.clone()))
        })
    }

    /// The disconnected backend `public` (a tool or prompt name) belongs to
    /// (by its prefix, or by its last catalog for an unprefixed one), for an
    /// error that names it.
    fn down_backend_for(&self, public: &str) -> Option<Arc<Backend>> {
        let named = |b: &Backend, name: &str| crate::names::public_name(&b.spec.prefix, name).0 == public;
        self.backends()
            .iter()
            .filter(|b| b.peer().is_none())
            .find(|b| {
                let catalog = b.catalog();
                b.spec.owns(public)
                    || catalog.tools.iter().any(|t| named(b, &t.name))
                    || catalog.prompts.iter().any(|p| named(b, &p.name))
            })
            .cloned()
    }

    /// What is left of the start-up window in which tools/list and calls wait
    /// for backends still making their first attempt.
    pub fn startup_left(&self) -> Duration {
        self.settings.startup_grace.saturating_sub(self.started.elapsed())
    }

    /// The route `find` gives in the current snapshot; a request right after
    /// start may target a backend still making its first attempt (`targets`
    /// says which could offer it): it gets the grace tools/list gets.
    async fn find<R>(&self, find: impl Fn(&Router) -> Option<R>, targets: impl Fn(&Backend) -> bool) -> Option<R> {
        if let Some(found) = find(&self.router()) {
            return Some(found);
        }
        if self.backends().iter().any(|b| targets(b) && !b.settled()) {
            self.wait_settled_where(self.startup_left(), targets).await;
            return find(&self.router());
        }
        None
    }

    /// Why `public` (a tool or prompt name) leads nowhere: its backend is
    /// down (an error naming it), or nothing by that name exists.
    fn unroutable(&self, what: &str, public: &str) -> Failure {
        if let Some((b, rule)) = self.hidden_by_filter(what, public) {
            return Failure::Error(ErrorData::invalid_params(
                format!("{what} {public:?} is hidden by backend {:?}'s {rule}", b.spec.name),
                None,
            ));
        }
        match self.down_backend_for(public) {
            Some(b) => Failure::Unavailable(format!(
                "backend {:?} is not available ({}); its {what}s will return when it reconnects",
                b.spec.name,
                b.describe_status()
            )),
            None => Failure::Error(ErrorData::invalid_params(
                format!("unknown {what} {public:?}; {what}s/list shows the {what}s mcpmux serves"),
                None,
            )),
        }
    }

    /// tools/call: route by public name and forward to the backend, if
    /// `view` offers the tool.
    pub async fn call_tool(
        &self,
        mut params: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
        view: &View,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = params.name.to_string();
        let targets = |b: &Backend| b.spec.prefix.is_empty() || b.spec.owns(&name);
        let Some(route) = self.find(|r| r.tools.route(&name).cloned(), targets).await else {
            return self.unroutable("tool", &name).into_call();
        };
        outside(view, Kind::Tool, &route.backend, &name)?;
        params.name = route.name.to_string().into();
        params.meta = None;
        let prefix = self.prefix_of(&route.backend);
        match self.forward_driving_input(&route.backend, params, &ctx).await {
            Ok(ServerResult::CallToolResult(mut r)) => {
                uri::rewrite_blocks(&prefix, &mut r.content);
                Ok(CallToolResponse::Complete(r))
            }
            Ok(ServerResult::InputRequiredResult(r)) => Ok(CallToolResponse::InputRequired(r)),
            Ok(ServerResult::CreateTaskResult(r)) => Ok(CallToolResponse::Task(r)),
            Ok(ServerResult::EmptyResult(_)) => Ok(CallToolResponse::Complete(CallToolResult::success(Vec::new()))),
            Ok(_) => Failure::unexpected(&route.backend, "tools/call").into_call(),
            Err(f) => f.into_call(),
        }
    }

    /// prompts/get: route by public name and forward to the backend, if
    /// `view` offers the prompt.
    pub async fn get_prompt(
        &self,
        mut params: GetPromptRequestParams,
        ctx: RequestContext<RoleServer>,
        view: &View,
    ) -> Result<GetPromptResponse, ErrorData> {
        let name = params.name.clone();
        let targets = |b: &Backend| b.spec.prefix.is_empty() || b.spec.owns(&name);
        let Some(route) = self.find(|r| r.prompts.route(&name).cloned(), targets).await else {
            return Err(self.unroutable("prompt", &name).into_error());
        };
        outside(view, Kind::Prompt, &route.backend, &name)?;
        params.name = route.name.to_string();
        params.meta = None;
        let prefix = self.prefix_of(&route.backend);
        match self.forward_driving_input(&route.backend, params, &ctx).await {
            Ok(ServerResult::GetPromptResult(mut r)) => {
                for m in &mut r.messages {
                    uri::rewrite_block(&prefix, &mut m.content);
                }
                Ok(GetPromptResponse::Complete(r))
            }
            Ok(ServerResult::InputRequiredResult(r)) => Ok(GetPromptResponse::InputRequired(r)),
            Ok(_) => Err(Failure::unexpected(&route.backend, "prompts/get").into_error()),
            Err(f) => Err(f.into_error()),
        }
    }

    /// resources/read: route by public URI and forward to the backend.
    pub async fn read_resource(
        &self,
        mut params: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
        view: &View,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let public = params.uri.clone();
        let (backend, original) = self.find_resource(&public, view).await?;
        params.uri = original;
        params.meta = None;
        let prefix = self.prefix_of(&backend);
        match self.forward_driving_input(&backend, params, &ctx).await {
            Ok(ServerResult::ReadResourceResult(mut r)) => {
                for c in &mut r.contents {
                    uri::rewrite_contents(&prefix, c);
                }
                Ok(ReadResourceResponse::Complete(r))
            }
            Ok(ServerResult::InputRequiredResult(r)) => Ok(ReadResourceResponse::InputRequired(r)),
            Ok(_) => Err(Failure::unexpected(&backend, "resources/read").into_error()),
            Err(f) => Err(f.into_error()),
        }
    }

    /// completion/complete: route by the prompt name or resource URI it refers to.
    pub async fn complete(
        &self,
        mut params: CompleteRequestParams,
        ctx: RequestContext<RoleServer>,
        view: &View,
    ) -> Result<CompleteResult, ErrorData> {
        let backend = match &mut params.r#ref {
            Reference::Prompt(p) => {
                let name = p.name.clone();
                let targets = |b: &Backend| b.spec.prefix.is_empty() || b.spec.owns(&name);
                let Some(route) = self.find(|r| r.prompts.route(&name).cloned(), targets).await else {
                    return Err(self.unroutable("prompt", &name).into_error());
                };
                outside(view, Kind::Prompt, &route.backend, &name)?;
                p.name = route.name.to_string();
                route.backend
            }
            Reference::Resource(t) => {
                let (backend, original) = self.find_resource(&t.uri, view).await?;
                t.uri = original;
                backend
            }
            _ => return Err(ErrorData::invalid_params("unknown completion reference", None)),
        };
        params.meta = None;
        let request = ClientRequest::CompleteRequest(CompleteRequest::new(params));
        match self.forward(&backend, request, false, &ctx).await {
            Ok(ServerResult::CompleteResult(r)) => Ok(r),
            Ok(_) => Err(Failure::unexpected(&backend, "completion/complete").into_error()),
            Err(f) => Err(f.into_error()),
        }
    }

    /// logging/setLevel from a 2025-11-25 session: its own level, and the
    /// most verbose level any session chose goes to the backends that log.
    pub async fn set_level(&self, session: &Session, level: LoggingLevel) {
        session.set_level(level);
        let Some(level) = self.relay.fronts.most_verbose() else {
            return;
        };
        let mut sets = tokio::task::JoinSet::new();
        for b in self.backends().iter() {
            let Some(peer) = b.peer() else { continue };
            let logs = peer
                .peer_info()
                .is_some_and(|i| i.capabilities.logging.is_some() && i.protocol_version.has_initialize());
            if logs {
                let name = b.spec.name.clone();
                sets.spawn(async move {
                    if let Err(e) = peer.set_level(SetLevelRequestParams::new(level)).await {
                        tracing::debug!(backend = %name, "logging/setLevel failed: {e}");
                    }
                });
            }
        }
        while sets.join_next().await.is_some() {}
    }

    /// The roots of a client of `view` changed: every connected 2025-era
    /// backend in that view is told (mcpmux offers them roots; 2026-07-28
    /// backends ask per request; the others are never shown its roots).
    pub async fn roots_changed(&self, view: &View) {
        for b in self.backends().iter().filter(|b| view.backend_in(&b.spec.name)) {
            if let Some(peer) = b.peer()
                && peer.peer_info().is_some_and(|i| i.protocol_version.has_initialize())
                && let Err(e) = peer.notify_roots_list_changed().await
            {
                tracing::debug!(backend = %b.spec.name, "notifications/roots/list_changed failed: {e}");
            }
        }
    }

    /// Subscribes client `id` to the resource at public URI `public`; the
    /// backend is asked once, for the first subscriber.
    pub async fn subscribe(&self, public: &str, id: u64, to: Target, view: &View) -> Result<(), ErrorData> {
        let (backend, original) = self.find_resource(public, view).await?;
        if !self.relay.subscriptions.add(&backend, &original, public, id, to) {
            return Ok(());
        }
        let asked = match self.backends().get(&backend).and_then(|b| b.peer()) {
            None => Err(format!("backend {backend:?} is not available")),
            Some(peer) => {
                let info = peer.peer_info();
                let subscribes = info.as_ref().is_some_and(|i| {
                    i.capabilities
                        .resources
                        .as_ref()
                        .is_some_and(|r| r.subscribe == Some(true))
                });
                if !subscribes {
                    Err(format!("backend {backend:?} does not offer resource subscriptions"))
                } else if info.as_ref().is_some_and(|i| !i.protocol_version.has_initialize()) {
                    // 2026-07-28: updates come on a listen stream naming the resource.
                    self.relay.subscriptions.follow(&peer, &backend, &original).await
                } else {
                    peer.subscribe(SubscribeRequestParams::new(original.clone()))
                        .await
                        .map_err(|e| {
                            format!(
                                "backend {backend:?} refused the subscription: {}",
                                redact::urls(&e.to_string())
                            )
                        })
                }
            }
        };
        asked.map_err(|message| {
            self.relay.subscriptions.remove(&backend, &original, id);
            ErrorData::invalid_request(message, None)
        })
    }

    /// Ends client `id`'s subscription to `public`; the backend is told
    /// after the last subscriber left.
    pub async fn unsubscribe(&self, public: &str, id: u64) -> Result<(), ErrorData> {
        let Some((backend, original)) = self.router().resource(public) else {
            return Ok(());
        };
        self.forget(&backend, &original, id).await;
        Ok(())
    }

    /// Ends every subscription client `id` holds (its stream or session ended).
    pub async fn unsubscribe_all(&self, id: u64) {
        for (backend, original) in self.relay.subscriptions.held_by(id) {
            self.forget(&backend, &original, id).await;
        }
    }

    async fn forget(&self, backend: &Arc<str>, original: &str, id: u64) {
        // (A 2026-07-28 backend's listen stream ends with the entry.)
        if self.relay.subscriptions.remove(backend, original, id)
            && let Some(peer) = self.backends().get(backend).and_then(|b| b.peer())
            && peer.peer_info().is_some_and(|i| i.protocol_version.has_initialize())
            && let Err(e) = peer
                .unsubscribe(UnsubscribeRequestParams::new(original.to_string()))
                .await
        {
            tracing::debug!(backend = %backend, "resources/unsubscribe failed: {e}");
        }
    }

    /// The backend and own URI of public resource URI `public`, unless no
    /// backend serves it, its backend's `resources` filter hides it, or its
    /// backend is not in `view`.
    async fn find_resource(&self, public: &str, view: &View) -> Result<(Arc<str>, String), ErrorData> {
        let prefix = uri::decode(public).map_or("", |(p, _)| p);
        let targets = |b: &Backend| *b.spec.prefix == *prefix;
        let Some((backend, original)) = self.find(|r| r.resource(public), targets).await else {
            return Err(self.unknown_resource(public));
        };
        if let Some(b) = self.backends().get(&backend)
            && let Some(rule) = b.filters.resources.hides(&original)
        {
            return Err(ErrorData::invalid_params(
                format!("resource {public:?} is hidden by backend {:?}'s {rule}", b.spec.name),
                None,
            ));
        }
        if let Some(why) = view.hides_resources_of(&backend) {
            return Err(ErrorData::invalid_params(
                format!("resource {public:?} is outside: {why}"),
                None,
            ));
        }
        Ok((backend, original))
    }

    fn unknown_resource(&self, public: &str) -> ErrorData {
        if let Some((prefix, _)) = uri::decode(public)
            && let Some(b) = self.backend_by_prefix(prefix)
        {
            return ErrorData::internal_error(
                format!(
                    "backend {:?} is not available ({}); its resources will return when it reconnects",
                    b.spec.name,
                    b.describe_status()
                ),
                None,
            );
        }
        ErrorData::resource_not_found(
            format!("unknown resource {public:?}; resources/list shows the resources mcpmux serves"),
            None,
        )
    }

    /// The backend whose prefix is `prefix`: by the `match` generated at
    /// build time when the configuration in force is the baked one (its
    /// positions then agree), else by looking.
    pub fn backend_by_prefix(&self, prefix: &str) -> Option<Arc<Backend>> {
        let backends = self.backends();
        crate::baked::prefix_position(prefix)
            .and_then(|i| backends.list.get(i))
            .filter(|b| *b.spec.prefix == *prefix)
            .or_else(|| backends.iter().find(|b| *b.spec.prefix == *prefix))
            .cloned()
    }

    fn prefix_of(&self, backend: &str) -> Arc<str> {
        self.backends()
            .get(backend)
            .map_or_else(|| Arc::from(""), |b| b.spec.prefix.clone())
    }
}

/// Refuses `public` (a tool or prompt of `backend`) if `view` does not offer it.
fn outside(view: &View, kind: Kind, backend: &str, public: &str) -> Result<(), ErrorData> {
    match view.hides(kind, backend, public) {
        None => Ok(()),
        Some(why) => {
            let what = match kind {
                Kind::Tool => "tool",
                Kind::Prompt => "prompt",
            };
            Err(ErrorData::invalid_params(
                format!("{what} {public:?} is outside: {why}"),
                None,
            ))
        }
    }
}

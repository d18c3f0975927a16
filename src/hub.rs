//! The shared state every client session and backend task works on: the
//! backends, the router snapshot (rebuilt and swapped when a catalog changes),
//! the connected clients to tell about changes (debounced, in both protocol
//! eras), the map from backend progress tokens back to client calls, and the
//! call path itself: route by name, forward with `_meta`, timeout and
//! cancellation, and turn backend failures into errors that name the backend.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResponse, CallToolResult, CancelledNotificationParam,
    ClientRequest, ContentBlock, InitializeResult, ProgressNotificationParam, ProgressToken, RequestMetaObject,
    ServerCapabilities, ServerResult, ToolsCapability,
};
use rmcp::service::{PeerRequestOptions, RequestContext, ServiceError, SubscriptionSink};
use rmcp::{ErrorData, Peer, RoleServer};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::backend::{self, Backend, RetryPolicy, Status};
use crate::config::Config;
use crate::redact;
use crate::router::{Router, Source};

/// Bursts of catalog changes within this window reach clients as one notification.
const DEBOUNCE: Duration = Duration::from_millis(50);
/// How long one client may take to accept a list_changed notification.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a progress notification may wait for its call to be registered
/// (a fast backend can report progress before the request handle returns).
const PROGRESS_RACE: Duration = Duration::from_secs(1);

/// Knobs of the hub that come from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub page_size: usize,
    /// How long the first tools/list waits for backends still making their first attempt.
    pub startup_grace: Duration,
    pub retry: RetryPolicy,
}

impl Settings {
    pub fn from_config(config: &Config) -> Settings {
        Settings {
            page_size: usize::try_from(config.listen.page_size).unwrap_or(usize::MAX),
            startup_grace: config.connect_retry.attempt_timeout.min(Duration::from_secs(10)),
            retry: RetryPolicy {
                retry_unreachable: config.connect_retry.enabled,
                restart: true,
                max_delay: config.connect_retry.max_delay,
                attempt_timeout: config.connect_retry.attempt_timeout,
            },
        }
    }
}

pub struct Hub {
    pub backends: Vec<Arc<Backend>>,
    pub settings: Settings,
    router: ArcSwap<Router>,
    info: ArcSwap<InitializeResult>,
    rebuild_lock: Mutex<()>,
    pub fronts: Fronts,
    pub progress: ProgressRoutes,
    changed: Notify,
    status: watch::Sender<u64>,
    started: Instant,
}

impl Hub {
    pub fn new(config: &Config, settings: Settings) -> Arc<Hub> {
        let backends = config
            .backends
            .iter()
            .enumerate()
            .map(|(i, b)| Arc::new(Backend::new(i, b.clone())))
            .collect();
        let hub = Hub {
            backends,
            settings,
            router: ArcSwap::from_pointee(Router::default()),
            info: ArcSwap::from_pointee(InitializeResult::new(ServerCapabilities::default())),
            rebuild_lock: Mutex::new(()),
            fronts: Fronts::default(),
            progress: ProgressRoutes::default(),
            changed: Notify::new(),
            status: watch::channel(0).0,
            started: Instant::now(),
        };
        hub.info.store(Arc::new(hub.server_info()));
        Arc::new(hub)
    }

    /// Starts one supervisor per backend and the change notifier; all stop on `shutdown`.
    pub fn start(self: &Arc<Self>, shutdown: &CancellationToken) -> tokio::task::JoinSet<()> {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..self.backends.len() {
            tasks.spawn(backend::supervise(
                self.clone(),
                i,
                self.settings.retry.clone(),
                shutdown.clone(),
            ));
        }
        let hub = Arc::downgrade(self);
        let stop = shutdown.clone();
        tasks.spawn(async move {
            loop {
                let Some(notified) = hub.upgrade() else { return };
                tokio::select! {
                    () = notified.changed.notified() => {}
                    () = stop.cancelled() => return,
                }
                drop(notified);
                tokio::time::sleep(DEBOUNCE).await;
                let Some(h) = hub.upgrade() else { return };
                h.fronts.tools_changed().await;
            }
        });
        tasks
    }

    /// The current snapshot.
    pub fn router(&self) -> Arc<Router> {
        self.router.load_full()
    }

    /// What `initialize` / `server/discover` answer (cheap: a cached value).
    pub fn info(&self) -> InitializeResult {
        (**self.info.load()).clone()
    }

    /// Rebuilds the snapshot from the connected backends' catalogs; clients
    /// are told (once per burst) when the tools they see changed.
    pub fn rebuild(&self) {
        let _serial = self.rebuild_lock.lock().unwrap_or_else(|e| e.into_inner());
        let catalogs: Vec<(Arc<Backend>, Arc<Vec<rmcp::model::Tool>>)> = self
            .backends
            .iter()
            .filter(|b| matches!(&*b.status(), Status::Ready { .. }))
            .map(|b| (b.clone(), b.tools()))
            .collect();
        let sources: Vec<Source<'_>> = catalogs
            .iter()
            .map(|(b, tools)| Source {
                backend: b.index,
                backend_name: &b.name,
                prefix: &b.prefix,
                description: b.description.as_deref(),
                tools,
            })
            .collect();
        let prev = self.router.load_full();
        let mut next = Router::build(prev.generation + 1, &sources);
        let changed = !next.same_tools(&prev);
        if !changed {
            // Same tools for clients: their cursors stay valid.
            next.generation = prev.generation;
        }
        for c in next.clashes.iter().filter(|c| !prev.clashes.contains(c)) {
            tracing::warn!(
                "tool name {:?} is offered by backends {:?} and {:?}; only {:?}'s is served (give one of them a prefix)",
                c.public,
                c.kept,
                c.dropped,
                c.kept
            );
        }
        for r in next.renamed.iter().filter(|r| !prev.renamed.contains(r)) {
            tracing::warn!(backend = %r.backend, "tool {:?} is exposed as {:?} to fit client name limits", r.original, r.public);
        }
        let generation = next.generation;
        let tools = next.tools.len();
        self.router.store(Arc::new(next));
        self.info.store(Arc::new(self.server_info()));
        if changed {
            tracing::debug!(generation, tools, "tool snapshot rebuilt");
            self.changed.notify_one();
        }
    }

    fn server_info(&self) -> InitializeResult {
        let mut caps = ServerCapabilities::default();
        let mut tools = ToolsCapability::default();
        tools.list_changed = Some(true);
        caps.tools = Some(tools);
        let mut info = InitializeResult::new(caps);
        info.server_info = backend::implementation();
        info.instructions = Some(self.instructions());
        info
    }

    fn instructions(&self) -> String {
        let mut out = String::from(
            "mcpmux serves the tools of several MCP servers through this one connection. \
             Each tool name starts with the prefix of the server it belongs to:\n",
        );
        for b in &self.backends {
            let pattern = if b.prefix.is_empty() {
                "(unprefixed)".to_string()
            } else {
                format!("{}__*", b.prefix)
            };
            match &b.description {
                Some(d) => out.push_str(&format!("- {pattern}: {} — {d}\n", b.name)),
                None => out.push_str(&format!("- {pattern}: {}\n", b.name)),
            }
        }
        for b in &self.backends {
            if let Status::Ready {
                instructions: Some(text),
                ..
            } = &*b.status()
                && !text.trim().is_empty()
            {
                out.push_str(&format!("\nInstructions of {}:\n{}\n", b.name, text.trim()));
            }
        }
        out
    }

    /// Wakes whoever waits on backend states (`wait_settled`).
    pub fn status_changed(&self) {
        self.status.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Waits until every backend has finished its first connection attempt,
    /// or `limit` has passed.
    pub async fn wait_settled(&self, limit: Duration) {
        self.wait_settled_where(limit, |_| true).await;
    }

    /// Waits until the backends `which` selects have finished their first attempt.
    async fn wait_settled_where(&self, limit: Duration, which: impl Fn(&Backend) -> bool) {
        let mut rx = self.status.subscribe();
        let _ = tokio::time::timeout(limit, async {
            while !self.backends.iter().filter(|b| which(b)).all(|b| b.settled()) {
                if rx.changed().await.is_err() {
                    return;
                }
            }
        })
        .await;
    }

    /// The disconnected backend `public` belongs to (by its prefix, or by its
    /// last catalog for an unprefixed one), for an error that names it.
    fn down_backend_for(&self, public: &str) -> Option<&Arc<Backend>> {
        self.backends.iter().filter(|b| b.peer().is_none()).find(|b| {
            b.owns(public)
                || b.tools()
                    .iter()
                    .any(|t| crate::names::public_name(&b.prefix, &t.name).0 == public)
        })
    }

    /// What is left of the start-up window in which tools/list and calls wait
    /// for backends still making their first attempt.
    pub fn startup_left(&self) -> Duration {
        self.settings.startup_grace.saturating_sub(self.started.elapsed())
    }

    /// tools/call: route by public name and forward to the backend.
    pub async fn call_tool(
        &self,
        mut params: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        // A call right after start may target a backend still making its first
        // attempt: it gets the grace tools/list gets (and only for that backend).
        let targets = |b: &Backend| b.prefix.is_empty() || b.owns(&params.name);
        let mut router = self.router();
        if router.route(&params.name).is_none() && self.backends.iter().any(|b| targets(b) && !b.settled()) {
            self.wait_settled_where(self.startup_left(), targets).await;
            router = self.router();
        }
        let Some(route) = router.route(&params.name) else {
            if let Some(b) = self.down_backend_for(&params.name) {
                return Ok(failure(format!(
                    "backend {:?} is not available ({}); its tools will return when it reconnects",
                    b.name,
                    b.describe_status()
                )));
            }
            return Err(ErrorData::invalid_params(
                format!(
                    "unknown tool {:?}; tools/list shows the tools mcpmux serves",
                    params.name
                ),
                None,
            ));
        };
        let b = &self.backends[route.backend];
        let Some(peer) = b.peer() else {
            return Ok(failure(format!(
                "backend {:?} is not available ({})",
                b.name,
                b.describe_status()
            )));
        };
        params.name = route.name.to_string().into();
        params.meta = None;
        let options = PeerRequestOptions::with_timeout(b.timeout)
            .reset_timeout_on_progress()
            .with_meta(forwarded_meta(&ctx.meta));
        let request = ClientRequest::CallToolRequest(CallToolRequest::new(params));
        let handle = match peer.send_request_with_option(request, options).await {
            Ok(h) => h,
            Err(e) => {
                b.request_reconnect();
                return Ok(failure(backend_error(b, &e)));
            }
        };
        let _route = self.progress.register(
            route.backend,
            handle.progress_token.clone(),
            ctx.meta.get_progress_token().map(|t| (ctx.peer.clone(), t)),
        );
        let id = handle.id.clone();
        let mut response = Box::pin(handle.await_response());
        tokio::select! {
            result = &mut response => match result {
                Ok(ServerResult::CallToolResult(r)) => Ok(CallToolResponse::Complete(r)),
                Ok(ServerResult::InputRequiredResult(r)) => Ok(CallToolResponse::InputRequired(r)),
                Ok(ServerResult::CreateTaskResult(r)) => Ok(CallToolResponse::Task(r)),
                Ok(ServerResult::EmptyResult(_)) => Ok(CallToolResponse::Complete(CallToolResult::success(Vec::new()))),
                Ok(_) => Ok(failure(format!("backend {:?} answered tools/call with something other than a tool result", b.name))),
                Err(ServiceError::McpError(e)) => Err(e),
                Err(e) => {
                    if matches!(e, ServiceError::TransportSend(_) | ServiceError::TransportClosed) {
                        b.request_reconnect();
                    }
                    Ok(failure(backend_error(b, &e)))
                }
            },
            () = ctx.ct.cancelled() => {
                let reason = Some("cancelled by the client".to_string());
                let _ = peer.notify_cancelled(CancelledNotificationParam::new(Some(id), reason)).await;
                // Let the backend's answer (or its timeout) arrive unobserved:
                // rmcp releases the request's progress watcher only then.
                tokio::spawn(async move {
                    let _ = response.await;
                });
                Err(ErrorData::internal_error("cancelled by the client", None))
            }
        }
    }
}

/// A tool result that tells the model what went wrong (isError: true).
fn failure(message: String) -> CallToolResponse {
    CallToolResponse::Complete(CallToolResult::error(vec![ContentBlock::text(message)]))
}

fn backend_error(b: &Backend, e: &ServiceError) -> String {
    match e {
        ServiceError::Timeout { timeout } => format!(
            "backend {:?} did not answer within {} (its timeout); the call was cancelled",
            b.name,
            crate::config::support::duration::format(*timeout)
        ),
        ServiceError::TransportClosed => {
            format!(
                "backend {:?} closed its connection before answering (it exited or is restarting)",
                b.name
            )
        }
        other => format!("backend {:?} failed: {}", b.name, redact::urls(&other.to_string())),
    }
}

/// The client's request `_meta` minus what belongs to the client's own hop:
/// its progress token (mcpmux assigns one per backend request) and the
/// 2026-07-28 lifecycle keys (mcpmux sends its own to modern backends).
fn forwarded_meta(meta: &RequestMetaObject) -> RequestMetaObject {
    let mut out = meta.clone();
    out.0.0.retain(|k, _| {
        k != "progressToken"
            && !matches!(
                k.as_str(),
                "io.modelcontextprotocol/protocolVersion"
                    | "io.modelcontextprotocol/clientInfo"
                    | "io.modelcontextprotocol/clientCapabilities"
                    | "io.modelcontextprotocol/logLevel"
            )
    });
    out
}

/// The clients to tell when the tool list changes: sessions that began with
/// `initialize` get a plain notification, 2026-07-28 clients get it on their
/// `subscriptions/listen` stream.
#[derive(Default)]
pub struct Fronts {
    legacy: Mutex<Vec<Peer<RoleServer>>>,
    sinks: Mutex<Vec<(u64, SubscriptionSink)>>,
    next: AtomicU64,
}

impl Fronts {
    pub fn add_legacy(&self, peer: Peer<RoleServer>) {
        let mut l = self.legacy.lock().unwrap_or_else(|e| e.into_inner());
        l.retain(|p| !p.is_transport_closed());
        l.push(peer);
    }

    pub fn add_sink(&self, sink: SubscriptionSink) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.sinks.lock().unwrap_or_else(|e| e.into_inner()).push((id, sink));
        id
    }

    pub fn remove_sink(&self, id: u64) {
        self.sinks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(i, _)| *i != id);
    }

    /// Tells every client, all at once; a client that cannot take the
    /// notification within `NOTIFY_TIMEOUT` is skipped this time (and dropped
    /// when its connection is gone).
    async fn tools_changed(&self) {
        let peers: Vec<Peer<RoleServer>> = self.legacy.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let sinks: Vec<(u64, SubscriptionSink)> = self.sinks.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut sends = tokio::task::JoinSet::new();
        for p in peers.into_iter().filter(|p| !p.is_transport_closed()) {
            sends.spawn(async move {
                let _ = tokio::time::timeout(NOTIFY_TIMEOUT, p.notify_tool_list_changed()).await;
                None
            });
        }
        for (id, s) in sinks {
            sends.spawn(async move {
                let sent = tokio::time::timeout(NOTIFY_TIMEOUT, s.notify_tool_list_changed()).await;
                matches!(sent, Ok(Err(_))).then_some(id)
            });
        }
        while let Some(done) = sends.join_next().await {
            if let Ok(Some(closed)) = done {
                self.remove_sink(closed);
            }
        }
        self.legacy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| !p.is_transport_closed());
    }
}

/// Where a backend's progress notifications go: the client call and its own
/// token, and the last value forwarded (notifications can arrive out of
/// order; only increasing progress is passed on).
struct ProgressRoute {
    to: Option<(Peer<RoleServer>, ProgressToken)>,
    last: f64,
}

#[derive(Default)]
pub struct ProgressRoutes {
    routes: Mutex<HashMap<(usize, ProgressToken), ProgressRoute>>,
    added: Notify,
}

/// Removes its route when the call ends.
pub struct RouteGuard<'a> {
    routes: &'a ProgressRoutes,
    key: (usize, ProgressToken),
}

impl Drop for RouteGuard<'_> {
    fn drop(&mut self) {
        self.routes
            .routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
    }
}

impl ProgressRoutes {
    /// Routes backend `backend`'s progress for `token` to `to` (or nowhere,
    /// when the client asked for no progress) while the guard lives.
    pub fn register(
        &self,
        backend: usize,
        token: ProgressToken,
        to: Option<(Peer<RoleServer>, ProgressToken)>,
    ) -> RouteGuard<'_> {
        let key = (backend, token);
        self.routes.lock().unwrap_or_else(|e| e.into_inner()).insert(
            key.clone(),
            ProgressRoute {
                to,
                last: f64::NEG_INFINITY,
            },
        );
        self.added.notify_waiters();
        RouteGuard { routes: self, key }
    }

    /// Forwards one backend progress notification to the client call it belongs to.
    pub async fn forward(&self, backend: usize, mut params: ProgressNotificationParam) {
        let key = (backend, params.progress_token.clone());
        let deadline = Instant::now() + PROGRESS_RACE;
        loop {
            let added = self.added.notified();
            let found = {
                let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
                routes.get_mut(&key).map(|r| {
                    let fresh = params.progress > r.last;
                    if fresh {
                        r.last = params.progress;
                    }
                    r.to.clone().filter(|_| fresh)
                })
            };
            match found {
                Some(Some((peer, token))) => {
                    params.progress_token = token;
                    let _ = peer.notify_progress(params).await;
                    return;
                }
                Some(None) => return,
                None if Instant::now() >= deadline => return,
                None => {
                    let _ = tokio::time::timeout_at(deadline.into(), added).await;
                }
            }
        }
    }
}

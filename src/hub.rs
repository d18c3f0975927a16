//! The shared state every client session works on: the backends (keyed by
//! name), the router snapshot — rebuilt from what the backends publish, on
//! demand and by one task that follows their changes and tells the connected
//! clients (debounced, in both protocol eras) — and the call path itself:
//! route by name, forward with `_meta`, timeout and cancellation, and turn
//! backend failures into errors that name the backend.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResponse, CallToolResult, CancelledNotificationParam,
    ClientRequest, ContentBlock, InitializeResult, RequestId, RequestMetaObject, ServerCapabilities, ServerResult,
    ToolsCapability,
};
use rmcp::service::{PeerRequestOptions, RequestContext, ServiceError, SubscriptionSink};
use rmcp::{ErrorData, Peer, RoleClient, RoleServer};
use tokio_util::sync::CancellationToken;

use crate::backend::{self, Backend, Changes, Status};
use crate::progress::ProgressRoutes;
use crate::redact;
use crate::resolve::{Resolved, Settings};
use crate::router::{Router, Source};

/// Bursts of catalog changes within this window reach clients as one notification.
const DEBOUNCE: Duration = Duration::from_millis(50);
/// How long one client may take to accept a list_changed notification.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a call's answer waits for progress notifications that arrived
/// before it and are still being forwarded.
const PROGRESS_SETTLE: Duration = Duration::from_secs(1);
/// How long a client's tools/list waits for backends whose catalog went stale.
const STALE_WAIT: Duration = Duration::from_secs(5);

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

pub struct Hub {
    pub backends: Backends,
    pub settings: Settings,
    changes: Arc<Changes>,
    router: ArcSwap<Router>,
    info: ArcSwap<InitializeResult>,
    rebuild_lock: Mutex<()>,
    pub fronts: Fronts,
    pub progress: Arc<ProgressRoutes>,
    started: Instant,
}

impl Hub {
    pub fn new(resolved: &Resolved) -> Arc<Hub> {
        let changes = Arc::new(Changes::default());
        let mut backends = Backends::default();
        for spec in &resolved.backends {
            let b = Arc::new(Backend::new(spec.clone(), changes.clone()));
            backends.by_name.insert(spec.name.clone(), b.clone());
            backends.list.push(b);
        }
        let hub = Hub {
            backends,
            settings: resolved.settings.clone(),
            changes,
            router: ArcSwap::from_pointee(Router::default()),
            info: ArcSwap::from_pointee(InitializeResult::new(ServerCapabilities::default())),
            rebuild_lock: Mutex::new(()),
            fronts: Fronts::default(),
            progress: Arc::default(),
            started: Instant::now(),
        };
        hub.info.store(Arc::new(hub.server_info()));
        Arc::new(hub)
    }

    /// Starts one supervisor per backend and the task that follows their
    /// changes and tells clients; all stop on `shutdown`.
    pub fn start(self: &Arc<Self>, shutdown: &CancellationToken) -> tokio::task::JoinSet<()> {
        let mut tasks = tokio::task::JoinSet::new();
        for b in self.backends.iter() {
            tasks.spawn(backend::supervise(
                b.clone(),
                self.settings.retry.clone(),
                self.progress.clone(),
                shutdown.clone(),
            ));
        }
        let hub = Arc::downgrade(self);
        let mut changed = self.changes.subscribe();
        let stop = shutdown.clone();
        tasks.spawn(async move {
            let mut told = 0;
            loop {
                tokio::select! {
                    r = changed.changed() => if r.is_err() { return },
                    () = stop.cancelled() => return,
                }
                tokio::time::sleep(DEBOUNCE).await;
                changed.borrow_and_update();
                let Some(h) = hub.upgrade() else { return };
                let generation = h.router().generation;
                if generation != told {
                    told = generation;
                    h.fronts.tools_changed().await;
                }
            }
        });
        tasks
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
        let catalogs: Vec<(&Arc<Backend>, Arc<backend::Catalog>)> = self
            .backends
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
                fresh_until: catalog.fresh_until,
            })
            .collect();
        let mut next = Router::build(prev.generation + 1, &sources);
        next.version = version;
        if next.same_tools(&prev) {
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
        if next.generation != prev.generation {
            tracing::debug!(
                generation = next.generation,
                tools = next.tools.len(),
                "tool snapshot rebuilt"
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
        let now = Instant::now();
        let refreshes: Vec<_> = self
            .backends
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
        for b in self.backends.iter() {
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
        for b in self.backends.iter() {
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

    /// Waits until the backends `which` selects have finished their first attempt.
    async fn wait_settled_where(&self, limit: Duration, which: impl Fn(&Backend) -> bool) {
        let mut rx = self.changes.subscribe();
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
            b.spec.owns(public)
                || b.catalog()
                    .tools
                    .iter()
                    .any(|t| crate::names::public_name(&b.spec.prefix, &t.name).0 == public)
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
        let targets = |b: &Backend| b.spec.prefix.is_empty() || b.spec.owns(&params.name);
        let mut router = self.router();
        if router.route(&params.name).is_none() && self.backends.iter().any(|b| targets(b) && !b.settled()) {
            self.wait_settled_where(self.startup_left(), targets).await;
            router = self.router();
        }
        let Some(route) = router.route(&params.name) else {
            if let Some(b) = self.down_backend_for(&params.name) {
                return Ok(failure(format!(
                    "backend {:?} is not available ({}); its tools will return when it reconnects",
                    b.spec.name,
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
        let Some(b) = self.backends.get(&route.backend) else {
            return Err(ErrorData::internal_error(
                format!("tool {:?} leads to no backend", params.name),
                None,
            ));
        };
        let Some(peer) = b.peer() else {
            return Ok(failure(format!(
                "backend {:?} is not available ({})",
                b.spec.name,
                b.describe_status()
            )));
        };
        params.name = route.name.to_string().into();
        params.meta = None;
        let options = PeerRequestOptions::with_timeout(b.spec.timeout)
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
        let client_token = ctx.meta.get_progress_token();
        let wants_progress = client_token.is_some();
        let progress = self.progress.register(
            &route.backend,
            handle.progress_token.clone(),
            client_token.map(|t| (ctx.peer.clone(), t)),
        );
        let mut call = InFlight {
            peer: peer.clone(),
            id: handle.id.clone(),
            response: Some(Box::pin(handle.await_response())),
        };
        let answered = async {
            let result = call.wait().await;
            // The answer may have overtaken the last progress: let it through first.
            if wants_progress {
                progress.settle(PROGRESS_SETTLE).await;
            }
            result
        };
        tokio::select! {
            result = answered => match result {
                Ok(ServerResult::CallToolResult(r)) => Ok(CallToolResponse::Complete(r)),
                Ok(ServerResult::InputRequiredResult(r)) => Ok(CallToolResponse::InputRequired(r)),
                Ok(ServerResult::CreateTaskResult(r)) => Ok(CallToolResponse::Task(r)),
                Ok(ServerResult::EmptyResult(_)) => Ok(CallToolResponse::Complete(CallToolResult::success(Vec::new()))),
                Ok(_) => Ok(failure(format!("backend {:?} answered tools/call with something other than a tool result", b.spec.name))),
                Err(ServiceError::McpError(e)) => Err(e),
                Err(e) => {
                    if matches!(e, ServiceError::TransportSend(_) | ServiceError::TransportClosed) {
                        b.request_reconnect();
                    }
                    Ok(failure(backend_error(b, &e)))
                }
            },
            // (Dropping `call` tells the backend.)
            () = ctx.ct.cancelled() => Err(ErrorData::internal_error("cancelled by the client", None)),
        }
    }
}

type Pending = std::pin::Pin<Box<dyn Future<Output = Result<ServerResult, ServiceError>> + Send>>;

/// A request to a backend that is still waiting for its answer. Dropped
/// before the answer came — the client cancelled, or its 2026-07-28 HTTP
/// request went away and took this call's task with it — it tells the
/// backend (`notifications/cancelled`, which also ends an HTTP backend's
/// request stream) and lets the answer arrive unobserved: rmcp releases the
/// request's progress watcher only then.
struct InFlight {
    peer: Peer<RoleClient>,
    id: RequestId,
    response: Option<Pending>,
}

impl InFlight {
    async fn wait(&mut self) -> Result<ServerResult, ServiceError> {
        let Some(response) = self.response.as_mut() else {
            return Err(ServiceError::TransportClosed);
        };
        let result = response.await;
        self.response = None;
        result
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let Some(response) = self.response.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (peer, id) = (self.peer.clone(), self.id.clone());
        runtime.spawn(async move {
            let reason = Some("cancelled by the client".to_string());
            let _ = peer
                .notify_cancelled(CancelledNotificationParam::new(Some(id), reason))
                .await;
            let _ = response.await;
        });
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
            b.spec.name,
            crate::config::support::duration::format(*timeout)
        ),
        ServiceError::TransportClosed => {
            format!(
                "backend {:?} closed its connection before answering (it exited or is restarting)",
                b.spec.name
            )
        }
        other => format!("backend {:?} failed: {}", b.spec.name, redact::urls(&other.to_string())),
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

//! One configured backend and the task that keeps it connected: connect
//! (child process or HTTP), read its whole catalog, re-read it on
//! list_changed and after every reconnect, and when the connection ends (a
//! child exits, or a request to an HTTP backend fails at the transport) end
//! its process group and restart it with exponential backoff — reset only
//! after sustained uptime, so a crash-looping backend is held at the longest
//! delay — while the other backends never notice.

mod client;
mod connect;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use rmcp::model::{PaginatedRequestParams, ProtocolVersion, ServerNotification, SubscriptionFilter, Tool};
use rmcp::service::ClientCacheConfig;
use rmcp::{Peer, RoleClient};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use client::{BackendClient, implementation};
pub use connect::ConnectError;

use crate::config;
use crate::hub::Hub;
use crate::redact;

/// Where a backend is in its life.
#[derive(Debug, Clone)]
pub enum Status {
    /// Connecting (the first time, or again after a failure).
    Connecting,
    /// Connected; calls go to `peer`.
    Ready {
        peer: Peer<RoleClient>,
        protocol: ProtocolVersion,
        instructions: Option<String>,
    },
    /// Not connected: why, and when the next attempt is due (`None`: no more attempts).
    Down { error: String, retry_at: Option<Instant> },
    /// Shut down with mcpmux.
    Stopped,
}

/// How a supervisor retries.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Keep retrying a backend that has never connected (`connect_retry.enabled`).
    pub retry_unreachable: bool,
    /// Restart a backend whose connection ended (false for one-shot commands).
    pub restart: bool,
    pub max_delay: Duration,
    pub attempt_timeout: Duration,
}

/// The first retry waits this long; each further failure doubles it.
const FIRST_DELAY: Duration = Duration::from_millis(500);
/// A connection that lasted this long resets the backoff.
const STABLE_UPTIME: Duration = Duration::from_secs(60);
/// Consecutive short-lived connections after which a backend is called crash-looping.
const CRASH_LOOP: u32 = 5;
/// Pages of one catalog listing, at most (a guard against endless cursors).
const MAX_PAGES: usize = 1000;

/// One configured backend.
pub struct Backend {
    pub index: usize,
    pub name: String,
    pub prefix: String,
    pub description: Option<String>,
    pub timeout: Duration,
    pub spec: config::Backend,
    status: ArcSwap<Status>,
    tools: ArcSwap<Vec<Tool>>,
    refresh: Notify,
    reconnect: Notify,
    settled: AtomicBool,
    /// The backend answered discover with only handshake-era versions.
    needs_initialize: AtomicBool,
}

impl Backend {
    pub fn new(index: usize, spec: config::Backend) -> Backend {
        let timeout = match &spec {
            config::Backend::Command(c) => c.timeout,
            config::Backend::Http(h) => h.timeout,
        };
        Backend {
            index,
            name: spec.name().clone(),
            prefix: spec.effective_prefix().to_string(),
            description: spec.description().clone(),
            timeout,
            spec,
            status: ArcSwap::from_pointee(Status::Connecting),
            tools: ArcSwap::from_pointee(Vec::new()),
            refresh: Notify::new(),
            reconnect: Notify::new(),
            settled: AtomicBool::new(false),
            needs_initialize: AtomicBool::new(false),
        }
    }

    pub fn status(&self) -> Arc<Status> {
        self.status.load_full()
    }

    /// The peer to send requests to, if connected.
    pub fn peer(&self) -> Option<Peer<RoleClient>> {
        match &**self.status.load() {
            Status::Ready { peer, .. } => Some(peer.clone()),
            _ => None,
        }
    }

    /// The backend's tools under their own names, as last listed (kept while
    /// it is down; the router serves only connected backends).
    pub fn tools(&self) -> Arc<Vec<Tool>> {
        self.tools.load_full()
    }

    /// Whether `public` carries this backend's (non-empty) prefix.
    pub fn owns(&self, public: &str) -> bool {
        !self.prefix.is_empty()
            && public
                .strip_prefix(self.prefix.as_str())
                .is_some_and(|rest| rest.starts_with(crate::names::SEPARATOR))
    }

    /// Ask the supervisor to list this backend's tools again.
    pub fn request_refresh(&self) {
        self.refresh.notify_one();
    }

    /// Ask the supervisor for a fresh connection because a request failed at
    /// the transport (HTTP backends only: a command backend that dies ends its
    /// connection by itself).
    pub fn request_reconnect(&self) {
        if matches!(self.spec, config::Backend::Http(_)) {
            self.reconnect.notify_one();
        }
    }

    /// Whether the first connection attempt has finished, either way.
    pub fn settled(&self) -> bool {
        self.settled.load(Ordering::Acquire)
    }

    /// A one-line account of the backend's state, for errors and `list`.
    pub fn describe_status(&self) -> String {
        match &*self.status() {
            Status::Connecting => "connecting".into(),
            Status::Ready { protocol, .. } => format!("ready (protocol {protocol})"),
            Status::Down {
                error,
                retry_at: Some(at),
            } => {
                let secs = at.saturating_duration_since(Instant::now()).as_secs_f32();
                format!("down: {error}; retrying in {secs:.1}s")
            }
            Status::Down { error, retry_at: None } => format!("down: {error}"),
            Status::Stopped => "stopped".into(),
        }
    }

    /// Where the backend is, for logs (never its arguments or credentials).
    pub fn target(&self) -> String {
        match &self.spec {
            config::Backend::Command(c) => format!("command {}", c.command[0]),
            config::Backend::Http(h) => format!("endpoint {}", redact::urls(&h.endpoint)),
        }
    }

    fn set_status(&self, hub: &Hub, status: Status) {
        self.status.store(Arc::new(status));
        hub.status_changed();
    }

    /// Records that the first attempt is over (set before waking waiters).
    fn mark_settled(&self, hub: &Hub) {
        self.settled.store(true, Ordering::Release);
        hub.status_changed();
    }
}

/// Keeps backend `index` connected until `shutdown`.
pub async fn supervise(hub: Arc<Hub>, index: usize, policy: RetryPolicy, shutdown: CancellationToken) {
    let b = hub.backends[index].clone();
    let mut failures: u32 = 0;
    let mut ever_connected = false;
    loop {
        b.set_status(&hub, Status::Connecting);
        tracing::debug!(backend = %b.name, target = %b.target(), "connecting");
        let client = BackendClient::new(Arc::downgrade(&hub), index);
        let attempt = tokio::select! {
            r = tokio::time::timeout(policy.attempt_timeout, connect(&b, client)) => r,
            () = shutdown.cancelled() => break,
        };
        let error = match attempt {
            Ok(Ok((conn, group))) => {
                ever_connected = true;
                let started = Instant::now();
                let ended = run_connected(&hub, &b, conn, &policy, &shutdown).await;
                // Down first, so its calls fail at once and its tools leave the
                // list; the last catalog is kept to name the backend in errors.
                b.set_status(
                    &hub,
                    Status::Down {
                        error: ended.clone(),
                        retry_at: None,
                    },
                );
                hub.rebuild();
                if let Some(g) = group {
                    g.end(connect::GROUP_GRACE).await;
                }
                if shutdown.is_cancelled() {
                    break;
                }
                if started.elapsed() >= STABLE_UPTIME {
                    failures = 0;
                }
                ended
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => ConnectError::Timeout(policy.attempt_timeout).to_string(),
        };
        failures += 1;
        let give_up = if ever_connected {
            !policy.restart
        } else {
            !policy.retry_unreachable
        };
        if give_up {
            tracing::warn!(backend = %b.name, "{error}; not retrying");
            b.set_status(&hub, Status::Down { error, retry_at: None });
            b.mark_settled(&hub);
            shutdown.cancelled().await;
            break;
        }
        let delay = backoff(failures, policy.max_delay);
        if failures >= CRASH_LOOP && ever_connected {
            tracing::error!(backend = %b.name, failures, "{error}; the backend keeps failing, retrying in {delay:.1?}");
        } else {
            tracing::warn!(backend = %b.name, "{error}; retrying in {delay:.1?}");
        }
        b.set_status(
            &hub,
            Status::Down {
                error,
                retry_at: Some(Instant::now() + delay),
            },
        );
        b.mark_settled(&hub);
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shutdown.cancelled() => break,
        }
    }
    b.set_status(&hub, Status::Stopped);
    b.mark_settled(&hub);
}

/// Exponential backoff from `FIRST_DELAY`, capped, with ±20% jitter so
/// backends that failed together do not retry together.
fn backoff(failures: u32, max: Duration) -> Duration {
    let exp = FIRST_DELAY.saturating_mul(1u32 << failures.saturating_sub(1).min(20));
    let base = exp.min(max);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let jitter = 0.8 + f64::from(nanos % 1000) / 1000.0 * 0.4;
    base.mul_f64(jitter)
}

/// One connection attempt. A backend that answers `server/discover` with
/// only handshake-era versions is reconnected at once with `initialize`, and
/// approached that way from then on.
async fn connect(
    b: &Backend,
    client: BackendClient,
) -> Result<(connect::Connection, Option<connect::ProcessGroup>), ConnectError> {
    let initialize = b.needs_initialize.load(Ordering::Relaxed);
    let attempt = |initialize| {
        let client = client.clone();
        async move {
            match &b.spec {
                config::Backend::Command(c) => connect::command(&b.name, c, client, initialize).await,
                config::Backend::Http(h) => Ok((connect::http(h, client, initialize).await?, None)),
            }
        }
    };
    match attempt(initialize).await {
        Err(ConnectError::NeedsInitialize) if !initialize => {
            tracing::debug!(backend = %b.name, "it offers only handshake-era protocol versions; using initialize");
            b.needs_initialize.store(true, Ordering::Relaxed);
            attempt(true).await
        }
        other => other,
    }
}

/// Serves one live connection; returns why it ended.
async fn run_connected(
    hub: &Arc<Hub>,
    b: &Arc<Backend>,
    conn: connect::Connection,
    policy: &RetryPolicy,
    shutdown: &CancellationToken,
) -> String {
    let peer = conn.peer().clone();
    // mcpmux keeps its own snapshot; a cache that serves stale lists on error would hide failures.
    peer.set_response_cache_config(ClientCacheConfig::disabled()).await;
    let info = peer.peer_info();
    let protocol = info
        .as_ref()
        .map_or(ProtocolVersion::LATEST_WITH_INITIALIZE, |i| i.protocol_version.clone());
    let lists_tools = info.as_ref().is_none_or(|i| i.capabilities.tools.is_some());
    let notifies = info
        .as_ref()
        .and_then(|i| i.capabilities.tools.as_ref())
        .and_then(|t| t.list_changed)
        .unwrap_or(false);
    let cancel = conn.cancellation_token();
    let mut waiting = tokio::spawn(conn.waiting());
    // A reconnect asked for while the previous connection was failing is stale.
    let _ = tokio::time::timeout(Duration::ZERO, b.reconnect.notified()).await;
    // Closing the transport ends a child gracefully: stdin closed, SIGTERM, then SIGKILL.
    let close = |mut waiting: tokio::task::JoinHandle<_>| {
        cancel.cancel();
        async move {
            let _ = tokio::time::timeout(Duration::from_secs(10), &mut waiting).await;
        }
    };

    if lists_tools {
        let first = tokio::select! {
            r = refresh(hub, b, &peer, policy.attempt_timeout) => r,
            () = shutdown.cancelled() => Err("mcpmux is shutting down".to_string()),
        };
        if let Err(e) = first {
            close(waiting).await;
            return e;
        }
    }
    let server = info.as_ref().and_then(|i| i.server_info.as_ref());
    tracing::info!(
        backend = %b.name,
        protocol = %protocol,
        server = server.map_or("?", |s| s.name.as_str()),
        tools = b.tools().len(),
        "connected"
    );
    b.set_status(
        hub,
        Status::Ready {
            peer: peer.clone(),
            protocol: protocol.clone(),
            instructions: info.as_ref().and_then(|i| i.instructions.clone()),
        },
    );
    hub.rebuild();
    b.mark_settled(hub);

    // Stateless (2026-07-28) backends send list_changed only on a subscription stream.
    let listener =
        (!protocol.has_initialize() && notifies).then(|| tokio::spawn(listen_changes(peer.clone(), b.clone())));
    let ended = loop {
        tokio::select! {
            r = &mut waiting => break match r {
                Ok(reason) => format!("the connection ended ({reason:?})"),
                Err(e) => format!("the connection task failed: {e}"),
            },
            () = b.refresh.notified(), if lists_tools => {
                tokio::select! {
                    r = refresh(hub, b, &peer, b.timeout) => if let Err(e) = r {
                        tracing::warn!(backend = %b.name, "{e}; keeping the previous catalog");
                    },
                    () = shutdown.cancelled() => {}
                }
            }
            // An HTTP backend's session survives failed requests; a request
            // that failed at the transport asks for a fresh connection.
            () = b.reconnect.notified() => {
                close(waiting).await;
                break "a request to it failed at the transport".to_string();
            }
            () = shutdown.cancelled() => {
                close(waiting).await;
                break "mcpmux is shutting down".to_string();
            }
        }
    };
    if let Some(l) = listener {
        l.abort();
    }
    ended
}

/// Re-reads the backend's whole catalog and publishes it.
async fn refresh(hub: &Hub, b: &Backend, peer: &Peer<RoleClient>, timeout: Duration) -> Result<(), String> {
    let tools = list_all_tools(peer, timeout)
        .await
        .map_err(|e| format!("listing its tools failed: {e}"))?;
    b.tools.store(Arc::new(tools));
    hub.rebuild();
    Ok(())
}

/// Every page of tools/list, guarding against a cursor that never advances.
async fn list_all_tools(peer: &Peer<RoleClient>, timeout: Duration) -> Result<Vec<Tool>, String> {
    let mut tools = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seen = HashSet::new();
    for _ in 0..MAX_PAGES {
        let params = cursor
            .take()
            .map(|c| PaginatedRequestParams::default().with_cursor(Some(c)));
        let page = tokio::time::timeout(timeout, peer.list_tools(params))
            .await
            .map_err(|_| format!("no answer within {timeout:?}"))?
            .map_err(|e| redact::urls(&e.to_string()))?;
        tools.extend(page.tools);
        match page.next_cursor {
            None => return Ok(tools),
            Some(next) if !seen.insert(next.clone()) => {
                tracing::warn!(cursor = %next, "the backend repeated a tools/list cursor; stopping at {} tools", tools.len());
                return Ok(tools);
            }
            Some(next) => cursor = Some(next),
        }
    }
    tracing::warn!(
        "the backend's tools/list ran past {MAX_PAGES} pages; stopping at {} tools",
        tools.len()
    );
    Ok(tools)
}

/// Follows a stateless backend's tools/list_changed on a `subscriptions/listen` stream.
async fn listen_changes(peer: Peer<RoleClient>, b: Arc<Backend>) {
    let filter = SubscriptionFilter::builder().tools_list_changed().build();
    while !peer.is_transport_closed() {
        match peer.listen(filter.clone()).await {
            Ok(mut sub) => {
                // Changes made before this stream was (re)opened were not heard: list again.
                b.request_refresh();
                while let Ok(Some(n)) = sub.next().await {
                    if matches!(n, ServerNotification::ToolListChangedNotification(_)) {
                        b.request_refresh();
                    }
                }
            }
            Err(e) => tracing::debug!(backend = %b.name, "subscriptions/listen failed: {e}"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

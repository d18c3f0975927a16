//! One configured backend and the task that keeps it connected: connect
//! (child process or HTTP), read its whole catalog, re-read it on
//! list_changed, after every reconnect and — for a backend whose list results
//! carry a freshness (`ttlMs`, 2026-07-28) — when a client lists after that
//! freshness ran out; and when the connection ends (a child exits, or a
//! request to an HTTP backend fails at the transport) end its process group
//! and restart it with exponential backoff, reset only after sustained
//! uptime. After a reconnect it restores what clients asked of the previous
//! connection (log level, resource subscriptions). A backend only publishes:
//! its status and catalog are read by whoever holds it, and every change
//! bumps a shared [`Changes`] counter that the hub follows. Nothing here
//! knows the hub.

#![allow(deprecated)] // logging/setLevel and resources/subscribe are deprecated (SEP-2577), still what 2025-era backends speak

mod catalog;
mod child;
mod client;
mod connect;
mod lines;
mod wire;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use rmcp::model::{ProtocolVersion, ServerNotification, SubscriptionFilter};
use rmcp::service::ClientCacheConfig;
use rmcp::{Peer, RoleClient};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

pub use catalog::{Catalog, Hidden, HiddenItem, Offers};
pub use client::{BackendClient, implementation};
pub use connect::ConnectError;

use crate::relay::Relay;
use crate::resolve::{BackendSpec, RetryPolicy};

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

/// A counter every backend bumps when its status or catalog changes; the hub
/// rebuilds its snapshot when the counter moved and wakes on its watch.
pub struct Changes {
    version: AtomicU64,
    tx: watch::Sender<u64>,
}

impl Default for Changes {
    fn default() -> Self {
        Changes {
            version: AtomicU64::new(0),
            tx: watch::channel(0).0,
        }
    }
}

impl Changes {
    pub fn publish(&self) {
        let v = self.version.fetch_add(1, Ordering::AcqRel) + 1;
        self.tx.send_replace(v);
    }

    /// The number of changes so far.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.tx.subscribe()
    }
}

/// The first retry waits this long; each further failure doubles it.
const FIRST_DELAY: Duration = Duration::from_millis(500);
/// A connection that lasted this long resets the backoff.
const STABLE_UPTIME: Duration = Duration::from_secs(60);
/// Consecutive short-lived connections after which a backend is called crash-looping.
const CRASH_LOOP: u32 = 5;
/// Handshakes that failed in a way that says nothing about the backend (a
/// garbled or uncorrelated answer) are retried this many times even when
/// `connect_retry` is off.
const TRANSIENT_RETRIES: u32 = 3;

/// How the next connection opens (see `connect::Lifecycle`).
const AUTO: u8 = 0;
const INITIALIZE: u8 = 1;
const DISCOVER: u8 = 2;

/// One configured backend.
pub struct Backend {
    pub spec: BackendSpec,
    /// What of its catalog is offered (its `tools`, `prompts`, `resources`).
    pub filters: crate::filter::Filters,
    status: ArcSwap<Status>,
    catalog: ArcSwap<Catalog>,
    refresh: Notify,
    reconnect: Notify,
    /// Cuts a wait for the next connection attempt short (SIGUSR1).
    retry: Notify,
    /// One listing at a time; concurrent client lists of a stale catalog share it.
    listing: tokio::sync::Mutex<()>,
    /// Listings completed so far.
    listings: AtomicU64,
    settled: AtomicBool,
    created: Instant,
    settled_in: std::sync::OnceLock<Duration>,
    /// How the backend is approached: probe first, or the handshake it showed it needs.
    lifecycle: AtomicU8,
    /// Counts connection attempts: what a request belongs to is only
    /// meaningful within one connection (request ids and progress tokens
    /// start again with each).
    epoch: AtomicU64,
    changes: Arc<Changes>,
    /// Where its changing credentials (credential helper, OAuth) come from.
    credentials: Option<crate::auth::Source>,
}

impl Backend {
    pub fn new(spec: BackendSpec, changes: Arc<Changes>, auth: &crate::auth::AuthSettings) -> Backend {
        let credentials = match &spec.transport {
            crate::config::Backend::Http(h) => crate::auth::Source::for_backend(&spec.name, h, auth),
            crate::config::Backend::Command(_) => None,
        };
        Backend {
            credentials,
            filters: crate::filter::Filters::new(&spec.transport),
            spec,
            status: ArcSwap::from_pointee(Status::Connecting),
            catalog: ArcSwap::from_pointee(Catalog::default()),
            refresh: Notify::new(),
            reconnect: Notify::new(),
            retry: Notify::new(),
            listing: tokio::sync::Mutex::new(()),
            listings: AtomicU64::new(0),
            settled: AtomicBool::new(false),
            created: Instant::now(),
            settled_in: std::sync::OnceLock::new(),
            lifecycle: AtomicU8::new(AUTO),
            epoch: AtomicU64::new(0),
            changes,
        }
    }

    pub fn name(&self) -> &Arc<str> {
        &self.spec.name
    }

    /// The current connection's number.
    /// Starts counting connections where `old` (the backend this one replaces) stopped.
    pub fn continue_epochs_from(&self, old: &Backend) {
        self.epoch.store(old.epoch(), Ordering::Release);
    }

    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
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

    /// The backend's catalog as last listed (kept while it is down; the
    /// router serves only connected backends).
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.load_full()
    }

    /// Ask the supervisor to list this backend's tools again.
    pub fn request_refresh(&self) {
        self.refresh.notify_one();
    }

    /// Ask the supervisor for a fresh connection because a request failed at
    /// the transport (HTTP backends only: a command backend that dies ends its
    /// connection by itself).
    pub fn request_reconnect(&self) {
        if self.spec.is_http() {
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

    /// If the backend is down and waiting to try again (or given up on),
    /// it tries again now; whether it was.
    pub fn retry_now(&self) -> bool {
        if matches!(&**self.status.load(), Status::Down { .. }) {
            self.retry.notify_one();
            true
        } else {
            false
        }
    }

    /// Whether the backend waits for an OAuth consent it may not ask for yet.
    pub fn awaiting_consent(&self) -> bool {
        self.credentials
            .as_ref()
            .and_then(|c| c.oauth())
            .is_some_and(|o| o.awaiting_consent())
    }

    /// Whether the backend waits for, or is in, an OAuth consent.
    pub fn authorizing(&self) -> bool {
        self.credentials
            .as_ref()
            .and_then(|c| c.oauth())
            .is_some_and(|o| o.awaiting_consent() || o.consenting())
    }

    /// A client arrived: a backend waiting to ask for a consent may ask now.
    pub fn client_arrived(&self) {
        if let Some(o) = self.credentials.as_ref().and_then(|c| c.oauth()) {
            o.allow_consent();
        }
    }

    fn set_status(&self, status: Status) {
        self.status.store(Arc::new(status));
        self.changes.publish();
    }

    /// Records that the first attempt is over (set before waking waiters).
    fn mark_settled(&self) {
        let _ = self.settled_in.set(self.created.elapsed());
        self.settled.store(true, Ordering::Release);
        self.changes.publish();
    }

    /// How long its first attempt took (from the backend's creation), once done.
    pub fn first_attempt_took(&self) -> Option<Duration> {
        self.settled_in.get().copied()
    }

    /// Lists the catalog again if the freshness the backend declared has run
    /// out; callers that arrive while a listing runs share it instead of
    /// starting another.
    pub async fn refresh_if_stale(&self) {
        if !self.catalog().is_stale(Instant::now()) {
            return;
        }
        let Some(peer) = self.peer() else { return };
        let done = self.listings.load(Ordering::Acquire);
        let _one = match self.listing.try_lock() {
            Ok(free) => free,
            Err(_) => {
                let waited = self.listing.lock().await;
                if self.listings.load(Ordering::Acquire) != done {
                    return;
                }
                waited
            }
        };
        if let Err(e) = self.list_into_catalog(&peer, self.spec.timeout).await {
            tracing::warn!(backend = %self.spec.name, "{e}; serving the previous catalog");
        }
    }

    /// Re-reads the whole catalog and publishes it.
    async fn relist(&self, peer: &Peer<RoleClient>, timeout: Duration) -> Result<(), String> {
        let _one = self.listing.lock().await;
        self.list_into_catalog(peer, timeout).await
    }

    async fn list_into_catalog(&self, peer: &Peer<RoleClient>, timeout: Duration) -> Result<(), String> {
        let offers = Offers::of(peer.peer_info().as_ref().map(|i| &i.capabilities));
        // A declared freshness is honoured even from a backend that also
        // announces changes: the Python SDK's servers declare listChanged on
        // 2026-07-28 yet send nothing when a tool is added, with ttlMs 0.
        let mut catalog = catalog::list(peer, offers, timeout).await?;
        catalog.filter(&self.filters);
        tracing::debug!(backend = %self.spec.name, fresh_for = ?catalog.fresh_until.map(|t| t.saturating_duration_since(Instant::now())), "listed");
        self.catalog.store(Arc::new(catalog));
        self.listings.fetch_add(1, Ordering::AcqRel);
        self.changes.publish();
        Ok(())
    }
}

/// Keeps backend `b` connected until `shutdown`.
pub async fn supervise(b: Arc<Backend>, policy: RetryPolicy, relay: Arc<Relay>, shutdown: CancellationToken) {
    let mut failures: u32 = 0;
    let mut transient: u32 = 0;
    let mut ever_connected = false;
    loop {
        b.set_status(Status::Connecting);
        tracing::debug!(backend = %b.spec.name, target = %b.spec.target(), "connecting");
        let epoch = b.epoch.fetch_add(1, Ordering::AcqRel) + 1;
        let client = BackendClient::new(Arc::downgrade(&b), relay.clone(), epoch);
        let attempt = tokio::select! {
            r = connect(&b, client) => Ok(r),
            () = attempt_deadline(&b, policy.attempt_timeout) => Err(()),
            () = shutdown.cancelled() => break,
        };
        let mut retry_anyway = false;
        let error = match attempt {
            Ok(Ok((conn, group))) => {
                ever_connected = true;
                transient = 0;
                let started = Instant::now();
                let ended = run_connected(&b, conn, group, &policy, &relay, &shutdown).await;
                // Down first, so its calls fail at once and its tools leave the
                // list; the last catalog is kept to name the backend in errors.
                b.set_status(Status::Down {
                    error: ended.clone(),
                    retry_at: None,
                });
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
            Ok(Err(_)) if b.awaiting_consent() => {
                // Not a failure: the backend needs a consent that may not be
                // asked for yet. Wait for leave to ask, or a login made out
                // of band, then connect again at once.
                b.set_status(Status::Down {
                    error: format!(
                        "waiting for authorization: run `mcpmux auth login {}` (a serving mcpmux also asks once a client connects; eager_auth: true asks at start-up)",
                        b.spec.name
                    ),
                    retry_at: None,
                });
                b.mark_settled();
                let Some(o) = b.credentials.as_ref().and_then(|c| c.oauth()) else {
                    continue;
                };
                let stamp = o.stored_stamp();
                let logged_in = async {
                    loop {
                        tokio::time::sleep(STORE_POLL).await;
                        if o.stored_stamp() != stamp {
                            return;
                        }
                    }
                };
                tokio::select! {
                    () = o.consent_allowed() => {}
                    () = logged_in => tracing::info!(backend = %b.spec.name, "found new tokens in the token store"),
                    () = shutdown.cancelled() => break,
                }
                continue;
            }
            Ok(Err(e)) => {
                if e.is_transient() && transient < TRANSIENT_RETRIES {
                    transient += 1;
                    retry_anyway = true;
                }
                e.to_string()
            }
            Err(_) => ConnectError::Timeout(policy.attempt_timeout).to_string(),
        };
        failures += 1;
        let give_up = !retry_anyway
            && if ever_connected {
                !policy.restart
            } else {
                !policy.retry_unreachable
            };
        if give_up {
            tracing::warn!(backend = %b.spec.name, "{error}; not retrying (SIGUSR1 retries)");
            b.set_status(Status::Down { error, retry_at: None });
            b.mark_settled();
            tokio::select! {
                () = b.retry.notified() => {
                    tracing::info!(backend = %b.spec.name, "retrying on request");
                    continue;
                }
                () = shutdown.cancelled() => break,
            }
        }
        let delay = if retry_anyway {
            // The backend answered, just not in step: try again soon.
            FIRST_DELAY
        } else {
            backoff(failures, policy.max_delay)
        };
        if failures >= CRASH_LOOP && ever_connected {
            tracing::error!(backend = %b.spec.name, failures, "{error}; the backend keeps failing, retrying in {delay:.1?}");
        } else {
            tracing::warn!(backend = %b.spec.name, "{error}; retrying in {delay:.1?}");
        }
        b.set_status(Status::Down {
            error,
            retry_at: Instant::now().checked_add(delay),
        });
        // A transient failure is not the end of the first attempt: whoever
        // waits for the backend (the first tools/list, `list`) waits for the retry.
        if !retry_anyway {
            b.mark_settled();
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = b.retry.notified() => tracing::info!(backend = %b.spec.name, "retrying on request"),
            () = shutdown.cancelled() => break,
        }
    }
    b.set_status(Status::Stopped);
    b.mark_settled();
}

/// How often a backend waiting for authorization looks for a login made out of band.
const STORE_POLL: Duration = Duration::from_secs(2);

/// Ends after `limit`, unless a consent of the backend is under way then:
/// a user approving in a browser is not a backend too slow to answer, so
/// each consent grants the attempt another `limit` after it ends.
async fn attempt_deadline(b: &Backend, limit: Duration) {
    loop {
        tokio::time::sleep(limit).await;
        match b.credentials.as_ref().and_then(|c| c.oauth()) {
            Some(o) if o.consenting() => o.consent_ended().await,
            _ => return,
        }
    }
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

/// One connection attempt, in the way the backend is known to need: a
/// backend that answers `server/discover` with only handshake-era versions is
/// reconnected at once with `initialize`, and one whose late answer to the
/// probe showed it speaks only 2026-07-28 is reconnected at once with
/// `server/discover`; each is approached that way from then on.
async fn connect(
    b: &Backend,
    client: BackendClient,
) -> Result<(connect::Connection, Option<connect::ProcessGroup>), ConnectError> {
    let attempt = |lifecycle| {
        let client = client.clone();
        async move {
            match &b.spec.transport {
                crate::config::Backend::Command(c) => connect::command(&b.spec.name, c, client, lifecycle).await,
                crate::config::Backend::Http(h) => {
                    Ok((connect::http(h, b.credentials.as_ref(), client, lifecycle).await?, None))
                }
            }
        }
    };
    let lifecycle = match b.lifecycle.load(Ordering::Relaxed) {
        INITIALIZE => connect::Lifecycle::Initialize,
        DISCOVER => connect::Lifecycle::Discover,
        _ => connect::Lifecycle::Auto,
    };
    match attempt(lifecycle).await {
        Err(ConnectError::NeedsInitialize) if lifecycle != connect::Lifecycle::Initialize => {
            tracing::debug!(backend = %b.spec.name, "it offers only handshake-era protocol versions; using initialize");
            b.lifecycle.store(INITIALIZE, Ordering::Relaxed);
            attempt(connect::Lifecycle::Initialize).await
        }
        Err(ConnectError::NeedsDiscover) if lifecycle != connect::Lifecycle::Discover => {
            tracing::debug!(backend = %b.spec.name, "it speaks only 2026-07-28; using server/discover");
            b.lifecycle.store(DISCOVER, Ordering::Relaxed);
            attempt(connect::Lifecycle::Discover).await
        }
        other => other,
    }
}

/// Serves one live connection; returns why it ended.
async fn run_connected(
    b: &Arc<Backend>,
    conn: connect::Connection,
    group: Option<connect::ProcessGroup>,
    policy: &RetryPolicy,
    relay: &Relay,
    shutdown: &CancellationToken,
) -> String {
    let peer = conn.peer().clone();
    // mcpmux keeps its own snapshot; a cache that serves stale lists on error would hide failures.
    peer.set_response_cache_config(ClientCacheConfig::disabled()).await;
    let info = peer.peer_info();
    let protocol = info
        .as_ref()
        .map_or(ProtocolVersion::LATEST_WITH_INITIALIZE, |i| i.protocol_version.clone());
    let offers = Offers::of(info.as_ref().map(|i| &i.capabilities));
    let lists = offers.any();
    let caps = info.as_ref().map(|i| &i.capabilities);
    let filter = change_filter(caps);
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

    if lists {
        let first = tokio::select! {
            r = b.relist(&peer, policy.attempt_timeout) => r,
            () = shutdown.cancelled() => Err("mcpmux is shutting down".to_string()),
        };
        if let Err(e) = first {
            close(waiting).await;
            return e;
        }
    }
    let server = info.as_ref().and_then(|i| i.server_info.as_ref());
    tracing::info!(
        backend = %b.spec.name,
        protocol = %protocol,
        server = server.map_or("?", |s| s.name.as_str()),
        tools = b.catalog().tools.len(),
        prompts = b.catalog().prompts.len(),
        resources = b.catalog().resources.len(),
        "connected"
    );
    // What clients asked of the previous connection holds for this one
    // (within the attempt timeout: a backend that never answers must not
    // stay "connecting").
    let restore = async {
        if protocol.has_initialize() {
            restore_session(b, &peer, caps, relay).await;
        } else {
            for uri in relay.subscriptions.of_backend(&b.spec.name) {
                if let Err(e) = relay.subscriptions.follow(&peer, &b.spec.name, &uri).await {
                    tracing::warn!(backend = %b.spec.name, "following a resource again failed: {e}");
                }
            }
        }
    };
    if tokio::time::timeout(policy.attempt_timeout, restore).await.is_err() {
        tracing::warn!(backend = %b.spec.name, "restoring subscriptions and log level took too long; going on without");
    }
    b.set_status(Status::Ready {
        peer: peer.clone(),
        protocol: protocol.clone(),
        instructions: info.as_ref().and_then(|i| i.instructions.clone()),
    });
    b.mark_settled();

    // Stateless (2026-07-28) backends send list_changed only on a subscription stream.
    let listener = filter
        .filter(|_| !protocol.has_initialize())
        .map(|filter| tokio::spawn(listen_changes(peer.clone(), b.clone(), filter)));
    let ended = loop {
        tokio::select! {
            r = &mut waiting => break match r {
                Ok(reason) => format!("the connection ended ({reason:?})"),
                Err(e) => format!("the connection task failed: {e}"),
            },
            () = b.refresh.notified(), if lists => {
                tokio::select! {
                    r = b.relist(&peer, b.spec.timeout) => if let Err(e) = r {
                        tracing::warn!(backend = %b.spec.name, "{e}; keeping the previous catalog");
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
                // Stopping: SIGTERM at once rather than after rmcp's wait
                // for the child to notice its closed stdin.
                if let Some(g) = group {
                    g.terminate();
                }
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

/// Applies to a fresh 2025-era session what clients asked of the backend: the
/// most verbose log level any client chose, and the resource subscriptions.
async fn restore_session(
    b: &Backend,
    peer: &Peer<RoleClient>,
    caps: Option<&rmcp::model::ServerCapabilities>,
    relay: &Relay,
) {
    if caps.is_some_and(|c| c.logging.is_some())
        && let Some(level) = relay.fronts.most_verbose()
        && let Err(e) = peer.set_level(rmcp::model::SetLevelRequestParams::new(level)).await
    {
        tracing::debug!(backend = %b.spec.name, "logging/setLevel failed: {e}");
    }
    for uri in relay.subscriptions.of_backend(&b.spec.name) {
        if let Err(e) = peer.subscribe(rmcp::model::SubscribeRequestParams::new(uri)).await {
            tracing::warn!(backend = %b.spec.name, "subscribing again to a resource failed: {e}");
        }
    }
}

/// The list changes a backend declared it announces, if any.
fn change_filter(caps: Option<&rmcp::model::ServerCapabilities>) -> Option<SubscriptionFilter> {
    let caps = caps?;
    let tools = caps.tools.as_ref().and_then(|t| t.list_changed).unwrap_or(false);
    let prompts = caps.prompts.as_ref().and_then(|p| p.list_changed).unwrap_or(false);
    let resources = caps.resources.as_ref().and_then(|r| r.list_changed).unwrap_or(false);
    if !(tools || prompts || resources) {
        return None;
    }
    let mut f = SubscriptionFilter::builder();
    if tools {
        f = f.tools_list_changed();
    }
    if prompts {
        f = f.prompts_list_changed();
    }
    if resources {
        f = f.resources_list_changed();
    }
    Some(f.build())
}

/// Follows a stateless backend's list changes on a `subscriptions/listen` stream.
async fn listen_changes(peer: Peer<RoleClient>, b: Arc<Backend>, filter: SubscriptionFilter) {
    while !peer.is_transport_closed() {
        match peer.listen(filter.clone()).await {
            Ok(mut sub) => {
                // Changes made before this stream was (re)opened were not heard: list again.
                b.request_refresh();
                while let Ok(Some(n)) = sub.next().await {
                    if matches!(
                        n,
                        ServerNotification::ToolListChangedNotification(_)
                            | ServerNotification::PromptListChangedNotification(_)
                            | ServerNotification::ResourceListChangedNotification(_)
                    ) {
                        b.request_refresh();
                    }
                }
            }
            Err(e) => tracing::debug!(backend = %b.spec.name, "subscriptions/listen failed: {e}"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

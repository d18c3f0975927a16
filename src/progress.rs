//! The calls in flight to backends, and what of theirs goes back to the
//! client: each call registers its backend request (id and progress token,
//! within one backend connection) with the client request it serves. Through
//! that registration a backend's progress is mapped back to the client's
//! token, its log messages reach a 2026-07-28 call that asked for them, and
//! its server-to-client requests find the call that caused them. rmcp
//! handles each notification in a task of its own, in no set order, so a
//! backend's transport queues each progress notification for its call as it
//! arrives, in wire order, and the handlers pass the queue on in that order
//! (values that do not increase are dropped, as the protocol requires); it
//! also counts log messages, so a call whose answer overtook them can wait
//! for them before it answers the client. Backends publish here; nothing
//! here knows the hub.

#![allow(deprecated)] // logging is deprecated by SEP-2577, and still what clients use

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{
    ClientCapabilities, LoggingLevel, LoggingMessageNotificationParam, ProgressNotificationParam, ProgressToken,
    RequestId,
};
use rmcp::{Peer, RoleServer};
use tokio::sync::Notify;

/// How long a progress notification may wait for its call to be registered
/// (a fast backend can report progress before the request handle returns).
const PROGRESS_RACE: Duration = Duration::from_secs(1);

/// The client call a backend's progress belongs to, and the last value
/// forwarded.
struct Route {
    /// Unique per registration: a guard touches only its own route (a new
    /// connection's call may reuse an old, parked call's token).
    id: u64,
    /// The backend request this call is (server-to-client requests name it).
    backend_request: RequestId,
    caller: Caller,
    to: Option<(Peer<RoleServer>, ProgressToken)>,
    /// A 2026-07-28 call that asked for log messages: its stream and level.
    log: Option<(Peer<RoleServer>, LoggingLevel)>,
    last: f64,
    /// Notifications that arrived on the wire and are not handled yet.
    pending: u32,
    /// Progress to pass on, in wire order.
    queue: VecDeque<ProgressNotificationParam>,
    /// Held while passing the queue on, so sends leave in queue order.
    order: Arc<tokio::sync::Mutex<()>>,
}

type Key = (Arc<str>, ProgressToken);

/// Marks a progress notification queued on arrival (see `arrived`).
#[derive(Clone, Copy)]
pub struct Queued;

/// The client call a backend request serves: where a server-to-client
/// request the backend makes during it must go.
#[derive(Clone)]
pub struct Caller {
    pub peer: Peer<RoleServer>,
    /// The client's request id (the server-to-client request is tied to it).
    pub request: RequestId,
    /// The client speaks 2026-07-28 (no server-to-client requests there).
    pub stateless: bool,
    pub capabilities: Option<ClientCapabilities>,
    /// Where a 2026-07-28 client's questions go (the call turns them into an
    /// input-required result).
    pub asks: Option<futures::channel::mpsc::UnboundedSender<crate::forward::InputAsk>>,
    /// The backend connection the call went out on (`Backend::epoch`).
    pub epoch: u64,
    /// A call answered by the fast lane asks its client there.
    pub lane: Option<crate::lane::Asker>,
}

const SEVERAL: &str = "several client calls to this backend are in flight and it did not say which one asks";

#[derive(Default)]
pub struct ProgressRoutes {
    routes: Mutex<HashMap<Key, Route>>,
    added: Notify,
    handled: Notify,
    /// Log messages that arrived on each backend's wire and are not handled yet.
    logs: Mutex<HashMap<Arc<str>, u32>>,
    next: std::sync::atomic::AtomicU64,
}

/// Removes its route when the call ends.
pub struct RouteGuard {
    routes: Arc<ProgressRoutes>,
    key: Key,
    id: u64,
}

impl RouteGuard {
    /// The call now serves another client request (a 2026-07-28 client's
    /// retry of a parked call): progress and questions go there.
    pub fn retarget(&self, peer: Peer<RoleServer>, request: RequestId, token: Option<ProgressToken>) {
        if let Some(r) = self.routes.lock().get_mut(&self.key).filter(|r| r.id == self.id) {
            r.caller.peer = peer.clone();
            r.caller.request = request;
            r.to = token.map(|t| (peer.clone(), t));
            if let Some((log_peer, _)) = &mut r.log {
                *log_peer = peer;
            }
        }
    }

    /// Waits (at most `limit`) until every progress notification that
    /// arrived for this call before now has been forwarded.
    pub async fn settle(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let handled = self.routes.handled.notified();
            let pending = self
                .routes
                .lock()
                .get(&self.key)
                .filter(|r| r.id == self.id)
                .is_some_and(|r| r.pending > 0 || (r.log.is_some() && self.routes.logs_pending(&self.key.0)));
            if !pending || Instant::now() >= deadline {
                return;
            }
            let _ = tokio::time::timeout_at(deadline.into(), handled).await;
        }
    }
}

impl Drop for RouteGuard {
    fn drop(&mut self) {
        let mut routes = self.routes.lock();
        if routes.get(&self.key).is_some_and(|r| r.id == self.id) {
            routes.remove(&self.key);
        }
    }
}

impl ProgressRoutes {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Route>> {
        self.routes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a progress notification that just arrived on backend
    /// `backend`'s wire (its handling follows in another task, in no set
    /// order): counted, and queued in wire order if its call is known.
    /// True if queued: its handler then passes on the queue, not its copy.
    pub fn arrived(&self, backend: &Arc<str>, params: &ProgressNotificationParam) -> bool {
        match self.lock().get_mut(&(backend.clone(), params.progress_token.clone())) {
            Some(r) => {
                r.pending += 1;
                r.queue.push_back(params.clone());
                true
            }
            None => false,
        }
    }

    /// Counts a log message that just arrived on backend `backend`'s wire.
    pub fn log_arrived(&self, backend: &Arc<str>) {
        *self
            .logs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(backend.clone())
            .or_default() += 1;
    }

    /// Counts a log message of backend `backend` as handled.
    pub fn log_handled(&self, backend: &Arc<str>) {
        if let Some(n) = self.logs.lock().unwrap_or_else(|e| e.into_inner()).get_mut(backend) {
            *n = n.saturating_sub(1);
        }
        self.handled.notify_waiters();
    }

    fn logs_pending(&self, backend: &Arc<str>) -> bool {
        self.logs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(backend)
            .is_some_and(|n| *n > 0)
    }

    /// Calls in flight now.
    pub fn in_flight(&self) -> usize {
        self.lock().len()
    }

    /// Waits until no call is in flight, or `limit` passed; how many are left.
    pub async fn wait_idle(&self, limit: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let n = self.in_flight();
            if n == 0 || tokio::time::Instant::now() >= deadline {
                return n;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Routes backend `backend`'s progress for `token` to `to` (or nowhere,
    /// when the client asked for no progress) while the guard lives.
    pub fn register(
        self: &Arc<Self>,
        backend: &Arc<str>,
        token: ProgressToken,
        backend_request: RequestId,
        caller: Caller,
        to: Option<(Peer<RoleServer>, ProgressToken)>,
        log: Option<(Peer<RoleServer>, LoggingLevel)>,
    ) -> RouteGuard {
        let key = (backend.clone(), token);
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.lock().insert(
            key.clone(),
            Route {
                id,
                backend_request,
                caller,
                to,
                log,
                last: f64::NEG_INFINITY,
                pending: 0,
                queue: VecDeque::new(),
                order: Arc::default(),
            },
        );
        self.added.notify_waiters();
        RouteGuard {
            routes: self.clone(),
            key,
            id,
        }
    }

    /// The client call that backend `backend`'s request belongs to: the one
    /// whose backend request `origin` names (streamable HTTP tells), or else
    /// the only call in flight to that backend.
    pub fn caller(&self, backend: &Arc<str>, epoch: u64, origin: Option<&RequestId>) -> Result<Caller, &'static str> {
        let routes = self.lock();
        let mut calls = routes
            .iter()
            .filter(|((b, _), r)| b == backend && r.caller.epoch == epoch)
            .map(|(_, r)| r);
        if let Some(origin) = origin {
            return calls
                .find(|r| &r.backend_request == origin)
                .map(|r| r.caller.clone())
                .ok_or("it names no call in flight");
        }
        match (calls.next(), calls.next()) {
            (Some(only), None) => Ok(only.caller.clone()),
            (None, _) => Err("no client call to this backend is in flight"),
            (Some(_), Some(_)) => Err(SEVERAL),
        }
    }

    /// `caller`, allowing for the race between a call going out and its
    /// registration: a backend may ask before mcpmux has noted the call
    /// that made it ask (the request is on the wire before `register`).
    pub async fn caller_soon(
        &self,
        backend: &Arc<str>,
        epoch: u64,
        origin: Option<&RequestId>,
    ) -> Result<Caller, &'static str> {
        let deadline = Instant::now() + PROGRESS_RACE;
        loop {
            let added = self.added.notified();
            match self.caller(backend, epoch, origin) {
                Err(why) if Instant::now() < deadline && why != SEVERAL => {
                    let _ = tokio::time::timeout_at(deadline.into(), added).await;
                }
                other => return other,
            }
        }
    }

    /// Passes a backend's log message to the 2026-07-28 calls in flight to
    /// it whose requested level admits it (on that call's own stream).
    pub async fn log(&self, backend: &Arc<str>, epoch: u64, params: LoggingMessageNotificationParam) {
        let params = crate::fronts::from_backend(backend, params);
        let rank = crate::fronts::rank(params.level);
        // A notification names no request: only when one call of this
        // connection asked for logs is it surely that call's.
        let asking: Vec<(Peer<RoleServer>, LoggingLevel)> = self
            .lock()
            .iter()
            .filter(|((b, _), r)| b == backend && r.caller.epoch == epoch)
            .filter_map(|(_, r)| r.log.clone())
            .collect();
        match asking.as_slice() {
            [(peer, level)] if rank >= crate::fronts::rank(*level) => {
                let _ = tokio::time::timeout(Duration::from_secs(5), peer.notify_logging_message(params)).await;
            }
            [_] | [] => {}
            _ => tracing::debug!(backend = %backend, "a log message could belong to several calls; not passed on"),
        }
    }

    /// Forgets the log messages counted on a backend's previous connection.
    pub fn reset_logs(&self, backend: &Arc<str>) {
        self.logs.lock().unwrap_or_else(|e| e.into_inner()).remove(backend);
        self.handled.notify_waiters();
    }

    /// Handles one backend progress notification: passes on what is queued
    /// for its call (`queued`: it was queued on arrival), or, if it came
    /// before its call was registered, queues it once the call is (waiting a
    /// little for that); then counts it as handled.
    pub async fn forward(&self, backend: &Arc<str>, params: ProgressNotificationParam, queued: bool) {
        let key = (backend.clone(), params.progress_token.clone());
        if queued || self.queue_when_registered(&key, params).await {
            self.drain(&key).await;
        }
        if let Some(r) = self.lock().get_mut(&key) {
            r.pending = r.pending.saturating_sub(1);
        }
        self.handled.notify_waiters();
    }

    /// Queues `params` once its call is registered; false if it never is.
    async fn queue_when_registered(&self, key: &Key, params: ProgressNotificationParam) -> bool {
        let deadline = Instant::now() + PROGRESS_RACE;
        loop {
            let added = self.added.notified();
            if let Some(r) = self.lock().get_mut(key) {
                r.queue.push_back(params);
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            let _ = tokio::time::timeout_at(deadline.into(), added).await;
        }
    }

    /// Sends what is queued for the call at `key`, in order, only values
    /// above the last one sent (progress must increase).
    async fn drain(&self, key: &Key) {
        let Some(order) = self.lock().get(key).map(|r| r.order.clone()) else {
            return;
        };
        let _sending = order.lock().await;
        loop {
            let next = {
                let mut routes = self.lock();
                let Some(r) = routes.get_mut(key) else { return };
                let Some(params) = r.queue.pop_front() else { return };
                let fresh = params.progress > r.last;
                if fresh {
                    r.last = params.progress;
                }
                r.to.clone().filter(|_| fresh).map(|to| (to, params))
            };
            if let Some(((peer, token), mut params)) = next {
                params.progress_token = token;
                let _ = peer.notify_progress(params).await;
            }
        }
    }
}

//! The HTTP front's 2025-11-25 sessions: rmcp's local session manager, with
//! idle expiry (`listen.session_idle_timeout`) decided here rather than by
//! rmcp's timer, which counts only messages: it would end a client that
//! keeps its GET stream open and quietly waits, or one whose call is still
//! running after it dropped the call's stream (a disconnect is not a
//! cancellation). A session is idle when it has no open stream, no call in
//! progress, and no request came for that long; then it is closed like a
//! DELETE (rmcp removes it, and its id answers 404 so the client starts a
//! new one). A session idle for a few seconds whose state a replayed
//! handshake restores in full (no log level chosen, no resource
//! subscription, no roots; `Hooks::can_sleep`) goes to sleep: rmcp's worker,
//! service and channels (about 60 KiB) are let go and only its `initialize`
//! parameters are kept, in the session store rmcp restores sessions from,
//! so its next request wakes it transparently, under the same id. When
//! sessions end or sleep, the allocator is asked to hand the freed memory
//! back (glibc keeps it otherwise), so memory returns to its level.

use std::collections::{HashMap, HashSet};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use rmcp::RoleServer;
use rmcp::model::{ClientJsonRpcMessage, ClientNotification, JsonRpcMessage, RequestId, ServerJsonRpcMessage};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::transport::common::server_side_http::ServerSseMessage;
use rmcp::transport::streamable_http_server::SessionId;
use rmcp::transport::streamable_http_server::session::SessionManager;
use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, LocalSessionManagerError};
use rmcp::transport::streamable_http_server::session::{RestoreOutcome, SessionState, SessionStore, SessionStoreError};

/// How long a session is idle before it may sleep.
pub const SLEEP_AFTER: Duration = Duration::from_secs(5);

/// What the sessions ask of the rest of mcpmux.
pub trait Hooks: Send + Sync {
    /// Whether session `id` holds nothing a replayed handshake would not
    /// restore, so that it may sleep.
    fn can_sleep(&self, id: &str) -> bool;
    /// Session `id` has ended for good (expired, deleted, or its service
    /// stopped).
    fn ended(&self, id: &str);
}

/// The sessions of one HTTP front.
pub struct Sessions {
    inner: Arc<LocalSessionManager>,
    state: Arc<State>,
}

/// The `initialize` parameters of every session, which rmcp stores after
/// each handshake and restores a sleeping session from: kept as compact
/// JSON text, one allocation each (a sleeping session's few live objects
/// are what keeps the pages around them from going back to the system).
#[derive(Default)]
pub struct Store(Mutex<HashMap<Box<str>, Box<str>>>);

#[async_trait::async_trait]
impl SessionStore for Store {
    async fn load(&self, id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        let text = self.0.lock().unwrap().get(id).cloned();
        text.map(|t| serde_json::from_str(&t).map_err(SessionStoreError::from))
            .transpose()
    }

    async fn store(&self, id: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        let text = serde_json::to_string(state).map_err(SessionStoreError::from)?;
        self.0.lock().unwrap().insert(id.into(), text.into_boxed_str());
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<(), SessionStoreError> {
        self.0.lock().unwrap().remove(id);
        Ok(())
    }
}

struct State {
    /// Zero: sessions never expire.
    idle: Duration,
    hooks: Arc<dyn Hooks>,
    store: Arc<Store>,
    /// Every live session's activity, by id.
    activity: Mutex<HashMap<SessionId, Activity>>,
    /// A trim is already scheduled.
    trimming: AtomicBool,
}

struct Activity {
    /// When the last request, stream or call ended (or the session began).
    last: Instant,
    /// Its rmcp session is let go (or being let go); its next request wakes it.
    asleep: bool,
    /// rmcp will still call `close_session` for the worker let go when it
    /// went to sleep: that call is not the session's end.
    stale_close: bool,
    /// Which of its workers is the current one (each wake starts another).
    epoch: u64,
    /// Streams open now.
    streams: usize,
    /// Requests from the client not yet answered (nor cancelled).
    calls: HashSet<RequestId>,
}

impl Activity {
    fn expired(&self, now: Instant, idle: Duration) -> bool {
        self.streams == 0 && self.calls.is_empty() && now.duration_since(self.last) >= idle
    }

    fn new() -> Activity {
        Activity {
            last: Instant::now(),
            asleep: false,
            stale_close: false,
            epoch: 0,
            streams: 0,
            calls: HashSet::new(),
        }
    }
}

impl State {
    fn with(&self, id: &SessionId, f: impl FnOnce(&mut Activity)) {
        if let Some(a) = self.activity.lock().unwrap().get_mut(id) {
            a.last = Instant::now();
            f(a);
        }
    }

    fn touch(&self, id: &SessionId) {
        self.with(id, |_| {});
    }

    fn streams(&self, id: &SessionId, opened: isize) {
        self.with(id, |a| a.streams = a.streams.saturating_add_signed(opened));
    }

    /// Sessions that look expired now (checked again before each is
    /// closed; never, with no idle limit), and awake ones that look ready
    /// to sleep.
    fn due(&self, now: Instant) -> (Vec<SessionId>, Vec<SessionId>) {
        let activity = self.activity.lock().unwrap();
        let expired = activity
            .iter()
            .filter(|(_, a)| !self.idle.is_zero() && a.expired(now, self.idle))
            .map(|(id, _)| id.clone())
            .collect();
        let sleepy = activity
            .iter()
            .filter(|(_, a)| !a.asleep && a.expired(now, SLEEP_AFTER))
            .map(|(id, _)| id.clone())
            .collect();
        (expired, sleepy)
    }

    /// Takes session `id` out if it is still expired: a request that came
    /// meanwhile keeps it (and one that comes after finds it gone: 404).
    /// Returns whether it was taken, and whether it was asleep.
    fn take_expired(&self, id: &SessionId) -> Option<bool> {
        let mut activity = self.activity.lock().unwrap();
        let expired = activity.get(id).is_some_and(|a| a.expired(Instant::now(), self.idle));
        expired.then(|| activity.remove(id).is_some_and(|a| a.asleep))
    }

    /// Marks session `id` asleep if it is still idle and awake.
    fn take_sleepy(&self, id: &SessionId) -> bool {
        let mut activity = self.activity.lock().unwrap();
        match activity.get_mut(id) {
            Some(a) if !a.asleep && a.expired(Instant::now(), SLEEP_AFTER) => {
                a.asleep = true;
                a.stale_close = true;
                true
            }
            _ => false,
        }
    }

    /// Session `id` has ended for good: what is kept for it goes.
    fn end(&self, id: &SessionId) {
        self.store.0.lock().unwrap().remove(&**id);
        self.hooks.ended(id);
    }
}

impl Sessions {
    /// Sessions that end after `idle` with no request, stream or call (never,
    /// if `idle` is zero). Must be called within the runtime (it starts the
    /// expiry sweep).
    pub fn new(idle: Duration, hooks: Arc<dyn Hooks>) -> Sessions {
        let mut inner = LocalSessionManager::default();
        // Expiry is ours (see the module's opening); rmcp's timer is off.
        inner.session_config.keep_alive = None;
        let inner = Arc::new(inner);
        let state = Arc::new(State {
            idle,
            hooks,
            store: Arc::default(),
            activity: Mutex::default(),
            trimming: AtomicBool::new(false),
        });
        tokio::spawn(sweep(Arc::downgrade(&inner), Arc::downgrade(&state)));
        Sessions { inner, state }
    }

    /// The store rmcp keeps each session's `initialize` parameters in, and
    /// wakes a sleeping session from (`StreamableHttpServerConfig::session_store`).
    pub fn store(&self) -> Arc<dyn SessionStore> {
        self.state.store.clone()
    }
}

impl Sessions {
    /// Marks a call of session `id` in progress until the guard drops (None:
    /// no such session). For calls answered outside rmcp (`lane`).
    pub fn lane_call(&self, id: &str, request: RequestId) -> Option<CallGuard> {
        let mut activity = self.state.activity.lock().unwrap();
        let key = activity.get_key_value(id)?.0.clone();
        let a = activity.get_mut(id)?;
        a.last = Instant::now();
        a.calls.insert(request.clone());
        Some(CallGuard {
            state: self.state.clone(),
            id: key,
            request,
        })
    }
}

/// A call in progress in a session (see `Sessions::lane_call`).
pub struct CallGuard {
    state: Arc<State>,
    id: SessionId,
    request: RequestId,
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        let request = &self.request;
        self.state.with(&self.id, |a| {
            a.calls.remove(request);
        });
    }
}

/// Ends idle sessions and puts the quiet ones to sleep, checking a few
/// times per period, until the front is gone.
async fn sweep(inner: Weak<LocalSessionManager>, state: Weak<State>) {
    let every = match state.upgrade() {
        Some(s) if !s.idle.is_zero() => s.idle.min(SLEEP_AFTER) / 4,
        Some(_) => SLEEP_AFTER / 4,
        None => return,
    }
    .clamp(Duration::from_millis(250), Duration::from_secs(60));
    loop {
        tokio::time::sleep(every).await;
        let (Some(inner), Some(state)) = (inner.upgrade(), state.upgrade()) else {
            return;
        };
        let (expired, sleepy) = state.due(Instant::now());
        let any_expired = !expired.is_empty();
        for id in expired {
            let Some(asleep) = state.take_expired(&id) else {
                continue;
            };
            tracing::debug!(session = %id, idle = ?state.idle, "closing an idle session");
            state.end(&id);
            if !asleep && let Err(e) = inner.close_session(&id).await {
                tracing::debug!(session = %id, "closing an idle session: {e}");
            }
        }
        if any_expired {
            // What the ended sessions held goes back to the system (a
            // sleeping one has no worker whose end would see to it).
            tokio::spawn(trim_soon(state.clone()));
        }
        for id in sleepy {
            // (Asked outside the lock: the hooks take locks of their own.)
            if !state.hooks.can_sleep(&id) {
                continue;
            }
            // Marked asleep and taken out of rmcp's map in one step (rmcp's
            // map locked throughout), so that a request now finds the session
            // either awake in the map or asleep and out of it, to be woken.
            let handle = {
                let mut sessions = inner.sessions.write().await;
                if !state.take_sleepy(&id) {
                    continue;
                }
                sessions.remove(&id)
            };
            tracing::debug!(session = %id, "a quiet session goes to sleep");
            if let Some(handle) = handle
                && let Err(e) = handle.close().await
            {
                tracing::debug!(session = %id, "putting a session to sleep: {e}");
            }
        }
    }
}

/// A session's transport: rmcp's, watched for the calls in progress, and
/// telling the sessions when it ends.
pub struct Tracked {
    transport: <LocalSessionManager as SessionManager>::Transport,
    id: SessionId,
    state: Arc<State>,
    /// The session's worker this is (`Activity::epoch`).
    epoch: u64,
}

impl Transport<RoleServer> for Tracked {
    type Error = <<LocalSessionManager as SessionManager>::Transport as Transport<RoleServer>>::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let answered = match &item {
            JsonRpcMessage::Response(r) => Some(&r.id),
            JsonRpcMessage::Error(e) => e.id.as_ref(),
            _ => None,
        };
        if let Some(request) = answered {
            self.state.with(&self.id, |a| {
                a.calls.remove(request);
            });
        }
        self.transport.send(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        let message = self.transport.receive().await;
        match &message {
            Some(JsonRpcMessage::Request(r)) => self.state.with(&self.id, |a| {
                a.calls.insert(r.id.clone());
            }),
            Some(JsonRpcMessage::Notification(n)) => {
                if let ClientNotification::CancelledNotification(c) = &n.notification
                    && let Some(request) = &c.params.request_id
                {
                    self.state.with(&self.id, |a| {
                        a.calls.remove(request);
                    });
                }
            }
            _ => {}
        }
        message
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.transport.close()
    }
}

impl Drop for Tracked {
    /// The session's service has ended (rmcp then removes it): unless the
    /// session just went to sleep, its activity and its stored parameters
    /// go; either way freed memory is handed back shortly after.
    fn drop(&mut self) {
        let ended = {
            let mut activity = self.state.activity.lock().unwrap();
            match activity.get(&self.id) {
                // Asleep, or awake again on another worker.
                Some(a) if a.asleep || a.epoch != self.epoch => false,
                Some(_) => activity.remove(&self.id).is_some(),
                None => false,
            }
        };
        if ended {
            self.state.end(&self.id);
        }
        let state = self.state.clone();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(trim_soon(state));
        }
    }
}

/// Hands freed heap back to the system once a burst of sessions has ended:
/// one trim per second at most, whatever the number of sessions ending, off
/// the runtime's workers (a trim locks every arena for a while).
async fn trim_soon(state: Arc<State>) {
    if state.trimming.swap(true, Ordering::AcqRel) {
        return;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    state.trimming.store(false, Ordering::Release);
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free memory, and is thread-safe.
    let _ = tokio::task::spawn_blocking(|| unsafe { libc::malloc_trim(0) }).await;
}

/// A stream of a session's messages, counted as activity while open: until
/// it ends or is dropped, whichever comes first (hyper may keep a finished
/// body until its connection's next request). The count is taken before
/// rmcp is asked for the stream, so the sweep cannot close the session in
/// between.
struct Watched<S> {
    stream: S,
    guard: StreamGuard,
}

struct StreamGuard {
    id: SessionId,
    state: Arc<State>,
    open: bool,
}

impl StreamGuard {
    fn open(id: &SessionId, state: &Arc<State>) -> StreamGuard {
        state.streams(id, 1);
        StreamGuard {
            id: id.clone(),
            state: state.clone(),
            open: true,
        }
    }

    fn close(&mut self) {
        if std::mem::take(&mut self.open) {
            self.state.streams(&self.id, -1);
        }
    }

    fn watch<S>(self, stream: S) -> Watched<S> {
        Watched { stream, guard: self }
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.close();
    }
}

impl<S: Stream + Unpin> Stream for Watched<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let next = Pin::new(&mut self.stream).poll_next(cx);
        if let Poll::Ready(None) = next {
            self.guard.close();
        }
        next
    }
}

impl SessionManager for Sessions {
    type Error = LocalSessionManagerError;
    type Transport = Tracked;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        let (id, transport) = self.inner.create_session().await?;
        self.state.activity.lock().unwrap().insert(id.clone(), Activity::new());
        let tracked = Tracked {
            transport,
            id: id.clone(),
            state: self.state.clone(),
            epoch: 0,
        };
        Ok((id, tracked))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        self.state.touch(id);
        self.inner.initialize_session(id, message).await
    }

    /// A sleeping session is not there: rmcp then wakes it (`restore_session`).
    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        let asleep = {
            let mut activity = self.state.activity.lock().unwrap();
            activity.get_mut(id).is_some_and(|a| {
                a.last = Instant::now();
                a.asleep
            })
        };
        if asleep {
            return Ok(false);
        }
        self.inner.has_session(id).await
    }

    /// Wakes a sleeping session: a new worker under its id (rmcp replays
    /// its handshake on it).
    async fn restore_session(&self, id: SessionId) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        let transport = match self.inner.restore_session(id.clone()).await? {
            RestoreOutcome::Restored(t) => t,
            RestoreOutcome::AlreadyPresent => return Ok(RestoreOutcome::AlreadyPresent),
            _ => return Ok(RestoreOutcome::NotSupported),
        };
        let epoch = {
            let mut activity = self.state.activity.lock().unwrap();
            let a = activity.entry(id.clone()).or_insert_with(Activity::new);
            a.asleep = false;
            a.last = Instant::now();
            a.epoch += 1;
            a.epoch
        };
        tracing::debug!(session = %id, "a sleeping session wakes");
        Ok(RestoreOutcome::Restored(Tracked {
            transport,
            id,
            state: self.state.clone(),
            epoch,
        }))
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        enum Then {
            Ignore,
            End,
            Close,
        }
        let then = {
            let mut activity = self.state.activity.lock().unwrap();
            match activity.get_mut(id) {
                // rmcp closing the worker that was let go when the session
                // went to sleep (the session may even be awake again).
                Some(a) if a.stale_close => {
                    a.stale_close = false;
                    Then::Ignore
                }
                // A sleeping session (a DELETE, say) has no worker to stop.
                Some(a) if a.asleep => {
                    activity.remove(id);
                    Then::End
                }
                _ => Then::Close,
            }
        };
        match then {
            Then::Ignore => Ok(()),
            Then::End => {
                self.state.end(id);
                Ok(())
            }
            Then::Close => self.inner.close_session(id).await,
        }
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let guard = StreamGuard::open(id, &self.state);
        let stream = self.inner.create_stream(id, message).await?;
        Ok(guard.watch(Box::pin(stream)))
    }

    async fn accept_message(&self, id: &SessionId, message: ClientJsonRpcMessage) -> Result<(), Self::Error> {
        self.state.touch(id);
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let guard = StreamGuard::open(id, &self.state);
        let stream = self.inner.create_standalone_stream(id).await?;
        Ok(guard.watch(Box::pin(stream)))
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let guard = StreamGuard::open(id, &self.state);
        let stream = self.inner.resume(id, last_event_id).await?;
        Ok(guard.watch(Box::pin(stream)))
    }
}

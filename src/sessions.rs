//! The HTTP front's 2025-11-25 sessions: rmcp's local session manager with
//! what it lacks for a long-running daemon. Idle expiry
//! (`listen.session_idle_timeout`) is decided here, not by rmcp's timer, which
//! counts only messages and so would end a client that keeps its stream
//! open and quietly waits: a session is idle when it has no open stream
//! (a call's answer or the standing GET) and no request came for that long.
//! rmcp ends a session's worker but keeps its handle in its map, so the id
//! still answers (with an error rather than the 404 that tells a client to
//! start again) and the map only grows; here a session leaves the map as
//! soon as its MCP service ends (expiry, DELETE, shutdown), and the
//! allocator is asked to give the freed memory back (glibc keeps it
//! otherwise), so memory returns to its level once abandoned sessions go.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use rmcp::RoleServer;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::transport::common::server_side_http::ServerSseMessage;
use rmcp::transport::streamable_http_server::SessionId;
use rmcp::transport::streamable_http_server::session::SessionManager;
use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, LocalSessionManagerError};

/// rmcp's per-session buffers hold this many messages (its default is 16,
/// and each stream preallocates a cache that size). A session's own
/// messages are few: a call's answer, its progress, a log line; a full
/// buffer only makes the sender wait.
const CHANNEL_CAPACITY: usize = 8;

/// The sessions of one HTTP front.
pub struct Sessions {
    inner: Arc<LocalSessionManager>,
    state: Arc<State>,
}

struct State {
    idle: Duration,
    /// Every live session's activity, by id.
    activity: Mutex<HashMap<SessionId, Activity>>,
    /// A trim is already scheduled.
    trimming: AtomicBool,
}

struct Activity {
    /// When the last request or stream ended (or the session began).
    last: Instant,
    /// Streams open now: a session with one is not idle.
    streams: usize,
}

impl State {
    fn touch(&self, id: &SessionId, opened: isize) {
        if let Some(a) = self.activity.lock().unwrap().get_mut(id) {
            a.last = Instant::now();
            a.streams = a.streams.saturating_add_signed(opened);
        }
    }

    /// Sessions with no stream open and no request for `idle`.
    fn expired(&self, now: Instant) -> Vec<SessionId> {
        self.activity
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, a)| a.streams == 0 && now.duration_since(a.last) >= self.idle)
            .map(|(id, _)| id.clone())
            .collect()
    }
}

impl Sessions {
    /// Sessions that end after `idle` with no request and no open stream.
    /// Must be called within the runtime (it starts the expiry sweep).
    pub fn new(idle: Duration) -> Sessions {
        let mut inner = LocalSessionManager::default();
        // Expiry is ours (see the module's opening); rmcp's timer is off.
        inner.session_config.keep_alive = None;
        inner.session_config.channel_capacity = CHANNEL_CAPACITY;
        let inner = Arc::new(inner);
        let state = Arc::new(State {
            idle,
            activity: Mutex::default(),
            trimming: AtomicBool::new(false),
        });
        tokio::spawn(sweep(Arc::downgrade(&inner), Arc::downgrade(&state)));
        Sessions { inner, state }
    }
}

/// Ends idle sessions, checking a few times per idle period, until the
/// front is gone.
async fn sweep(inner: Weak<LocalSessionManager>, state: Weak<State>) {
    let every = match state.upgrade() {
        Some(s) => (s.idle / 4).clamp(Duration::from_millis(250), Duration::from_secs(60)),
        None => return,
    };
    loop {
        tokio::time::sleep(every).await;
        let (Some(inner), Some(state)) = (inner.upgrade(), state.upgrade()) else {
            return;
        };
        for id in state.expired(Instant::now()) {
            tracing::debug!(session = %id, idle = ?state.idle, "closing an idle session");
            if let Err(e) = inner.close_session(&id).await {
                tracing::debug!(session = %id, "closing an idle session: {e}");
            }
        }
    }
}

/// A session's transport: rmcp's, plus what happens when it ends.
pub struct Tracked {
    transport: <LocalSessionManager as SessionManager>::Transport,
    id: SessionId,
    manager: Arc<LocalSessionManager>,
    state: Arc<State>,
}

impl Transport<RoleServer> for Tracked {
    type Error = <<LocalSessionManager as SessionManager>::Transport as Transport<RoleServer>>::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.transport.send(item)
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleServer>>> + Send {
        self.transport.receive()
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.transport.close()
    }
}

impl Drop for Tracked {
    /// The session's service has ended: its id goes (a later request with it
    /// gets 404), and freed memory is handed back shortly after.
    fn drop(&mut self) {
        self.state.activity.lock().unwrap().remove(&self.id);
        let manager = self.manager.clone();
        let id = self.id.clone();
        let state = self.state.clone();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                manager.sessions.write().await.remove(&id);
                tracing::debug!(session = %id, "session ended");
                trim_soon(state).await;
            });
        }
    }
}

/// Hands freed heap back to the system once a burst of sessions has ended:
/// one trim per second at most, whatever the number of sessions ending.
async fn trim_soon(state: Arc<State>) {
    if state.trimming.swap(true, Ordering::AcqRel) {
        return;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    state.trimming.store(false, Ordering::Release);
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free memory, and is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A stream of a session's messages, counted as activity while open: until
/// it ends or is dropped, whichever comes first (hyper may keep a finished
/// body until its connection's next request).
struct Watched<S> {
    stream: S,
    id: SessionId,
    state: Arc<State>,
    open: bool,
}

impl<S> Watched<S> {
    fn new(stream: S, id: &SessionId, state: &Arc<State>) -> Watched<S> {
        state.touch(id, 1);
        Watched {
            stream,
            id: id.clone(),
            state: state.clone(),
            open: true,
        }
    }
}

impl<S: Stream + Unpin> Stream for Watched<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let next = Pin::new(&mut self.stream).poll_next(cx);
        if let Poll::Ready(None) = next {
            self.close();
        }
        next
    }
}

impl<S> Watched<S> {
    fn close(&mut self) {
        if std::mem::take(&mut self.open) {
            self.state.touch(&self.id, -1);
        }
    }
}

impl<S> Drop for Watched<S> {
    fn drop(&mut self) {
        self.close();
    }
}

impl SessionManager for Sessions {
    type Error = LocalSessionManagerError;
    type Transport = Tracked;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        let (id, transport) = self.inner.create_session().await?;
        self.state.activity.lock().unwrap().insert(
            id.clone(),
            Activity {
                last: Instant::now(),
                streams: 0,
            },
        );
        let tracked = Tracked {
            transport,
            id: id.clone(),
            manager: self.inner.clone(),
            state: self.state.clone(),
        };
        Ok((id, tracked))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        self.state.touch(id, 0);
        self.inner.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        self.inner.has_session(id).await
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.inner.close_session(id).await
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let stream = self.inner.create_stream(id, message).await?;
        Ok(Watched::new(Box::pin(stream), id, &self.state))
    }

    async fn accept_message(&self, id: &SessionId, message: ClientJsonRpcMessage) -> Result<(), Self::Error> {
        self.state.touch(id, 0);
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let stream = self.inner.create_standalone_stream(id).await?;
        Ok(Watched::new(Box::pin(stream), id, &self.state))
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let stream = self.inner.resume(id, last_event_id).await?;
        Ok(Watched::new(Box::pin(stream), id, &self.state))
    }
}

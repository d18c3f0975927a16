//! The connected clients: sessions that began with `initialize` (each with
//! the log level it chose) and 2026-07-28 `subscriptions/listen` streams.
//! They are told when what mcpmux offers changes — sessions by plain
//! notifications, streams within the filter each one chose — and sessions
//! receive the backends' log messages their level admits, under a logger
//! named after the backend — only from backends their view (profile) has,
//! as only those are offered their roots. Each HTTP session's endpoint is
//! recorded (`bound`), for the front door to hold it there. Every client is told at once, and a client that
//! cannot take a notification in time is skipped, not waited for.

#![allow(deprecated)] // logging is deprecated by SEP-2577, and still what 2025-11-25 clients use

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam};
use rmcp::service::{SubscriptionSendError, SubscriptionSink};
use rmcp::{Peer, RoleServer};

/// How long one client may take to accept a list_changed notification.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);

/// Which lists changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changed {
    pub tools: bool,
    pub prompts: bool,
    pub resources: bool,
}

impl Changed {
    pub fn any(self) -> bool {
        self.tools || self.prompts || self.resources
    }
}

/// The level a session gets log messages from until it chooses one.
const DEFAULT_LEVEL: LoggingLevel = LoggingLevel::Info;

/// How verbose a level is: 0 (debug) to 7 (emergency).
pub fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

/// One client session's own state.
#[derive(Debug)]
pub struct Session {
    /// Unique among sessions and streams (it also names their resource subscriptions).
    pub id: u64,
    level: Mutex<Option<LoggingLevel>>,
    /// It was registered as connected or took a resource subscription: its
    /// end has something to clear (most stateless requests have not).
    held: AtomicBool,
    /// The HTTP session id (`Mcp-Session-Id`) of a 2025-11-25 HTTP session.
    http_id: std::sync::OnceLock<Arc<str>>,
    /// What of the catalog it sees (a profile, or all of it), and whether
    /// it lists the search tools instead of the tools.
    pub view: Arc<crate::profile::View>,
}

impl Session {
    /// Notes that this session's end has something to clear.
    pub fn hold(&self) {
        self.held.store(true, Ordering::Relaxed);
    }

    pub fn held(&self) -> bool {
        self.held.load(Ordering::Relaxed)
    }

    /// The level `logging/setLevel` chose, if any.
    pub fn level(&self) -> Option<LoggingLevel> {
        *self.level.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_level(&self, level: LoggingLevel) {
        *self.level.lock().unwrap_or_else(|e| e.into_inner()) = Some(level);
    }

    /// Whether a message at `level` reaches this session.
    pub fn admits(&self, level: LoggingLevel) -> bool {
        rank(level) >= rank(self.level().unwrap_or(DEFAULT_LEVEL))
    }
}

/// A backend's log message as clients see it: the logger names the backend.
pub fn from_backend(backend: &str, mut params: LoggingMessageNotificationParam) -> LoggingMessageNotificationParam {
    params.logger = Some(match params.logger.as_deref() {
        Some(own) if !own.is_empty() => format!("{backend}/{own}"),
        _ => backend.to_string(),
    });
    params
}

/// A connected session and the peer that reaches its client.
pub type Connected = (Arc<Session>, Peer<RoleServer>);

#[derive(Default)]
pub struct Fronts {
    legacy: Mutex<Vec<(Arc<Session>, Peer<RoleServer>)>>,
    /// The HTTP sessions among them, by `Mcp-Session-Id` (the fast lane's
    /// way from a request to its session).
    by_http_id: Mutex<HashMap<Arc<str>, Connected>>,
    /// The view each HTTP session began with, by `Mcp-Session-Id`, kept
    /// while it sleeps too (`sessions`), until it ends for good: a session
    /// is served only at the endpoint of its view.
    bound: Mutex<HashMap<Arc<str>, Arc<crate::profile::View>>>,
    sinks: Mutex<Vec<(u64, SubscriptionSink)>>,
    next: AtomicU64,
}

impl Fronts {
    /// A new session's state (registered once its handshake is done), seeing
    /// the catalog through `view`.
    pub fn new_session(&self, view: Arc<crate::profile::View>) -> Arc<Session> {
        Arc::new(Session {
            id: self.next_id(),
            level: Mutex::new(None),
            held: AtomicBool::new(false),
            http_id: std::sync::OnceLock::new(),
            view,
        })
    }

    fn next_id(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers a session; returns the ids of sessions found gone meanwhile
    /// (their resource subscriptions are to be released).
    pub fn add_legacy(&self, session: Arc<Session>, peer: Peer<RoleServer>, http_id: Option<Arc<str>>) -> Vec<u64> {
        if let Some(h) = http_id
            && session.http_id.set(h.clone()).is_ok()
        {
            self.bound
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(h.clone(), session.view.clone());
            self.by_http_id
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(h, (session.clone(), peer.clone()));
        }
        let mut l = self.legacy.lock().unwrap_or_else(|e| e.into_inner());
        let gone = l
            .iter()
            .filter(|(_, p)| p.is_transport_closed())
            .map(|(s, _)| s.id)
            .collect();
        l.retain(|(_, p)| !p.is_transport_closed());
        session.hold();
        l.push((session, peer));
        gone
    }

    /// Forgets session `id` (its service ended); true if it was registered.
    pub fn remove_legacy(&self, session: &Session) -> bool {
        let id = session.id;
        if let Some(h) = session.http_id.get() {
            let mut by_http_id = self.by_http_id.lock().unwrap_or_else(|e| e.into_inner());
            // (A session woken from sleep may already hold the id again.)
            if by_http_id.get(h).is_some_and(|(s, _)| s.id == id) {
                by_http_id.remove(h);
            }
        }
        let mut l = self.legacy.lock().unwrap_or_else(|e| e.into_inner());
        let before = l.len();
        l.retain(|(s, _)| s.id != id);
        l.len() != before
    }

    /// The view HTTP session `http_id` began with, awake or asleep.
    pub fn bound_view(&self, http_id: &str) -> Option<Arc<crate::profile::View>> {
        self.bound
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(http_id)
            .cloned()
    }

    /// Forgets HTTP session `http_id` for good (it expired or was deleted).
    pub fn unbind(&self, http_id: &str) {
        self.bound.lock().unwrap_or_else(|e| e.into_inner()).remove(http_id);
    }

    /// The 2025-11-25 HTTP session `http_id` names, while its service runs.
    pub fn by_http_id(&self, http_id: &str) -> Option<Connected> {
        let m = self.by_http_id.lock().unwrap_or_else(|e| e.into_inner());
        m.get(http_id).filter(|(_, p)| !p.is_transport_closed()).cloned()
    }

    /// The connected sessions that declared roots and whose view has `backend`.
    pub fn sessions_with_roots(&self, backend: &str) -> Vec<Peer<RoleServer>> {
        self.legacy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(s, p)| s.view.backend_in(backend) && !p.is_transport_closed())
            .filter(|(_, p)| p.peer_info().is_some_and(|i| i.capabilities.roots.is_some()))
            .map(|(_, p)| p.clone())
            .collect()
    }

    /// The most verbose level any connected session chose.
    pub fn most_verbose(&self) -> Option<LoggingLevel> {
        self.legacy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, p)| !p.is_transport_closed())
            .filter_map(|(s, _)| s.level())
            .min_by_key(|l| rank(*l))
    }

    /// Passes a backend's log message to every session whose level admits
    /// it and whose view has the backend.
    pub async fn log(&self, backend: &str, params: LoggingMessageNotificationParam) {
        let params = from_backend(backend, params);
        let peers: Vec<Peer<RoleServer>> = self
            .legacy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(s, p)| s.admits(params.level) && s.view.backend_in(backend) && !p.is_transport_closed())
            .map(|(_, p)| p.clone())
            .collect();
        for p in peers {
            let _ = tokio::time::timeout(NOTIFY_TIMEOUT, p.notify_logging_message(params.clone())).await;
        }
    }

    pub fn add_sink(&self, sink: SubscriptionSink) -> u64 {
        let id = self.next_id();
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
    pub async fn changed(&self, what: Changed) {
        let peers: Vec<Peer<RoleServer>> = self
            .legacy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(_, p)| p.clone())
            .collect();
        let sinks: Vec<(u64, SubscriptionSink)> = self.sinks.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut sends = tokio::task::JoinSet::new();
        for p in peers.into_iter().filter(|p| !p.is_transport_closed()) {
            sends.spawn(async move {
                let _ = tokio::time::timeout(NOTIFY_TIMEOUT, async {
                    if what.tools {
                        p.notify_tool_list_changed().await?;
                    }
                    if what.prompts {
                        p.notify_prompt_list_changed().await?;
                    }
                    if what.resources {
                        p.notify_resource_list_changed().await?;
                    }
                    Ok::<_, rmcp::service::ServiceError>(())
                })
                .await;
                None
            });
        }
        for (id, s) in sinks {
            sends.spawn(async move {
                let sent = tokio::time::timeout(NOTIFY_TIMEOUT, async {
                    // A kind the client's filter left out is not an error.
                    let heard = |r: Result<(), SubscriptionSendError>| match r {
                        Ok(()) | Err(SubscriptionSendError::NotificationNotAccepted(_)) => Ok(()),
                        Err(e) => Err(e),
                    };
                    if what.tools {
                        heard(s.notify_tool_list_changed().await)?;
                    }
                    if what.prompts {
                        heard(s.notify_prompt_list_changed().await)?;
                    }
                    if what.resources {
                        heard(s.notify_resource_list_changed().await)?;
                    }
                    Ok::<_, SubscriptionSendError>(())
                })
                .await;
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
            .retain(|(_, p)| !p.is_transport_closed());
    }
}

//! Resource subscriptions: which clients want updates of which backend
//! resource. A 2025-11-25 client subscribes with `resources/subscribe`, a
//! 2026-07-28 client by naming public URIs on its `subscriptions/listen`
//! stream; mcpmux subscribes once at the backend (for the first subscriber:
//! `resources/subscribe` for a 2025-era backend, a listen stream naming the
//! resource for a 2026-07-28 one) and unsubscribes after the last, and a
//! backend's `notifications/resources/updated` reaches every subscriber under
//! the public URI. Backends publish here; nothing here knows the hub.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{ResourceUpdatedNotificationParam, ServerNotification, SubscriptionFilter};
use rmcp::service::SubscriptionSink;
use rmcp::{Peer, RoleClient, RoleServer};

use crate::redact;

/// How long one client may take to accept an update.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);

/// Where updates go.
#[derive(Clone)]
pub enum Target {
    /// A 2025-11-25 session.
    Session(Peer<RoleServer>),
    /// A 2026-07-28 `subscriptions/listen` stream.
    Stream(SubscriptionSink),
}

/// One subscriber: who (a session or stream id, for unsubscribing) and where.
#[derive(Clone)]
struct Subscriber {
    id: u64,
    to: Target,
}

/// One backend resource somebody subscribed to.
struct Entry {
    /// The URI clients know it by.
    public: String,
    subscribers: Vec<Subscriber>,
    /// A 2026-07-28 backend's `subscriptions/listen` stream for it.
    stream: Option<tokio::task::AbortHandle>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        if let Some(s) = self.stream.take() {
            s.abort();
        }
    }
}

type Key = (Arc<str>, String);

#[derive(Default)]
pub struct Subscriptions {
    entries: Mutex<HashMap<Key, Entry>>,
}

impl Subscriptions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds subscriber `id` to backend `backend`'s resource `original`;
    /// true when it is the first (mcpmux must subscribe at the backend).
    pub fn add(&self, backend: &Arc<str>, original: &str, public: &str, id: u64, to: Target) -> bool {
        let mut entries = self.lock();
        let entry = entries
            .entry((backend.clone(), original.to_string()))
            .or_insert_with(|| Entry {
                public: public.to_string(),
                subscribers: Vec::new(),
                stream: None,
            });
        let first = entry.subscribers.is_empty();
        entry.subscribers.retain(|s| s.id != id);
        entry.subscribers.push(Subscriber { id, to });
        first
    }

    /// Removes subscriber `id`; true when it was the last (mcpmux must
    /// unsubscribe at the backend).
    pub fn remove(&self, backend: &Arc<str>, original: &str, id: u64) -> bool {
        let mut entries = self.lock();
        let key = (backend.clone(), original.to_string());
        let Some(entry) = entries.get_mut(&key) else {
            return false;
        };
        let before = entry.subscribers.len();
        entry.subscribers.retain(|s| s.id != id);
        let last = before > 0 && entry.subscribers.is_empty();
        if entry.subscribers.is_empty() {
            entries.remove(&key);
        }
        last
    }

    /// Follows a 2026-07-28 backend's updates of `original` on a listen stream
    /// of its own (replacing one that ended with a previous connection).
    pub async fn follow(
        self: &Arc<Self>,
        peer: &Peer<RoleClient>,
        backend: &Arc<str>,
        original: &str,
    ) -> Result<(), String> {
        let filter = SubscriptionFilter::builder().resource_subscription(original).build();
        let mut sub = peer.listen(filter).await.map_err(|e| {
            format!(
                "backend {backend:?} refused the subscription: {}",
                redact::urls(&e.to_string())
            )
        })?;
        let me = Arc::downgrade(self);
        let name = backend.clone();
        let task = tokio::spawn(async move {
            while let Ok(Some(n)) = sub.next().await {
                if let ServerNotification::ResourceUpdatedNotification(u) = n
                    && let Some(me) = me.upgrade()
                {
                    me.updated(&name, &u.params.uri).await;
                }
            }
        });
        match self.lock().get_mut(&(backend.clone(), original.to_string())) {
            Some(entry) => {
                if let Some(old) = entry.stream.replace(task.abort_handle()) {
                    old.abort();
                }
            }
            // Everybody left meanwhile.
            None => task.abort(),
        }
        Ok(())
    }

    /// The resources of `backend` somebody is subscribed to (to subscribe
    /// again after the backend reconnects).
    pub fn of_backend(&self, backend: &str) -> Vec<String> {
        self.lock()
            .keys()
            .filter(|(b, _)| &**b == backend)
            .map(|(_, uri)| uri.clone())
            .collect()
    }

    /// Every (backend, resource) subscriber `id` holds.
    pub fn held_by(&self, id: u64) -> Vec<(Arc<str>, String)> {
        self.lock()
            .iter()
            .filter(|(_, e)| e.subscribers.iter().any(|s| s.id == id))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Passes backend `backend`'s update of `original` to its subscribers.
    pub async fn updated(&self, backend: &Arc<str>, original: &str) {
        let (public, subscribers) = {
            let entries = self.lock();
            let Some(e) = entries.get(&(backend.clone(), original.to_string())) else {
                return;
            };
            (e.public.clone(), e.subscribers.clone())
        };
        for s in subscribers {
            if matches!(&s.to, Target::Session(peer) if peer.is_transport_closed()) {
                continue;
            }
            let public = public.clone();
            let sent = tokio::time::timeout(NOTIFY_TIMEOUT, async move {
                match &s.to {
                    Target::Session(peer) => peer
                        .notify_resource_updated(ResourceUpdatedNotificationParam::new(public))
                        .await
                        .is_ok(),
                    Target::Stream(sink) => sink.notify_resource_updated(public).await.is_ok(),
                }
            })
            .await;
            if !matches!(sent, Ok(true)) {
                tracing::debug!(backend = %backend, "a subscriber did not take a resource update");
            }
        }
    }
}

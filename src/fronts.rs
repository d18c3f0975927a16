//! The connected clients to tell when what mcpmux offers changes: sessions
//! that began with `initialize` get plain notifications, 2026-07-28 clients
//! get them on their `subscriptions/listen` stream (whose filter decides
//! which kinds each one hears). Every client is told at once, and a client
//! that cannot take a notification in time is skipped, not waited for.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

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
    pub async fn changed(&self, what: Changed) {
        let peers: Vec<Peer<RoleServer>> = self.legacy.lock().unwrap_or_else(|e| e.into_inner()).clone();
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
            .retain(|p| !p.is_transport_closed());
    }
}

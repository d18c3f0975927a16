//! Progress routing: where a backend's progress notifications go. A call
//! registers its backend request's progress token (mcpmux's, per backend)
//! with the client call it serves and that client's own token; the
//! backend's notifications are mapped back and forwarded, only increasing
//! values (rmcp may deliver notifications out of order), and dropped once the
//! call has ended. Backends publish here; nothing here knows the hub.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::{Peer, RoleServer};
use tokio::sync::Notify;

/// How long a progress notification may wait for its call to be registered
/// (a fast backend can report progress before the request handle returns).
const PROGRESS_RACE: Duration = Duration::from_secs(1);

/// The client call a backend's progress belongs to, and the last value
/// forwarded.
struct Route {
    to: Option<(Peer<RoleServer>, ProgressToken)>,
    last: f64,
}

type Key = (Arc<str>, ProgressToken);

#[derive(Default)]
pub struct ProgressRoutes {
    routes: Mutex<HashMap<Key, Route>>,
    added: Notify,
}

/// Removes its route when the call ends.
pub struct RouteGuard {
    routes: Arc<ProgressRoutes>,
    key: Key,
}

impl Drop for RouteGuard {
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
        self: &Arc<Self>,
        backend: &Arc<str>,
        token: ProgressToken,
        to: Option<(Peer<RoleServer>, ProgressToken)>,
    ) -> RouteGuard {
        let key = (backend.clone(), token);
        self.routes.lock().unwrap_or_else(|e| e.into_inner()).insert(
            key.clone(),
            Route {
                to,
                last: f64::NEG_INFINITY,
            },
        );
        self.added.notify_waiters();
        RouteGuard {
            routes: self.clone(),
            key,
        }
    }

    /// Forwards one backend progress notification to the client call it belongs to.
    pub async fn forward(&self, backend: &Arc<str>, mut params: ProgressNotificationParam) {
        let key = (backend.clone(), params.progress_token.clone());
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

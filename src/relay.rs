//! What reaches clients from backends outside of answers, in one place the
//! hub creates and every backend holds: progress (routed to the call it
//! belongs to), log messages (to the sessions and calls whose level admits
//! them), resource updates (to their subscribers), and the registry of
//! connected clients that list changes are announced to. Backends publish
//! through it; none of it knows the hub.

#![allow(deprecated)] // logging is deprecated by SEP-2577, and still what clients use

use std::sync::Arc;

use rmcp::model::LoggingMessageNotificationParam;

use crate::fronts::Fronts;
use crate::progress::ProgressRoutes;
use crate::subscriptions::Subscriptions;

#[derive(Default)]
pub struct Relay {
    pub progress: Arc<ProgressRoutes>,
    pub subscriptions: Arc<Subscriptions>,
    pub fronts: Fronts,
}

impl Relay {
    /// A backend's log message: to the 2025-11-25 sessions whose level admits
    /// it, and to the 2026-07-28 call in flight to that backend that asked for
    /// logs at a level that admits it (when it is the only one).
    pub async fn log(&self, backend: &Arc<str>, epoch: u64, params: LoggingMessageNotificationParam) {
        self.progress.log(backend, epoch, params.clone()).await;
        self.fronts.log(backend, params).await;
        self.progress.log_handled(backend);
    }
}

//! The MCP client role mcpmux plays towards one backend: it introduces itself
//! as mcpmux, hands progress, log messages and resource updates to the relay
//! (which routes them to the clients they belong to), and turns a backend's
//! list_changed notifications (tools, prompts, resources) into a re-list of
//! that backend.

// Logging notifications are deprecated by SEP-2577 but backends still send them.
#![allow(deprecated)]

use std::sync::{Arc, Weak};

use super::Backend;
use crate::progress::ProgressRoutes;
use crate::relay::Relay;

use rmcp::model::{
    ClientCapabilities, ClientConfig, Implementation, LoggingLevel, LoggingMessageNotificationParam,
    ProgressNotificationParam, ProtocolVersion, ResourceUpdatedNotificationParam,
};
use rmcp::service::NotificationContext;
use rmcp::{ClientHandler, RoleClient};

/// mcpmux's name and version, as it introduces itself to backends and clients.
pub fn implementation() -> Implementation {
    let mut i = Implementation::new("mcpmux", env!("CARGO_PKG_VERSION"));
    i.title = Some("mcpmux".into());
    i.website_url = Some(env!("CARGO_PKG_REPOSITORY").into());
    i
}

#[derive(Clone)]
pub struct BackendClient {
    backend: Weak<Backend>,
    name: Arc<str>,
    relay: Arc<Relay>,
    info: Arc<ClientConfig>,
}

impl BackendClient {
    pub fn new(backend: Weak<Backend>, relay: Arc<Relay>) -> Self {
        let name = backend.upgrade().map_or_else(|| Arc::from(""), |b| b.spec.name.clone());
        let info = ClientConfig::new(ClientCapabilities::default(), implementation())
            .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE);
        BackendClient {
            backend,
            name,
            relay,
            info: Arc::new(info),
        }
    }
}

impl BackendClient {
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    pub fn progress(&self) -> &Arc<ProgressRoutes> {
        &self.relay.progress
    }

    /// The backend said a list changed: it is listed again.
    fn refresh(&self) {
        if let Some(b) = self.backend.upgrade() {
            b.request_refresh();
        }
    }
}

impl ClientHandler for BackendClient {
    fn get_info(&self) -> ClientConfig {
        (*self.info).clone()
    }

    async fn on_progress(&self, params: ProgressNotificationParam, _: NotificationContext<RoleClient>) {
        self.relay.progress.forward(&self.name, params).await;
    }

    async fn on_tool_list_changed(&self, _: NotificationContext<RoleClient>) {
        self.refresh();
    }

    async fn on_prompt_list_changed(&self, _: NotificationContext<RoleClient>) {
        self.refresh();
    }

    async fn on_resource_list_changed(&self, _: NotificationContext<RoleClient>) {
        self.refresh();
    }

    async fn on_resource_updated(&self, params: ResourceUpdatedNotificationParam, _: NotificationContext<RoleClient>) {
        self.relay.subscriptions.updated(&self.name, &params.uri).await;
    }

    #[allow(deprecated)]
    async fn on_logging_message(&self, params: LoggingMessageNotificationParam, _: NotificationContext<RoleClient>) {
        let backend = &self.name;
        let logger = params.logger.as_deref().unwrap_or("");
        let data = params.data.to_string();
        match params.level {
            LoggingLevel::Debug => tracing::debug!(target: "mcpmux::backend_log", backend = %backend, logger, "{data}"),
            LoggingLevel::Info | LoggingLevel::Notice => {
                tracing::info!(target: "mcpmux::backend_log", backend = %backend, logger, "{data}")
            }
            LoggingLevel::Warning => {
                tracing::warn!(target: "mcpmux::backend_log", backend = %backend, logger, "{data}")
            }
            _ => tracing::error!(target: "mcpmux::backend_log", backend = %backend, logger, "{data}"),
        }
        self.relay.log(&self.name, params).await;
    }
}

//! The MCP client role mcpmux plays towards one backend: it introduces itself
//! as mcpmux, hands progress notifications to the hub (which maps them back
//! to the client call they belong to), and turns a backend's
//! tools/list_changed into a re-list of that backend.

// Logging notifications are deprecated by SEP-2577 but backends still send them.
#![allow(deprecated)]

use std::sync::{Arc, Weak};

use rmcp::model::{
    ClientCapabilities, ClientConfig, Implementation, LoggingLevel, LoggingMessageNotificationParam,
    ProgressNotificationParam, ProtocolVersion,
};
use rmcp::service::NotificationContext;
use rmcp::{ClientHandler, RoleClient};

use crate::hub::Hub;

/// mcpmux's name and version, as it introduces itself to backends and clients.
pub fn implementation() -> Implementation {
    let mut i = Implementation::new("mcpmux", env!("CARGO_PKG_VERSION"));
    i.title = Some("mcpmux".into());
    i.website_url = Some(env!("CARGO_PKG_REPOSITORY").into());
    i
}

#[derive(Clone)]
pub struct BackendClient {
    pub hub: Weak<Hub>,
    pub index: usize,
    info: Arc<ClientConfig>,
}

impl BackendClient {
    pub fn new(hub: Weak<Hub>, index: usize) -> Self {
        let info = ClientConfig::new(ClientCapabilities::default(), implementation())
            .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE);
        BackendClient {
            hub,
            index,
            info: Arc::new(info),
        }
    }
}

impl ClientHandler for BackendClient {
    fn get_info(&self) -> ClientConfig {
        (*self.info).clone()
    }

    async fn on_progress(&self, params: ProgressNotificationParam, _: NotificationContext<RoleClient>) {
        if let Some(hub) = self.hub.upgrade() {
            hub.progress.forward(self.index, params).await;
        }
    }

    async fn on_tool_list_changed(&self, _: NotificationContext<RoleClient>) {
        if let Some(hub) = self.hub.upgrade() {
            hub.backends[self.index].request_refresh();
        }
    }

    #[allow(deprecated)]
    async fn on_logging_message(&self, params: LoggingMessageNotificationParam, _: NotificationContext<RoleClient>) {
        let Some(hub) = self.hub.upgrade() else { return };
        let backend = &hub.backends[self.index].name;
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
    }
}

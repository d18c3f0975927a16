//! The MCP client role mcpmux plays towards one backend: it introduces itself
//! as mcpmux, hands progress, log messages and resource updates to the relay
//! (which routes them to the clients they belong to), and turns a backend's
//! list_changed notifications (tools, prompts, resources) into a re-list of
//! that backend.

// Logging notifications are deprecated by SEP-2577 but backends still send them.
#![allow(deprecated)]

use std::sync::{Arc, Weak};

use super::Backend;
use crate::forward::InputAsk;
use crate::progress::ProgressRoutes;
use crate::relay::Relay;

use rmcp::model::{
    ClientCapabilities, ClientConfig, ClientResult, CreateMessageRequest, CreateMessageRequestParams,
    CreateMessageResult, ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationCapability,
    FormElicitationCapability, GetExtensions, Implementation, InputRequest, ListRootsRequest, ListRootsResult,
    LoggingLevel, LoggingMessageNotificationParam, ProgressNotificationParam, ProtocolVersion,
    ResourceUpdatedNotificationParam, Root, RootsCapabilities, SamplingCapability, ServerRequest,
    UrlElicitationCapability,
};
use rmcp::service::{InboundStreamOrigin, NotificationContext, OriginatingRequestId, RequestContext, ServiceError};
use rmcp::{ClientHandler, ErrorData, RoleClient};

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
    /// The connection this client serves (see `Backend::epoch`).
    epoch: u64,
    relay: Arc<Relay>,
    info: Arc<ClientConfig>,
}

impl BackendClient {
    pub fn new(backend: Weak<Backend>, relay: Arc<Relay>, epoch: u64) -> Self {
        let name = backend.upgrade().map_or_else(|| Arc::from(""), |b| b.spec.name.clone());
        let info = ClientConfig::new(offered(), implementation())
            .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE);
        BackendClient {
            backend,
            name,
            epoch,
            relay,
            info: Arc::new(info),
        }
    }
}

/// What mcpmux offers backends: everything its clients may answer —
/// sampling, elicitation (form and URL) and roots — so servers that hide
/// tools from clients without them show them. A request no client can
/// answer gets a clear error.
fn offered() -> ClientCapabilities {
    let mut caps = ClientCapabilities::default();
    caps.sampling = Some(SamplingCapability::default());
    let mut elicitation = ElicitationCapability::new();
    elicitation.form = Some(FormElicitationCapability::new());
    elicitation.url = Some(UrlElicitationCapability::new());
    caps.elicitation = Some(elicitation);
    let mut roots = RootsCapabilities::default();
    roots.list_changed = Some(true);
    caps.roots = Some(roots);
    caps
}

/// Which client capability a server-to-client request needs.
#[derive(Clone, Copy)]
enum Ask {
    Sampling,
    Elicitation,
    Roots,
}

impl Ask {
    fn what(self) -> &'static str {
        match self {
            Ask::Sampling => "sampling",
            Ask::Elicitation => "elicitation",
            Ask::Roots => "roots",
        }
    }

    fn supported_by(self, caps: Option<&ClientCapabilities>) -> bool {
        caps.is_some_and(|c| match self {
            Ask::Sampling => c.sampling.is_some(),
            Ask::Elicitation => c.elicitation.is_some(),
            Ask::Roots => c.roots.is_some(),
        })
    }
}

impl BackendClient {
    /// Passes a server-to-client request on to the client whose call caused
    /// it, tied to that call, and returns the client's answer — a 2026-07-28
    /// client through an input-required result and its retry; a request that
    /// cannot be attributed, or whose client lacks the capability, gets a
    /// clear error (never a hang: the backend's own cancellation, or the
    /// parked call's expiry, ends the wait).
    async fn ask(
        &self,
        ask: Ask,
        request: ServerRequest,
        ctx: &RequestContext<RoleClient>,
    ) -> Result<ClientResult, ErrorData> {
        let refuse = |why: String| {
            tracing::debug!(backend = %self.name, "a {} request was refused: {why}", ask.what());
            ErrorData::invalid_request(
                format!("mcpmux cannot pass this {} request on: {why}", ask.what()),
                None,
            )
        };
        let origin = match ctx.extensions.get::<InboundStreamOrigin>() {
            Some(InboundStreamOrigin::OutboundRequest(id)) => Some(id.clone()),
            _ => None,
        };
        // A question may overtake the registration of the call that caused
        // it; roots/list outside any call is common (mcpmux answers it), so
        // it does not wait for one.
        let caller = match ask {
            Ask::Roots => self.relay.progress.caller(&self.name, self.epoch, origin.as_ref()),
            _ => {
                self.relay
                    .progress
                    .caller_soon(&self.name, self.epoch, origin.as_ref())
                    .await
            }
        }
        .map_err(|why| refuse(why.to_string()))?;
        let caps = caller
            .capabilities
            .clone()
            .or_else(|| caller.peer.peer_info().map(|i| i.capabilities.clone()));
        if !ask.supported_by(caps.as_ref()) {
            return Err(refuse(format!("the client did not declare {}", ask.what())));
        }
        if caller.stateless {
            return self.ask_stateless(ask, request, caller, ctx).await.map_err(refuse);
        }
        if let Some(lane) = caller.lane {
            return tokio::select! {
                r = lane.ask(request) => r,
                () = ctx.ct.cancelled() => Err(ErrorData::internal_error("cancelled by the backend", None)),
            };
        }
        let mut request = request;
        request
            .extensions_mut()
            .insert(OriginatingRequestId(caller.request.clone()));
        // A task of its own: rmcp ties a request sent from inside a handler to
        // that handler's (the backend's) request id.
        let peer = caller.peer.clone();
        let sent = tokio::spawn(async move { peer.send_request(request).await });
        tokio::select! {
            r = sent => match r {
                Ok(Ok(result)) => Ok(result),
                Ok(Err(ServiceError::McpError(e))) => Err(e),
                Ok(Err(e)) => Err(ErrorData::internal_error(format!("the client did not answer: {e}"), None)),
                Err(e) => Err(ErrorData::internal_error(format!("asking the client failed: {e}"), None)),
            },
            () = ctx.ct.cancelled() => Err(ErrorData::internal_error("cancelled by the backend", None)),
        }
    }

    /// Asks a 2026-07-28 client, which may not be sent requests: the client's
    /// call answers with an input-required result carrying the question, and
    /// the client's retry brings the answer (see `forward`).
    async fn ask_stateless(
        &self,
        ask: Ask,
        request: ServerRequest,
        caller: crate::progress::Caller,
        ctx: &RequestContext<RoleClient>,
    ) -> Result<ClientResult, String> {
        let input = match request {
            ServerRequest::CreateMessageRequest(r) => InputRequest::CreateMessage(r),
            ServerRequest::ElicitRequest(r) => InputRequest::Elicitation(r),
            ServerRequest::ListRootsRequest(r) => InputRequest::ListRoots(r),
            _ => return Err("mcpmux cannot ask a 2026-07-28 client that".into()),
        };
        let asks = caller.asks.ok_or("the client call takes no questions")?;
        let (answer, answered) = tokio::sync::oneshot::channel();
        asks.unbounded_send(InputAsk { input, answer })
            .map_err(|_| "the client call has ended".to_string())?;
        let value = tokio::select! {
            r = answered => r.map_err(|_| "the client did not retry the call in time".to_string())?.map_err(|e| e.message.to_string())?,
            () = ctx.ct.cancelled() => return Err("cancelled by the backend".into()),
        };
        let parsed = match ask {
            Ask::Sampling => serde_json::from_value(value).map(|r| ClientResult::CreateMessageResult(Box::new(r))),
            Ask::Elicitation => serde_json::from_value(value).map(ClientResult::ElicitResult),
            Ask::Roots => serde_json::from_value(value).map(ClientResult::ListRootsResult),
        };
        parsed.map_err(|e| format!("the client's answer is not a {} result: {e}", ask.what()))
    }

    /// roots/list from a backend outside any call: the roots of every
    /// connected client that has roots and may reach this backend, together.
    async fn all_roots(&self) -> ListRootsResult {
        let mut roots: Vec<Root> = Vec::new();
        for peer in self.relay.fronts.sessions_with_roots(&self.name) {
            if let Ok(Ok(r)) = tokio::time::timeout(std::time::Duration::from_secs(5), peer.list_roots()).await {
                for root in r.roots {
                    if !roots.iter().any(|x| x.uri == root.uri) {
                        roots.push(root);
                    }
                }
            }
        }
        ListRootsResult::new(roots)
    }

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

    async fn on_progress(&self, params: ProgressNotificationParam, ctx: NotificationContext<RoleClient>) {
        let queued = ctx.extensions.get::<crate::progress::Queued>().is_some();
        self.relay.progress.forward(&self.name, params, queued).await;
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

    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        ctx: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, ErrorData> {
        let request = ServerRequest::CreateMessageRequest(CreateMessageRequest::new(params));
        match self.ask(Ask::Sampling, request, &ctx).await? {
            ClientResult::CreateMessageResult(r) => Ok(*r),
            _ => Err(ErrorData::internal_error(
                "the client answered sampling with something else",
                None,
            )),
        }
    }

    async fn create_elicitation(
        &self,
        params: ElicitRequestParams,
        ctx: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let request = ServerRequest::ElicitRequest(ElicitRequest::new(params));
        match self.ask(Ask::Elicitation, request, &ctx).await? {
            ClientResult::ElicitResult(r) => Ok(r),
            _ => Err(ErrorData::internal_error(
                "the client answered elicitation with something else",
                None,
            )),
        }
    }

    async fn list_roots(&self, ctx: RequestContext<RoleClient>) -> Result<ListRootsResult, ErrorData> {
        let request = ServerRequest::ListRootsRequest(ListRootsRequest::default());
        match self.ask(Ask::Roots, request, &ctx).await {
            Ok(ClientResult::ListRootsResult(r)) => Ok(r),
            Ok(_) => Err(ErrorData::internal_error(
                "the client answered roots/list with something else",
                None,
            )),
            // Outside any call (at start-up, say), mcpmux answers itself.
            Err(_) if self.relay.progress.caller(&self.name, self.epoch, None).is_err() => Ok(self.all_roots().await),
            Err(e) => Err(e),
        }
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
        self.relay.log(&self.name, self.epoch, params).await;
    }
}

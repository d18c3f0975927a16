//! The forwarding of one client request to one backend: the client's
//! `_meta` (minus its own hop's keys), the backend's timeout reset by
//! progress, the call registered where progress, logs and server-to-client
//! requests find their way back, the client's cancellation passed on (also
//! when the client's task is dropped), a 2026-07-28 backend's input-required
//! results driven for a 2025-11-25 client, and every failure turned into a
//! message that names the backend.

#![allow(deprecated)] // logging levels travel with requests; logging is deprecated by SEP-2577

use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{
    CallToolResponse, CallToolResult, CancelledNotificationParam, ClientRequest, ContentBlock, DEFAULT_MRTR_MAX_ROUNDS,
    GetExtensions, InputRequest, InputResponses, RequestId, RequestMetaObject, ServerRequest, ServerResult,
};
use rmcp::service::{OriginatingRequestId, PeerRequestOptions, RequestContext, ServiceError};
use rmcp::{ErrorData, Peer, RoleClient, RoleServer};

use crate::backend::Backend;
use crate::bridge::Era;
use crate::hub::Hub;
use crate::progress::Caller;
use crate::redact;

/// How long a call's answer waits for progress notifications and log
/// messages that arrived before it and are still being forwarded.
const SETTLE: Duration = Duration::from_secs(1);

impl Hub {
    /// Sends `request` to backend `backend` on behalf of the client request
    /// `ctx`: with the client's `_meta`, the backend's timeout (reset by
    /// progress), progress mapped back to the client, and the client's
    /// cancellation passed on.
    pub(crate) async fn forward(
        &self,
        backend: &Arc<str>,
        request: ClientRequest,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<ServerResult, Failure> {
        let Some(b) = self.backends.get(backend) else {
            return Err(Failure::Error(ErrorData::internal_error(
                format!("no backend {backend:?}"),
                None,
            )));
        };
        let Some(peer) = b.peer() else {
            return Err(Failure::Unavailable(format!(
                "backend {:?} is not available ({})",
                b.spec.name,
                b.describe_status()
            )));
        };
        let options = PeerRequestOptions::with_timeout(b.spec.timeout)
            .reset_timeout_on_progress()
            .with_meta(forwarded_meta(&ctx.meta));
        let handle = match peer.send_request_with_option(request, options).await {
            Ok(h) => h,
            Err(e) => {
                b.request_reconnect();
                return Err(Failure::Unavailable(backend_error(b, &e)));
            }
        };
        let client_token = ctx.meta.get_progress_token();
        // A 2026-07-28 call hears the backend's log messages on its own stream.
        let log = (Era::of(ctx) == Era::Stateless)
            .then(|| ctx.meta.log_level())
            .flatten()
            .map(|level| (ctx.peer.clone(), level));
        let wants_notifications = client_token.is_some() || log.is_some();
        let caller = Caller {
            peer: ctx.peer.clone(),
            request: ctx.id.clone(),
            stateless: Era::of(ctx) == Era::Stateless,
            capabilities: ctx.client_capabilities(),
        };
        let progress = self.relay.progress.register(
            backend,
            handle.progress_token.clone(),
            handle.id.clone(),
            caller,
            client_token.map(|t| (ctx.peer.clone(), t)),
            log,
        );
        let mut call = InFlight {
            peer: peer.clone(),
            id: handle.id.clone(),
            response: Some(Box::pin(handle.await_response())),
        };
        let answered = async {
            let result = call.wait().await;
            // The answer may have overtaken the last progress or log message:
            // let them through first.
            if wants_notifications {
                progress.settle(SETTLE).await;
            }
            result
        };
        tokio::select! {
            result = answered => match result {
                Ok(r) => Ok(r),
                Err(ServiceError::McpError(e)) => Err(Failure::Error(e)),
                Err(e) => {
                    if matches!(e, ServiceError::TransportSend(_) | ServiceError::TransportClosed) {
                        b.request_reconnect();
                    }
                    Err(Failure::Unavailable(backend_error(b, &e)))
                }
            },
            // (Dropping `call` tells the backend.)
            () = ctx.ct.cancelled() => Err(Failure::Cancelled),
        }
    }
}

impl Hub {
    /// Forwards `request` and, for a 2025-11-25 client, drives the backend's
    /// 2026-07-28 input-required results itself: each input request (sampling,
    /// elicitation, roots) is sent to the client as the server-to-client
    /// request it would have been, tied to the client's call, and the
    /// request is retried with the answers and the backend's state, for at
    /// most `DEFAULT_MRTR_MAX_ROUNDS` rounds. A 2026-07-28 client gets the
    /// input-required result as it is (and retries by itself).
    pub(crate) async fn forward_driving_input(
        &self,
        backend: &Arc<str>,
        request: impl Fn(Option<InputResponses>, Option<String>) -> ClientRequest,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<ServerResult, Failure> {
        let mut result = self.forward(backend, request(None, None), ctx).await?;
        if Era::of(ctx) == Era::Stateless {
            return Ok(result);
        }
        for _ in 0..DEFAULT_MRTR_MAX_ROUNDS {
            let ServerResult::InputRequiredResult(asked) = result else {
                return Ok(result);
            };
            let mut answers = InputResponses::new();
            for (key, input) in asked.input_requests.unwrap_or_default() {
                answers.insert(key, ask_client(ctx, input).await?);
            }
            result = self
                .forward(backend, request(Some(answers), asked.request_state), ctx)
                .await?;
        }
        Err(Failure::Unavailable(format!(
            "backend {backend:?} still asked for input after {DEFAULT_MRTR_MAX_ROUNDS} rounds"
        )))
    }
}

/// Asks a 2025-11-25 client one of a backend's input requests, as the
/// server-to-client request it stands for; its answer as JSON.
async fn ask_client(ctx: &RequestContext<RoleServer>, input: InputRequest) -> Result<serde_json::Value, Failure> {
    let caps = ctx
        .client_capabilities()
        .or_else(|| ctx.peer.peer_info().map(|i| i.capabilities.clone()));
    let (request, what, declared) = match input {
        InputRequest::CreateMessage(r) => (
            ServerRequest::CreateMessageRequest(r),
            "sampling",
            caps.as_ref().is_some_and(|c| c.sampling.is_some()),
        ),
        InputRequest::Elicitation(r) => (
            ServerRequest::ElicitRequest(r),
            "elicitation",
            caps.as_ref().is_some_and(|c| c.elicitation.is_some()),
        ),
        InputRequest::ListRoots(r) => (
            ServerRequest::ListRootsRequest(r),
            "roots",
            caps.as_ref().is_some_and(|c| c.roots.is_some()),
        ),
        _ => {
            return Err(Failure::Error(ErrorData::invalid_request(
                "the backend asked for a kind of input mcpmux does not know",
                None,
            )));
        }
    };
    if !declared {
        return Err(Failure::Error(ErrorData::invalid_request(
            format!("the backend asked for {what}, which the client did not declare"),
            None,
        )));
    }
    let mut request = request;
    request.extensions_mut().insert(OriginatingRequestId(ctx.id.clone()));
    let answer = tokio::select! {
        r = ctx.peer.send_request(request) => r,
        () = ctx.ct.cancelled() => return Err(Failure::Cancelled),
    };
    match answer {
        Ok(result) => serde_json::to_value(result)
            .map_err(|e| Failure::Unavailable(format!("the client's {what} answer did not serialize: {e}"))),
        Err(ServiceError::McpError(e)) => Err(Failure::Error(e)),
        Err(e) => Err(Failure::Unavailable(format!(
            "the client did not answer the {what} request: {e}"
        ))),
    }
}

/// Why a forwarded request has no result.
pub(crate) enum Failure {
    /// The backend's own JSON-RPC error, or mcpmux's about the request: passed on as it is.
    Error(ErrorData),
    /// The backend is down, timed out or failed at the transport (the text names it).
    Unavailable(String),
    /// The client cancelled.
    Cancelled,
}

impl Failure {
    pub(crate) fn unexpected(backend: &str, method: &str) -> Failure {
        Failure::Unavailable(format!(
            "backend {backend:?} answered {method} with a result of another kind"
        ))
    }

    /// For tools/call: what went wrong is told to the model (an `isError` result).
    pub(crate) fn into_call(self) -> Result<CallToolResponse, ErrorData> {
        match self {
            Failure::Unavailable(message) => Ok(CallToolResponse::Complete(CallToolResult::error(vec![
                ContentBlock::text(message),
            ]))),
            other => Err(other.into_error()),
        }
    }

    pub(crate) fn into_error(self) -> ErrorData {
        match self {
            Failure::Error(e) => e,
            Failure::Unavailable(message) => ErrorData::internal_error(message, None),
            Failure::Cancelled => ErrorData::internal_error("cancelled by the client", None),
        }
    }
}

type Pending = std::pin::Pin<Box<dyn Future<Output = Result<ServerResult, ServiceError>> + Send>>;

/// A request to a backend that is still waiting for its answer. Dropped
/// before the answer came — the client cancelled, or its 2026-07-28 HTTP
/// request went away and took this call's task with it — it tells the
/// backend (`notifications/cancelled`, which also ends an HTTP backend's
/// request stream) and lets the answer arrive unobserved: rmcp releases the
/// request's progress watcher only then.
struct InFlight {
    peer: Peer<RoleClient>,
    id: RequestId,
    response: Option<Pending>,
}

impl InFlight {
    async fn wait(&mut self) -> Result<ServerResult, ServiceError> {
        let Some(response) = self.response.as_mut() else {
            return Err(ServiceError::TransportClosed);
        };
        let result = response.await;
        self.response = None;
        result
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let Some(response) = self.response.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (peer, id) = (self.peer.clone(), self.id.clone());
        runtime.spawn(async move {
            let reason = Some("cancelled by the client".to_string());
            let _ = peer
                .notify_cancelled(CancelledNotificationParam::new(Some(id), reason))
                .await;
            let _ = response.await;
        });
    }
}

fn backend_error(b: &Backend, e: &ServiceError) -> String {
    match e {
        ServiceError::Timeout { timeout } => format!(
            "backend {:?} did not answer within {} (its timeout); the call was cancelled",
            b.spec.name,
            crate::config::support::duration::format(*timeout)
        ),
        ServiceError::TransportClosed => {
            format!(
                "backend {:?} closed its connection before answering (it exited or is restarting)",
                b.spec.name
            )
        }
        other => format!("backend {:?} failed: {}", b.spec.name, redact::urls(&other.to_string())),
    }
}

/// The client's request `_meta` minus what belongs to the client's own hop:
/// its progress token (mcpmux assigns one per backend request) and the
/// 2026-07-28 lifecycle keys (mcpmux sends its own to modern backends).
fn forwarded_meta(meta: &RequestMetaObject) -> RequestMetaObject {
    let mut out = meta.clone();
    out.0.0.retain(|k, _| {
        k != "progressToken"
            && !matches!(
                k.as_str(),
                "io.modelcontextprotocol/protocolVersion"
                    | "io.modelcontextprotocol/clientInfo"
                    | "io.modelcontextprotocol/clientCapabilities"
                    | "io.modelcontextprotocol/logLevel"
            )
    });
    out
}

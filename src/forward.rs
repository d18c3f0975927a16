//! The forwarding of one client request to one backend: the client's
//! `_meta` (minus its own hop's keys), the backend's timeout reset by
//! progress, the call registered where progress, logs and server-to-client
//! requests find their way back, the client's cancellation passed on (also
//! when the client's task is dropped), a 2026-07-28 backend's input-required
//! results driven for a 2025-11-25 client, every failure turned into a
//! message that names the backend, and each request's outcome and time
//! counted in the metrics and recorded in a trace span (`otel`) that follows
//! the client's `traceparent` and passes its own on.

#![allow(deprecated)] // logging levels travel with requests; logging is deprecated by SEP-2577

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResponse, CallToolResult, CancelledNotificationParam,
    ClientRequest, ContentBlock, DEFAULT_MRTR_MAX_ROUNDS, GetExtensions, GetPromptRequest, GetPromptRequestParams,
    InputRequest, InputRequests, InputRequiredResult, InputResponses, ReadResourceRequest, ReadResourceRequestParams,
    RequestId, RequestMetaObject, ServerRequest, ServerResult,
};
use rmcp::service::{OriginatingRequestId, PeerRequestOptions, RequestContext, ServiceError};
use rmcp::{ErrorData, Peer, RoleClient, RoleServer};
use tokio::sync::oneshot;

use crate::backend::Backend;
use crate::bridge::Era;
use crate::hub::Hub;
use crate::metrics::Outcome;
use crate::progress::{Caller, RouteGuard};
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
        asks_allowed: bool,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<ServerResult, Failure> {
        use tracing::Instrument as _;
        let began = std::time::Instant::now();
        let method = request.method().to_string();
        // A client span for traces (`otel`); never enabled otherwise.
        let span = tracing::debug_span!(
            target: crate::otel::TARGET,
            "mcp.forward",
            otel.name = %format_args!("{method} {backend}"),
            otel.kind = "client",
            mcp.method.name = %method,
            mcp.backend = %backend,
            gen_ai.tool.name = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
        );
        if !span.is_disabled() {
            if let ClientRequest::CallToolRequest(r) = &request {
                span.record("gen_ai.tool.name", r.params.name.as_ref());
            }
            crate::otel::follow(&span, Some(&ctx.meta.0.0));
        }
        let result = self
            .forward_once(backend, request, asks_allowed, ctx, &span)
            .instrument(span.clone())
            .await;
        let outcome = match &result {
            Ok(_) => Outcome::Ok,
            Err(Failure::Error(_)) => Outcome::Error,
            Err(Failure::Unavailable(_)) => Outcome::Unavailable,
            Err(Failure::Cancelled) => Outcome::Cancelled,
        };
        if let Some(kind) = outcome.failure() {
            span.record("otel.status_code", "ERROR");
            span.record("error.type", kind);
        }
        self.metrics.request(backend, &method, began.elapsed(), outcome);
        result
    }

    async fn forward_once(
        &self,
        backend: &Arc<str>,
        request: ClientRequest,
        asks_allowed: bool,
        ctx: &RequestContext<RoleServer>,
        span: &tracing::Span,
    ) -> Result<ServerResult, Failure> {
        let Some(b) = self.backends().get(backend).cloned() else {
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
        let mut meta = forwarded_meta(&ctx.meta);
        if !span.is_disabled() {
            crate::otel::inject(span, &mut meta.0.0);
        }
        let options = PeerRequestOptions::with_timeout(b.spec.timeout)
            .reset_timeout_on_progress()
            .with_meta(meta);
        let kind = std::mem::discriminant(&request);
        let handle = match peer.send_request_with_option(request, options).await {
            Ok(h) => h,
            Err(e) => {
                if !crate::auth::is_refusal(&e) {
                    b.request_reconnect();
                }
                return Err(Failure::Unavailable(backend_error(&b, &e)));
            }
        };
        let client_token = ctx.meta.get_progress_token();
        let stateless = Era::of(ctx) == Era::Stateless;
        // A 2026-07-28 call hears the backend's log messages on its own stream.
        let log = stateless
            .then(|| ctx.meta.log_level())
            .flatten()
            .map(|level| (ctx.peer.clone(), level));
        let wants_notifications = client_token.is_some() || log.is_some();
        // A 2026-07-28 client is asked through input-required results.
        // (futures' channel: tokio's allocates a block of 32 slots up front,
        // on every call, for questions almost no call asks.)
        let (asks_tx, asks) = futures::channel::mpsc::unbounded();
        let caller = Caller {
            peer: ctx.peer.clone(),
            request: ctx.id.clone(),
            stateless,
            // (A 2025-11-25 session's are read from its peer when needed.)
            capabilities: stateless.then(|| ctx.client_capabilities()).flatten(),
            // Only requests that may answer with input-required can carry questions.
            asks: (stateless && asks_allowed).then_some(asks_tx),
            epoch: b.epoch(),
            lane: ctx.extensions.get::<crate::lane::Asker>().cloned(),
        };
        let route = self.relay.progress.register(
            backend,
            handle.progress_token.clone(),
            handle.id.clone(),
            caller,
            client_token.map(|t| (ctx.peer.clone(), t)),
            log,
        );
        let pending = Pending {
            backend: b.clone(),
            kind,
            call: InFlight {
                peer: peer.clone(),
                id: handle.id.clone(),
                response: Some(Box::pin(handle.await_response())),
            },
            route,
            asks,
            wants_notifications,
        };
        self.wait(pending, ctx).await
    }

    /// Waits for a backend call's answer on behalf of client request `ctx`.
    /// When the backend asks a 2026-07-28 client something mid-call, the call
    /// is parked and the client gets an input-required result whose state
    /// names it; the client's retry resumes it (`resume`).
    async fn wait(&self, mut pending: Pending, ctx: &RequestContext<RoleServer>) -> Result<ServerResult, Failure> {
        let Pending {
            call,
            route,
            asks,
            wants_notifications,
            ..
        } = &mut pending;
        let asked = tokio::select! {
            result = call.wait() => {
                // The answer may have overtaken the last progress or log
                // message: let them through first (nothing may interrupt this).
                if *wants_notifications {
                    route.settle(SETTLE).await;
                }
                let b = &pending.backend;
                return match result {
                    Ok(r) => Ok(r),
                    Err(ServiceError::McpError(e)) => Err(Failure::Error(e)),
                    Err(e) => {
                        if matches!(e, ServiceError::TransportSend(_) | ServiceError::TransportClosed)
                            && !crate::auth::is_refusal(&e)
                        {
                            b.request_reconnect();
                        }
                        Err(Failure::Unavailable(backend_error(b, &e)))
                    }
                };
            }
            Some(first) = futures::StreamExt::next(asks) => first,
            // (Dropping `pending` tells the backend.)
            () = ctx.ct.cancelled() => return Err(Failure::Cancelled),
        };
        let mut questions = vec![asked];
        while let Ok(more) = pending.asks.try_recv() {
            questions.push(more);
        }
        let mut input_requests = InputRequests::new();
        let mut answers = Vec::new();
        for (i, q) in questions.into_iter().enumerate() {
            let key = format!("mcpmux-{i}");
            input_requests.insert(key.clone(), q.input);
            answers.push((key, q.answer));
        }
        // The backend's own timeout keeps running while the client is asked.
        let hold = PARK_TIMEOUT.min(pending.backend.spec.timeout);
        let token = self.parked.park(Parked { pending, answers }, hold);
        Ok(ServerResult::InputRequiredResult(InputRequiredResult::new(
            Some(input_requests),
            Some(format!("{PARKED}{token}")),
        )))
    }

    /// A 2026-07-28 client's retry of a parked call: its answers go to the
    /// backend's waiting requests, and the call is waited for again.
    pub(crate) async fn resume(
        &self,
        state: &str,
        mut responses: InputResponses,
        backend: &Arc<str>,
        kind: std::mem::Discriminant<ClientRequest>,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<ServerResult, Failure> {
        // Only a retry of the same request (same backend, same kind) resumes it.
        let token = state.strip_prefix(PARKED).unwrap_or("");
        let Some(parked) = self.parked.take_if(token, |p| {
            p.pending.backend.spec.name == *backend && p.pending.kind == kind
        }) else {
            return Err(Failure::Error(ErrorData::invalid_params(
                "this requestState names no call mcpmux is holding (it ended or expired); call again",
                None,
            )));
        };
        for (key, answer) in parked.answers {
            let value = responses.remove(&key).ok_or_else(|| {
                ErrorData::invalid_params(format!("the retry has no inputResponses entry {key:?}"), None)
            });
            let _ = answer.send(value);
        }
        parked
            .pending
            .route
            .retarget(ctx.peer.clone(), ctx.id.clone(), ctx.meta.get_progress_token());
        self.wait(parked.pending, ctx).await
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
    pub(crate) async fn forward_driving_input<P: Retryable>(
        &self,
        backend: &Arc<str>,
        params: P,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<ServerResult, Failure> {
        let request = |answers: Option<InputResponses>, state: Option<String>| {
            let mut p = params.clone();
            if answers.is_some() {
                p.set_input(answers, state);
            }
            p.into_request()
        };
        let mut result = match params.input() {
            // A 2026-07-28 client answering what a parked call asked.
            (Some(state), answers) if state.starts_with(PARKED) => {
                let kind = std::mem::discriminant(&request(None, None));
                let state = state.to_string();
                let answers = answers.cloned().unwrap_or_default();
                self.resume(&state, answers, backend, kind, ctx).await?
            }
            _ => self.forward(backend, request(None, None), true, ctx).await?,
        };
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
                .forward(backend, request(Some(answers), asked.request_state), true, ctx)
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

/// The params of a request that may answer with an input-required result
/// and be retried with the client's answers (tools/call, prompts/get,
/// resources/read).
pub(crate) trait Retryable: Clone {
    /// The retry's `requestState` and `inputResponses`, if any.
    fn input(&self) -> (Option<&str>, Option<&InputResponses>);
    fn set_input(&mut self, answers: Option<InputResponses>, state: Option<String>);
    fn into_request(self) -> ClientRequest;
}

macro_rules! retryable {
    ($($params:ty => $variant:ident($request:ident)),* $(,)?) => {$(
        impl Retryable for $params {
            fn input(&self) -> (Option<&str>, Option<&InputResponses>) {
                (self.request_state.as_deref(), self.input_responses.as_ref())
            }
            fn set_input(&mut self, answers: Option<InputResponses>, state: Option<String>) {
                self.input_responses = answers;
                self.request_state = state;
            }
            fn into_request(self) -> ClientRequest {
                ClientRequest::$variant($request::new(self))
            }
        }
    )*};
}

retryable!(
    CallToolRequestParams => CallToolRequest(CallToolRequest),
    GetPromptRequestParams => GetPromptRequest(GetPromptRequest),
    ReadResourceRequestParams => ReadResourceRequest(ReadResourceRequest),
);

/// The prefix of the `requestState` mcpmux gives a parked call.
pub(crate) const PARKED: &str = "mcpmux-parked:";

/// How long a parked call waits for its client's retry before it is
/// cancelled at the backend, at most (the backend's own timeout, which keeps
/// running meanwhile, may end it sooner).
const PARK_TIMEOUT: Duration = Duration::from_secs(600);

/// A backend call on its way: its answer, its route back, and the questions
/// its backend asks a 2026-07-28 client mid-call.
pub(crate) struct Pending {
    backend: Arc<Backend>,
    /// Which kind of request it is (a retry must be of the same kind).
    kind: std::mem::Discriminant<ClientRequest>,
    call: InFlight,
    route: RouteGuard,
    asks: futures::channel::mpsc::UnboundedReceiver<InputAsk>,
    wants_notifications: bool,
}

/// A question a backend asks a 2026-07-28 client mid-call, and where its
/// answer (the client's `inputResponses` entry) goes.
pub struct InputAsk {
    pub input: InputRequest,
    pub answer: oneshot::Sender<Result<serde_json::Value, ErrorData>>,
}

/// A call whose client was asked something and has not retried yet.
pub(crate) struct Parked {
    pending: Pending,
    answers: Vec<(String, oneshot::Sender<Result<serde_json::Value, ErrorData>>)>,
}

/// The parked calls, by token; each is cancelled after `PARK_TIMEOUT`.
#[derive(Default)]
pub(crate) struct ParkedCalls {
    calls: Arc<Mutex<HashMap<String, Parked>>>,
}

impl ParkedCalls {
    fn park(&self, parked: Parked, hold: Duration) -> String {
        let token = format!("{:032x}", rand_token());
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token.clone(), parked);
        let calls = Arc::downgrade(&self.calls);
        let expired = token.clone();
        tokio::spawn(async move {
            tokio::time::sleep(hold).await;
            if let Some(calls) = calls.upgrade() {
                // Dropped: the backend is told the call was cancelled.
                let _ = calls.lock().unwrap_or_else(|e| e.into_inner()).remove(&expired);
            }
        });
        token
    }

    /// Drops the parked calls to backend `name` (it stopped: they cannot resume).
    pub(crate) fn drop_backend(&self, name: &str) {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, p| *p.pending.backend.spec.name != *name);
    }

    /// Drops every parked call (mcpmux is stopping: no client retry will come).
    pub(crate) fn clear(&self) {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The parked call `token` names, if `fits` it.
    fn take_if(&self, token: &str, fits: impl Fn(&Parked) -> bool) -> Option<Parked> {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        if calls.get(token).is_some_and(fits) {
            calls.remove(token)
        } else {
            None
        }
    }
}

/// 128 unguessable bits for a parked call's token (the requestState a
/// client holds must not name another client's call), from the kernel's
/// random source.
fn rand_token() -> u128 {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    match std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)) {
        Ok(()) => u128::from_ne_bytes(bytes),
        Err(e) => {
            // No /dev/urandom (a chroot?): SipHash under std's per-process
            // random keys, mixed with the time — still not guessable from outside.
            use std::hash::{BuildHasher, Hasher};
            tracing::warn!("reading /dev/urandom failed ({e}); parked-call tokens use a weaker source");
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            let a = h.finish();
            h.write_u64(a);
            (u128::from(a) << 64) | u128::from(h.finish())
        }
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

type Answer = std::pin::Pin<Box<dyn Future<Output = Result<ServerResult, ServiceError>> + Send>>;

/// A request to a backend that is still waiting for its answer. Dropped
/// before the answer came — the client cancelled, or its 2026-07-28 HTTP
/// request went away and took this call's task with it — it tells the
/// backend (`notifications/cancelled`, which also ends an HTTP backend's
/// request stream) and lets the answer arrive unobserved: rmcp releases the
/// request's progress watcher only then.
struct InFlight {
    peer: Peer<RoleClient>,
    id: RequestId,
    response: Option<Answer>,
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
        // What the transport said, not its type name.
        ServiceError::TransportSend(t) => {
            format!(
                "backend {:?} failed: {}",
                b.spec.name,
                redact::urls(&t.error.to_string())
            )
        }
        other => format!("backend {:?} failed: {}", b.spec.name, redact::urls(&other.to_string())),
    }
}

/// The client's request `_meta` minus what belongs to the client's own hop:
/// its progress token (mcpmux assigns one per backend request) and the
/// 2026-07-28 lifecycle keys (rmcp sends mcpmux's own to modern backends).
/// The per-request log level stays: it is the client's wish for this call.
fn forwarded_meta(meta: &RequestMetaObject) -> RequestMetaObject {
    let mut out = meta.clone();
    out.0.0.retain(|k, _| {
        k != "progressToken"
            && !matches!(
                k.as_str(),
                "io.modelcontextprotocol/protocolVersion"
                    | "io.modelcontextprotocol/clientInfo"
                    | "io.modelcontextprotocol/clientCapabilities"
            )
    });
    out
}

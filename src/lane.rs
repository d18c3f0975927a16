//! The HTTP front's fast lane: a request in a 2025-11-25 session — a
//! `tools/call`, a list, `prompts/get`, `resources/read`, a completion, a
//! ping — answered by mcpmux itself instead of through rmcp's session layer
//! (a session worker task, a service task, a handler task and an SSE stream
//! with a priming event and stored event ids, for an answer that streams
//! nothing). The request runs in its connection's own task, through the same
//! handler and rmcp's own dispatch, and is answered with plain JSON; if the
//! backend asks the client something mid-call (sampling, elicitation,
//! roots), the answer becomes an SSE stream that carries the question first,
//! and the client's POSTed reply is matched here (only from the same
//! session). A client's `notifications/cancelled` reaches the call; a client
//! that disconnects does not cancel it (2025-11-25: a disconnect is not a
//! cancellation), it runs to its end in a task of its own. Everything else —
//! a request with a progress token, other methods, browsers (an `Origin`
//! header), sessions not (yet) known, SEP-2243 headers, a 2026-07-28
//! version — goes to rmcp unchanged, with the body already read.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::StreamExt;
use futures::channel::mpsc;
use http_body_util::{BodyExt, Either, Full, Limited, StreamBody};
use hyper::body::Frame;
use rmcp::model::{
    ClientJsonRpcMessage, ClientNotification, ClientRequest, ClientResult, GetExtensions, GetMeta, RequestId,
    ServerJsonRpcMessage, ServerRequest,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, Service};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::front::FrontHandler;
use crate::hub::Hub;
use crate::sessions::Sessions;

/// The header that names a 2025-11-25 HTTP session.
pub const SESSION_HEADER: &str = "mcp-session-id";
/// The ids of the questions the lane asks clients (rmcp's own are numbers).
const ASK_PREFIX: &str = "mcpmux-ask-";

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;
/// A request body rmcp reads: the connection's, or the one the lane read.
pub type PassBody = Either<hyper::body::Incoming, Full<Bytes>>;

/// What the lane did with a request.
pub enum Taken {
    Answered(http::Response<Body>),
    Pass(http::Request<PassBody>),
}

type AskKey = (Arc<str>, Arc<str>);

pub struct Lane {
    hub: Arc<Hub>,
    sessions: Arc<Sessions>,
    max_body: usize,
    /// Host names rmcp admits (DNS-rebinding protection), lowercase.
    hosts: Vec<String>,
    /// Questions asked of clients, by (session, question id).
    asks: Mutex<HashMap<AskKey, oneshot::Sender<Result<ClientResult, ErrorData>>>>,
    /// The lane's calls in progress, by (session, request id).
    calls: Mutex<HashMap<(Arc<str>, RequestId), CancellationToken>>,
    next_ask: AtomicU64,
}

impl Lane {
    pub fn new(hub: Arc<Hub>, sessions: Arc<Sessions>, max_body: usize, hosts: &[String]) -> Arc<Lane> {
        Arc::new(Lane {
            hub,
            sessions,
            max_body,
            hosts: hosts
                .iter()
                .map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase())
                .collect(),
            asks: Mutex::default(),
            calls: Mutex::default(),
            next_ask: AtomicU64::new(1),
        })
    }

    /// Answers `request` if it is the lane's, else hands it back for rmcp.
    pub async fn take(self: &Arc<Self>, request: http::Request<hyper::body::Incoming>) -> Taken {
        let session = match self.eligible(&request) {
            Some(s) => s,
            None => return Taken::Pass(request.map(Either::Left)),
        };
        let (parts, body) = request.into_parts();
        let bytes = match Limited::new(body, self.max_body).collect().await {
            Ok(c) => c.to_bytes(),
            Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
                return Taken::Answered(plain(http::StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large"));
            }
            Err(_) => return Taken::Answered(plain(http::StatusCode::BAD_REQUEST, "Bad Request: body not read")),
        };
        let pass = move |bytes: Bytes| Taken::Pass(http::Request::from_parts(parts, Either::Right(Full::new(bytes))));
        let Ok(message) = serde_json::from_slice::<ClientJsonRpcMessage>(&bytes) else {
            return pass(bytes);
        };
        match message {
            ClientJsonRpcMessage::Request(r) => match self.call(&session, r.id, r.request).await {
                Some(response) => Taken::Answered(response),
                None => pass(bytes),
            },
            ClientJsonRpcMessage::Response(r) => match self.answer(&session, &r.id, Ok(r.result)) {
                true => Taken::Answered(plain(http::StatusCode::ACCEPTED, "")),
                false => pass(bytes),
            },
            ClientJsonRpcMessage::Error(e) => match e.id.is_some_and(|id| self.answer(&session, &id, Err(e.error))) {
                true => Taken::Answered(plain(http::StatusCode::ACCEPTED, "")),
                false => pass(bytes),
            },
            ClientJsonRpcMessage::Notification(n) => {
                if let ClientNotification::CancelledNotification(c) = &n.notification
                    && let Some(id) = &c.params.request_id
                    && let Some(ct) = self.calls.lock().unwrap().get(&(session.clone(), id.clone()))
                {
                    ct.cancel();
                }
                pass(bytes)
            }
        }
    }

    /// The session a POST names, if everything about it suits the lane
    /// (anything unusual is left to rmcp, which checks and answers it).
    fn eligible(&self, request: &http::Request<hyper::body::Incoming>) -> Option<Arc<str>> {
        if request.method() != http::Method::POST {
            return None;
        }
        let h = request.headers();
        let text = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
        let session = text(SESSION_HEADER)?;
        let content_type = text("content-type")?;
        let accept = text("accept")?;
        let version_ok =
            text("mcp-protocol-version").is_none_or(|v| matches!(v, "2025-11-25" | "2025-06-18" | "2025-03-26"));
        let ok = content_type
            .split(';')
            .next()?
            .trim()
            .eq_ignore_ascii_case("application/json")
            && accept.contains("application/json")
            && accept.contains("text/event-stream")
            && version_ok
            && !h.contains_key(http::header::ORIGIN)
            && !h.contains_key("mcp-method")
            && !h.contains_key("mcp-name")
            && self.host_allowed(text("host")?);
        ok.then(|| session.into())
    }

    fn host_allowed(&self, host: &str) -> bool {
        let name = match host.strip_prefix('[') {
            Some(rest) => rest.split(']').next().unwrap_or(""),
            None => host.rsplit_once(':').map_or(host, |(n, _)| n),
        };
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(name))
    }

    /// Runs a request of session `session` (None: not the lane's).
    async fn call(
        self: &Arc<Self>,
        session: &Arc<str>,
        id: RequestId,
        mut request: ClientRequest,
    ) -> Option<http::Response<Body>> {
        use ClientRequest::*;
        if !matches!(
            request,
            CallToolRequest(_)
                | ListToolsRequest(_)
                | ListPromptsRequest(_)
                | ListResourcesRequest(_)
                | ListResourceTemplatesRequest(_)
                | GetPromptRequest(_)
                | ReadResourceRequest(_)
                | CompleteRequest(_)
                | PingRequest(_)
        ) {
            return None;
        }
        let meta = std::mem::take(request.get_meta_mut());
        if meta.get_progress_token().is_some() || meta.protocol_version().is_some() {
            return None;
        }
        let (state, peer) = self.hub.relay.fronts.by_http_id(session)?;
        let busy = self.sessions.lane_call(session, id.clone())?;
        let ct = CancellationToken::new();
        let key = (session.clone(), id.clone());
        self.calls.lock().unwrap().insert(key.clone(), ct.clone());
        let (tx, rx) = mpsc::unbounded();
        let mut ctx = RequestContext::new(id.clone(), peer);
        ctx.ct = ct;
        ctx.meta = meta;
        ctx.extensions = std::mem::take(request.extensions_mut());
        ctx.extensions.insert(Asker {
            lane: self.clone(),
            session: session.clone(),
            tx,
        });
        let front = FrontHandler::view(self.hub.clone(), state);
        let lane = self.clone();
        let work = async move {
            let _busy = busy;
            let _registered = Registered { lane, key };
            // rmcp's own dispatch of a request to the handler.
            match Service::<RoleServer>::handle_request(&front, request, ctx).await {
                Ok(r) => ServerJsonRpcMessage::response(r, id),
                Err(e) => ServerJsonRpcMessage::error(e, Some(id)),
            }
        };
        Some(respond(Detached(Mutex::new(Some(Box::pin(work)))), rx).await)
    }

    /// Delivers a client's answer to one of the lane's questions.
    fn answer(&self, session: &Arc<str>, id: &RequestId, answer: Result<ClientResult, ErrorData>) -> bool {
        let RequestId::String(s) = id else { return false };
        if !s.starts_with(ASK_PREFIX) {
            return false;
        }
        match self.asks.lock().unwrap().remove(&(session.clone(), s.clone())) {
            Some(tx) => {
                let _ = tx.send(answer);
                true
            }
            None => false,
        }
    }
}

/// A lane call's registration, removed when the call ends.
struct Registered {
    lane: Arc<Lane>,
    key: (Arc<str>, RequestId),
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.lane.calls.lock().unwrap().remove(&self.key);
    }
}

/// How a lane call asks its client something: on the call's own answer,
/// which becomes an SSE stream. Travels in the call's request context.
#[derive(Clone)]
pub struct Asker {
    lane: Arc<Lane>,
    session: Arc<str>,
    tx: mpsc::UnboundedSender<ServerJsonRpcMessage>,
}

impl Asker {
    /// Sends `request` to the client and waits for its answer.
    pub async fn ask(&self, request: ServerRequest) -> Result<ClientResult, ErrorData> {
        let n = self.lane.next_ask.fetch_add(1, Ordering::Relaxed);
        let id: Arc<str> = format!("{ASK_PREFIX}{n}").into();
        let key = (self.session.clone(), id.clone());
        let (tx, rx) = oneshot::channel();
        self.lane.asks.lock().unwrap().insert(key.clone(), tx);
        let _forget = Forget {
            lane: self.lane.clone(),
            key,
        };
        let gone = || ErrorData::internal_error("the client's call has ended", None);
        self.tx
            .unbounded_send(ServerJsonRpcMessage::request(request, RequestId::String(id)))
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }
}

/// Forgets a question when its asker stops waiting.
struct Forget {
    lane: Arc<Lane>,
    key: AskKey,
}

impl Drop for Forget {
    fn drop(&mut self) {
        self.lane.asks.lock().unwrap().remove(&self.key);
    }
}

type Work = Pin<Box<dyn Future<Output = ServerJsonRpcMessage> + Send>>;

/// A call that, if its answer is no longer wanted (the client went away),
/// still runs to its end, in a task of its own. (The mutex, never locked,
/// only makes it `Sync`, as a response body must be.)
struct Detached(Mutex<Option<Work>>);

impl Future for Detached {
    type Output = ServerJsonRpcMessage;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<ServerJsonRpcMessage> {
        let slot = self.0.get_mut().unwrap_or_else(|e| e.into_inner());
        let Some(work) = slot.as_mut() else {
            return Poll::Pending;
        };
        let out = work.as_mut().poll(cx);
        if out.is_ready() {
            *slot = None;
        }
        out
    }
}

impl Drop for Detached {
    fn drop(&mut self) {
        if let Some(work) = self.0.get_mut().unwrap_or_else(|e| e.into_inner()).take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(work);
        }
    }
}

/// Plain JSON if the call's answer comes before anything else; else an SSE
/// stream of what came first, what follows, and the answer.
async fn respond(mut work: Detached, mut rx: mpsc::UnboundedReceiver<ServerJsonRpcMessage>) -> http::Response<Body> {
    let first = tokio::select! {
        biased;
        answer = &mut work => return json(&answer),
        Some(first) = rx.next() => first,
    };
    let events = futures::stream::unfold((Some(first), Some(work), rx), |(first, work, mut rx)| async move {
        if let Some(m) = first {
            return Some((event(&m), (None, work, rx)));
        }
        let mut work = work?;
        tokio::select! {
            biased;
            Some(m) = rx.next() => Some((event(&m), (None, Some(work), rx))),
            answer = &mut work => Some((event(&answer), (None, None, rx))),
        }
    });
    let body = StreamBody::new(futures::StreamExt::map(events, |b| Ok::<_, Infallible>(Frame::data(b))));
    http::Response::builder()
        .header(http::header::CONTENT_TYPE, "text/event-stream")
        .header(http::header::CACHE_CONTROL, "no-cache")
        .body(BodyExt::boxed(body))
        .expect("valid response")
}

fn json(message: &ServerJsonRpcMessage) -> http::Response<Body> {
    let bytes = serde_json::to_vec(message).unwrap_or_default();
    http::Response::builder()
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(bytes)).boxed())
        .expect("valid response")
}

fn event(message: &ServerJsonRpcMessage) -> Bytes {
    let mut out = b"data: ".to_vec();
    let _ = serde_json::to_writer(&mut out, message);
    out.extend_from_slice(b"\n\n");
    out.into()
}

fn plain(status: http::StatusCode, text: &str) -> http::Response<Body> {
    let mut r = http::Response::new(Full::new(Bytes::from(text.to_string())).boxed());
    *r.status_mut() = status;
    r
}

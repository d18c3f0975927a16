//! What mcpmux sees of a backend's messages before rmcp does: a transport
//! wrapper around every backend connection. During the opening handshake it
//! keeps rmcp's `server/discover` probe from going out of step with a slow
//! or handshake-only backend and drops answers to requests it never sent
//! (which rmcp would take for the handshake's answer); for the whole
//! connection it takes each progress notification and log message as it
//! arrives, in wire order: rmcp then handles each in a task of its own, in
//! no set order, so progress is queued for its call here and passed on
//! from the queue, and the counts let a call whose answer overtook its last
//! progress or log message wait for them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rmcp::RoleClient;
use rmcp::model::{
    ClientJsonRpcMessage, ClientRequest, ErrorCode, ErrorData, JsonRpcError, JsonRpcMessage, RequestId,
    ServerJsonRpcMessage, ServerNotification, ServerResult,
};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;

use super::client::BackendClient;
use crate::progress::ProgressRoutes;

/// What the wrapper learnt about the probe.
#[derive(Default)]
pub struct ProbeOutcome {
    late_modern: AtomicBool,
}

impl ProbeOutcome {
    /// The probe was answered with a discover result after `initialize` had
    /// been sent: the backend was slow, and may speak only 2026-07-28.
    pub fn late_modern(&self) -> bool {
        self.late_modern.load(Ordering::Acquire)
    }
}

/// A backend transport, watched.
///
/// Two things go wrong with rmcp's `Auto` lifecycle (probe with
/// `server/discover`, fall back to `initialize`) that this wrapper mends:
///
/// * rmcp waits a fixed 10 s for the probe's answer, then sends
///   `initialize`. A backend slower than that to start (npx or uvx
///   installing on first run, an image being pulled) answers both, in
///   order, and the probe's answer was taken for the `initialize` answer.
///   Answers to the probe that arrive after `initialize` was sent are set
///   aside here (a discover result among them is remembered).
/// * A backend that answers the probe with only handshake-era versions (rmcp
///   3.11 servers do) makes rmcp give up on the connection. With `legacy_probe`
///   (Auto mode) such an answer is turned into "method not found", which is
///   how a handshake-era backend is recognised, so rmcp falls back to
///   `initialize` on the same connection instead of starting the backend twice.
///
/// And until the handshake is answered, rmcp takes any answer for the
/// handshake's: an answer for an id nobody asked (a confused or hostile
/// backend) would fail the connection. Such answers are dropped here; after
/// the handshake rmcp itself ignores them.
pub struct Wire<T> {
    inner: T,
    /// Requests sent during the handshake (`None` once it was answered), and
    /// whether each opens the session (`initialize`, `server/discover`).
    handshake: Option<Vec<(RequestId, bool)>>,
    probes: Vec<RequestId>,
    fell_back: bool,
    legacy_probe: bool,
    outcome: Arc<ProbeOutcome>,
    backend: Arc<str>,
    progress: Arc<ProgressRoutes>,
}

impl<T> Wire<T> {
    pub fn new(inner: T, client: &BackendClient, legacy_probe: bool) -> (Self, Arc<ProbeOutcome>) {
        let outcome = Arc::new(ProbeOutcome::default());
        let wire = Wire {
            inner,
            handshake: Some(Vec::new()),
            probes: Vec::new(),
            fell_back: false,
            legacy_probe,
            outcome: outcome.clone(),
            backend: client.name().clone(),
            progress: client.progress().clone(),
        };
        // Log messages counted on a previous connection will never be handled now.
        wire.progress.reset_logs(&wire.backend);
        (wire, outcome)
    }

    /// Handles an answer to one of the probes; `None` sets it aside.
    fn probe_answer(&mut self, at: usize, message: ServerJsonRpcMessage) -> Option<ServerJsonRpcMessage> {
        let id = self.probes.swap_remove(at);
        let discovered = match &message {
            JsonRpcMessage::Response(r) => match &r.result {
                ServerResult::DiscoverResult(d) => Some(d),
                _ => None,
            },
            _ => None,
        };
        if self.fell_back {
            if discovered.is_some() {
                self.outcome.late_modern.store(true, Ordering::Release);
            }
            tracing::debug!(backend = %self.backend, "set aside a late answer to the server/discover probe");
            return None;
        }
        match discovered {
            Some(d) if self.legacy_probe && d.supported_versions.iter().all(|v| v.has_initialize()) => {
                tracing::debug!(backend = %self.backend, "it offers only handshake-era protocol versions; using initialize");
                Some(JsonRpcMessage::Error(JsonRpcError {
                    jsonrpc: Default::default(),
                    id: Some(id),
                    error: ErrorData::new(
                        ErrorCode::METHOD_NOT_FOUND,
                        "the backend offers only protocol versions with an initialize handshake",
                        None,
                    ),
                }))
            }
            _ => Some(message),
        }
    }
}

impl<T: Transport<RoleClient>> Transport<RoleClient> for Wire<T> {
    type Error = T::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        if let ClientJsonRpcMessage::Request(r) = &item {
            if let Some(sent) = &mut self.handshake {
                let opens = matches!(
                    r.request,
                    ClientRequest::InitializeRequest(_) | ClientRequest::DiscoverRequest(_)
                );
                sent.push((r.id.clone(), opens));
            }
            match &r.request {
                ClientRequest::DiscoverRequest(_) if !self.fell_back => self.probes.push(r.id.clone()),
                ClientRequest::InitializeRequest(_) if !self.probes.is_empty() => self.fell_back = true,
                _ => {}
            }
        }
        self.inner.send(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        loop {
            let mut message = self.inner.receive().await?;
            if let JsonRpcMessage::Notification(n) = &mut message {
                match &mut n.notification {
                    ServerNotification::ProgressNotification(p) if self.progress.arrived(&self.backend, &p.params) => {
                        p.extensions.insert(crate::progress::Queued);
                    }
                    ServerNotification::LoggingMessageNotification(_) => self.progress.log_arrived(&self.backend),
                    _ => {}
                }
                return Some(message);
            }
            let id = match &message {
                JsonRpcMessage::Response(r) => Some(&r.id),
                JsonRpcMessage::Error(e) => e.id.as_ref(),
                _ => None,
            };
            let mut opening = false;
            if let (Some(sent), Some(id)) = (&mut self.handshake, id) {
                let Some(at) = sent.iter().position(|(s, _)| same_id(s, id)) else {
                    tracing::debug!(backend = %self.backend, %id, "dropped an answer to a request never sent");
                    continue;
                };
                opening = sent.swap_remove(at).1 && matches!(message, JsonRpcMessage::Response(_));
            }
            if self.probes.is_empty() {
                if opening {
                    self.handshake = None;
                }
                return Some(message);
            }
            let Some(at) = id.and_then(|id| self.probes.iter().position(|p| same_id(p, id))) else {
                return Some(message);
            };
            if let Some(message) = self.probe_answer(at, message) {
                if opening && matches!(message, JsonRpcMessage::Response(_)) {
                    self.handshake = None;
                }
                return Some(message);
            }
        }
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}

/// Whether a response's id answers request `sent`: the same id, or the same
/// number echoed back as a string (rmcp accepts that too).
fn same_id(sent: &RequestId, answered: &RequestId) -> bool {
    sent == answered || sent.to_string() == answered.to_string()
}

//! Credentials that change while mcpmux runs, for HTTP backends: a bearer
//! token minted by a credential helper, or OAuth tokens. A backend's
//! streamable HTTP transport sends every request through [`AuthedHttp`],
//! which puts the current token on it and, when the backend rejects the
//! token (401, or 403), gets a new one once and retries once. Static
//! credentials (`bearer`, `header`) need none of this and are set where the
//! transport is built. Nothing above the backend layer knows about tokens.

pub mod commands;
pub mod consent;
pub mod helper;
pub mod oauth;
pub mod store;

use std::collections::HashMap;
use std::sync::Arc;

use http::{HeaderName, HeaderValue};
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::auth::AuthError;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse, StreamableHttpResponseLimits,
};

use crate::config::{Auth, HttpBackend};

/// What the credentials of all backends share: where OAuth tokens are kept
/// and whether consents may be asked for at start-up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthSettings {
    /// The token store directory (`None`: tokens in memory only).
    pub store_dir: Option<std::path::PathBuf>,
    /// Ask for consents at start-up rather than once a client arrives.
    pub eager: bool,
}

/// A source of bearer tokens for one backend.
#[derive(Clone)]
pub enum Source {
    Helper(Arc<helper::Helper>),
    OAuth(Arc<oauth::OAuth>),
}

impl Source {
    /// The token source of an HTTP backend whose credentials change (`command`, `oauth`).
    pub fn for_backend(name: &str, spec: &HttpBackend, settings: &AuthSettings) -> Option<Source> {
        match &spec.auth {
            Auth::Command(c) => Some(Source::Helper(Arc::new(helper::Helper::new(c.command.clone(), c.ttl)))),
            Auth::Oauth(o) => {
                let s = oauth::Settings::from_config(name, &spec.endpoint, o);
                Some(Source::OAuth(Arc::new(oauth::OAuth::new(
                    s,
                    store_for(settings, name, &spec.endpoint),
                    settings.eager,
                ))))
            }
            _ => None,
        }
    }

    pub fn oauth(&self) -> Option<&Arc<oauth::OAuth>> {
        match self {
            Source::OAuth(o) => Some(o),
            Source::Helper(_) => None,
        }
    }

    async fn token(&self) -> Result<Option<String>, AuthError> {
        match self {
            Source::Helper(h) => h.token().await.map(Some).map_err(AuthError::InternalError),
            Source::OAuth(o) => o.token().await,
        }
    }

    /// A token to retry with after the backend rejected `sent`, or `None`
    /// to let the rejection stand.
    async fn rejected(&self, sent: Option<&str>, rejection: &Rejection) -> Result<Option<String>, AuthError> {
        match (self, rejection) {
            (Source::Helper(h), _) => h.replace(sent).await.map(Some).map_err(AuthError::InternalError),
            (Source::OAuth(o), Rejection::Unauthorized(challenge)) => {
                o.unauthorized(sent, challenge.as_deref()).await.map(Some)
            }
            (Source::OAuth(o), Rejection::Forbidden(challenge)) => o.forbidden(challenge.as_deref()).await,
        }
    }

    fn succeeded(&self, after: Option<&Rejection>) {
        if let Source::OAuth(o) = self {
            o.succeeded();
            if matches!(after, Some(Rejection::Forbidden(_))) {
                o.stepped_up();
            }
        }
    }
}

/// Whether a failed request was the backend refusing mcpmux's credentials
/// (or mcpmux failing to get any): the connection itself is fine then, and
/// nothing is gained by reconnecting.
pub fn is_refusal(e: &rmcp::ServiceError) -> bool {
    let rmcp::ServiceError::TransportSend(e) = e else {
        return false;
    };
    e.error
        .downcast_ref::<StreamableHttpError<reqwest::Error>>()
        .is_some_and(|e| Rejection::of(e).is_some() || matches!(e, StreamableHttpError::Auth(_)))
}

/// The token store record of backend `name` under these settings.
pub fn store_for(settings: &AuthSettings, name: &str, endpoint: &str) -> store::Store {
    match &settings.store_dir {
        Some(dir) => store::Store::file(dir, name, endpoint),
        None => store::Store::memory(endpoint),
    }
}

/// Why a backend turned a request away.
enum Rejection {
    Unauthorized(Option<String>),
    Forbidden(Option<String>),
}

impl Rejection {
    fn of(e: &StreamableHttpError<reqwest::Error>) -> Option<Rejection> {
        match e {
            // A GET or DELETE refused without a challenge.
            StreamableHttpError::Client(e) if e.status() == Some(reqwest::StatusCode::UNAUTHORIZED) => {
                Some(Rejection::Unauthorized(None))
            }
            StreamableHttpError::Client(e) if e.status() == Some(reqwest::StatusCode::FORBIDDEN) => {
                Some(Rejection::Forbidden(None))
            }
            StreamableHttpError::AuthRequired(a) => {
                Some(Rejection::Unauthorized(Some(a.www_authenticate_header.clone())))
            }
            StreamableHttpError::InsufficientScope(i) => {
                Some(Rejection::Forbidden(Some(i.www_authenticate_header.clone())))
            }
            StreamableHttpError::UnexpectedServerResponse(s) if s.starts_with("HTTP 401") => {
                Some(Rejection::Unauthorized(None))
            }
            StreamableHttpError::UnexpectedServerResponse(s) if s.starts_with("HTTP 403") => {
                Some(Rejection::Forbidden(None))
            }
            _ => None,
        }
    }
}

/// The HTTP client of every HTTP backend. Unlike rmcp's own, it keeps idle
/// connections for reuse: rmcp turns pooling off against delayed-ACK stalls,
/// which TCP_NODELAY (set here) avoids, and a new connection per call cost
/// five syscalls and a handshake each (`benches/proxy.rs`). Only same-origin
/// 307/308 redirects are followed, so neither a token nor a session id is
/// ever replayed to another origin.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_idle_timeout(std::time::Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            let same_origin = attempt
                .previous()
                .first()
                .is_some_and(|first| first.origin() == attempt.url().origin());
            if attempt.previous().len() < 10 && same_origin && matches!(attempt.status().as_u16(), 307 | 308) {
                attempt.follow()
            } else {
                attempt.stop()
            }
        }))
        .build()
        .unwrap_or_default()
}

/// A streamable HTTP client that authenticates with a token [`Source`].
#[derive(Clone)]
pub struct AuthedHttp {
    inner: reqwest::Client,
    source: Source,
}

impl AuthedHttp {
    pub fn new(inner: reqwest::Client, source: Source) -> AuthedHttp {
        AuthedHttp { inner, source }
    }

    /// Runs `call` with the current token; on a rejection, once more with a new one.
    async fn with_token<T, F, Fut>(&self, call: F) -> Result<T, StreamableHttpError<reqwest::Error>>
    where
        F: Fn(Option<String>) -> Fut,
        Fut: Future<Output = Result<T, StreamableHttpError<reqwest::Error>>>,
    {
        let token = self.source.token().await?;
        match call(token.clone()).await {
            Err(e) => {
                let Some(rejection) = Rejection::of(&e) else {
                    return Err(e);
                };
                match self.source.rejected(token.as_deref(), &rejection).await? {
                    Some(fresh) => {
                        let r = call(Some(fresh)).await;
                        if r.is_ok() {
                            self.source.succeeded(Some(&rejection));
                        }
                        r
                    }
                    None => Err(e),
                }
            }
            ok => {
                self.source.succeeded(None);
                ok
            }
        }
    }
}

impl StreamableHttpClient for AuthedHttp {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.with_token(|token| {
            self.inner.post_message(
                uri.clone(),
                message.clone(),
                session_id.clone(),
                token,
                custom_headers.clone(),
            )
        })
        .await
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.with_token(|token| {
            self.inner.post_message_with_max_sse_event_size(
                uri.clone(),
                message.clone(),
                session_id.clone(),
                token,
                custom_headers.clone(),
                max_sse_event_size,
            )
        })
        .await
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.with_token(|token| {
            self.inner.post_message_with_response_limits(
                uri.clone(),
                message.clone(),
                session_id.clone(),
                token,
                custom_headers.clone(),
                limits,
            )
        })
        .await
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        _auth: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), StreamableHttpError<Self::Error>> {
        self.with_token(|token| {
            self.inner
                .delete_session(uri.clone(), session_id.clone(), token, custom_headers.clone())
        })
        .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<
        futures::stream::BoxStream<'static, Result<sse_stream::Sse, sse_stream::Error>>,
        StreamableHttpError<Self::Error>,
    > {
        self.with_token(|token| {
            self.inner.get_stream(
                uri.clone(),
                session_id.clone(),
                last_event_id.clone(),
                token,
                custom_headers.clone(),
            )
        })
        .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<
        futures::stream::BoxStream<'static, Result<sse_stream::Sse, sse_stream::Error>>,
        StreamableHttpError<Self::Error>,
    > {
        self.with_token(|token| {
            self.inner.get_stream_with_max_sse_event_size(
                uri.clone(),
                session_id.clone(),
                last_event_id.clone(),
                token,
                custom_headers.clone(),
                max_sse_event_size,
            )
        })
        .await
    }
}

//! `mcpmux connect`: a bridge between this process's stdin/stdout and a
//! running mcpmux's streamable HTTP endpoint, for MCP clients that can only
//! launch a subprocess. Its single job is to relay every JSON-RPC message
//! from one side to the other without interpreting it: rmcp's stdio
//! transport (seen as a server) faces the client, rmcp's HTTP client
//! transport faces mcpmux, and the HTTP worker does the HTTP-level work
//! itself — the `Mcp-Session-Id` after a 2025-11-25 `initialize`, the GET
//! stream, the `DELETE` at the end, or per-request headers for a 2026-07-28
//! client, chosen by the client's first message. The bridge ends when stdin
//! closes (closing the HTTP session) or when mcpmux goes away (with an
//! error).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures::StreamExt as _;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use rmcp::model::{ErrorData, JsonRpcMessage, RequestId, ServerJsonRpcMessage};
use rmcp::transport::async_rw::AsyncRwTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, Transport};
use rmcp::{RoleClient, RoleServer};
use tokio::io::AsyncReadExt as _;

use crate::config::{Config, ListenTransport};

/// How long a closing bridge waits for messages it already started to send.
const DRAIN: Duration = Duration::from_secs(2);
/// How long closing the HTTP session (rmcp's `DELETE`, itself bounded) may take.
const CLOSE: Duration = Duration::from_secs(10);

/// Bridges stdin/stdout to the mcpmux at `target` (`http(s)://…` or
/// `unix:/path`), sending `token` as a bearer token if given.
pub async fn connect(target: &str, token: Option<String>) -> anyhow::Result<()> {
    let endpoint = Endpoint::parse(target)?;
    crate::serve::install_crypto();
    // Fail at once, and clearly, when nothing listens there.
    endpoint
        .dial()
        .await
        .with_context(|| format!("cannot reach mcpmux at {endpoint} (is `mcpmux serve` listening there?)"))?;
    let daemon = endpoint.transport(token)?;
    let (stdin, stdout) = rmcp::transport::stdio_pipes();
    let client = AsyncRwTransport::<RoleServer, _, _>::new_server(stdin, stdout);
    tracing::debug!("bridging stdin/stdout to {endpoint}");
    pump(client, daemon, watch(endpoint.clone()), &endpoint.to_string()).await
}

/// The URL of the configured listen endpoint, for `mcpmux connect` without a target.
pub fn target_of(config: &Config) -> anyhow::Result<String> {
    let listen = &config.listen;
    if matches!(listen.transport, ListenTransport::Stdio) {
        bail!(
            "the configuration serves stdio (listen.transport), so there is no mcpmux to connect to: \
             give the URL of one, e.g. `mcpmux connect http://127.0.0.1:8080/mcp`"
        );
    }
    let (host, port) = listen
        .address
        .rsplit_once(':')
        .context("listen.address is not host:port")?;
    if port == "0" {
        bail!("listen.address has port 0 (mcpmux picks one when it starts): give the URL `mcpmux serve` printed");
    }
    // A daemon bound to every interface is reached on loopback (and its
    // DNS-rebinding protection admits only loopback Host headers).
    let host = match host {
        "" | "0.0.0.0" => "127.0.0.1",
        "[::]" => "[::1]",
        h => h,
    };
    Ok(format!("http://{host}:{port}{}", listen.path))
}

/// Where mcpmux listens.
#[derive(Debug, Clone)]
enum Endpoint {
    /// `http(s)://host:port/path`.
    Tcp { url: String, host: String, port: u16 },
    /// `unix:/path`: HTTP over a unix socket, at `/mcp`.
    Unix { path: PathBuf },
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // Without user info or query, where secrets hide.
            Endpoint::Tcp { url, .. } => f.write_str(&crate::redact::urls(url)),
            Endpoint::Unix { path } => write!(f, "unix:{}", path.display()),
        }
    }
}

impl Endpoint {
    fn parse(target: &str) -> anyhow::Result<Endpoint> {
        let usage = "expected http://host:port/path, https://… or unix:/path/to/socket";
        if let Some(path) = target.strip_prefix("unix:") {
            if path.is_empty() {
                bail!("{target:?} names no socket: {usage}");
            }
            return Ok(Endpoint::Unix { path: path.into() });
        }
        let url = url::Url::parse(target).with_context(|| format!("{target:?} is not a URL: {usage}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            bail!("{target:?} is not an http(s) URL: {usage}");
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            None => bail!("{target:?} names no host: {usage}"),
        };
        let port = url.port_or_known_default().context("no port")?;
        Ok(Endpoint::Tcp {
            url: target.to_string(),
            host,
            port,
        })
    }

    /// The HTTP URL requests name.
    fn uri(&self) -> String {
        match self {
            Endpoint::Tcp { url, .. } => url.clone(),
            // rmcp's DNS-rebinding protection admits the Host "localhost".
            Endpoint::Unix { .. } => "http://localhost/mcp".into(),
        }
    }

    /// rmcp's streamable HTTP client for this endpoint, on a reqwest client
    /// that keeps connections for reuse (rmcp's default opens one per
    /// request) with TCP_NODELAY, and follows no redirects.
    fn transport(&self, token: Option<String>) -> anyhow::Result<StreamableHttpClientTransport<reqwest::Client>> {
        let mut config = StreamableHttpClientTransportConfig::with_uri(self.uri());
        if let Some(token) = token {
            // Sent as `Authorization: Bearer <token>` on every POST, GET and DELETE.
            config = config.auth_header(token);
        }
        let mut client = reqwest::Client::builder()
            .tcp_nodelay(true)
            .pool_idle_timeout(std::time::Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none());
        if let Endpoint::Unix { path } = self {
            client = client.unix_socket(path.as_path());
        }
        Ok(StreamableHttpClientTransport::with_client(client.build()?, config))
    }

    /// A new connection to the listening socket (no HTTP on it).
    async fn dial(&self) -> std::io::Result<Box<dyn tokio::io::AsyncRead + Send + Unpin>> {
        Ok(match self {
            Endpoint::Tcp { host, port, .. } => Box::new(tokio::net::TcpStream::connect((host.as_str(), *port)).await?),
            Endpoint::Unix { path } => Box::new(tokio::net::UnixStream::connect(path).await?),
        })
    }
}

/// Resolves, with the reason, once mcpmux stops accepting connections.
///
/// rmcp's HTTP worker outlives its server (POSTs fail one by one, the GET
/// stream retries), and an idle client sends nothing, so the bridge watches
/// the daemon itself: it holds an idle connection open, which the daemon's
/// end closes when it shuts down or dies, then dials again. Three dials in a
/// row that are refused, or closed at once (a proxy whose upstream is gone),
/// mean mcpmux is gone.
async fn watch(endpoint: Endpoint) -> String {
    let mut failures = 0;
    loop {
        let opened = Instant::now();
        let reason = match endpoint.dial().await {
            Ok(mut connection) => {
                let mut buf = [0u8; 256];
                while matches!(connection.read(&mut buf).await, Ok(n) if n > 0) {}
                // Closed: the daemon is stopping, or it closes idle connections.
                if opened.elapsed() >= Duration::from_secs(1) {
                    failures = 0;
                    continue;
                }
                "it closes connections at once".to_string()
            }
            Err(e) => e.to_string(),
        };
        failures += 1;
        if failures == 3 {
            return reason;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A message one side finished sending.
enum Sent {
    /// Written to stdout (an error: the client is gone).
    ToClient(Result<(), String>),
    /// Handed to mcpmux; `request` is the id of a request the client awaits.
    ToDaemon {
        request: Option<RequestId>,
        result: Result<(), String>,
    },
}

/// Why the pump stopped.
enum End {
    ClientGone,
    DaemonClosed,
    DaemonGone(String),
}

type Sending = FuturesUnordered<BoxFuture<'static, Sent>>;

/// Starts sending: polls `send` once here, so messages enter each transport
/// in the order they arrived (both queue their callers first come, first
/// served), and keeps it in `sending` until it finishes — a POST may wait for
/// its whole answer, which must not hold up the messages behind it.
async fn start(sending: &mut Sending, send: impl Future<Output = Sent> + Send + 'static) {
    let mut send: BoxFuture<'static, Sent> = Box::pin(send);
    let first = std::future::poll_fn(|cx| Poll::Ready(Pin::as_mut(&mut send).poll(cx))).await;
    sending.push(match first {
        Poll::Ready(sent) => Box::pin(std::future::ready(sent)),
        Poll::Pending => send,
    });
}

/// Carries messages both ways until one side ends; `gone` resolves when
/// mcpmux is no longer there.
async fn pump<C, D>(
    mut client: C,
    mut daemon: D,
    gone: impl Future<Output = String>,
    endpoint: &str,
) -> anyhow::Result<()>
where
    C: Transport<RoleServer>,
    D: Transport<RoleClient>,
    C::Error: std::fmt::Display,
    D::Error: std::fmt::Display,
{
    let mut sending = Sending::new();
    let mut last_error: Option<String> = None;
    // Whether anything ever went through from mcpmux: a client that leaves
    // after its first messages were refused (a 401) is a failed bridge.
    let mut through = false;
    let mut terminate = signal(tokio::signal::unix::SignalKind::terminate());
    let mut interrupt = signal(tokio::signal::unix::SignalKind::interrupt());
    tokio::pin!(gone);
    let end = loop {
        tokio::select! {
            message = client.receive() => {
                let Some(message) = message else { break End::ClientGone };
                let request = match &message {
                    JsonRpcMessage::Request(r) => Some(r.id.clone()),
                    _ => None,
                };
                let send = daemon.send(message);
                start(&mut sending, async move {
                    Sent::ToDaemon { request, result: send.await.map_err(|e| e.to_string()) }
                })
                .await;
            }
            message = daemon.receive() => {
                let Some(message) = message else { break End::DaemonClosed };
                through = true;
                let send = client.send(message);
                start(&mut sending, async move { Sent::ToClient(send.await.map_err(|e| e.to_string())) }).await;
            }
            Some(sent) = sending.next(), if !sending.is_empty() => {
                if finished(sent, &mut client, &mut sending, &mut last_error, endpoint).await {
                    tracing::debug!("stdout is closed");
                    break End::ClientGone;
                }
            }
            reason = &mut gone => break End::DaemonGone(reason),
            _ = terminate.recv() => break End::ClientGone,
            _ = interrupt.recv() => break End::ClientGone,
        }
    };
    // Let what was already on its way arrive (and collect why mcpmux failed).
    let _ = tokio::time::timeout(DRAIN, async {
        while let Some(sent) = sending.next().await {
            finished(sent, &mut client, &mut sending, &mut last_error, endpoint).await;
        }
    })
    .await;
    let _ = client.close().await;
    match end {
        End::ClientGone if !through && last_error.is_some() => {
            let e = last_error.unwrap_or_default();
            bail!("the client left after mcpmux at {endpoint} refused it: {e}")
        }
        End::ClientGone => {
            tracing::debug!("the client is gone; closing the session with mcpmux");
            match tokio::time::timeout(CLOSE, daemon.close()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!("closing the session with mcpmux: {e}"),
                Err(_) => tracing::debug!("closing the session with mcpmux took over {CLOSE:?}"),
            }
            Ok(())
        }
        End::DaemonClosed => match last_error {
            Some(e) => bail!("the connection to mcpmux at {endpoint} ended: {e}"),
            None => bail!("the connection to mcpmux at {endpoint} ended"),
        },
        End::DaemonGone(reason) => bail!("mcpmux at {endpoint} went away: {reason}"),
    }
}

/// Takes note of a finished send: a request mcpmux could not be sent gets
/// its error as the answer the client waits for. True when stdout is closed.
async fn finished<C>(
    sent: Sent,
    client: &mut C,
    sending: &mut Sending,
    last_error: &mut Option<String>,
    endpoint: &str,
) -> bool
where
    C: Transport<RoleServer>,
    C::Error: std::fmt::Display,
{
    match sent {
        Sent::ToClient(Ok(())) | Sent::ToDaemon { result: Ok(()), .. } => false,
        Sent::ToClient(Err(e)) => {
            tracing::debug!("writing to stdout failed: {e}");
            true
        }
        Sent::ToDaemon {
            request,
            result: Err(e),
        } => {
            tracing::warn!("sending to mcpmux failed: {e}");
            if let Some(id) = request {
                let error = ErrorData::internal_error(format!("mcpmux at {endpoint}: {e}"), None);
                let send = client.send(ServerJsonRpcMessage::error(error, Some(id)));
                start(
                    sending,
                    async move { Sent::ToClient(send.await.map_err(|e| e.to_string())) },
                )
                .await;
            }
            *last_error = Some(e);
            false
        }
    }
}

/// A signal stream, or one that never yields if the signal cannot be watched.
fn signal(kind: tokio::signal::unix::SignalKind) -> SignalStream {
    SignalStream(tokio::signal::unix::signal(kind).ok())
}

struct SignalStream(Option<tokio::signal::unix::Signal>);

impl SignalStream {
    async fn recv(&mut self) {
        if let Some(s) = &mut self.0
            && s.recv().await.is_some()
        {
            return;
        }
        std::future::pending().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(listen: serde_json::Value) -> Config {
        let text = serde_json::json!({ "listen": listen, "backends": [] }).to_string();
        crate::config::parse(&text, "test.yaml", &|_| None).unwrap()
    }

    #[test]
    fn the_default_target_is_the_configured_endpoint() {
        let c = config(serde_json::json!({ "transport": "http", "address": "127.0.0.1:9000", "path": "/x" }));
        assert_eq!(target_of(&c).unwrap(), "http://127.0.0.1:9000/x");
        let c = config(serde_json::json!({ "transport": "http", "address": "0.0.0.0:8080" }));
        assert_eq!(target_of(&c).unwrap(), "http://127.0.0.1:8080/mcp");
        let c = config(serde_json::json!({ "transport": "http", "address": "[::]:8080" }));
        assert_eq!(target_of(&c).unwrap(), "http://[::1]:8080/mcp");
        let c = config(serde_json::json!({ "transport": "http", "address": "127.0.0.1:0" }));
        assert!(target_of(&c).unwrap_err().to_string().contains("port 0"));
        let c = config(serde_json::json!({ "transport": "stdio" }));
        assert!(target_of(&c).unwrap_err().to_string().contains("stdio"));
    }

    #[test]
    fn targets_are_urls_or_unix_sockets() {
        match Endpoint::parse("http://[::1]:8080/mcp").unwrap() {
            Endpoint::Tcp { host, port, url } => {
                assert_eq!(
                    (host.as_str(), port, url.as_str()),
                    ("::1", 8080, "http://[::1]:8080/mcp")
                );
            }
            e => panic!("{e}"),
        }
        match Endpoint::parse("https://mux.example/mcp").unwrap() {
            Endpoint::Tcp { port, .. } => assert_eq!(port, 443),
            e => panic!("{e}"),
        }
        let secret = Endpoint::parse("http://u:pw@127.0.0.1:1/mcp?key=k").unwrap();
        assert_eq!(secret.to_string(), "http://127.0.0.1:1/mcp");
        let unix = Endpoint::parse("unix:/run/mcpmux.sock").unwrap();
        assert_eq!(unix.to_string(), "unix:/run/mcpmux.sock");
        assert_eq!(unix.uri(), "http://localhost/mcp");
        for bad in ["unix:", "localhost:8080", "127.0.0.1:8080", "ftp://x/mcp"] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }
}

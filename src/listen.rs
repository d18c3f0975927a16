//! Where clients reach mcpmux: stdio (the client started mcpmux; stdout is
//! the protocol) or streamable HTTP on `listen.address` + `listen.path`
//! (stateful sessions for 2025-11-25 clients, stateless requests for
//! 2026-07-28 ones), with a graceful drain on shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::front::FrontHandler;
use crate::hub::Hub;

/// How long open HTTP connections get to finish after shutdown begins.
const DRAIN: Duration = Duration::from_secs(5);

/// Serves one client on stdin/stdout until it disconnects or `shutdown`.
pub async fn stdio(hub: Arc<Hub>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let handler = FrontHandler::new(hub);
    let service = tokio::select! {
        s = handler.serve_with_ct(rmcp::transport::stdio(), shutdown.child_token()) => s?,
        () = shutdown.cancelled() => return Ok(()),
    };
    let reason = service.waiting().await?;
    tracing::debug!(?reason, "stdio client finished");
    Ok(())
}

/// Binds the HTTP endpoint (before backends start, so clients can connect at once).
pub async fn bind(address: &str) -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind(address)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {address}: {e}"))?;
    let local = listener.local_addr()?;
    if local.ip().is_unspecified() {
        tracing::warn!(
            "listening on {local}, every interface: only requests whose Host header names localhost, \
             127.0.0.1 or ::1 are answered (DNS-rebinding protection), and mcpmux does not authenticate \
             clients yet; bind a specific address to serve other machines"
        );
    } else if !local.ip().is_loopback() {
        tracing::warn!(
            "listening on {local}, which is not a loopback address: mcpmux does not authenticate clients yet, \
             so anyone who can reach it can use every backend's credentials"
        );
    }
    Ok(listener)
}

fn not_found(path: &str) -> http::Response<http_body_util::combinators::BoxBody<Bytes, Infallible>> {
    let body = Full::new(Bytes::from(format!("mcpmux serves MCP at {path}\n"))).boxed();
    let mut response = http::Response::new(body);
    *response.status_mut() = http::StatusCode::NOT_FOUND;
    response
}

/// Serves MCP over streamable HTTP at `path` until `shutdown`.
pub async fn http(
    hub: Arc<Hub>,
    listener: TcpListener,
    path: String,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let local: SocketAddr = listener.local_addr()?;
    // Stateless (2026-07-28) requests get a plain JSON answer when the call
    // sends nothing before its result (rmcp falls back to SSE otherwise).
    let mut config = StreamableHttpServerConfig::default()
        .with_json_response(true)
        .with_cancellation_token(shutdown.child_token());
    // rmcp admits only loopback Host headers (DNS-rebinding protection); a
    // specific address mcpmux was told to bind is as trustworthy as those.
    if !local.ip().is_loopback() && !local.ip().is_unspecified() {
        let mut hosts = config.allowed_hosts.clone();
        hosts.push(local.ip().to_string());
        config = config.with_allowed_hosts(hosts);
    }
    let service = StreamableHttpService::new(
        move || Ok(FrontHandler::new(hub.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    tracing::info!("serving MCP at http://{local}{path}");
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let path: Arc<str> = path.into();
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let path = path.clone();
        let handler = hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
            let service = service.clone();
            let path = path.clone();
            async move {
                let at = request.uri().path();
                Ok::<_, Infallible>(if at == &*path || at.strip_suffix('/') == Some(&*path) {
                    service.handle(request).await
                } else {
                    not_found(&path)
                })
            }
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), handler)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("HTTP connection ended with an error: {e}");
            }
        });
    }
    if tokio::time::timeout(DRAIN, graceful.shutdown()).await.is_err() {
        tracing::debug!("some HTTP connections were still open after {DRAIN:?}");
    }
    Ok(())
}

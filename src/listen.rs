//! Where clients reach mcpmux: stdio (the client started mcpmux; stdout is
//! the protocol) or streamable HTTP at `listen.path` on TCP or unix-domain
//! listeners — bound from `listen.address` or passed by systemd (socket
//! activation) — behind the front door: the peer's user on a unix socket,
//! the client's bearer token, and Host/Origin checks against DNS rebinding.
//! Each view has its endpoint: `<path>` (the whole catalog), `<path>/all`
//! (its full list in search mode), and per profile `<path>/<name>` (and
//! `<path>/<name>/all`); a token bound to a profile is served that profile
//! at `<path>` and refused elsewhere, and a session is served only at the
//! endpoint it began at. Its 2025-11-25 sessions are kept by `sessions`
//! (idle expiry, quiet ones asleep). On shutdown
//! it stops accepting, lets calls in flight finish (bounded), then closes
//! the sessions.

use std::convert::Infallible;
use std::os::fd::{FromRawFd, RawFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rmcp::ServiceExt;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::{TcpListener, UnixListener};
use tokio_util::sync::CancellationToken;

use crate::config::support::Secret;
use crate::front::FrontHandler;
use crate::hub::Hub;
use crate::lane::{Lane, Taken};
use crate::profile::View;
use crate::resolve::{Address, HttpListen};
use crate::sessions::Sessions;

/// How long calls in flight get to finish after shutdown begins.
const DRAIN: Duration = Duration::from_secs(10);

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

/// Serves one client on stdin/stdout, through `view`, until it disconnects or `shutdown`.
pub async fn stdio(hub: Arc<Hub>, view: Arc<View>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let handler = FrontHandler::new(hub, view);
    let service = tokio::select! {
        s = handler.serve_with_ct(rmcp::transport::stdio(), shutdown.child_token()) => s?,
        () = shutdown.cancelled() => return Ok(()),
    };
    let reason = service.waiting().await?;
    tracing::debug!(?reason, "stdio client finished");
    Ok(())
}

/// A listening socket clients connect to.
pub enum Listener {
    Tcp(TcpListener),
    /// With the socket file mcpmux created (removed again at exit, if it is
    /// still the same file), if it did.
    Unix(UnixListener, Option<Created>),
}

/// A socket file mcpmux created: its path and identity (device, inode).
pub struct Created {
    path: PathBuf,
    id: (u64, u64),
}

impl Listener {
    /// Where it listens, for logs and `connect`.
    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => l.local_addr().map_or_else(|_| "tcp".into(), |a| a.to_string()),
            Listener::Unix(l, _) => l
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(|p| format!("unix:{}", p.display())))
                .unwrap_or_else(|| "unix socket".into()),
        }
    }

    fn is_public_tcp(&self) -> bool {
        matches!(self, Listener::Tcp(l) if l.local_addr().is_ok_and(|a| !a.ip().is_loopback()))
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        use std::os::unix::fs::MetadataExt;
        // Only our own file: another mcpmux may have taken the path over since.
        if let Listener::Unix(_, Some(c)) = self
            && std::fs::symlink_metadata(&c.path).is_ok_and(|m| (m.dev(), m.ino()) == c.id)
        {
            let _ = std::fs::remove_file(&c.path);
        }
    }
}

/// Binds the HTTP endpoint (before backends start, so clients can connect at once).
pub async fn bind(address: &Address) -> anyhow::Result<Listener> {
    match address {
        Address::Tcp(a) => {
            let l = TcpListener::bind(a)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {a}: {e}"))?;
            Ok(Listener::Tcp(l))
        }
        Address::Unix(path) => {
            use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
            // A socket left by an earlier run is replaced; a live one (another
            // process answers there) or anything else is not touched.
            if let Ok(meta) = std::fs::symlink_metadata(path) {
                if !meta.file_type().is_socket() {
                    anyhow::bail!(
                        "cannot listen on unix:{}: something other than a socket is there",
                        path.display()
                    );
                }
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    anyhow::bail!(
                        "cannot listen on unix:{}: another process is listening there",
                        path.display()
                    );
                }
                let _ = std::fs::remove_file(path);
            }
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
            }
            // Created with no access for others from the start (umask), then 0600.
            let old = unsafe { libc::umask(0o177) };
            let bound = UnixListener::bind(path);
            unsafe { libc::umask(old) };
            let l = bound.map_err(|e| anyhow::anyhow!("cannot listen on unix:{}: {e}", path.display()))?;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            let meta = std::fs::symlink_metadata(path)?;
            Ok(Listener::Unix(
                l,
                Some(Created {
                    path: path.clone(),
                    id: (meta.dev(), meta.ino()),
                }),
            ))
        }
    }
}

/// The listening sockets systemd passed (socket activation), TCP or unix.
pub fn activated(fds: &[(RawFd, String)]) -> anyhow::Result<Vec<Listener>> {
    let mut out = Vec::new();
    for (fd, name) in fds {
        // SAFETY: getsockopt/getsockname on a descriptor we were handed; only reads.
        let int_option = |option: libc::c_int| unsafe {
            let mut value: libc::c_int = 0;
            let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            (libc::getsockopt(*fd, libc::SOL_SOCKET, option, (&raw mut value).cast(), &mut len) == 0).then_some(value)
        };
        if int_option(libc::SO_TYPE) != Some(libc::SOCK_STREAM) || int_option(libc::SO_ACCEPTCONN) != Some(1) {
            anyhow::bail!(
                "passed file descriptor {fd} ({name}) is not a listening stream socket \
                 (use ListenStream= without Accept=yes)"
            );
        }
        let family = unsafe {
            let mut addr: libc::sockaddr_storage = std::mem::zeroed();
            let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            if libc::getsockname(*fd, (&raw mut addr).cast(), &mut len) != 0 {
                anyhow::bail!("passed file descriptor {fd} ({name}) is not a socket");
            }
            i32::from(addr.ss_family)
        };
        // SAFETY: systemd hands these descriptors to this process alone.
        let l = match family {
            libc::AF_UNIX => {
                let std = unsafe { std::os::unix::net::UnixListener::from_raw_fd(*fd) };
                std.set_nonblocking(true)?;
                Listener::Unix(UnixListener::from_std(std)?, None)
            }
            libc::AF_INET | libc::AF_INET6 => {
                let std = unsafe { std::net::TcpListener::from_raw_fd(*fd) };
                std.set_nonblocking(true)?;
                Listener::Tcp(TcpListener::from_std(std)?)
            }
            other => anyhow::bail!("passed socket {fd} ({name}) has address family {other}, not TCP or unix"),
        };
        tracing::info!(socket = %name, "using the socket passed by systemd: {}", l.describe());
        out.push(l);
    }
    Ok(out)
}

fn respond(status: http::StatusCode, text: &str) -> http::Response<Body> {
    let body = Full::new(Bytes::from(format!("{text}\n"))).boxed();
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    response
}

/// The bearer tokens clients may present, compared in constant time: the
/// ones that reach everything, and the ones bound to a profile.
struct Tokens {
    everything: Vec<Secret>,
    profiles: Vec<(Arc<str>, Secret)>,
}

/// What a request's token lets it reach.
enum Admitted {
    Everything,
    Profile(Arc<str>),
    Nothing,
}

impl Tokens {
    fn admits(&self, request: &http::Request<hyper::body::Incoming>) -> Admitted {
        use subtle::ConstantTimeEq as _;
        if self.everything.is_empty() && self.profiles.is_empty() {
            return Admitted::Everything;
        }
        let Some(presented) = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim_start().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token)
        else {
            return Admitted::Nothing;
        };
        let presented = presented.trim().as_bytes();
        // Every token is compared, so the time taken says nothing about which matched.
        let everything: bool = self
            .everything
            .iter()
            .fold(subtle::Choice::from(0), |any, t| {
                any | t.expose().as_bytes().ct_eq(presented)
            })
            .into();
        let mut profile = None;
        for (name, t) in &self.profiles {
            if bool::from(t.expose().as_bytes().ct_eq(presented)) && profile.is_none() {
                profile = Some(name.clone());
            }
        }
        match (everything, profile) {
            (true, _) => Admitted::Everything,
            (false, Some(p)) => Admitted::Profile(p),
            (false, None) => Admitted::Nothing,
        }
    }
}

/// The MCP service of one view (whose `name` is its profile's; None: the
/// whole catalog).
#[derive(Clone)]
struct Endpoint {
    service: StreamableHttpService<FrontHandler, Sessions>,
    view: Arc<View>,
}

/// What the sessions ask of the hub: whether a session may sleep — it has
/// no log level, resource subscription or roots a replayed handshake would
/// not restore — and to forget a session that ended.
struct Hooks(Arc<Hub>);

impl crate::sessions::Hooks for Hooks {
    fn can_sleep(&self, id: &str) -> bool {
        let fronts = &self.0.relay.fronts;
        fronts.by_http_id(id).is_some_and(|(session, peer)| {
            session.level().is_none()
                && self.0.relay.subscriptions.held_by(session.id).is_empty()
                && peer.peer_info().is_some_and(|i| i.capabilities.roots.is_none())
        })
    }

    fn ended(&self, id: &str) {
        self.0.relay.fronts.unbind(id);
    }
}

/// A request path without its trailing slash (`/` stays `/`).
fn normal(path: &str) -> &str {
    match path.trim_end_matches('/') {
        "" => "/",
        p => p,
    }
}

/// Every path mcpmux serves MCP at: `<path>`, `<path>/all` in search mode,
/// and per profile `<path>/<name>` (and `<path>/<name>/all` in search mode).
fn endpoints(
    hub: &Arc<Hub>,
    path: &str,
    sessions: &Arc<Sessions>,
    config: &StreamableHttpServerConfig,
) -> std::collections::HashMap<String, Endpoint> {
    let base = path.trim_end_matches('/');
    let endpoint = |view: &Arc<View>| {
        let hub = hub.clone();
        let for_service = view.clone();
        Endpoint {
            service: StreamableHttpService::new(
                move || Ok(FrontHandler::new(hub.clone(), for_service.clone())),
                sessions.clone(),
                config.clone(),
            ),
            view: view.clone(),
        }
    };
    let views = &hub.views;
    let mut map = std::collections::HashMap::new();
    map.insert(normal(path).to_string(), endpoint(&views.everything));
    if views.everything.search {
        map.insert(format!("{base}/all"), endpoint(&views.everything_listed));
    }
    for (name, p) in &views.profiles {
        map.insert(format!("{base}/{name}"), endpoint(&p.view));
        if p.view.search {
            map.insert(format!("{base}/{name}/all"), endpoint(&p.listed));
        }
    }
    map
}

/// Serves MCP over streamable HTTP on `listeners` until `shutdown`, then
/// lets calls in flight finish (up to `DRAIN`) before closing sessions.
pub async fn http(
    hub: Arc<Hub>,
    listeners: Vec<Listener>,
    front: &HttpListen,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let sessions = CancellationToken::new();
    // Stateless (2026-07-28) requests get a plain JSON answer when the call
    // sends nothing before its result (rmcp falls back to SSE otherwise).
    let mut config = StreamableHttpServerConfig::default()
        .with_json_response(true)
        .with_max_request_body_bytes(front.max_body_bytes)
        .with_cancellation_token(sessions.clone());
    // rmcp admits only loopback Host headers (DNS-rebinding protection); a
    // specific address mcpmux was told to bind is as trustworthy as those.
    let mut hosts = config.allowed_hosts.clone();
    for l in &listeners {
        if let Listener::Tcp(t) = l
            && let Ok(a) = t.local_addr()
            && !a.ip().is_loopback()
            && !a.ip().is_unspecified()
        {
            hosts.push(a.ip().to_string());
        }
    }
    let mut origins: Vec<String> = ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]
        .into_iter()
        .map(String::from)
        .collect();
    origins.extend(front.allowed_origins.iter().cloned());
    let lane_hosts = hosts.clone();
    config = config.with_allowed_hosts(hosts).with_allowed_origins(origins);
    if listeners.iter().any(Listener::is_public_tcp) && front.tokens.is_empty() && front.profile_tokens.is_empty() {
        tracing::warn!(
            "LISTENING ON A NON-LOOPBACK ADDRESS WITHOUT CLIENT AUTHENTICATION: anyone who can reach it \
             uses every backend's credentials. Set listen.auth (type: bearer) or bind 127.0.0.1."
        );
    }
    let session_manager = Arc::new(Sessions::new(front.session_idle_timeout, Arc::new(Hooks(hub.clone()))));
    // Every session's `initialize` parameters, kept to wake sleeping ones.
    config.session_store = Some(session_manager.store());
    // One service per view, all with the same sessions.
    let endpoints = Arc::new(endpoints(&hub, &front.path, &session_manager, &config));
    let base: Arc<str> = front.path.trim_end_matches('/').into();
    // The fast lane for calls in 2025-11-25 sessions (MCPMUX_LANE=0: off,
    // every request through rmcp's session layer; the tests run both).
    let lane = (std::env::var_os("MCPMUX_LANE").is_none_or(|v| v != "0"))
        .then(|| Lane::new(hub.clone(), session_manager, front.max_body_bytes, &lane_hosts));
    let graceful = Arc::new(hyper_util::server::graceful::GracefulShutdown::new());
    let path: Arc<str> = front.path.as_str().into();
    let tokens = Arc::new(Tokens {
        everything: front.tokens.clone(),
        profiles: front
            .profile_tokens
            .iter()
            .map(|(p, t)| (Arc::from(p.as_str()), t.clone()))
            .collect(),
    });
    let my_uid = unsafe { libc::getuid() };
    let handler = {
        let path = path.clone();
        let hub = hub.clone();
        move |request: http::Request<hyper::body::Incoming>| {
            let path = path.clone();
            let tokens = tokens.clone();
            let lane = lane.clone();
            let at = normal(request.uri().path());
            let endpoint = endpoints.get(at).cloned();
            let on_base = at == normal(&path);
            let endpoints = endpoints.clone();
            let base = base.clone();
            let hub = hub.clone();
            async move {
                let Some(mut endpoint) = endpoint else {
                    return Ok::<_, Infallible>(respond(
                        http::StatusCode::NOT_FOUND,
                        &format!("mcpmux serves MCP at {path} (and its profiles at {base}/<profile>)"),
                    ));
                };
                let admitted = tokens.admits(&request);
                if let Admitted::Profile(p) = &admitted {
                    if on_base {
                        // A profile's token at <path> is served its profile.
                        match endpoints.get(&format!("{base}/{p}")) {
                            Some(e) => endpoint = e.clone(),
                            None => return Ok(respond(http::StatusCode::FORBIDDEN, "mcpmux: unknown profile")),
                        }
                    } else if endpoint.view.name.as_deref() != Some(&**p) {
                        return Ok(respond(
                            http::StatusCode::FORBIDDEN,
                            &format!("mcpmux: this token reaches profile {p:?} only, at {path} or {base}/{p}"),
                        ));
                    }
                }
                let service = endpoint.service;
                if matches!(admitted, Admitted::Nothing) {
                    let mut r = respond(
                        http::StatusCode::UNAUTHORIZED,
                        "mcpmux: a client token is needed (Authorization: Bearer <token>)",
                    );
                    r.headers_mut().insert(
                        http::header::WWW_AUTHENTICATE,
                        http::HeaderValue::from_static("Bearer realm=\"mcpmux\""),
                    );
                    return Ok(r);
                }
                // A session is served where it began: its id is no key to another view.
                if let Some(id) = request
                    .headers()
                    .get(crate::lane::SESSION_HEADER)
                    .and_then(|v| v.to_str().ok())
                    && let Some(view) = hub.relay.fronts.bound_view(id)
                    && !Arc::ptr_eq(&view, &endpoint.view)
                {
                    return Ok(respond(
                        http::StatusCode::NOT_FOUND,
                        "mcpmux: this session belongs to another endpoint; start a new session here",
                    ));
                }
                let Some(lane) = lane else {
                    return Ok(service.handle(request).await.map(|b| b.boxed()));
                };
                match lane.take(request).await {
                    Taken::Answered(response) => Ok(response),
                    Taken::Pass(request) => Ok(service.handle(request).await.map(|b| b.boxed())),
                }
            }
        }
    };
    let mut accepting = tokio::task::JoinSet::new();
    for listener in listeners {
        match &listener {
            Listener::Tcp(_) => tracing::info!("serving MCP at http://{}{path}", listener.describe()),
            Listener::Unix(..) => tracing::info!("serving MCP at {} (HTTP path {path})", listener.describe()),
        }
        if hub.views.everything.search {
            tracing::info!(
                "tool_mode search: clients list search_tools and call_tool; the full list is at {}/all",
                path.trim_end_matches('/')
            );
        }
        for (name, p) in &hub.views.profiles {
            let mode = if p.view.search { " (search mode)" } else { "" };
            tracing::info!("profile {name}{mode} at {}/{name}", path.trim_end_matches('/'));
        }
        let handler = handler.clone();
        let graceful = graceful.clone();
        let shutdown = shutdown.clone();
        let header_timeout = front.header_timeout;
        accepting.spawn(async move {
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            // A client that dribbles its headers is cut off.
            builder
                .http1()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout);
            loop {
                let serve = hyper::service::service_fn(handler.clone());
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    accepted = accept(&listener, my_uid) => match accepted {
                        Ok(Some(io)) => {
                            let connection = match io {
                                Io::Tcp(s) => graceful.watch(builder.serve_connection_with_upgrades(TokioIo::new(s), serve).into_owned()).boxed_conn(),
                                Io::Unix(s) => graceful.watch(builder.serve_connection_with_upgrades(TokioIo::new(s), serve).into_owned()).boxed_conn(),
                            };
                            tokio::spawn(async move {
                                if let Err(e) = connection.await {
                                    tracing::debug!("HTTP connection ended with an error: {e}");
                                }
                            });
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!("accepting a connection failed: {e}");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    },
                }
            }
            drop(listener);
        });
    }
    shutdown.cancelled().await;
    while accepting.join_next().await.is_some() {}
    // No new clients; calls in flight get to finish (a parked call waits
    // for a client retry that will not come now).
    hub.parked.clear();
    let left = hub.relay.progress.wait_idle(DRAIN).await;
    if left > 0 {
        tracing::warn!("{left} call(s) still in flight after {DRAIN:?}; ending them");
    }
    sessions.cancel();
    let graceful = Arc::try_unwrap(graceful).ok();
    if let Some(g) = graceful
        && tokio::time::timeout(Duration::from_secs(2), g.shutdown())
            .await
            .is_err()
    {
        tracing::debug!("some HTTP connections were still open at exit");
    }
    Ok(())
}

/// One accepted connection.
enum Io {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

/// The next connection; `None` for a unix peer of another user (refused).
async fn accept(listener: &Listener, my_uid: libc::uid_t) -> std::io::Result<Option<Io>> {
    match listener {
        Listener::Tcp(l) => {
            let (s, _) = l.accept().await?;
            let _ = s.set_nodelay(true);
            Ok(Some(Io::Tcp(s)))
        }
        Listener::Unix(l, _) => {
            let (s, _) = l.accept().await?;
            match s.peer_cred() {
                Ok(c) if c.uid() == my_uid => Ok(Some(Io::Unix(s))),
                Ok(c) => {
                    tracing::warn!(uid = c.uid(), "refused a unix-socket client of another user");
                    Ok(None)
                }
                Err(e) => {
                    tracing::warn!("refused a unix-socket client whose user is unknown: {e}");
                    Ok(None)
                }
            }
        }
    }
}

/// A served connection, whatever its stream type.
type Served = std::pin::Pin<Box<dyn Future<Output = Result<(), Box<dyn std::error::Error + Send + Sync>>> + Send>>;

trait BoxedConn {
    fn boxed_conn(self) -> Served;
}

impl<F, E> BoxedConn for F
where
    F: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn boxed_conn(self) -> Served {
        Box::pin(async move { self.await.map_err(Into::into) })
    }
}

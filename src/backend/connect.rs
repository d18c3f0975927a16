//! Opening one connection to a backend: a child process in its own process
//! group with a minimal environment, its messages bounded by
//! `max_message_bytes` and its stderr drained into the log, or a
//! streamable HTTP client carrying the backend's credentials — and the
//! opening handshake in the era the backend speaks, patient with backends
//! that are slow to start. Credentials are applied here and nowhere else;
//! above this module a backend is just a peer.

use std::collections::HashMap;
use std::str::FromStr;

use process_wrap::tokio::{CommandWrap, KillOnDrop, ProcessGroup as GroupLeader};
use rmcp::model::ProtocolVersion;
use rmcp::service::{ClientInitializeError, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::Transport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientLifecycleMode, ClientServiceExt as _, RoleClient};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::child::Child;
use super::client::BackendClient;
use super::wire::{ProbeOutcome, Wire};
use crate::config::{Auth, CommandBackend, HttpBackend};
use crate::redact;

/// Variables every command backend inherits from mcpmux (plus `LC_*` and `XDG_*`).
pub const INHERITED_ENV: &[&str] = &["PATH", "HOME", "USER", "LOGNAME", "LANG", "TERM", "TZ", "TMPDIR"];

/// Why a connection attempt failed, in words that never contain a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot start {program:?}: {source}")]
    Spawn { program: String, source: std::io::Error },
    #[error("{0}")]
    Config(String),
    #[error("the MCP handshake failed: {0}")]
    Handshake(String),
    #[error("no answer to the MCP handshake within {0:?}")]
    Timeout(std::time::Duration),
    /// The backend answered `server/discover` but offers only protocol
    /// versions that begin with `initialize` (rmcp's Auto mode stops there).
    #[error("the backend speaks only protocol versions with an initialize handshake")]
    NeedsInitialize,
    /// The backend was slow to answer the `server/discover` probe, refused
    /// the `initialize` sent after it, and then answered the probe: it speaks
    /// only 2026-07-28.
    #[error("the backend speaks only protocol versions without an initialize handshake")]
    NeedsDiscover,
    /// The handshake went out of step (an answer that matched no request):
    /// nothing says the backend is broken, so it is worth another try.
    #[error("the MCP handshake failed: {0}")]
    Transient(String),
}

impl ConnectError {
    /// Whether the failure says nothing about the backend itself.
    pub fn is_transient(&self) -> bool {
        matches!(self, ConnectError::Transient(_))
    }

    fn from_handshake(e: ClientInitializeError, probe: &ProbeOutcome) -> ConnectError {
        let transient = |e: &ClientInitializeError| {
            matches!(
                e,
                ClientInitializeError::ConflictInitResponseId(..)
                    | ClientInitializeError::UncorrelatedErrorResponse { .. }
                    | ClientInitializeError::ExpectedInitResponse(_)
            )
        };
        match e {
            ClientInitializeError::NoCompatibleProtocolVersion { server_supported, .. }
                if server_supported.iter().any(ProtocolVersion::has_initialize) =>
            {
                ConnectError::NeedsInitialize
            }
            _ if probe.late_modern() => ConnectError::NeedsDiscover,
            ClientInitializeError::LegacyFallbackFailed { fallback, .. } if transient(&fallback) => {
                ConnectError::Transient(redact::urls(&fallback.to_string()))
            }
            e if transient(&e) => ConnectError::Transient(redact::urls(&describe(&e))),
            e => ConnectError::Handshake(redact::urls(&describe(&e))),
        }
    }
}

/// A handshake error in the user's words: for a transport error, what the
/// transport said (not the transport's type name and rmcp's context).
fn describe(e: &ClientInitializeError) -> String {
    match e {
        ClientInitializeError::TransportError { error, .. } => error.error.to_string(),
        e => e.to_string(),
    }
}

/// How a connection opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Probe with `server/discover` (2026-07-28), fall back to `initialize`.
    Auto,
    /// `initialize` (2025-11-25 and older).
    Initialize,
    /// `server/discover` only, as long as the backend takes to answer.
    Discover,
}

/// Opens the MCP session on `transport` in the given lifecycle.
async fn handshake<T>(client: BackendClient, transport: T, lifecycle: Lifecycle) -> Result<Connection, ConnectError>
where
    T: Transport<RoleClient> + 'static,
{
    let (transport, outcome) = Wire::new(transport, &client, lifecycle == Lifecycle::Auto);
    let mode = match lifecycle {
        Lifecycle::Initialize => ClientLifecycleMode::Initialize,
        Lifecycle::Discover => ClientLifecycleMode::Discover {
            preferred_versions: vec![ProtocolVersion::LATEST],
        },
        Lifecycle::Auto => ClientLifecycleMode::Auto {
            preferred_versions: vec![ProtocolVersion::LATEST],
            legacy_version: Some(ProtocolVersion::LATEST_WITH_INITIALIZE),
        },
    };
    client
        .serve_with_lifecycle(transport, mode)
        .await
        .map_err(|e| ConnectError::from_handshake(e, &outcome))
}

pub type Connection = RunningService<RoleClient, BackendClient>;

/// The process group of a command backend (its id is the leader's pid).
#[derive(Debug, Clone, Copy)]
pub struct ProcessGroup(libc::pid_t);

impl ProcessGroup {
    /// Sends `sig` to every process of the group; false once the group is gone.
    fn signal(self, sig: libc::c_int) -> bool {
        // SAFETY: killpg only sends a signal (0: only checks the group exists).
        unsafe { libc::killpg(self.0, sig) == 0 }
    }

    /// Asks every process of the group to end (SIGTERM), without waiting.
    pub fn terminate(self) {
        self.signal(libc::SIGTERM);
    }

    /// Ends every process of the group: SIGTERM, then SIGKILL for whatever is
    /// left after `grace`. Awaited, so it completes even when mcpmux is
    /// exiting. Closing a backend's stdin ends the backend itself, but not
    /// what it spawned (`npx` children, `sh` jobs).
    pub async fn end(self, grace: std::time::Duration) {
        if !self.signal(libc::SIGTERM) {
            return;
        }
        let deadline = tokio::time::Instant::now() + grace;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            if !self.signal(0) {
                return;
            }
        }
        self.signal(libc::SIGKILL);
    }
}

/// The environment of a command backend: the inherited minimum, the names its
/// `env_passthrough` lets through (`NAME` or `PREFIX_*`), then its own `env`.
pub fn child_env(spec: &CommandBackend, parent: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    let passes = |name: &str| {
        INHERITED_ENV.contains(&name)
            || name.starts_with("LC_")
            || name.starts_with("XDG_")
            || spec.env_passthrough.iter().any(|p| match p.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => p == name,
            })
    };
    // systemd's variables are mcpmux's alone, whatever the passthrough says.
    let mut env: Vec<(String, String)> = parent
        .filter(|(k, _)| passes(k) && !crate::daemon::SYSTEMD_ENV.contains(&k.as_str()))
        .collect();
    for (k, v) in &spec.env {
        env.retain(|(name, _)| name != k);
        env.push((k.clone(), v.expose().to_string()));
    }
    env
}

pub async fn command(
    name: &str,
    spec: &CommandBackend,
    client: BackendClient,
    lifecycle: Lifecycle,
) -> Result<(Connection, Option<ProcessGroup>), ConnectError> {
    let program = spec.command[0].clone();
    let mut cmd = tokio::process::Command::new(&program);
    cmd.args(&spec.command[1..])
        .env_clear()
        .envs(child_env(spec, std::env::vars()));
    let mut wrapped = CommandWrap::from(cmd);
    wrapped.wrap(GroupLeader::leader()).wrap(KillOnDrop);
    let limit = usize::try_from(spec.max_message_bytes).unwrap_or(usize::MAX);
    let (transport, stderr) =
        Child::spawn(wrapped, limit, name.into()).map_err(|source| ConnectError::Spawn { program, source })?;
    let group = transport
        .id()
        .and_then(|pid| libc::pid_t::try_from(pid).ok())
        .map(ProcessGroup);
    tokio::spawn(drain_stderr(stderr, name.to_string()));
    match handshake(client, transport, lifecycle).await {
        Ok(conn) => Ok((conn, group)),
        Err(e) => {
            if let Some(g) = group {
                g.end(GROUP_GRACE).await;
            }
            Err(e)
        }
    }
}

/// The longest stderr line of a backend that goes into the log whole.
const STDERR_LINE: usize = 8 * 1024;

/// Logs a backend's stderr line by line until it closes. Byte lines, decoded
/// leniently (a line that is not UTF-8 must not end the drain: a closed pipe
/// would kill the backend on its next write), each cut at `STDERR_LINE`
/// bytes (the rest of a longer line is read and dropped, never held).
async fn drain_stderr(stderr: tokio::process::ChildStderr, backend: String) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    let mut cut = false;
    let log = |line: &[u8], cut: bool| {
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end_matches(['\n', '\r']);
        let more = if cut { " [cut]" } else { "" };
        tracing::info!(target: "mcpmux::stderr", backend = %backend, "{text}{more}");
    };
    loop {
        let (used, ended) = match reader.fill_buf().await {
            Ok([]) => break,
            Ok(buf) => {
                let newline = buf.iter().position(|&b| b == b'\n');
                let upto = newline.unwrap_or(buf.len());
                let room = STDERR_LINE.saturating_sub(line.len());
                cut |= upto > room;
                line.extend_from_slice(&buf[..upto.min(room)]);
                (newline.map_or(upto, |n| n + 1), newline.is_some())
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        reader.consume(used);
        if ended {
            log(&line, cut);
            line.clear();
            cut = false;
        }
    }
    if !line.is_empty() {
        log(&line, cut);
    }
}

/// How long a backend's process group has between SIGTERM and SIGKILL.
pub const GROUP_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

pub async fn http(
    spec: &HttpBackend,
    source: Option<&crate::auth::Source>,
    client: BackendClient,
    lifecycle: Lifecycle,
) -> Result<Connection, ConnectError> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(spec.endpoint.as_str());
    match &spec.auth {
        Auth::None(_) | Auth::Command(_) | Auth::Oauth(_) => {}
        Auth::Bearer(b) => config = config.auth_header(b.token.expose().to_string()),
        Auth::Header(h) => {
            let name = http::HeaderName::from_str(&h.header)
                .map_err(|_| ConnectError::Config(format!("invalid header name {:?}", h.header)))?;
            let mut value = http::HeaderValue::from_str(h.value.expose()).map_err(|_| {
                ConnectError::Config(format!("the value of header {:?} is not valid in HTTP", h.header))
            })?;
            value.set_sensitive(true);
            config = config.custom_headers(HashMap::from([(name, value)]));
        }
    }
    match source {
        // mcpmux's client, not rmcp's default: it keeps connections for reuse.
        None => {
            let http = crate::auth::http_client();
            handshake(
                client,
                StreamableHttpClientTransport::with_client(http, config),
                lifecycle,
            )
            .await
        }
        Some(source) => {
            let http = crate::auth::AuthedHttp::new(crate::auth::http_client(), source.clone());
            handshake(
                client,
                StreamableHttpClientTransport::with_client(http, config),
                lifecycle,
            )
            .await
        }
    }
}

//! The credential commands: `mcpmux auth login|logout|status` over the
//! configured backends and the token store, and `mcpmux probe`, which
//! connects to one backend URL with mcpmux's own backend stack (transport,
//! era handling, OAuth), lists its tools, optionally calls one, and exits 0
//! on success. None of them ever prints a token or a secret.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oauth2::TokenResponse as _;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{AuthSettings, Source};
use crate::backend::Status;
use crate::config::{Auth, Backend, Config};
use crate::hub::Hub;
use crate::resolve::{Mode, Resolved};

/// The configured HTTP backend `name` with OAuth, or why it cannot log in.
fn oauth_backend<'a>(config: &'a Config, name: &str) -> anyhow::Result<&'a crate::config::HttpBackend> {
    let names = || {
        config
            .backends
            .iter()
            .map(|b| b.name().as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match config.backends.iter().find(|b| b.name() == name) {
        None => anyhow::bail!("no backend named {name:?} (configured: {})", names()),
        Some(Backend::Http(h)) if matches!(h.auth, Auth::Oauth(_)) => Ok(h),
        Some(_) => anyhow::bail!("backend {name:?} does not use OAuth (auth.type: oauth); nothing to log in to"),
    }
}

fn settings(config: &Config) -> AuthSettings {
    Resolved::new(config, Mode::List).settings.auth
}

/// `mcpmux auth login NAME`: runs the consent now and stores the tokens (a
/// running daemon picks them up).
pub async fn login(config: Config, name: &str, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    crate::serve::install_crypto();
    let h = oauth_backend(&config, name)?;
    let mut settings = settings(&config);
    settings.eager = true;
    let Some(Source::OAuth(o)) = Source::for_backend(name, h, &settings) else {
        unreachable!("an oauth backend has an OAuth source");
    };
    let challenge = challenge_of(&h.endpoint).await;
    o.consent(challenge.as_deref(), &[])
        .await
        .map_err(|e| anyhow::anyhow!("{}", crate::redact::urls(&e.to_string())))?;
    match o.store.path() {
        Some(p) => writeln!(out, "{name}: authorized; tokens kept in {}", p.display())?,
        None => writeln!(
            out,
            "{name}: authorized (token_store is off: the tokens end with this command)"
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The `WWW-Authenticate` challenge of the endpoint's answer to an
/// unauthenticated request, if it asks for one.
async fn challenge_of(endpoint: &str) -> Option<String> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "mcpmux", "version": env!("CARGO_PKG_VERSION")}}});
    let r = super::http_client()
        .post(endpoint)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(body.to_string())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .ok()?;
    r.headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `mcpmux auth logout NAME`: forgets the backend's tokens and registration.
pub fn logout(config: &Config, name: &str, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let h = oauth_backend(config, name)?;
    let store = super::store_for(&settings(config), name, &h.endpoint);
    if store.path().is_none() {
        writeln!(out, "{name}: token_store is off; nothing is kept")?;
    } else if store.remove()? {
        writeln!(out, "{name}: logged out (tokens and client registration removed)")?;
    } else {
        writeln!(out, "{name}: no stored tokens")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One row of `mcpmux auth status`.
#[derive(serde::Serialize)]
struct StatusRow {
    backend: String,
    method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in_secs: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    store: Option<String>,
}

/// `mcpmux auth status`: per backend, how it authenticates and (for OAuth)
/// what is stored — expiry, scopes, client — never a token.
pub fn status(config: &Config, json_out: bool, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let settings = settings(config);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut rows = Vec::new();
    for b in &config.backends {
        let mut row = StatusRow {
            backend: b.name().clone(),
            method: "none",
            state: None,
            client: None,
            expires_in_secs: None,
            refresh_token: None,
            scopes: Vec::new(),
            store: None,
        };
        match b {
            Backend::Command(_) => row.method = "command (env)",
            Backend::Http(h) => match &h.auth {
                Auth::None(_) => {}
                Auth::Bearer(_) => row.method = "bearer",
                Auth::Header(_) => row.method = "header",
                Auth::Command(_) => row.method = "credential helper",
                Auth::Oauth(_) => {
                    row.method = "oauth";
                    let s = super::store_for(&settings, b.name(), &h.endpoint);
                    row.store = s.path().map(|p| p.display().to_string());
                    let record = s.read()?;
                    row.client = record
                        .registration
                        .as_ref()
                        .map(|r| format!("{} ({})", r.client_id, r.method));
                    match record
                        .credentials
                        .as_ref()
                        .and_then(|c| c.token_response.as_ref().map(|t| (c, t)))
                    {
                        None => row.state = Some("not logged in".into()),
                        Some((c, t)) => {
                            let expiry = t
                                .expires_in()
                                .zip(c.token_received_at)
                                .map(|(life, at)| (at + life.as_secs()) as i64 - now as i64);
                            row.expires_in_secs = expiry;
                            row.refresh_token = Some(t.refresh_token().is_some());
                            row.scopes = c.granted_scopes.clone();
                            row.state = Some(match expiry {
                                Some(left) if left <= 0 && t.refresh_token().is_some() => {
                                    "expired (renewed on next use)".into()
                                }
                                Some(left) if left <= 0 => "expired (log in again)".into(),
                                _ => "logged in".into(),
                            });
                        }
                    }
                }
            },
        }
        rows.push(row);
    }
    if json_out {
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    for r in &rows {
        write!(out, "{:<20} {}", r.backend, r.method)?;
        if let Some(s) = &r.state {
            write!(out, ": {s}")?;
        }
        if let Some(left) = r.expires_in_secs.filter(|l| *l > 0) {
            write!(out, ", expires in {}", humanize(left))?;
        }
        if r.refresh_token == Some(true) {
            write!(out, ", refresh token kept")?;
        }
        if !r.scopes.is_empty() {
            write!(out, ", scopes: {}", r.scopes.join(" "))?;
        }
        if let Some(c) = &r.client {
            write!(out, ", client {c}")?;
        }
        writeln!(out)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn humanize(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// What `mcpmux probe` is asked to do.
pub struct Probe {
    pub url: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_metadata_url: Option<String>,
    pub client_credentials: bool,
    pub scopes: Vec<String>,
    pub call: Option<String>,
    pub args: Option<String>,
    pub timeout: Duration,
    pub open_browser: bool,
}

/// The store name of a probed URL: `probe-<host>-<port>`.
fn probe_name(url: &url::Url) -> String {
    let raw = format!(
        "probe-{}-{}",
        url.host_str().unwrap_or("host"),
        url.port_or_known_default().unwrap_or(0)
    );
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(64);
    name
}

/// `mcpmux probe`: 0 when the backend answered (and the call, if any, succeeded).
pub async fn probe(p: Probe, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    crate::serve::install_crypto();
    let url = url::Url::parse(&p.url).map_err(|e| anyhow::anyhow!("--url {:?}: {e}", crate::redact::urls(&p.url)))?;
    let args: Option<serde_json::Map<String, serde_json::Value>> = match &p.args {
        None => None,
        Some(a) => Some(serde_json::from_str(a).map_err(|e| anyhow::anyhow!("--args must be a JSON object: {e}"))?),
    };
    let name = probe_name(&url);
    let grant = if p.client_credentials {
        "client_credentials"
    } else {
        "authorization_code"
    };
    let mut auth = json!({"type": "oauth", "open_browser": p.open_browser, "scopes": p.scopes, "grant": grant});
    let escape = |s: &str| s.replace('$', "$$");
    if let Some(id) = &p.client_id {
        auth["client_id"] = json!(escape(id));
    }
    if let Some(s) = &p.client_secret {
        auth["client_secret"] = json!(escape(s));
    }
    if let Some(u) = &p.client_metadata_url {
        auth["client_metadata_url"] = json!(escape(u));
    }
    let timeout = format!("{}ms", p.timeout.as_millis().max(1));
    let doc = json!({
        "eager_auth": true,
        "connect_retry": {"attempt_timeout": timeout},
        "backends": [{"name": name, "transport": "http", "endpoint": escape(url.as_str()), "timeout": timeout, "auth": auth}],
    });
    let config = crate::config::parse(&doc.to_string(), "(mcpmux probe)", &|_| None)
        .map_err(|d| anyhow::anyhow!("{}", d.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")))?;
    let resolved = Resolved::new(&config, Mode::List);
    let hub = Hub::new(&resolved);
    let shutdown = CancellationToken::new();
    let mut tasks = hub.start(&shutdown);
    let result = tokio::time::timeout(
        p.timeout.saturating_add(consent_margin()),
        run_probe(&hub, &name, &p, args, out),
    )
    .await;
    shutdown.cancel();
    hub.stop_backends(Duration::from_secs(5)).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    match result {
        Ok(r) => r,
        Err(_) => anyhow::bail!("no answer within {:?}", p.timeout),
    }
}

/// Room for a consent on top of the probe's own timeout.
fn consent_margin() -> Duration {
    super::consent::CONSENT_TIMEOUT
}

async fn run_probe(
    hub: &std::sync::Arc<Hub>,
    name: &str,
    p: &Probe,
    args: Option<serde_json::Map<String, serde_json::Value>>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let b = hub.backends().get(name).expect("the probed backend").clone();
    hub.wait_settled(Duration::MAX).await;
    let (peer, protocol) = match &*b.status() {
        Status::Ready { peer, protocol, .. } => (peer.clone(), protocol.clone()),
        _ => anyhow::bail!("{}", b.describe_status()),
    };
    let catalog = b.catalog();
    writeln!(out, "connected (protocol {protocol}); {} tools", catalog.tools.len())?;
    for t in &catalog.tools {
        let d = t.description.as_deref().unwrap_or("").lines().next().unwrap_or("");
        writeln!(out, "  {}  {d}", t.name)?;
    }
    let Some(tool) = &p.call else {
        return Ok(ExitCode::SUCCESS);
    };
    let mut params = rmcp::model::CallToolRequestParams::new(tool.clone());
    params.arguments = Some(args.unwrap_or_default());
    let r = tokio::time::timeout(p.timeout, peer.call_tool(params))
        .await
        .map_err(|_| anyhow::anyhow!("{tool}: no answer within {:?}", p.timeout))?
        .map_err(|e| anyhow::anyhow!("{tool}: {}", crate::redact::urls(&e.to_string())))?;
    writeln!(out, "{}", serde_json::to_string_pretty(&r)?)?;
    Ok(if r.is_error == Some(true) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn probe_names_are_backend_names() {
        let n = super::probe_name(&url::Url::parse("http://Localhost:3000/mcp").unwrap());
        assert_eq!(n, "probe-localhost-3000");
    }
}

//! The resolved configuration: the one place where the validated `Config`
//! (raw, as the user wrote it) becomes what the runtime uses — hub settings,
//! the listen endpoint, the retry policy and one spec per backend, keyed by
//! name with every default applied. Everything here compares for equality,
//! so a reload can tell which backends changed and restart only those.

use std::sync::Arc;
use std::time::Duration;

use crate::config::{self, Config, ListenTransport};

/// How long the first tools/list (and a call to a backend still starting)
/// waits for backends that are making their first attempt, at most.
pub const STARTUP_GRACE: Duration = Duration::from_secs(10);

/// What a run of mcpmux is for: serving keeps every backend connected;
/// listing makes one attempt per backend and restarts nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Serve,
    List,
}

/// How a backend's supervisor retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Keep retrying a backend that has never connected (`connect_retry.enabled`).
    pub retry_unreachable: bool,
    /// Restart a backend whose connection ended.
    pub restart: bool,
    pub max_delay: Duration,
    pub attempt_timeout: Duration,
}

/// Where clients reach mcpmux.
#[derive(Debug, Clone, PartialEq)]
pub enum Listen {
    Stdio,
    Http(HttpListen),
}

/// The HTTP endpoint: where, at which path, and who may use it.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpListen {
    pub address: Address,
    pub path: String,
    /// Bearer tokens clients must present (empty, with no profile tokens: none needed).
    pub tokens: Vec<crate::config::support::Secret>,
    /// Tokens that reach one profile only: (profile, token).
    pub profile_tokens: Vec<(String, crate::config::support::Secret)>,
    /// Browser origins admitted besides loopback ones.
    pub allowed_origins: Vec<String>,
    /// The largest request body (bytes); larger ones get 413.
    pub max_body_bytes: usize,
    /// How long a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// How long a 2025-11-25 session may stay idle before it is ended.
    pub session_idle_timeout: Duration,
}

impl HttpListen {
    /// The HTTP front `listen` describes, at `address` (the configured one,
    /// or none when systemd passes the sockets).
    pub fn new(listen: &crate::config::Listen, address: Address) -> HttpListen {
        HttpListen {
            address,
            path: listen.path.clone(),
            tokens: match &listen.auth {
                crate::config::ClientAuth::Bearer(b) => b.tokens.clone(),
                crate::config::ClientAuth::None(_) => Vec::new(),
            },
            profile_tokens: match &listen.auth {
                crate::config::ClientAuth::Bearer(b) => b
                    .profiles
                    .iter()
                    .flat_map(|(p, tokens)| tokens.iter().map(move |t| (p.clone(), t.clone())))
                    .collect(),
                crate::config::ClientAuth::None(_) => Vec::new(),
            },
            allowed_origins: listen.allowed_origins.clone(),
            max_body_bytes: usize::try_from(listen.max_body_bytes).unwrap_or(usize::MAX),
            header_timeout: listen.header_timeout,
            session_idle_timeout: listen.session_idle_timeout,
        }
    }
}

/// A TCP `host:port` or a unix-domain socket path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Tcp(String),
    Unix(std::path::PathBuf),
}

impl Address {
    pub fn parse(text: &str) -> Address {
        match text.strip_prefix("unix:") {
            Some(path) => Address::Unix(path.into()),
            None => Address::Tcp(text.to_string()),
        }
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Tcp(a) => f.write_str(a),
            Address::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// Knobs of the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Tools per tools/list page.
    pub page_size: usize,
    /// How long the first tools/list waits for backends still making their first attempt.
    pub startup_grace: Duration,
    pub retry: RetryPolicy,
    /// Where OAuth tokens are kept; when consents may be asked for.
    pub auth: crate::auth::AuthSettings,
    /// Clients list two search tools instead of the catalog (`listen.tool_mode: search`).
    pub search_mode: bool,
}

/// One backend as the runtime sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendSpec {
    pub name: Arc<str>,
    /// The prefix of its public names (`""`: none).
    pub prefix: Arc<str>,
    pub description: Option<Arc<str>>,
    /// A call's inactivity timeout (reset by progress).
    pub timeout: Duration,
    /// How it is reached: the generated config entry (command or HTTP, with credentials).
    pub transport: config::Backend,
}

impl BackendSpec {
    pub fn new(entry: &config::Backend) -> BackendSpec {
        let timeout = match entry {
            config::Backend::Command(c) => c.timeout,
            config::Backend::Http(h) => h.timeout,
        };
        BackendSpec {
            name: entry.name().as_str().into(),
            prefix: entry.effective_prefix().into(),
            description: entry.description().as_deref().filter(|d| !d.is_empty()).map(Arc::from),
            timeout,
            transport: entry.clone(),
        }
    }

    /// Whether `public` carries this backend's (non-empty) prefix.
    pub fn owns(&self, public: &str) -> bool {
        !self.prefix.is_empty()
            && public
                .strip_prefix(&*self.prefix)
                .is_some_and(|rest| rest.starts_with(crate::names::SEPARATOR))
    }

    /// Where the backend is, for logs (never its arguments or credentials).
    pub fn target(&self) -> String {
        match &self.transport {
            config::Backend::Command(c) => format!("command {}", c.command[0]),
            config::Backend::Http(h) => format!("endpoint {}", crate::redact::urls(&h.endpoint)),
        }
    }

    pub fn is_http(&self) -> bool {
        matches!(self.transport, config::Backend::Http(_))
    }
}

/// Everything a run needs, resolved from one configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub listen: Listen,
    pub settings: Settings,
    /// In configuration order (the first keeps a clashing unprefixed name).
    pub backends: Vec<BackendSpec>,
    /// The profiles, by name (`profile::Views` compiles them).
    pub profiles: std::collections::BTreeMap<String, config::Profile>,
}

impl Resolved {
    pub fn new(config: &Config, mode: Mode) -> Resolved {
        let retry = &config.connect_retry;
        let serving = mode == Mode::Serve;
        Resolved {
            listen: match config.listen.transport {
                ListenTransport::Stdio => Listen::Stdio,
                ListenTransport::Http => {
                    Listen::Http(HttpListen::new(&config.listen, Address::parse(&config.listen.address)))
                }
            },
            settings: Settings {
                page_size: usize::try_from(config.listen.page_size).unwrap_or(usize::MAX).max(1),
                startup_grace: retry.attempt_timeout.min(STARTUP_GRACE),
                retry: RetryPolicy {
                    // A listing makes one attempt: it should not wait out a retry schedule.
                    retry_unreachable: serving && retry.enabled,
                    restart: serving,
                    max_delay: retry.max_delay,
                    attempt_timeout: retry.attempt_timeout,
                },
                search_mode: config.listen.tool_mode == config::ToolMode::Search,
                auth: crate::auth::AuthSettings {
                    store_dir: config
                        .token_store
                        .enabled
                        .then(crate::auth::store::default_dir)
                        .flatten(),
                    eager: config.eager_auth,
                },
            },
            backends: config.backends.iter().map(BackendSpec::new).collect(),
            profiles: config.profiles.clone(),
        }
    }

    /// How long `list` waits for every backend's attempt: a handshake and a
    /// first listing, each within the attempt timeout, plus a margin.
    pub fn list_wait(&self) -> Duration {
        self.settings
            .retry
            .attempt_timeout
            .saturating_mul(2)
            .saturating_add(Duration::from_secs(5))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> Config {
        crate::config::parse(yaml, "test.yaml", &|_| None).unwrap()
    }

    #[test]
    fn resolves_defaults_and_compares_backends() {
        let a = config(
            "backends:\n  - {name: one, transport: command, command: [x]}\n  - {name: two, prefix: '', transport: http, endpoint: 'http://h/mcp'}\n",
        );
        let r = Resolved::new(&a, Mode::Serve);
        assert_eq!(r.listen, Listen::Stdio);
        assert_eq!(&*r.backends[0].prefix, "one");
        assert_eq!(&*r.backends[1].prefix, "");
        assert!(r.backends[0].owns("one__echo") && !r.backends[0].owns("one_echo"));
        assert!(r.settings.retry.restart);
        let listing = Resolved::new(&a, Mode::List);
        assert!(!listing.settings.retry.restart && !listing.settings.retry.retry_unreachable);
        // A changed backend is told apart from an unchanged one.
        let b = config(
            "backends:\n  - {name: one, transport: command, command: [x, y]}\n  - {name: two, prefix: '', transport: http, endpoint: 'http://h/mcp'}\n",
        );
        let rb = Resolved::new(&b, Mode::Serve);
        assert_ne!(r.backends[0], rb.backends[0]);
        assert_eq!(r.backends[1], rb.backends[1]);
    }

    #[test]
    fn list_wait_saturates() {
        let mut r = Resolved::new(
            &config("backends:\n  - {name: one, transport: command, command: [x]}\n"),
            Mode::List,
        );
        r.settings.retry.attempt_timeout = Duration::MAX;
        assert_eq!(r.list_wait(), Duration::MAX);
    }
}

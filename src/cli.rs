//! The command line: every subcommand and flag of `mcpmux`, declared with
//! clap's derive API, and the code that runs the configuration commands
//! (`validate`, `schema`, `completions`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use crate::config::{self, Config, LoadError};

#[derive(Debug, Parser)]
#[command(name = "mcpmux", version, about = "One MCP endpoint in front of many MCP servers", long_about = None)]
pub struct Cli {
    /// Configuration file (default: ./mcpmux.yaml, then $XDG_CONFIG_HOME/mcpmux/config.yaml, then $XDG_CONFIG_HOME/mcpmux.yaml).
    #[arg(short, long, global = true, value_name = "FILE", env = "MCPMUX_CONFIG")]
    pub config: Option<PathBuf>,

    /// Log filter for stderr, e.g. info, debug or mcpmux=debug,rmcp=info.
    #[arg(
        long,
        global = true,
        value_name = "FILTER",
        env = "MCPMUX_LOG",
        default_value = "info,rmcp=warn"
    )]
    pub log: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve one MCP endpoint (stdio or streamable HTTP) in front of the configured backends.
    Serve {
        #[command(flatten)]
        adhoc: AdHoc,
        /// Serve streamable HTTP on this host:port instead of the configured endpoint.
        #[arg(long, value_name = "ADDRESS")]
        http: Option<String>,
        /// Over stdio, serve this profile (profiles.<NAME>) instead of the whole catalog; over HTTP every profile is served at <path>/<NAME>.
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
    },
    /// Connect the backends once, print the merged tool catalog and exit (1 if a backend failed).
    List {
        #[command(flatten)]
        adhoc: AdHoc,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// List what this profile (profiles.<NAME>) offers instead of the whole catalog.
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
    },
    /// Try every backend once and report, per backend, whether it starts or connects, its auth, its tools and how long it took (exit 1 if any is broken).
    Doctor,
    /// Check a configuration file against the schema and report every error with its place.
    Validate {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Check without the environment: `${VAR}` references count as set (the values they will hold are checked when mcpmux runs), as a baked build does.
        #[arg(long)]
        no_env: bool,
    },
    /// Log in to OAuth backends, log out, or show how every backend authenticates.
    Auth {
        #[command(subcommand)]
        action: AuthAction,
    },
    /// Connect to one MCP server URL with mcpmux's own client stack (OAuth included), list its tools, optionally call one; exit 0 on success.
    Probe {
        /// The server's streamable HTTP endpoint.
        #[arg(long, value_name = "URL")]
        url: String,
        /// Client ID of a pre-registered OAuth client (default: a Client ID Metadata Document or dynamic registration).
        #[arg(long, value_name = "ID")]
        client_id: Option<String>,
        /// Client secret of a pre-registered OAuth client (prefer the environment variable: it stays out of the process list).
        #[arg(long, value_name = "SECRET", env = "MCPMUX_CLIENT_SECRET", hide_env_values = true)]
        client_secret: Option<String>,
        /// HTTPS URL of a Client ID Metadata Document, used as the client ID where the server supports it.
        #[arg(long, value_name = "URL")]
        client_metadata_url: Option<String>,
        /// How to get tokens: a consent in a browser, or the client credentials grant (needs --client-id and the secret).
        #[arg(long, value_enum, default_value_t = Grant::AuthorizationCode)]
        grant: Grant,
        /// OAuth scope to ask for (repeatable; default: what the server asks for).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Call this tool after listing.
        #[arg(long, value_name = "TOOL")]
        call: Option<String>,
        /// Arguments of the call, as a JSON object.
        #[arg(long, value_name = "JSON", requires = "call")]
        args: Option<String>,
        /// How long connecting, and the call, may take (an OAuth consent gets 5 minutes on top).
        #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
        timeout: std::time::Duration,
        /// Only print the authorization URL instead of opening a browser.
        #[arg(long)]
        no_browser: bool,
    },
    /// Write the systemd user units (mcpmux.service, mcpmux.socket) for this binary and say how to enable them.
    InstallUnits {
        /// Where to write them (default: $XDG_CONFIG_HOME/systemd/user).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Listen on a unix socket under $XDG_RUNTIME_DIR instead of 127.0.0.1:8080.
        #[arg(long)]
        unix: bool,
    },
    /// Bridge this process's stdin/stdout to a running mcpmux over HTTP (for clients that can only launch a subprocess).
    Connect {
        /// http(s)://host:port/path or unix:/path/to/socket (default: the configured listen endpoint). Sends $MCPMUX_CLIENT_TOKEN as a bearer token if set.
        target: Option<String>,
    },
    /// Add the MCP servers of the clients you use (Claude Code, Claude Desktop, Cursor, VS Code, Codex, Zed) to mcpmux's configuration as backends; their credentials go to the environment file beside it.
    Import {
        /// Read only this client (repeatable; default: every client whose files exist).
        #[arg(long, value_enum, value_name = "CLIENT")]
        from: Vec<crate::clients::Client>,
        /// Read this file, in --from's format, instead of the client's usual places.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
        /// Show what would change (a diff) and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Register mcpmux in a client's configuration (a backup is made first; running it again changes nothing).
    Install {
        #[arg(long, value_enum, value_name = "CLIENT")]
        client: crate::clients::Client,
        /// Edit this file instead of the client's usual one.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
        /// Show the diff and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also remove from the client the servers that mcpmux now serves (imported ones).
        #[arg(long)]
        replace: bool,
    },
    /// Print the configuration in force, as written: the baked one (no --config on a baked binary) or the file's, secrets as their ${VAR} references.
    Config,
    /// Print the JSON Schema of the configuration (for editors and CI).
    Schema,
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuthAction {
    /// Run the OAuth consent for backend NAME now and keep its tokens (a running mcpmux picks them up).
    Login { name: String },
    /// Forget backend NAME's stored tokens and client registration.
    Logout { name: String },
    /// Show how every backend authenticates and, for OAuth, its stored login (expiry, scopes; never a token).
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// A duration on the command line, written as in the configuration (30s, 2m, 1h30m).
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    crate::config::support::duration::parse(s).map_err(|e| e.to_string())
}

/// Backends given on the command line; with no --config, no file is read.
#[derive(Debug, Clone, clap::Args)]
pub struct AdHoc {
    /// Add a backend: NAME=COMMAND (split like a shell) or NAME=https://URL. Repeatable.
    #[arg(long = "backend", value_name = "NAME=COMMAND|URL")]
    pub backends: Vec<String>,
}

/// The OAuth grant of `mcpmux probe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Grant {
    AuthorizationCode,
    ClientCredentials,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Exit codes of `mcpmux validate`.
pub mod exit {
    pub const VALID: u8 = 0;
    pub const INVALID: u8 = 1;
    pub const UNREADABLE: u8 = 2;
}

/// `mcpmux validate`: 0 valid, 1 invalid, 2 unreadable or not found.
pub fn validate(
    explicit: Option<&Path>,
    format: Format,
    no_env: bool,
    out: &mut dyn Write,
) -> std::io::Result<ExitCode> {
    let (code, report) = match config::resolve(explicit) {
        Err(e) => (exit::UNREADABLE, Report::failed("", &e)),
        Ok(path) => {
            let file = path.display().to_string();
            let loaded = if no_env {
                match std::fs::read_to_string(&path) {
                    Err(source) => Err(LoadError::Unreadable {
                        path: path.clone(),
                        source,
                    }),
                    Ok(text) => config::check_no_env(&text, &file)
                        .map(|written| {
                            let names = written["backends"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|b| b["name"].as_str().map(String::from))
                                .collect();
                            Report::valid_names(&file, names)
                        })
                        .map_err(|diagnostics| LoadError::Invalid { diagnostics }),
                }
            } else {
                config::load_file(&path).map(|cfg| Report::valid(&file, &cfg))
            };
            match loaded {
                Ok(report) => (exit::VALID, report),
                Err(e @ LoadError::Invalid { .. }) => (exit::INVALID, Report::failed(&file, &e)),
                Err(e) => (exit::UNREADABLE, Report::failed(&file, &e)),
            }
        }
    };
    match format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report).unwrap_or_default())?,
        Format::Text => report.write_text(out)?,
    }
    Ok(ExitCode::from(code))
}

/// What `validate` found, in the shape `--format json` prints.
#[derive(serde::Serialize)]
struct Report {
    file: String,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    backends: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<config::Diagnostic>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Report {
    fn valid(file: &str, cfg: &Config) -> Report {
        Report::valid_names(file, cfg.backends.iter().map(|b| b.name().clone()).collect())
    }

    fn valid_names(file: &str, backends: Vec<String>) -> Report {
        Report {
            file: file.to_string(),
            valid: true,
            backends: Some(backends),
            errors: Vec::new(),
            error: None,
        }
    }

    fn failed(file: &str, e: &LoadError) -> Report {
        let (errors, error) = match e {
            LoadError::Invalid { diagnostics } => (diagnostics.clone(), None),
            other => (Vec::new(), Some(other.to_string())),
        };
        Report {
            file: file.to_string(),
            valid: false,
            backends: None,
            errors,
            error,
        }
    }

    fn write_text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if let Some(e) = &self.error {
            return writeln!(out, "error: {e}");
        }
        for d in &self.errors {
            writeln!(out, "{d}")?;
        }
        match &self.backends {
            Some(b) if b.is_empty() => writeln!(out, "{}: valid (no backends)", self.file),
            Some(b) => writeln!(out, "{}: valid ({} backends: {})", self.file, b.len(), b.join(", ")),
            None => writeln!(out, "{}: {} error(s)", self.file, self.errors.len()),
        }
    }
}

/// `mcpmux schema`.
pub fn schema(out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(Config::SCHEMA.as_bytes())
}

/// `mcpmux completions SHELL`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    clap_complete::generate(shell, &mut Cli::command(), "mcpmux", out);
}

//! The mcpmux binary: parse the command line, run the command, map errors to
//! exit codes. Logs go to stderr; stdout belongs to command output and, when
//! serving on stdio, to the MCP protocol.

use std::process::ExitCode;

use clap::Parser;
use mcpmux::cli::{self, Cli, Command};
use mcpmux::config::{self, Config, Overrides};

/// Runs an async command on a runtime that, once done, does not wait for a
/// stdin read still blocked in the background (stdio mode).
fn run_async<T>(f: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(f);
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    result
}

/// The configuration for `serve`/`list`, or the exit code of why there is none
/// (1 invalid, 2 unreadable or not found).
fn load(explicit: Option<&std::path::Path>, overrides: &Overrides) -> Result<Config, ExitCode> {
    mcpmux::serve::load_config(explicit, overrides).map_err(|e| {
        eprintln!("mcpmux: {e}");
        ExitCode::from(match e {
            config::LoadError::Invalid { .. } => cli::exit::INVALID,
            _ => cli::exit::UNREADABLE,
        })
    })
}

fn failed(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("mcpmux: {e}");
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    // First, while this is the only thread: the sockets systemd passed.
    let activation = mcpmux::daemon::take_activation();
    let cli = Cli::parse();
    let mut filter = tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|e| {
        eprintln!("mcpmux: ignoring --log {:?}: {e}", cli.log);
        tracing_subscriber::EnvFilter::new("info")
    });
    // rmcp's OAuth code logs authorization codes at debug level: kept out
    // unless asked for by name.
    if !cli.log.contains("rmcp::transport::auth")
        && let Ok(d) = "rmcp::transport::auth=info".parse()
    {
        filter = filter.add_directive(d);
    }
    // The trace spans (`otel`) are not log lines: kept out of the log at
    // any level unless asked for by name (they would run on every call).
    if !cli.log.contains(mcpmux::otel::TARGET)
        && let Ok(d) = format!("{}=off", mcpmux::otel::TARGET).parse()
    {
        filter = filter.add_directive(d);
    }
    // Colours only for a terminal; the journal and log files get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    {
        use tracing_subscriber::prelude::*;
        let logs = tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(mcpmux::redact::Stderr)
            .with_filter(filter);
        tracing_subscriber::registry()
            .with(logs)
            .with(mcpmux::otel::layer())
            .init();
    }
    let explicit = cli.config.as_deref();
    let io = |r: std::io::Result<ExitCode>| {
        r.unwrap_or_else(|e| {
            // A closed stdout (e.g. `| head`) is not worth a message.
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                ExitCode::FAILURE
            } else {
                failed(e)
            }
        })
    };
    let code = match cli.command {
        Command::Serve { adhoc, http, profile } => {
            let overrides = Overrides {
                backends: adhoc.backends,
                http,
            };
            match load(explicit, &overrides) {
                Ok(config) => {
                    let source = mcpmux::serve::Source {
                        explicit: explicit.map(std::path::Path::to_path_buf),
                        overrides,
                        profile,
                    };
                    run_async(mcpmux::serve::serve(config, source, activation))
                        .map_or_else(|e| failed(format!("{e:#}")), |()| ExitCode::SUCCESS)
                }
                Err(code) => code,
            }
        }
        Command::List { adhoc, json, profile } => {
            let overrides = Overrides {
                backends: adhoc.backends,
                http: None,
            };
            match load(explicit, &overrides) {
                Ok(config) => run_async(mcpmux::serve::list(config, json, profile, &mut std::io::stdout()))
                    .unwrap_or_else(|e| failed(format!("{e:#}"))),
                Err(code) => code,
            }
        }
        Command::Auth { action } => {
            let config = match load(explicit, &Overrides::default()) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let mut out = std::io::stdout();
            let r = match action {
                cli::AuthAction::Login { name } => run_async(mcpmux::auth::commands::login(config, &name, &mut out)),
                cli::AuthAction::Logout { name } => mcpmux::auth::commands::logout(&config, &name, &mut out),
                cli::AuthAction::Status { json } => mcpmux::auth::commands::status(&config, json, &mut out),
            };
            r.unwrap_or_else(|e| failed(format!("{e:#}")))
        }
        Command::Probe {
            url,
            client_id,
            client_secret,
            client_metadata_url,
            grant,
            scopes,
            call,
            args,
            timeout,
            no_browser,
        } => {
            let probe = mcpmux::auth::commands::Probe {
                url,
                client_id,
                client_secret,
                client_metadata_url,
                client_credentials: grant == cli::Grant::ClientCredentials,
                scopes,
                call,
                args,
                timeout,
                open_browser: !no_browser,
            };
            run_async(mcpmux::auth::commands::probe(probe, &mut std::io::stdout()))
                .unwrap_or_else(|e| failed(format!("{e:#}")))
        }
        Command::Connect { target } => {
            let target = match target {
                Some(t) => t,
                None => match load(explicit, &Overrides::default()).map(|c| mcpmux::connect::target_of(&c)) {
                    Ok(Ok(t)) => t,
                    Ok(Err(e)) => return failed(format!("{e:#}")),
                    Err(code) => return code,
                },
            };
            let token = std::env::var("MCPMUX_CLIENT_TOKEN").ok().filter(|t| !t.is_empty());
            run_async(mcpmux::connect::connect(&target, token))
                .map_or_else(|e| failed(format!("{e:#}")), |()| ExitCode::SUCCESS)
        }
        Command::Validate { format, no_env } => {
            io(cli::validate(explicit, format, no_env, &mut std::io::stdout().lock()))
        }
        Command::Doctor => match load(explicit, &Overrides::default()) {
            Ok(config) => run_async(mcpmux::doctor::doctor(config, &mut std::io::stdout()))
                .unwrap_or_else(|e| failed(format!("{e:#}"))),
            Err(code) => code,
        },
        Command::InstallUnits { dir, unix } => mcpmux::daemon::install_units(dir, unix, &mut std::io::stdout())
            .unwrap_or_else(|e| failed(format!("{e:#}"))),
        Command::Import { from, file, dry_run } => {
            let config = match explicit {
                Some(p) => p.to_path_buf(),
                None => mcpmux::config::resolve(None).unwrap_or_else(|_| {
                    let paths = mcpmux::config::load::search_paths(&mcpmux::config::load::process_env);
                    paths.get(1).cloned().unwrap_or_else(|| paths[0].clone())
                }),
            };
            let req = mcpmux::import::Request {
                from,
                file,
                config,
                dry_run,
            };
            mcpmux::import::run(&req, &mut std::io::stdout()).unwrap_or_else(|e| failed(format!("{e:#}")))
        }
        Command::Install {
            client,
            file,
            dry_run,
            replace,
        } => {
            let config_path = match mcpmux::config::resolve(explicit) {
                Ok(p) => p,
                Err(e) => return failed(e.to_string()),
            };
            let config = match load(Some(&config_path), &Overrides::default()) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let config_path = std::path::absolute(&config_path).unwrap_or(config_path);
            let req = mcpmux::install::Request {
                client,
                config,
                config_path,
                file,
                dry_run,
                replace,
            };
            mcpmux::install::run(&req, &mut std::io::stdout()).unwrap_or_else(|e| failed(format!("{e:#}")))
        }
        Command::Config => {
            mcpmux::serve::print_config(explicit, &mut std::io::stdout()).unwrap_or_else(|e| failed(format!("{e:#}")))
        }
        Command::Schema => io(cli::schema(&mut std::io::stdout().lock()).map(|()| ExitCode::SUCCESS)),
        Command::Completions { shell } => {
            cli::completions(shell, &mut std::io::stdout().lock());
            ExitCode::SUCCESS
        }
    };
    // Spans not yet exported go now (`otel`).
    mcpmux::otel::shutdown();
    code
}

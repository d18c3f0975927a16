//! The mcpmux binary: parse the command line, run the command, map errors to
//! exit codes. Logs go to stderr; stdout belongs to command output and, when
//! serving on stdio, to the MCP protocol.

use std::process::ExitCode;

use clap::Parser;
use mcpmux::cli::{self, Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|e| {
        eprintln!("mcpmux: ignoring --log {:?}: {e}", cli.log);
        tracing_subscriber::EnvFilter::new("info")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let mut stdout = std::io::stdout().lock();
    let result = match cli.command {
        Command::Validate { format } => cli::validate(cli.config.as_deref(), format, &mut stdout),
        Command::Schema => cli::schema(&mut stdout).map(|()| ExitCode::SUCCESS),
        Command::Completions { shell } => {
            cli::completions(shell, &mut stdout);
            Ok(ExitCode::SUCCESS)
        }
    };
    result.unwrap_or_else(|e| {
        // A closed stdout (e.g. `| head`) is not worth a panic.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("mcpmux: {e}");
        }
        ExitCode::FAILURE
    })
}

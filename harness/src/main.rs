//! The `rolecheck` binary: parses the command line, resolves its settings once, runs the
//! command, and exits with the code [`rolecheck::exit::exit_status`] picks (0 all passed,
//! 1 a check failed, 2 usage or infrastructure error, 130 interrupted).

use std::process::ExitCode;

use clap::Parser as _;
use rolecheck::cli::Cli;
use rolecheck::commands;
use rolecheck::exit::{AppError, Finished, exit_status};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ROLECHECK_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let ended = match Cli::try_parse() {
        Ok(cli) => cli.resolve().and_then(commands::dispatch),
        Err(refused) => {
            // Help and version are "refusals" clap prints on stdout; real ones on stderr.
            let _ = refused.print();
            if refused.use_stderr() {
                Err(AppError::CommandLine)
            } else {
                Ok(Finished::Done)
            }
        }
    };
    if let Err(err) = &ended
        && !matches!(err, AppError::CommandLine)
    {
        eprintln!("error: {err}");
    }
    ExitCode::from(exit_status(&ended).code())
}

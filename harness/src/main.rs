//! The `rolecheck` binary: parses the command line, runs the command, maps the outcome to an
//! exit code (0 all passed, 1 a scenario failed, 2 usage or infrastructure error).

use std::process::ExitCode;

use clap::Parser as _;
use rolecheck::app::{self, AppError};
use rolecheck::cli::{Cli, Command, SimCommand};
use rolecheck::report::console::ConsoleReporter;
use rolecheck::sim_serve::{self, ServeOptions};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ROLECHECK_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, AppError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| AppError::Usage(format!("starting the async runtime: {e}")))
}

fn run(cli: Cli) -> Result<u8, AppError> {
    match cli.command {
        Command::Validate(args) => {
            let scenarios = app::validate(&args)?;
            println!("{} scenario(s) are valid", scenarios.len());
            Ok(0)
        }
        Command::List(args) => {
            print!("{}", app::list(&args)?);
            Ok(0)
        }
        Command::Run(args) => {
            let report = runtime()?.block_on(app::run(&args, ConsoleReporter::stderr()))?;
            Ok(app::exit_code(&report))
        }
        Command::Sim(SimCommand::Faults) => {
            print!("{}", sim_serve::fault_table());
            Ok(0)
        }
        Command::Sim(SimCommand::Serve(args)) => {
            let options = ServeOptions {
                port_base: args.port_base,
                kubeconfig: Some(args.kubeconfig),
                env_file: args.env_file,
                faults: app::parse_faults(&args.fault)?,
            };
            runtime()?
                .block_on(sim_serve::serve(options))
                .map_err(|e| AppError::Usage(e.to_string()))?;
            Ok(0)
        }
    }
}

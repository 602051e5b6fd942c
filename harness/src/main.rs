//! The `rolecheck` binary: parses the command line, runs the command, maps the outcome to an
//! exit code (0 all passed, 1 a scenario failed, 2 usage or infrastructure error).

use std::process::ExitCode;

use clap::Parser as _;
use rolecheck::app::{self, AppError};
use rolecheck::cli::{
    Cli, Command, EnvCommand, ReportCommand, SchemaOf, SelfcheckArgs, SimCommand,
};
use rolecheck::drivers::timeouts::RequestTimeouts;
use rolecheck::report::console::ConsoleReporter;
use rolecheck::selfcheck::{self, SelfcheckOptions};
use rolecheck::signals::Signals;
use rolecheck::sim_serve::{self, ServeOptions, WebhookFlags};

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ROLECHECK_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Some(read) = request_timeout(&cli.command) {
        RequestTimeouts::with_read(read).install();
    }
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}

/// `--request-timeout` of the commands that reach a target.
fn request_timeout(command: &Command) -> Option<std::time::Duration> {
    match command {
        Command::Run(command) => command.access.request_timeout,
        Command::Gc(args) => args.access.request_timeout,
        _ => None,
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
        Command::Schema(args) => {
            let schema = match args.of {
                SchemaOf::Scenario => rolecheck::schema::scenario_schema(),
                SchemaOf::Profile => rolecheck::schema::profile_schema(),
            };
            print!("{}", rolecheck::schema::to_text(&schema));
            Ok(0)
        }
        Command::Run(command) => {
            let runtime = runtime()?;
            let ran = runtime.block_on(async {
                let signals = Signals::watch();
                tokio::select! {
                    ran = app::run_command(&command, ConsoleReporter::stderr(), &signals) => {
                        ran.map(Some)
                    }
                    () = signals.abandoned() => {
                        print_abandoned(&signals.ledger.pending());
                        Ok(None)
                    }
                }
            });
            match ran? {
                Some(app::RunResult::Ran(report)) => Ok(app::exit_code(&report)),
                Some(app::RunResult::NothingToRerun { why }) => {
                    eprintln!("nothing to rerun: {why}");
                    Ok(0)
                }
                None => {
                    // Whatever still hangs (a request, a child's exit) is not waited for.
                    runtime.shutdown_background();
                    Ok(app::EXIT_INTERRUPTED)
                }
            }
        }
        Command::Coverage(args) => {
            let coverage = app::coverage(&args)?;
            print!("{}", coverage.render());
            Ok(if coverage.uncovered().is_empty() {
                0
            } else {
                1
            })
        }
        Command::Selfcheck(args) => runtime()?.block_on(run_selfcheck(args)),
        Command::Report(ReportCommand::Merge(args)) => {
            let merged = app::merge_reports(&args)?;
            let (passed, failed, skipped) = merged.counts();
            println!(
                "merged {} report(s) into {}: {passed} passed, {failed} failed, {skipped} skipped",
                args.inputs.len(),
                args.out_dir.display()
            );
            Ok(0)
        }
        Command::Targets => {
            print!("{}", app::targets()?);
            Ok(0)
        }
        Command::Doctor(args) => {
            let report = runtime()?.block_on(app::doctor(&args))?;
            print!("{}", report.render());
            Ok(if report.passed() { 0 } else { 2 })
        }
        Command::Gc(args) => {
            let report = runtime()?.block_on(app::gc(&args))?;
            print!("{}", report.render());
            Ok(if report.failed.is_empty() { 0 } else { 2 })
        }
        Command::Env(EnvCommand::Up(args)) => {
            let done = runtime()?.block_on(rolecheck::target::env::up(&args.name))?;
            println!("{done}");
            Ok(0)
        }
        Command::Env(EnvCommand::Down(args)) => {
            let done = runtime()?.block_on(rolecheck::target::env::down(&args.name))?;
            println!("{done}");
            Ok(0)
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
                webhook: WebhookFlags {
                    default_region: args.aws_default_region,
                    sts_regional_endpoint: args.sts_regional_endpoint,
                    lookup_grace: args.service_account_lookup_grace_period,
                    cache_lag: args.webhook_cache_lag,
                },
                attach_local: args.cluster.is_some(),
            };
            runtime()?
                .block_on(sim_serve::serve(options))
                .map_err(|e| AppError::Usage(e.to_string()))?;
            Ok(0)
        }
    }
}

/// What a run stopped by a second signal knows it left behind (no reports are written).
fn print_abandoned(left: &[String]) {
    if left.is_empty() {
        eprintln!("clean-up stopped; the run knows of nothing it left behind");
    } else {
        eprintln!("clean-up stopped; left behind (remove with `rolecheck gc` or by hand):");
        for item in left {
            eprintln!("    {item}");
        }
    }
}

/// `rolecheck selfcheck`: the table on stdout, progress on stderr, JSON to `--json`.
async fn run_selfcheck(args: SelfcheckArgs) -> Result<u8, AppError> {
    let scenarios = rolecheck::scenario::load_paths(&args.paths)?;
    let defaults = SelfcheckOptions::default();
    let options = SelfcheckOptions {
        faults: selfcheck::faults_to_check(&args.fault)?,
        filters: args
            .filter
            .iter()
            .map(|f| rolecheck::plan::Filter::parse(f))
            .collect(),
        jobs: args.jobs.unwrap_or(defaults.jobs),
        step_timeout: args.step_timeout,
        ..defaults
    };
    let signals = Signals::watch();
    let report =
        selfcheck::selfcheck(scenarios, &options, &mut std::io::stderr(), &signals.token).await?;
    selfcheck::write_selfcheck_json(&report, &args.json)?;
    print!("{}", report.render());
    Ok(if report.passed() { 0 } else { 1 })
}

//! What each subcommand does, from loading scenarios to writing reports. The binary maps the
//! results to exit codes.

use std::time::Instant;

use rolecheck_sim::{Fault, FaultSet};
use tokio_util::sync::CancellationToken;

use crate::cli::{PathArgs, RunArgs};
use crate::plan::{self, Filter};
use crate::report::console::ConsoleReporter;
use crate::report::events::Event;
use crate::report::json::write_json;
use crate::report::junit::{JunitLevel, write_junit};
use crate::report::model::{Outcome, RunReport};
use crate::report::verdict::rule_verdicts;
use crate::runner::{self, RunOptions};
use crate::scenario::model::Scenario;
use crate::scenario::{LoadErrors, load_paths};
use crate::target::{self, Target, TargetError};

/// Why a command could not do its job: a usage or infrastructure error (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Scenario files are broken.
    #[error("{0}")]
    Scenarios(#[from] LoadErrors),
    /// Bad command-line input.
    #[error("{0}")]
    Usage(String),
    /// The target could not be brought up or reached.
    #[error("target: {0}")]
    Target(#[from] TargetError),
    /// Reports could not be written.
    #[error("writing reports: {0}")]
    Report(#[from] crate::report::ReportError),
}

/// `rolecheck validate`: loads and checks; returns how many scenarios are fine.
pub fn validate(args: &PathArgs) -> Result<Vec<Scenario>, AppError> {
    Ok(load_paths(&args.paths)?)
}

/// `rolecheck list`: one line per scenario with its rules.
pub fn list(args: &PathArgs) -> Result<String, AppError> {
    let scenarios = load_paths(&args.paths)?;
    let width = scenarios.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for s in &scenarios {
        let rules: Vec<String> = s.rules.iter().map(ToString::to_string).collect();
        out.push_str(&format!(
            "{:width$}  {}  {}\n",
            s.name,
            rules.join(","),
            s.location.file.display()
        ));
    }
    Ok(out)
}

/// `rolecheck run`: the whole flow. Returns the report (its outcomes decide the exit code).
pub async fn run(args: &RunArgs, reporter: ConsoleReporter) -> Result<RunReport, AppError> {
    let scenarios = load_paths(&args.paths)?;
    let faults = parse_faults(&args.fault)?;
    let filters: Vec<Filter> = args.filter.iter().map(|f| Filter::parse(f)).collect();
    let run_id = new_run_id();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let started = Instant::now();

    let target = start_target(&args.target, faults, &run_id).await?;
    let planned = plan::plan(scenarios, &filters, &target.name, &target.capabilities);

    let (events, receiver) = tokio::sync::mpsc::unbounded_channel();
    let console = reporter.spawn(receiver);
    let _ = events.send(Event::RunStarted {
        run_id: run_id.clone(),
        target: target.name.clone(),
        total: planned.len(),
    });

    let cancel = CancellationToken::new();
    let on_ctrl_c = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::warn!("interrupted: cleaning up");
                cancel.cancel();
            }
        })
    };
    let options = RunOptions {
        jobs: args.jobs.unwrap_or_else(|| RunOptions::default().jobs),
        step_timeout: args.step_timeout,
        ..RunOptions::default()
    };
    let results = runner::run(&target, planned, &run_id, &options, &events, &cancel).await;
    let mut leftovers = runner::sweep(&target, &run_id, options.cleanup_timeout).await;
    leftovers.extend(teardown(target).await);
    on_ctrl_c.abort();

    let report = RunReport {
        run_id,
        target: args.target.clone(),
        started_at,
        duration: started.elapsed(),
        rules: rule_verdicts(&results),
        scenarios: results,
        leftovers,
    };
    write_junit(&report, JunitLevel::Scenario, &args.junit)?;
    write_json(&report, &args.json)?;
    let _ = events.send(Event::RunFinished(report.clone()));
    drop(events);
    if let Ok(Err(err)) = console.await {
        tracing::warn!(%err, "console output failed");
    }
    Ok(report)
}

/// The exit code a finished run deserves: 0 all passed (or skipped), 1 a scenario failed,
/// 2 only infrastructure errors (or objects left behind).
pub fn exit_code(report: &RunReport) -> u8 {
    let failed = report
        .scenarios
        .iter()
        .any(|s| matches!(s.outcome, Outcome::Failed { .. }));
    let errored = report
        .scenarios
        .iter()
        .any(|s| matches!(s.outcome, Outcome::Error { .. }));
    if failed {
        1
    } else if errored || !report.leftovers.is_empty() {
        2
    } else {
        0
    }
}

async fn start_target(name: &str, faults: FaultSet, run_id: &str) -> Result<Target, AppError> {
    match name {
        "sim" => Ok(target::sim::start(faults, run_id).await?),
        other => {
            if faults.iter().next().is_some() {
                return Err(TargetError::FaultsNeedSim.into());
            }
            Err(TargetError::Unknown(other.to_owned()).into())
        }
    }
}

async fn teardown(target: Target) -> Vec<String> {
    target.teardown().await
}

/// Parses `--fault` names.
pub fn parse_faults(names: &[String]) -> Result<FaultSet, AppError> {
    names
        .iter()
        .map(|n| {
            n.parse::<Fault>()
                .map_err(|e| AppError::Usage(e.to_string()))
        })
        .collect()
}

/// A short random run id: 8 lower-case letters and digits (DNS-label safe).
fn new_run_id() -> String {
    use rand::Rng as _;
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..8)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

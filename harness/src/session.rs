//! The run session: one run from start to finish. It gives the run its id, brings the target
//! up, plans, hands the scenarios to the [`crate::runner`] (which also re-runs failures),
//! sweeps what is still labelled with the run id, tears the target down, and writes the
//! reports; a [`CancellationToken`] (see [`crate::signals`]) stops it.
//!
//! `rolecheck run` ([`run_command`]), the library entry [`run`] and `rolecheck selfcheck`
//! all go through [`execute`], which takes only resolved settings ([`crate::settings`]).

use std::collections::BTreeSet;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::cleanup;
use crate::exit::AppError;
use crate::ledger::Ledger;
use crate::plan;
use crate::report::console::ConsoleReporter;
use crate::report::events::Event;
use crate::report::html::write_html;
use crate::report::json::{read_json, write_json};
use crate::report::junit::write_junit;
use crate::report::model::RunReport;
use crate::report::verdict::rule_verdicts;
use crate::runner::{self, Session};
use crate::scenario::{Scenario, load_paths};
use crate::settings::{ReportPaths, RunCommandSettings, RunSettings};
use crate::signals::Signals;
use crate::suite;
use crate::target::assemble::StartOptions;
use crate::target::{self, Target, interlock};

/// What `rolecheck run` did.
#[derive(Debug, Clone)]
pub enum RunResult {
    /// It ran (its outcomes decide the exit code).
    Ran(Box<RunReport>),
    /// `--rerun-failed` found nothing to run again.
    NothingToRerun {
        /// Why, in one line.
        why: String,
    },
}

/// How `rolecheck run` ended under its signals.
#[derive(Debug, Clone)]
pub enum Watched {
    /// It finished (or found nothing to re-run).
    Finished(RunResult),
    /// A second signal gave up on clean-up: what the run knows it left behind.
    Abandoned {
        /// Objects created and not removed.
        left: Vec<String>,
    },
}

/// `rolecheck run` under SIGINT and SIGTERM: the first stops the run (it still cleans up and
/// writes its reports), a second one gives up on clean-up at once.
pub async fn run_watched(
    settings: &RunCommandSettings,
    reporter: ConsoleReporter,
) -> Result<Watched, AppError> {
    let signals = Signals::watch();
    tokio::select! {
        ran = run_command(settings, reporter, &signals) => ran.map(Watched::Finished),
        () = signals.abandoned() => Ok(Watched::Abandoned {
            left: signals.ledger.pending(),
        }),
    }
}

/// A short random run id: 8 lower-case letters and digits (DNS-label safe).
pub fn new_run_id() -> String {
    use rand::Rng as _;
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..8)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

/// Runs `settings` (`--rerun-failed` aside) with its own signal watch and writes the
/// reports: the library's way of doing what `rolecheck run` does.
pub async fn run(
    settings: &RunCommandSettings,
    reporter: ConsoleReporter,
) -> Result<RunReport, AppError> {
    let scenarios = load_paths(&settings.paths)?;
    preflight(&settings.run)?;
    let _lock = settings.reports.lock()?;
    let signals = Signals::watch();
    let report = execute(
        &settings.run,
        scenarios,
        reporter,
        &signals.token,
        &signals.ledger,
    )
    .await?;
    write_reports(&report, &settings.reports)?;
    Ok(report)
}

/// `rolecheck run`: re-runs of a previous run's failures, the run, then reports. `signals`
/// stop it (and hold what it created).
pub async fn run_command(
    settings: &RunCommandSettings,
    reporter: ConsoleReporter,
    signals: &Signals,
) -> Result<RunResult, AppError> {
    let scenarios = load_paths(&settings.paths)?;
    let mut run = settings.run.clone();
    if let Some(path) = &settings.rerun_failed {
        match previous_failures(path, &scenarios)? {
            Ok(names) => run.selection.only = Some(names),
            Err(why) => return Ok(RunResult::NothingToRerun { why }),
        }
    }
    preflight(&run)?;
    let _lock = settings.reports.lock()?;
    let report = execute(&run, scenarios, reporter, &signals.token, &signals.ledger).await?;
    write_reports(&report, &settings.reports)?;
    Ok(RunResult::Ran(Box::new(report)))
}

/// The scenarios of the suite that failed or errored in the report at `path`, or why there
/// is nothing to run again.
fn previous_failures(
    path: &std::path::Path,
    scenarios: &[Scenario],
) -> Result<Result<BTreeSet<String>, String>, AppError> {
    let previous = read_json(path)?;
    let failed = suite::failed_names(&previous);
    if failed.is_empty() {
        return Ok(Err(format!("no scenario failed in {}", path.display())));
    }
    let known: BTreeSet<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
    let (present, gone): (BTreeSet<String>, BTreeSet<String>) = failed
        .into_iter()
        .partition(|name| known.contains(name.as_str()));
    for name in &gone {
        tracing::warn!(scenario = %name, "failed before, but no longer in the suite");
    }
    if present.is_empty() {
        return Ok(Err(format!(
            "the scenarios that failed in {} are no longer in the suite: {}",
            path.display(),
            gone.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(Ok(present))
}

/// What is checked before a run takes the lock on its reports directory: the real-AWS
/// interlock lets it start (a refused run never touches the lock).
fn preflight(settings: &RunSettings) -> Result<(), AppError> {
    interlock::check(&settings.profile, settings.allow_real_aws)?;
    Ok(())
}

/// Writes the JUnit, JSON and HTML reports.
pub fn write_reports(report: &RunReport, paths: &ReportPaths) -> Result<(), AppError> {
    write_junit(report, paths.junit_level, &paths.junit)?;
    write_json(report, &paths.json)?;
    write_html(report, &paths.html)?;
    Ok(())
}

/// Runs `settings`: brings the target up, plans, runs (the runner re-runs failures when the
/// settings say so), sweeps, tears down, and shows it all on `reporter`. Writes no report
/// file. `cancel` stops it (the run is then reported as interrupted); what it creates is
/// recorded in `ledger` until removed.
pub async fn execute(
    settings: &RunSettings,
    scenarios: Vec<Scenario>,
    reporter: ConsoleReporter,
    cancel: &CancellationToken,
    ledger: &Ledger,
) -> Result<RunReport, AppError> {
    let run_id = new_run_id();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let started = Instant::now();

    tracing::info!(name = %settings.profile.name, %run_id, "starting the target");
    let target = start_target(settings, &run_id, ledger).await?;
    let target_name = target.name.clone();
    let mut planned = settings.selection.select(plan::plan(
        scenarios,
        &settings.selection.filters,
        &target.name,
        &target.capabilities,
    ));
    plan::explain_skips(&mut planned, &target);

    let (events, receiver) = tokio::sync::mpsc::unbounded_channel();
    let console = reporter.spawn(receiver);
    let _ = events.send(Event::RunStarted {
        run_id: run_id.clone(),
        target: target.name.clone(),
        total: planned.len(),
    });
    let session = Session {
        target: &target,
        run_id: &run_id,
        options: &settings.limits,
        events: &events,
        cancel,
        ledger,
        new_run_id,
    };
    let ran = runner::run(session, planned).await;
    let mut leftovers = cleanup::sweep(&target, &run_id, settings.limits.cleanup_timeout).await;
    leftovers.extend(ran.leftovers);
    leftovers.extend(target.teardown().await);

    let report = RunReport {
        run_id,
        target: target_name,
        started_at,
        duration: started.elapsed(),
        rules: rule_verdicts(&ran.results),
        scenarios: ran.results,
        leftovers,
        reruns: ran.reruns,
        interrupted: cancel.is_cancelled(),
    };
    let _ = events.send(Event::RunFinished(report.clone()));
    drop(events);
    if let Ok(Err(err)) = console.await {
        tracing::warn!(%err, "console output failed");
    }
    Ok(report)
}

async fn start_target(
    settings: &RunSettings,
    run_id: &str,
    ledger: &Ledger,
) -> Result<Target, AppError> {
    let options = StartOptions {
        faults: settings.faults.clone(),
        allow_real_aws: settings.allow_real_aws,
        ledger: ledger.clone(),
    };
    Ok(target::assemble::start(&settings.profile, &options, run_id).await?)
}

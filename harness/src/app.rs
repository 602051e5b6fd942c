//! What each subcommand does, from loading scenarios to writing reports. The binary maps the
//! results to exit codes.
//!
//! A run is [`execute`]d from a [`RunSpec`] (target, faults, selection, suite) and then
//! written with [`write_reports`]; `rolecheck run` ([`run_command`]), the library entry
//! [`run`] and `rolecheck selfcheck` all go through that one flow.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rolecheck_sim::{Fault, FaultSet};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::cleanup::{self, Ledger};
use crate::cli::{
    CoverageArgs, DoctorArgs, GcArgs, MergeArgs, OutputArgs, PathArgs, RunArgs, RunCommand,
    TargetArgs,
};
use crate::plan::{self, Filter, Planned};
use crate::report::console::ConsoleReporter;
use crate::report::coverage::Coverage;
use crate::report::events::Event;
use crate::report::html::write_html;
use crate::report::json::{read_json, write_json};
use crate::report::junit::{JunitLevel, write_junit};
use crate::report::lock::{LockError, ReportsLock};
use crate::report::merge::{MergeError, MergedPaths, merge};
use crate::report::model::{Outcome, Rerun, RunReport, ScenarioResult};
use crate::report::verdict::rule_verdicts;
use crate::runner::{self, RunOptions};
use crate::scenario::Scenario;
use crate::scenario::model::Capability;
use crate::scenario::{LoadErrors, load_paths};
use crate::signals::Signals;
use crate::suite::{self, Partition, Stability, Suite};
use crate::target::assemble::StartOptions;
use crate::target::gc::{GcOptions, GcReport};
use crate::target::interlock;
use crate::target::profile::Profile;
use crate::target::{self, Target, TargetError};

/// How often `--suite qualify` re-runs a failed scenario when `--repeat` is not given.
pub const DEFAULT_REPEAT: NonZeroU32 = NonZeroU32::MIN.saturating_add(2);

/// Why a command could not do its job: a usage or infrastructure error (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Scenario files are broken (each problem shown with the lines around it).
    #[error("{0:#}")]
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
    /// Reports could not be merged.
    #[error("merging reports: {0}")]
    Merge(#[from] MergeError),
    /// Another run writes reports to the same directory.
    #[error("{0}")]
    ReportsLocked(#[from] LockError),
}

/// What one run does: where, with which faults, which scenarios, and how.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// Target name (`sim`).
    pub target: String,
    /// Fault switches of the embedded sim.
    pub faults: FaultSet,
    /// How many scenarios run at once (`None`: the profile's `jobs`, else [`RunOptions`]'
    /// default).
    pub jobs: Option<usize>,
    /// A step's time budget when the scenario names none (`None`: the profile's
    /// `step_timeout`, else [`RunOptions`]' default).
    pub step_timeout: Option<Duration>,
    /// Time budget for removing each object the run created (`None`: the profile's
    /// `cleanup_timeout`, else [`RunOptions`]' default).
    pub cleanup_timeout: Option<Duration>,
    /// Selection by name or rule (any matching; all when empty).
    pub filters: Vec<Filter>,
    /// Only these scenario names (`--rerun-failed`), when set.
    pub only: Option<BTreeSet<String>>,
    /// Only this shard of the selection, when set.
    pub partition: Option<Partition>,
    /// Re-run every failed scenario this many times (`--suite qualify`), when set.
    pub repeat_failed: Option<NonZeroU32>,
    /// The profile file to read instead of the named target's, when set (`--profile`).
    pub profile: Option<PathBuf>,
    /// Whether real AWS is allowed (`--allow-real-aws`; ROLECHECK_ALLOW_REAL_AWS=1 also is).
    pub allow_real_aws: bool,
}

impl RunSpec {
    /// The nightly run `args` describe (no shard, no re-runs).
    pub fn from_args(args: &RunArgs) -> Result<Self, AppError> {
        Ok(Self {
            target: args.target.clone(),
            faults: parse_faults(&args.fault)?,
            jobs: args.jobs,
            step_timeout: args.step_timeout,
            cleanup_timeout: args.cleanup_timeout,
            filters: args.filter.iter().map(|f| Filter::parse(f)).collect(),
            only: None,
            partition: None,
            repeat_failed: None,
            profile: None,
            allow_real_aws: false,
        })
    }

    /// Narrows a plan to this spec's names and shard.
    pub fn select(&self, planned: Vec<Planned>) -> Vec<Planned> {
        let planned = match &self.only {
            Some(names) => planned
                .into_iter()
                .filter(|p| names.contains(&p.scenario.name))
                .collect(),
            None => planned,
        };
        match self.partition {
            Some(partition) => partition.select(planned),
            None => planned,
        }
    }
}

/// Where a run's reports go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPaths {
    /// JUnit XML.
    pub junit: PathBuf,
    /// How fine-grained the JUnit `scenarios` suite is.
    pub junit_level: JunitLevel,
    /// JSON.
    pub json: PathBuf,
    /// HTML.
    pub html: PathBuf,
}

impl ReportPaths {
    /// Locks the directories of these reports for this run (see [`crate::report::lock`]).
    pub fn lock(&self) -> Result<ReportsLock, AppError> {
        Ok(ReportsLock::take([
            self.junit.as_path(),
            self.json.as_path(),
            self.html.as_path(),
        ])?)
    }

    /// The paths of `args` and `output`; the HTML report goes next to the JSON report
    /// (`index.html`) unless `output` names a path.
    pub fn for_run(args: &RunArgs, output: &OutputArgs) -> Self {
        Self {
            junit: args.junit.clone(),
            junit_level: output.junit_level,
            json: args.json.clone(),
            html: output
                .html
                .clone()
                .unwrap_or_else(|| args.json.with_file_name("index.html")),
        }
    }
}

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

/// `rolecheck validate`: loads and checks; returns how many scenarios are fine.
pub fn validate(args: &PathArgs) -> Result<Vec<Scenario>, AppError> {
    Ok(load_paths(&args.paths)?)
}

/// `rolecheck list`: one line per scenario with its rules, the capabilities it needs (those
/// its rules and steps imply and those it requires, see [`crate::plan::needs`]) and its file.
pub fn list(args: &PathArgs) -> Result<String, AppError> {
    let scenarios = load_paths(&args.paths)?;
    let rows: Vec<[String; 4]> = scenarios
        .iter()
        .map(|s| {
            let rules: Vec<String> = s.rules.iter().map(ToString::to_string).collect();
            let needs: Vec<&str> = crate::plan::needs(s).iter().map(|c| c.name()).collect();
            [
                s.name.clone(),
                rules.join(","),
                needs.join(","),
                s.location.file.display().to_string(),
            ]
        })
        .collect();
    let width = |i: usize| rows.iter().map(|r| r[i].len()).max().unwrap_or(0);
    let (name, rules, needs) = (width(0), width(1), width(2));
    let mut out = String::new();
    for [n, r, c, file] in &rows {
        out.push_str(&format!("{n:name$}  {r:rules$}  {c:needs$}  {file}\n"));
    }
    Ok(out)
}

/// `rolecheck coverage`: which scenarios check each rule, and whether they run on the target.
pub fn coverage(args: &CoverageArgs) -> Result<Coverage, AppError> {
    let scenarios = load_paths(&args.paths)?;
    let capabilities = capabilities_of(&args.target)?;
    Ok(Coverage::compute(&scenarios, &args.target, &capabilities))
}

/// The capabilities of a known target (its profile), without starting it.
pub fn capabilities_of(target: &str) -> Result<BTreeSet<Capability>, AppError> {
    let profile = Profile::named(target).map_err(TargetError::from)?;
    Ok(profile.capabilities)
}

/// `rolecheck targets`: every built-in target with its description and capabilities.
pub fn targets() -> Result<String, AppError> {
    let profiles = Profile::built_in().map_err(TargetError::from)?;
    let width = profiles.iter().map(|p| p.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for p in &profiles {
        let caps: Vec<&str> = p.capabilities.iter().map(|c| c.name()).collect();
        let real = if p.aws.is_real_aws() {
            " [real AWS: needs --allow-real-aws]"
        } else {
            ""
        };
        out.push_str(&format!(
            "{:width$}  {}{real}
",
            p.name, p.description
        ));
        out.push_str(&format!(
            "{:width$}  capabilities: {}
",
            "",
            caps.join(", ")
        ));
        let lacks: Vec<&str> = Capability::ALL
            .iter()
            .filter(|c| !p.capabilities.contains(c))
            .map(|c| c.name())
            .collect();
        if !lacks.is_empty() {
            out.push_str(&format!(
                "{:width$}  lacks:        {}\n",
                "",
                lacks.join(", ")
            ));
        }
    }
    Ok(out)
}

/// The profile a command names: `--profile PATH`, else the target's.
pub fn profile_for(target: &str, access: &TargetArgs) -> Result<Profile, AppError> {
    let profile = match &access.profile {
        Some(path) => Profile::load(path),
        None => Profile::named(target),
    };
    Ok(profile.map_err(TargetError::from)?)
}

/// Whether real AWS is allowed by the flag or `ROLECHECK_ALLOW_REAL_AWS`.
pub fn real_aws_allowed(flag: bool) -> bool {
    interlock::allowed(flag, std::env::var(interlock::ALLOW_ENV).ok().as_deref())
}

/// `rolecheck doctor`: the preflight of a target, without creating anything.
pub async fn doctor(args: &DoctorArgs) -> Result<crate::doctor::Report, AppError> {
    let profile = profile_for(&args.target, &args.access)?;
    let options = StartOptions {
        allow_real_aws: real_aws_allowed(args.access.allow_real_aws),
        ..StartOptions::default()
    };
    Ok(target::assemble::preflight(&profile, &options).await?)
}

/// `rolecheck gc`: removes leftovers of killed runs from a running target.
pub async fn gc(args: &GcArgs) -> Result<GcReport, AppError> {
    let profile = profile_for(&args.target, &args.access)?;
    let options = GcOptions {
        older_than: args.older_than,
        allow_real_aws: real_aws_allowed(args.access.allow_real_aws),
        timeout: args.timeout,
        include_untagged: args.include_untagged,
    };
    Ok(target::gc::gc(&profile, &options).await?)
}

/// `rolecheck report merge`: joins JSON reports and writes the merged JUnit, JSON and HTML
/// reports into the output directory.
pub fn merge_reports(args: &MergeArgs) -> Result<RunReport, AppError> {
    let reports = args
        .inputs
        .iter()
        .map(|path| read_json(path).map(|report| (path.clone(), report)))
        .collect::<Result<Vec<_>, _>>()?;
    let merged = merge(reports)?;
    let paths = MergedPaths::in_dir(&args.out_dir);
    write_reports(
        &merged,
        &ReportPaths {
            junit: paths.junit,
            junit_level: args.junit_level,
            json: paths.json,
            html: paths.html,
        },
    )?;
    Ok(merged)
}

/// The nightly run `args` describe, with reports at their paths (HTML next to the JSON).
pub async fn run(args: &RunArgs, reporter: ConsoleReporter) -> Result<RunReport, AppError> {
    let scenarios = load_paths(&args.paths)?;
    let spec = RunSpec::from_args(args)?;
    let paths = ReportPaths::for_run(args, &OutputArgs::default());
    preflight(&spec)?;
    let _lock = paths.lock()?;
    let signals = Signals::watch();
    let report = execute(&spec, scenarios, reporter, &signals.token, &signals.ledger).await?;
    write_reports(&report, &paths)?;
    Ok(report)
}

/// `rolecheck run`: suite, re-runs of a previous run's failures, shards, then reports.
/// `signals` stop it (and hold what it created).
pub async fn run_command(
    command: &RunCommand,
    reporter: ConsoleReporter,
    signals: &Signals,
) -> Result<RunResult, AppError> {
    let args = &command.args;
    let scenarios = load_paths(&args.paths)?;
    let mut spec = RunSpec::from_args(args)?;
    spec.profile = command.access.profile.clone();
    spec.allow_real_aws = real_aws_allowed(command.access.allow_real_aws);
    spec.partition = command.suite.partition;
    spec.repeat_failed = match (command.suite.suite, command.suite.repeat) {
        (Suite::Qualify, times) => Some(times.unwrap_or(DEFAULT_REPEAT)),
        (Suite::Nightly, Some(_)) => {
            return Err(AppError::Usage(
                "--repeat only applies to --suite qualify".to_owned(),
            ));
        }
        (Suite::Nightly, None) => None,
    };
    if let Some(path) = &command.suite.rerun_failed {
        let previous = read_json(path)?;
        let failed = suite::failed_names(&previous);
        if failed.is_empty() {
            return Ok(RunResult::NothingToRerun {
                why: format!("no scenario failed in {}", path.display()),
            });
        }
        let known: BTreeSet<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
        let (present, gone): (BTreeSet<String>, BTreeSet<String>) = failed
            .into_iter()
            .partition(|name| known.contains(name.as_str()));
        for name in &gone {
            tracing::warn!(scenario = %name, "failed before, but no longer in the suite");
        }
        if present.is_empty() {
            return Ok(RunResult::NothingToRerun {
                why: format!(
                    "the scenarios that failed in {} are no longer in the suite: {}",
                    path.display(),
                    gone.into_iter().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        spec.only = Some(present);
    }
    let paths = ReportPaths::for_run(args, &command.output);
    preflight(&spec)?;
    let _lock = paths.lock()?;
    let report = execute(&spec, scenarios, reporter, &signals.token, &signals.ledger).await?;
    write_reports(&report, &paths)?;
    Ok(RunResult::Ran(Box::new(report)))
}

/// What is checked before a run takes the lock on its reports directory: the profile parses
/// and the real-AWS interlock lets it start (a refused run never touches the lock).
fn preflight(spec: &RunSpec) -> Result<(), AppError> {
    let access = TargetArgs {
        profile: spec.profile.clone(),
        allow_real_aws: spec.allow_real_aws,
        ..TargetArgs::default()
    };
    let profile = profile_for(&spec.target, &access)?;
    interlock::check(&profile, spec.allow_real_aws)?;
    Ok(())
}

/// Writes the JUnit, JSON and HTML reports.
pub fn write_reports(report: &RunReport, paths: &ReportPaths) -> Result<(), AppError> {
    write_junit(report, paths.junit_level, &paths.junit)?;
    write_json(report, &paths.json)?;
    write_html(report, &paths.html)?;
    Ok(())
}

/// Runs a spec: brings the target up, plans, runs (and re-runs failures when the spec says
/// so), sweeps, tears down, and shows it all on `reporter`. Writes no report file. `cancel`
/// stops it (the run is then reported as interrupted); what it creates is recorded in
/// `ledger` until removed.
pub async fn execute(
    spec: &RunSpec,
    scenarios: Vec<Scenario>,
    reporter: ConsoleReporter,
    cancel: &CancellationToken,
    ledger: &Ledger,
) -> Result<RunReport, AppError> {
    let run_id = new_run_id();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let started = Instant::now();

    tracing::info!(name = %spec.target, %run_id, "starting the target");
    let target = start_target(spec, &run_id, ledger).await?;
    let target_name = target.name.clone();
    let mut planned = spec.select(plan::plan(
        scenarios,
        &spec.filters,
        &target.name,
        &target.capabilities,
    ));
    plan::explain_skips(&mut planned, &target);
    let rerun_pool = spec.repeat_failed.map(|_| planned.clone());

    let (events, receiver) = tokio::sync::mpsc::unbounded_channel();
    let console = reporter.spawn(receiver);
    let _ = events.send(Event::RunStarted {
        run_id: run_id.clone(),
        target: target.name.clone(),
        total: planned.len(),
    });
    let options = RunOptions {
        jobs: spec
            .jobs
            .or(target.jobs)
            .unwrap_or_else(|| RunOptions::default().jobs),
        step_timeout: spec
            .step_timeout
            .or(target.step_timeout)
            .unwrap_or_else(|| RunOptions::default().step_timeout),
        cleanup_timeout: spec
            .cleanup_timeout
            .or(target.cleanup_timeout)
            .unwrap_or_else(|| RunOptions::default().cleanup_timeout),
    };
    let mut results =
        runner::run(&target, planned, &run_id, &options, &events, cancel, ledger).await;
    let mut leftovers = cleanup::sweep(&target, &run_id, options.cleanup_timeout).await;
    let mut reruns = Vec::new();
    if let (Some(times), Some(pool)) = (spec.repeat_failed, rerun_pool) {
        let again = Rerunner {
            target: &target,
            options: &options,
            events: &events,
            cancel,
            ledger,
        };
        let (done, left) = again.run(&mut results, pool, times).await;
        reruns = done;
        leftovers.extend(left);
    }
    leftovers.extend(target.teardown().await);

    let report = RunReport {
        run_id,
        target: target_name,
        started_at,
        duration: started.elapsed(),
        rules: rule_verdicts(&results),
        scenarios: results,
        leftovers,
        reruns,
        interrupted: cancel.is_cancelled(),
    };
    let _ = events.send(Event::RunFinished(report.clone()));
    drop(events);
    if let Ok(Err(err)) = console.await {
        tracing::warn!(%err, "console output failed");
    }
    Ok(report)
}

/// Re-runs the failed scenarios of a run on the same target (`--suite qualify`).
struct Rerunner<'a> {
    target: &'a Target,
    options: &'a RunOptions,
    events: &'a UnboundedSender<Event>,
    cancel: &'a CancellationToken,
    ledger: &'a Ledger,
}

impl Rerunner<'_> {
    /// Re-runs every failed scenario of `results` `times` times (each round under a run id of
    /// its own, swept afterwards), records each one's [`Rerun`] and prefixes its failure
    /// message with the verdict. Returns the re-runs and what the sweeps could not remove.
    async fn run(
        &self,
        results: &mut [ScenarioResult],
        pool: Vec<Planned>,
        times: NonZeroU32,
    ) -> (Vec<Rerun>, Vec<String>) {
        let failed: BTreeSet<&str> = results
            .iter()
            .filter(|r| r.outcome.is_bad())
            .map(|r| r.name.as_str())
            .collect();
        let again: Vec<Planned> = pool
            .into_iter()
            .filter(|p| failed.contains(p.scenario.name.as_str()))
            .collect();
        let mut outcomes: BTreeMap<String, Vec<Outcome>> = BTreeMap::new();
        let mut leftovers = Vec::new();
        if again.is_empty() {
            return (Vec::new(), leftovers);
        }
        // Re-run results are shown as `Rerun` events, not as scenarios of the run.
        let (quiet, closed) = tokio::sync::mpsc::unbounded_channel();
        drop(closed);
        for attempt in 1..=times.get() {
            if self.cancel.is_cancelled() {
                break;
            }
            let run_id = new_run_id();
            let round = runner::run(
                self.target,
                again.clone(),
                &run_id,
                self.options,
                &quiet,
                self.cancel,
                self.ledger,
            )
            .await;
            leftovers
                .extend(cleanup::sweep(self.target, &run_id, self.options.cleanup_timeout).await);
            if self.cancel.is_cancelled() {
                break;
            }
            for result in round {
                let _ = self.events.send(Event::Rerun {
                    scenario: result.name.clone(),
                    attempt,
                    of: times.get(),
                    outcome: result.outcome.clone(),
                });
                outcomes
                    .entry(result.name)
                    .or_default()
                    .push(result.outcome);
            }
        }
        let mut reruns = Vec::new();
        for result in results.iter_mut() {
            let Some(list) = outcomes.remove(&result.name) else {
                continue;
            };
            let rerun = Rerun {
                scenario: result.name.clone(),
                stability: Stability::of(&list),
                outcomes: list,
            };
            if let Outcome::Failed { message, .. } | Outcome::Error { message } =
                &mut result.outcome
            {
                *message = format!("{}: {message}", rerun.summary());
            }
            reruns.push(rerun);
        }
        (reruns, leftovers)
    }
}

/// The exit code of a run stopped by SIGINT or SIGTERM (128 + SIGINT's number, as shells
/// report it), whatever its scenarios showed: an interrupted run never passes.
pub const EXIT_INTERRUPTED: u8 = 130;

/// The exit code a finished run deserves: 0 all passed (or skipped), 1 a scenario failed,
/// 2 only infrastructure errors (or objects left behind), 130 interrupted.
pub fn exit_code(report: &RunReport) -> u8 {
    if report.interrupted {
        return EXIT_INTERRUPTED;
    }
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

async fn start_target(spec: &RunSpec, run_id: &str, ledger: &Ledger) -> Result<Target, AppError> {
    let access = TargetArgs {
        profile: spec.profile.clone(),
        allow_real_aws: spec.allow_real_aws,
        ..TargetArgs::default()
    };
    let profile = profile_for(&spec.target, &access)?;
    let options = StartOptions {
        faults: spec.faults.clone(),
        allow_real_aws: spec.allow_real_aws,
        ledger: ledger.clone(),
    };
    Ok(target::assemble::start(&profile, &options, run_id).await?)
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
pub(crate) fn new_run_id() -> String {
    use rand::Rng as _;
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..8)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

//! `rolecheck selfcheck`: proof by fault injection that the suite notices breakage.
//!
//! The suite runs once against the healthy sim (everything must pass), then once per fault
//! switch of the sim, each through the same flow as `rolecheck run` ([`session::execute`]) and
//! without report files. A fault is **detected** when the rule it breaks ([`Fault::rule`])
//! failed: a step checking that rule failed in some scenario.
//!
//! Precision: the other rules a fault's run failed are its **collateral** (rules whose
//! promise still holds but whose verdict went red, or genuine consequences such as R5 after
//! R4, which the report links to their cause). The table shows them per fault and in total.
//! The fault-to-rule mapping is only read here, to judge the suite, never to decide a
//! verdict of a run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt as _;
use rolecheck_sim::{Fault, FaultSet};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::exit::AppError;
use crate::ledger::Ledger;
use crate::plan::Filter;
use crate::report::ReportError;
use crate::report::console::{ConsoleOptions, ConsoleReporter};
use crate::report::model::{Outcome, RunReport, ScenarioResult};
use crate::scenario::Scenario;
use crate::session;
use crate::settings::{LimitOverrides, RunSettings, Selection, resolve_limits};
use crate::target::TargetError;
use crate::target::profile::Profile;

/// How a self-check runs.
#[derive(Debug, Clone)]
pub struct SelfcheckOptions {
    /// The fault switches to check, in order (usually [`Fault::ALL`]).
    pub faults: Vec<Fault>,
    /// Selection by name or rule, as for `rolecheck run`.
    pub filters: Vec<Filter>,
    /// How many scenarios of one run run at once.
    pub jobs: usize,
    /// How many runs (healthy and faulty sims) go on at once.
    pub runs_at_once: usize,
    /// A step's time budget when the scenario names none.
    pub step_timeout: Duration,
}

impl Default for SelfcheckOptions {
    fn default() -> Self {
        Self {
            faults: Fault::ALL.to_vec(),
            filters: Vec::new(),
            jobs: std::thread::available_parallelism().map_or(4, |n| n.get().max(4)),
            runs_at_once: 2,
            step_timeout: Duration::from_secs(10),
        }
    }
}

/// The run against the healthy sim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthyRun {
    /// Its run id.
    pub run_id: String,
    /// How many scenarios it reported (skipped included).
    pub scenarios: usize,
    /// Scenarios that failed or errored (must be none).
    pub bad: Vec<String>,
    /// Objects it could not remove (must be none).
    pub leftovers: Vec<String>,
}

impl HealthyRun {
    /// Whether everything passed or was skipped, and nothing was left behind.
    pub fn clean(&self) -> bool {
        self.bad.is_empty() && self.leftovers.is_empty()
    }
}

/// What one fault switch's run showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultCheck {
    /// The switch (`webhook-disabled`).
    pub fault: String,
    /// The rule it breaks (`R5`).
    pub rule: String,
    /// What it breaks, in one line.
    pub description: String,
    /// Its run id.
    pub run_id: String,
    /// Whether the rule's verdict is a failure (a step checking it failed).
    pub detected: bool,
    /// Scenarios in which the rule failed.
    pub detected_by: Vec<String>,
    /// Scenarios tagging the rule that ran (not skipped).
    pub checked_by: Vec<String>,
    /// Other rules whose verdict is a failure in this run, in rule order.
    pub collateral: Vec<String>,
    /// Scenarios that failed another rule than the fault's.
    pub over_broad: Vec<String>,
    /// Scenarios that errored (the harness or target broke, no verdict).
    pub errors: Vec<String>,
    /// Objects the run could not remove.
    pub leftovers: Vec<String>,
}

impl FaultCheck {
    /// Judges the run of `fault`.
    pub fn judge(fault: Fault, report: &RunReport) -> Self {
        let rule = fault.rule();
        let tags = |s: &&ScenarioResult| s.rules.iter().any(|r| r == rule);
        let failed_rule =
            |s: &ScenarioResult, r: &str| matches!(s.rule_outcome(r), Some(Outcome::Failed { .. }));
        let names = |it: &mut dyn Iterator<Item = &ScenarioResult>| {
            it.map(|s| s.name.clone()).collect::<Vec<String>>()
        };
        let detected_by = names(&mut report.scenarios.iter().filter(|s| failed_rule(s, rule)));
        let rule_failed = report
            .rules
            .iter()
            .any(|v| v.id == rule && matches!(v.outcome, Outcome::Failed { .. }));
        let collateral = report
            .rules
            .iter()
            .filter(|v| v.id != rule && matches!(v.outcome, Outcome::Failed { .. }))
            .map(|v| v.id.clone())
            .collect();
        let over_broad = names(&mut report.scenarios.iter().filter(|s| {
            s.rules
                .iter()
                .any(|r| r.as_str() != rule && failed_rule(s, r))
        }));
        Self {
            fault: fault.name().to_owned(),
            rule: rule.to_owned(),
            description: fault.description().to_owned(),
            run_id: report.run_id.clone(),
            detected: rule_failed && !detected_by.is_empty(),
            checked_by: names(
                &mut report
                    .scenarios
                    .iter()
                    .filter(tags)
                    .filter(|s| !matches!(s.outcome, Outcome::Skipped { .. })),
            ),
            collateral,
            over_broad,
            errors: names(
                &mut report
                    .scenarios
                    .iter()
                    .filter(|s| matches!(s.outcome, Outcome::Error { .. })),
            ),
            detected_by,
            leftovers: report.leftovers.clone(),
        }
    }
}

/// Everything a self-check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelfcheckReport {
    /// The healthy run.
    pub healthy: HealthyRun,
    /// One entry per fault switch checked, in the order asked.
    pub faults: Vec<FaultCheck>,
}

impl SelfcheckReport {
    /// Whether the healthy sim passed and every fault was detected.
    pub fn passed(&self) -> bool {
        self.healthy.clean() && self.faults.iter().all(|f| f.detected)
    }

    /// The faults no scenario noticed.
    pub fn undetected(&self) -> Vec<&FaultCheck> {
        self.faults.iter().filter(|f| !f.detected).collect()
    }

    /// Collateral over all faults: the number of rules failed besides each fault's own.
    pub fn total_collateral(&self) -> usize {
        self.faults.iter().map(|f| f.collateral.len()).sum()
    }

    /// The table: one row per fault with its rule, whether and by which scenarios it was
    /// detected, and over-broad failures; then a summary.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let h = &self.healthy;
        if h.clean() {
            out.push_str(&format!(
                "healthy sim: {} scenario(s), none failed (run {})\n\n",
                h.scenarios, h.run_id
            ));
        } else {
            out.push_str(&format!(
                "healthy sim: FAILED (run {}): {}{}\n\n",
                h.run_id,
                h.bad.join(", "),
                if h.leftovers.is_empty() {
                    String::new()
                } else {
                    format!("; left behind: {}", h.leftovers.join(", "))
                }
            ));
        }
        let fw = self
            .faults
            .iter()
            .map(|f| f.fault.len())
            .max()
            .unwrap_or(0)
            .max("FAULT".len());
        out.push_str(&format!(
            "{:<fw$}  {:<4}  {:<8}  {:<10}  {}\n",
            "FAULT", "RULE", "DETECTED", "COLLATERAL", "BY / NOTES"
        ));
        for f in &self.faults {
            let mut notes = Vec::new();
            if f.detected {
                notes.push(f.detected_by.join(", "));
            } else if f.checked_by.is_empty() {
                notes.push(format!("no scenario checking {} ran", f.rule));
            } else {
                notes.push(format!("{} ran and passed", f.checked_by.join(", ")));
            }
            if !f.collateral.is_empty() {
                notes.push(format!(
                    "also failed: {} (in {})",
                    f.collateral.join(", "),
                    f.over_broad.join(", ")
                ));
            }
            if !f.errors.is_empty() {
                notes.push(format!("errors: {}", f.errors.join(", ")));
            }
            if !f.leftovers.is_empty() {
                notes.push(format!("left behind: {}", f.leftovers.join(", ")));
            }
            let detected = if f.detected { "yes" } else { "NO" };
            out.push_str(&format!(
                "{:<fw$}  {:<4}  {:<8}  {:<10}  {}\n",
                f.fault,
                f.rule,
                detected,
                f.collateral.len(),
                notes.join("; ")
            ));
        }
        out.push_str(&format!(
            "\ncollateral: {} rule verdict(s) failed besides the faults' own rules, over {} fault(s)\n",
            self.total_collateral(),
            self.faults.len()
        ));
        let undetected: Vec<&str> = self.undetected().iter().map(|f| f.fault.as_str()).collect();
        out.push_str(&format!(
            "\n{} fault(s): {} detected, {} undetected{}\n",
            self.faults.len(),
            self.faults.len() - undetected.len(),
            undetected.len(),
            if undetected.is_empty() {
                String::new()
            } else {
                format!(" ({})", undetected.join(", "))
            }
        ));
        out.push_str(if self.passed() {
            "self-check passed\n"
        } else {
            "self-check FAILED\n"
        });
        out
    }
}

/// Runs the self-check over `scenarios`: the healthy sim, then each fault of `options`.
/// Writes one line per finished run to `progress`. Stops early (with an error) when
/// `cancel` fires.
pub async fn selfcheck(
    scenarios: Vec<Scenario>,
    options: &SelfcheckOptions,
    progress: &mut dyn Write,
    cancel: &CancellationToken,
) -> Result<SelfcheckReport, AppError> {
    let profile = Profile::named("sim").map_err(TargetError::from)?;
    let limits = resolve_limits(
        LimitOverrides {
            jobs: Some(options.jobs.max(1)),
            step_timeout: Some(options.step_timeout),
            cleanup_timeout: None,
        },
        &profile,
    );
    let settings = |faults: FaultSet| RunSettings {
        profile: profile.clone(),
        faults,
        allow_real_aws: false,
        limits: limits.clone(),
        selection: Selection {
            filters: options.filters.clone(),
            ..Selection::default()
        },
    };
    let runs: Vec<Option<Fault>> = std::iter::once(None)
        .chain(options.faults.iter().copied().map(Some))
        .collect();
    let mut done = futures::stream::iter(runs.into_iter().enumerate())
        .map(|(i, fault)| {
            let settings = settings(fault.map_or_else(FaultSet::none, FaultSet::only));
            let scenarios = scenarios.clone();
            async move {
                if cancel.is_cancelled() {
                    return (i, fault, None);
                }
                let quiet =
                    ConsoleReporter::new(Box::new(std::io::sink()), ConsoleOptions::plain());
                let report =
                    session::execute(&settings, scenarios, quiet, cancel, &Ledger::new()).await;
                (i, fault, Some(report))
            }
        })
        .buffer_unordered(options.runs_at_once.max(1));

    let mut healthy = None;
    let mut faults: Vec<(usize, FaultCheck)> = Vec::new();
    while let Some((i, fault, report)) = done.next().await {
        // After Ctrl-C, let the runs in flight clean up, and start no new one.
        let Some(report) = report.filter(|_| !cancel.is_cancelled()) else {
            continue;
        };
        let report = report?;
        match fault {
            None => {
                let run = HealthyRun {
                    run_id: report.run_id.clone(),
                    scenarios: report.scenarios.len(),
                    bad: report
                        .scenarios
                        .iter()
                        .filter(|s| s.outcome.is_bad())
                        .map(|s| s.name.clone())
                        .collect(),
                    leftovers: report.leftovers.clone(),
                };
                let verdict = if run.clean() { "clean" } else { "FAILED" };
                let _ = writeln!(progress, "healthy sim: {verdict}");
                healthy = Some(run);
            }
            Some(fault) => {
                let check = FaultCheck::judge(fault, &report);
                let verdict = if check.detected {
                    format!("detected by {}", check.detected_by.join(", "))
                } else {
                    "NOT DETECTED".to_owned()
                };
                let _ = writeln!(progress, "fault {fault} ({}): {verdict}", fault.rule());
                faults.push((i, check));
            }
        }
    }
    if cancel.is_cancelled() {
        return Err(AppError::Usage("self-check interrupted".to_owned()));
    }
    faults.sort_by_key(|(i, _)| *i);
    let healthy =
        healthy.ok_or_else(|| AppError::Usage("the healthy run did not finish".to_owned()))?;
    Ok(SelfcheckReport {
        healthy,
        faults: faults.into_iter().map(|(_, f)| f).collect(),
    })
}

/// Writes the self-check as pretty JSON to `path`, creating its parent directories.
pub fn write_selfcheck_json(report: &SelfcheckReport, path: &Path) -> Result<(), ReportError> {
    let mut json =
        serde_json::to_vec_pretty(report).map_err(|source| ReportError::Serialize { source })?;
    json.push(b'\n');
    crate::report::error::create_parent(path)?;
    std::fs::write(path, json).map_err(|source| ReportError::Write {
        path: PathBuf::from(path),
        source,
    })
}

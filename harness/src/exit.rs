//! How a command ended and the exit code that deserves, decided in this one place (as
//! nextest does): the binary only calls [`exit_status`].
//!
//! The codes, as the README documents them: `0` everything passed (or was skipped with a
//! reason), `1` a check failed (a scenario, a rule without a scenario, a self-check), `2` a
//! usage error, a broken scenario file, an unreachable target or an infrastructure error
//! (objects left behind included), `130` interrupted by SIGINT or SIGTERM.

use crate::report::lock::LockError;
use crate::report::merge::MergeError;
use crate::report::model::{Outcome, RunReport};
use crate::scenario::LoadErrors;
use crate::target::TargetError;

/// Why a command could not do its job: a usage or infrastructure error (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The command line was refused (clap has already shown why).
    #[error("bad command line")]
    CommandLine,
    /// Scenario files are broken (each problem shown with the lines around it).
    #[error("{0:#}")]
    Scenarios(#[from] LoadErrors),
    /// Bad command-line input.
    #[error("{0}")]
    Usage(String),
    /// A target profile is broken: shown as scenario load errors are, `file:line:column:
    /// message` first (for tools), then the lines around it with a caret.
    #[error("{0}")]
    Profile(crate::target::profile::ProfileError),
    /// The target could not be brought up or reached.
    #[error("target: {0}")]
    Target(TargetError),
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

impl From<TargetError> for AppError {
    /// A broken profile keeps its own position first; every other target error is prefixed.
    fn from(err: TargetError) -> Self {
        match err {
            TargetError::Profile(err) => Self::Profile(err),
            err => Self::Target(err),
        }
    }
}

/// What a command finished with, as far as its exit code goes.
#[derive(Debug, Clone)]
pub enum Finished {
    /// It did its job and judged nothing (`validate`, `list`, `schema`, `merge`, ...).
    Done,
    /// A run finished (its outcomes decide).
    Run(Box<RunReport>),
    /// `--rerun-failed` found nothing to run again.
    NothingToRerun,
    /// A second signal stopped a run's clean-up (no reports were written).
    Abandoned,
    /// `coverage`: whether every rule has a scenario.
    Coverage {
        /// No rule lacks a scenario.
        complete: bool,
    },
    /// `selfcheck`: whether the healthy sim passed and every fault was detected.
    Selfcheck {
        /// It passed.
        passed: bool,
    },
    /// `doctor`: whether every check held.
    Doctor {
        /// All held.
        passed: bool,
    },
    /// `gc`: whether everything found could be removed.
    Gc {
        /// Nothing failed to be removed.
        clean: bool,
    },
}

/// The exit statuses of `rolecheck`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// `0`: everything passed (or was skipped with a reason).
    Success,
    /// `1`: a check failed.
    Failed,
    /// `2`: a usage or infrastructure error.
    Error,
    /// `130` (128 + SIGINT's number, as shells report it): stopped by SIGINT or SIGTERM.
    Interrupted,
}

impl ExitStatus {
    /// The process exit code.
    pub const fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failed => 1,
            ExitStatus::Error => 2,
            ExitStatus::Interrupted => 130,
        }
    }

    /// The status a finished run deserves: interrupted whatever its scenarios showed (an
    /// interrupted run never passes), else failed when a scenario failed, else an error when
    /// one only errored or objects were left behind, else success.
    pub fn of_run(report: &RunReport) -> Self {
        if report.interrupted {
            return ExitStatus::Interrupted;
        }
        let any = |bad: fn(&Outcome) -> bool| report.scenarios.iter().any(|s| bad(&s.outcome));
        if any(|o| matches!(o, Outcome::Failed { .. })) {
            ExitStatus::Failed
        } else if any(|o| matches!(o, Outcome::Error { .. })) || !report.leftovers.is_empty() {
            ExitStatus::Error
        } else {
            ExitStatus::Success
        }
    }
}

/// The one mapping from how a command ended to its exit status.
pub fn exit_status(ended: &Result<Finished, AppError>) -> ExitStatus {
    let judged = |ok: bool, otherwise: ExitStatus| {
        if ok { ExitStatus::Success } else { otherwise }
    };
    match ended {
        Err(_) => ExitStatus::Error,
        Ok(Finished::Done | Finished::NothingToRerun) => ExitStatus::Success,
        Ok(Finished::Run(report)) => ExitStatus::of_run(report),
        Ok(Finished::Abandoned) => ExitStatus::Interrupted,
        Ok(Finished::Coverage { complete }) => judged(*complete, ExitStatus::Failed),
        Ok(Finished::Selfcheck { passed }) => judged(*passed, ExitStatus::Failed),
        Ok(Finished::Doctor { passed }) => judged(*passed, ExitStatus::Error),
        Ok(Finished::Gc { clean }) => judged(*clean, ExitStatus::Error),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rstest::rstest;

    use super::*;

    fn report(outcomes: &[Outcome], leftovers: &[&str], interrupted: bool) -> RunReport {
        let scenario = |(i, outcome): (usize, &Outcome)| crate::report::model::ScenarioResult {
            name: format!("s{i}"),
            file: std::path::PathBuf::from(format!("s{i}.yaml")),
            rules: Vec::new(),
            tags: Vec::new(),
            release: format!("r{i}"),
            outcome: outcome.clone(),
            duration: Duration::ZERO,
            steps: Vec::new(),
            rule_outcomes: Vec::new(),
            started_at: None,
            evidence: Vec::new(),
        };
        RunReport {
            run_id: "abc12345".to_owned(),
            target: "sim".to_owned(),
            started_at: "2026-01-01T00:00:00Z".to_owned(),
            duration: Duration::ZERO,
            rules: Vec::new(),
            scenarios: outcomes.iter().enumerate().map(scenario).collect(),
            leftovers: leftovers.iter().map(|s| (*s).to_owned()).collect(),
            reruns: Vec::new(),
            interrupted,
        }
    }

    fn failed() -> Outcome {
        Outcome::Failed {
            message: "m".to_owned(),
            expected: "e".to_owned(),
            actual: "a".to_owned(),
        }
    }

    fn error() -> Outcome {
        Outcome::Error {
            message: "m".to_owned(),
        }
    }

    fn skipped() -> Outcome {
        Outcome::Skipped {
            reason: "r".to_owned(),
        }
    }

    fn run(outcomes: &[Outcome], leftovers: &[&str], interrupted: bool) -> Finished {
        Finished::Run(Box::new(report(outcomes, leftovers, interrupted)))
    }

    #[rstest]
    #[case::all_passed(Ok(run(&[Outcome::Passed, skipped()], &[], false)), 0)]
    #[case::nothing_selected(Ok(run(&[], &[], false)), 0)]
    #[case::a_scenario_failed(Ok(run(&[Outcome::Passed, failed(), error()], &[], false)), 1)]
    #[case::a_failure_beats_leftovers(Ok(run(&[failed()], &["ns/x"], false)), 1)]
    #[case::only_errors(Ok(run(&[Outcome::Passed, error()], &[], false)), 2)]
    #[case::left_behind(Ok(run(&[Outcome::Passed], &["namespace x"], false)), 2)]
    #[case::interrupted_beats_all(Ok(run(&[failed()], &["ns/x"], true)), 130)]
    #[case::interrupted_green(Ok(run(&[Outcome::Passed], &[], true)), 130)]
    #[case::abandoned(Ok(Finished::Abandoned), 130)]
    #[case::nothing_to_rerun(Ok(Finished::NothingToRerun), 0)]
    #[case::done(Ok(Finished::Done), 0)]
    #[case::coverage_complete(Ok(Finished::Coverage { complete: true }), 0)]
    #[case::rule_uncovered(Ok(Finished::Coverage { complete: false }), 1)]
    #[case::selfcheck_passed(Ok(Finished::Selfcheck { passed: true }), 0)]
    #[case::selfcheck_failed(Ok(Finished::Selfcheck { passed: false }), 1)]
    #[case::doctor_passed(Ok(Finished::Doctor { passed: true }), 0)]
    #[case::doctor_failed(Ok(Finished::Doctor { passed: false }), 2)]
    #[case::gc_clean(Ok(Finished::Gc { clean: true }), 0)]
    #[case::gc_left_some(Ok(Finished::Gc { clean: false }), 2)]
    #[case::usage_error(Err(AppError::Usage("bad".to_owned())), 2)]
    #[case::bad_command_line(Err(AppError::CommandLine), 2)]
    #[case::broken_profile(Err(AppError::from(TargetError::Profile(
        crate::target::profile::ProfileError::Unknown { name: "x".to_owned(), hint: String::new() }
    ))), 2)]
    fn every_ending_has_its_documented_exit_code(
        #[case] ended: Result<Finished, AppError>,
        #[case] code: u8,
    ) {
        assert_eq!(exit_status(&ended).code(), code);
    }
}

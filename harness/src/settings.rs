//! Resolved settings: what a command runs with, decided once at the edge (as ripgrep turns
//! its raw arguments into resolved settings before doing anything).
//!
//! The command line ([`crate::cli`]) parses the raw arguments; their conversion loads the
//! target's profile once, parses fault names once and applies every default once, producing
//! the values here. The library ([`crate::session`], [`crate::runner`], target assembly)
//! takes only these; it never sees a clap type nor looks a default up again.
//!
//! Precedence of a setting a profile may also give (`jobs`, `step_timeout`,
//! `cleanup_timeout`): the command line's value, else the profile's, else the default
//! ([`resolve_limits`]).

use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use rolecheck_sim::FaultSet;

use crate::plan::{Filter, Planned};
use crate::report::junit::JunitLevel;
use crate::report::lock::{LockError, ReportsLock};
use crate::runner::RunOptions;
use crate::suite::Partition;
use crate::target::profile::Profile;

/// How often `--suite qualify` re-runs a failed scenario when `--repeat` is not given.
pub const DEFAULT_REPEAT: NonZeroU32 = NonZeroU32::MIN.saturating_add(2);

/// A step's time budget when neither the scenario, the command line nor the profile names one.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// The time budget for removing one object when neither the command line nor the profile
/// names one.
pub const DEFAULT_CLEANUP_TIMEOUT: Duration = Duration::from_secs(60);

/// How many scenarios run at once when neither the command line nor the profile says: the
/// number of cores.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The limits of a run the command line may give and a profile may also set (`None`: not
/// given on the command line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitOverrides {
    /// `-j N`.
    pub jobs: Option<usize>,
    /// `--step-timeout`.
    pub step_timeout: Option<Duration>,
    /// `--cleanup-timeout`.
    pub cleanup_timeout: Option<Duration>,
}

/// The limits a run goes by, field by field: the command line's value, else the profile's,
/// else the default (no re-runs: those come from the suite, not the profile).
pub fn resolve_limits(given: LimitOverrides, profile: &Profile) -> RunOptions {
    RunOptions {
        jobs: given.jobs.or(profile.jobs).unwrap_or_else(default_jobs),
        step_timeout: given
            .step_timeout
            .or(profile.step_timeout)
            .unwrap_or(DEFAULT_STEP_TIMEOUT),
        cleanup_timeout: given
            .cleanup_timeout
            .or(profile.cleanup_timeout)
            .unwrap_or(DEFAULT_CLEANUP_TIMEOUT),
        retries: None,
    }
}

/// Which of the planned scenarios a run runs.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// By name or rule (any matching; all when empty).
    pub filters: Vec<Filter>,
    /// Only these scenario names (`--rerun-failed`), when set.
    pub only: Option<BTreeSet<String>>,
    /// Only this shard, when set.
    pub partition: Option<Partition>,
}

impl Selection {
    /// Narrows a plan to these names and this shard.
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

/// Everything one run goes by, resolved: the target's profile (loaded once), the faults,
/// the limits (re-runs included) and the selection.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// The target's profile (`--profile PATH`, else the named target's).
    pub profile: Profile,
    /// Fault switches of the embedded sim.
    pub faults: FaultSet,
    /// Whether real AWS is allowed (`--allow-real-aws` or `ROLECHECK_ALLOW_REAL_AWS=1`).
    pub allow_real_aws: bool,
    /// Parallelism, time budgets and re-runs of failed scenarios.
    pub limits: RunOptions,
    /// Which scenarios run.
    pub selection: Selection,
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
    /// The paths of a run's reports; the HTML report goes next to the JSON report
    /// (`index.html`) unless `html` names a path.
    pub fn new(
        junit: PathBuf,
        json: PathBuf,
        html: Option<PathBuf>,
        junit_level: JunitLevel,
    ) -> Self {
        let html = html.unwrap_or_else(|| json.with_file_name("index.html"));
        Self {
            junit,
            junit_level,
            json,
            html,
        }
    }

    /// Locks the directories of these reports for this run (see [`crate::report::lock`]).
    pub fn lock(&self) -> Result<ReportsLock, LockError> {
        ReportsLock::take([
            self.junit.as_path(),
            self.json.as_path(),
            self.html.as_path(),
        ])
    }
}

/// What `rolecheck run` does, resolved: the run, its scenario files, its reports, and the
/// previous report whose failures it runs again.
#[derive(Debug, Clone)]
pub struct RunCommandSettings {
    /// The run.
    pub run: RunSettings,
    /// Scenario files or directories.
    pub paths: Vec<PathBuf>,
    /// Where the reports go.
    pub reports: ReportPaths,
    /// `--rerun-failed`: run only what failed or errored in this JSON report.
    pub rerun_failed: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn secs(n: u64) -> Option<Duration> {
        Some(Duration::from_secs(n))
    }

    fn profile(
        jobs: Option<usize>,
        step_timeout: Option<Duration>,
        cleanup_timeout: Option<Duration>,
    ) -> Profile {
        let mut profile = Profile::named("sim").unwrap();
        profile.jobs = jobs;
        profile.step_timeout = step_timeout;
        profile.cleanup_timeout = cleanup_timeout;
        profile
    }

    /// Per field: the command line's value beats the profile's, which beats the default.
    #[rstest]
    #[case::all_defaults(
        LimitOverrides::default(),
        (None, None, None),
        (default_jobs(), DEFAULT_STEP_TIMEOUT, DEFAULT_CLEANUP_TIMEOUT)
    )]
    #[case::profile_beats_defaults(
        LimitOverrides::default(),
        (Some(8), secs(180), secs(300)),
        (8, Duration::from_secs(180), Duration::from_secs(300))
    )]
    #[case::command_line_beats_profile(
        LimitOverrides { jobs: Some(2), step_timeout: secs(5), cleanup_timeout: secs(7) },
        (Some(8), secs(180), secs(300)),
        (2, Duration::from_secs(5), Duration::from_secs(7))
    )]
    #[case::command_line_beats_default(
        LimitOverrides { jobs: Some(3), step_timeout: secs(9), cleanup_timeout: secs(11) },
        (None, None, None),
        (3, Duration::from_secs(9), Duration::from_secs(11))
    )]
    #[case::only_jobs_given(
        LimitOverrides { jobs: Some(1), ..LimitOverrides::default() },
        (Some(8), secs(180), None),
        (1, Duration::from_secs(180), DEFAULT_CLEANUP_TIMEOUT)
    )]
    #[case::only_step_timeout_given(
        LimitOverrides { step_timeout: secs(2), ..LimitOverrides::default() },
        (None, secs(180), secs(300)),
        (default_jobs(), Duration::from_secs(2), Duration::from_secs(300))
    )]
    #[case::only_cleanup_timeout_given(
        LimitOverrides { cleanup_timeout: secs(4), ..LimitOverrides::default() },
        (Some(8), None, secs(300)),
        (8, DEFAULT_STEP_TIMEOUT, Duration::from_secs(4))
    )]
    fn limits_come_from_the_command_line_else_the_profile_else_the_default(
        #[case] given: LimitOverrides,
        #[case] in_profile: (Option<usize>, Option<Duration>, Option<Duration>),
        #[case] expected: (usize, Duration, Duration),
    ) {
        let (jobs, step, cleanup) = in_profile;
        let limits = resolve_limits(given, &profile(jobs, step, cleanup));
        assert_eq!(
            (limits.jobs, limits.step_timeout, limits.cleanup_timeout),
            expected
        );
    }

    #[test]
    fn the_html_report_goes_next_to_the_json_unless_named() {
        let beside = ReportPaths::new(
            PathBuf::from("r/junit.xml"),
            PathBuf::from("out/results.json"),
            None,
            JunitLevel::Scenario,
        );
        assert_eq!(beside.html, PathBuf::from("out/index.html"));
        let named = ReportPaths::new(
            PathBuf::from("r/junit.xml"),
            PathBuf::from("out/results.json"),
            Some(PathBuf::from("x.html")),
            JunitLevel::Step,
        );
        assert_eq!(named.html, PathBuf::from("x.html"));
    }
}

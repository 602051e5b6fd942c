//! The commands: each subcommand's work, given its resolved settings ([`Invocation`], made
//! from the command line by [`crate::cli`]), printing its output and telling how it ended
//! ([`Finished`]) so that [`crate::exit`] picks the exit code. A run is
//! [`crate::session`]'s; these only call it.

use std::path::PathBuf;
use std::time::Duration;

use crate::drivers::timeouts::RequestTimeouts;
use crate::exit::{AppError, Finished};
use crate::report::console::ConsoleReporter;
use crate::report::coverage::Coverage;
use crate::report::json::read_json;
use crate::report::junit::JunitLevel;
use crate::report::merge::{MergedPaths, merge};
use crate::report::model::RunReport;
use crate::scenario::{Scenario, load_paths};
use crate::selfcheck::{self, SelfcheckOptions};
use crate::session::{self, RunResult, Watched};
use crate::settings::{ReportPaths, RunCommandSettings};
use crate::signals::Signals;
use crate::sim_serve::{self, ServeOptions};
use crate::target::gc::{GcOptions, GcReport};
use crate::target::profile::Profile;
use crate::target::{self, TargetError};
use crate::{render, schema};

/// A command with its settings resolved: what the binary dispatches.
#[derive(Debug)]
pub struct Invocation {
    /// How long any request to a target may wait for an answer, when the command line says.
    pub request_timeout: Option<Duration>,
    /// The command.
    pub command: Resolved,
}

/// Which files a JSON Schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaOf {
    /// Scenario files.
    Scenario,
    /// Target profiles.
    Profile,
}

/// Each subcommand with its resolved settings.
#[derive(Debug)]
pub enum Resolved {
    /// `rolecheck run`.
    Run(Box<RunCommandSettings>),
    /// `rolecheck validate`: these scenario paths.
    Validate(Vec<PathBuf>),
    /// `rolecheck list`: these scenario paths.
    List(Vec<PathBuf>),
    /// `rolecheck schema`.
    Schema(SchemaOf),
    /// `rolecheck coverage`.
    Coverage {
        /// The target's name, as given.
        target: String,
        /// The target's profile, whose capabilities decide what can run.
        profile: Box<Profile>,
        /// Scenario paths.
        paths: Vec<PathBuf>,
    },
    /// `rolecheck selfcheck`.
    Selfcheck {
        /// How it runs (faults parsed, defaults applied).
        options: SelfcheckOptions,
        /// Where its JSON report goes.
        json: PathBuf,
        /// Scenario paths.
        paths: Vec<PathBuf>,
    },
    /// `rolecheck report merge`.
    Merge {
        /// The JSON reports to merge.
        inputs: Vec<PathBuf>,
        /// Where the merged reports go.
        out_dir: PathBuf,
        /// How fine-grained the JUnit report is.
        junit_level: JunitLevel,
    },
    /// `rolecheck targets`.
    Targets,
    /// `rolecheck doctor`.
    Doctor {
        /// The target's profile.
        profile: Box<Profile>,
        /// Whether real AWS is allowed.
        allow_real_aws: bool,
    },
    /// `rolecheck gc`.
    Gc {
        /// The target's profile.
        profile: Box<Profile>,
        /// What to remove.
        options: GcOptions,
    },
    /// `rolecheck env up NAME`.
    EnvUp(String),
    /// `rolecheck env down NAME`.
    EnvDown(String),
    /// `rolecheck sim faults`.
    SimFaults,
    /// `rolecheck sim serve`.
    SimServe(Box<ServeOptions>),
}

/// Runs an invocation: installs its request timeout, does the command's work, prints its
/// output.
pub fn dispatch(invocation: Invocation) -> Result<Finished, AppError> {
    if let Some(read) = invocation.request_timeout {
        RequestTimeouts::with_read(read).install();
    }
    match invocation.command {
        Resolved::Run(settings) => run(&settings),
        Resolved::Validate(paths) => {
            let scenarios = validate(&paths)?;
            println!("{} scenario(s) are valid", scenarios.len());
            Ok(Finished::Done)
        }
        Resolved::List(paths) => {
            print!("{}", render::scenario_list(&load_paths(&paths)?));
            Ok(Finished::Done)
        }
        Resolved::Schema(of) => {
            let schema = match of {
                SchemaOf::Scenario => schema::scenario_schema(),
                SchemaOf::Profile => schema::profile_schema(),
            };
            print!("{}", schema::to_text(&schema));
            Ok(Finished::Done)
        }
        Resolved::Coverage {
            target,
            profile,
            paths,
        } => {
            let coverage = coverage(&target, &profile, &paths)?;
            print!("{}", coverage.render());
            Ok(Finished::Coverage {
                complete: coverage.uncovered().is_empty(),
            })
        }
        Resolved::Selfcheck {
            options,
            json,
            paths,
        } => runtime()?.block_on(run_selfcheck(&options, &json, &paths)),
        Resolved::Merge {
            inputs,
            out_dir,
            junit_level,
        } => {
            let merged = merge_reports(&inputs, &out_dir, junit_level)?;
            print!(
                "{}",
                render::merged(inputs.len(), &out_dir, merged.counts())
            );
            Ok(Finished::Done)
        }
        Resolved::Targets => {
            let profiles = Profile::built_in().map_err(TargetError::from)?;
            print!("{}", render::target_list(&profiles));
            Ok(Finished::Done)
        }
        Resolved::Doctor {
            profile,
            allow_real_aws,
        } => {
            let report = runtime()?.block_on(doctor(&profile, allow_real_aws))?;
            print!("{}", report.render());
            Ok(Finished::Doctor {
                passed: report.passed(),
            })
        }
        Resolved::Gc { profile, options } => {
            let report = runtime()?.block_on(gc(&profile, &options))?;
            print!("{}", report.render());
            Ok(Finished::Gc {
                clean: report.failed.is_empty(),
            })
        }
        Resolved::EnvUp(name) => {
            let done = runtime()?.block_on(target::env::up(&name))?;
            println!("{done}");
            Ok(Finished::Done)
        }
        Resolved::EnvDown(name) => {
            let done = runtime()?.block_on(target::env::down(&name))?;
            println!("{done}");
            Ok(Finished::Done)
        }
        Resolved::SimFaults => {
            print!("{}", sim_serve::fault_table());
            Ok(Finished::Done)
        }
        Resolved::SimServe(options) => {
            runtime()?
                .block_on(sim_serve::serve(*options))
                .map_err(|e| AppError::Usage(e.to_string()))?;
            Ok(Finished::Done)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, AppError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| AppError::Usage(format!("starting the async runtime: {e}")))
}

/// `rolecheck run`: the run with the console on stderr; when a second signal abandons its
/// clean-up, what it knows it left is printed (no report is written).
fn run(settings: &RunCommandSettings) -> Result<Finished, AppError> {
    let runtime = runtime()?;
    match runtime.block_on(session::run_watched(settings, ConsoleReporter::stderr()))? {
        Watched::Finished(RunResult::Ran(report)) => Ok(Finished::Run(report)),
        Watched::Finished(RunResult::NothingToRerun { why }) => {
            eprintln!("nothing to rerun: {why}");
            Ok(Finished::NothingToRerun)
        }
        Watched::Abandoned { left } => {
            eprint!("{}", render::abandoned(&left));
            // Whatever still hangs (a request, a child's exit) is not waited for.
            runtime.shutdown_background();
            Ok(Finished::Abandoned)
        }
    }
}

/// `rolecheck validate`: loads and checks; returns the scenarios that are fine.
pub fn validate(paths: &[PathBuf]) -> Result<Vec<Scenario>, AppError> {
    Ok(load_paths(paths)?)
}

/// `rolecheck coverage`: which scenarios check each rule, and whether they run on
/// `target` (its `profile`; nothing is started).
pub fn coverage(target: &str, profile: &Profile, paths: &[PathBuf]) -> Result<Coverage, AppError> {
    let scenarios = load_paths(paths)?;
    Ok(Coverage::compute(&scenarios, target, &profile.capabilities))
}

/// `rolecheck doctor`: the preflight of a target, without creating anything.
pub async fn doctor(
    profile: &Profile,
    allow_real_aws: bool,
) -> Result<crate::target::doctor::Report, AppError> {
    let options = target::assemble::StartOptions {
        allow_real_aws,
        ..Default::default()
    };
    Ok(target::assemble::preflight(profile, &options).await?)
}

/// `rolecheck gc`: removes leftovers of killed runs from a running target.
pub async fn gc(profile: &Profile, options: &GcOptions) -> Result<GcReport, AppError> {
    Ok(target::gc::gc(profile, options).await?)
}

/// `rolecheck report merge`: joins JSON reports and writes the merged JUnit, JSON and HTML
/// reports into `out_dir`.
pub fn merge_reports(
    inputs: &[PathBuf],
    out_dir: &std::path::Path,
    junit_level: JunitLevel,
) -> Result<RunReport, AppError> {
    let reports = inputs
        .iter()
        .map(|path| read_json(path).map(|report| (path.clone(), report)))
        .collect::<Result<Vec<_>, _>>()?;
    let merged = merge(reports)?;
    let paths = MergedPaths::in_dir(out_dir);
    session::write_reports(
        &merged,
        &ReportPaths {
            junit: paths.junit,
            junit_level,
            json: paths.json,
            html: paths.html,
        },
    )?;
    Ok(merged)
}

/// `rolecheck selfcheck`: the table on stdout, progress on stderr, JSON to `json`.
async fn run_selfcheck(
    options: &SelfcheckOptions,
    json: &std::path::Path,
    paths: &[PathBuf],
) -> Result<Finished, AppError> {
    let scenarios = load_paths(paths)?;
    let signals = Signals::watch();
    let report =
        selfcheck::selfcheck(scenarios, options, &mut std::io::stderr(), &signals.token).await?;
    selfcheck::write_selfcheck_json(&report, json)?;
    print!("{}", report.render());
    Ok(Finished::Selfcheck {
        passed: report.passed(),
    })
}

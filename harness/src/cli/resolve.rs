//! The one conversion of the parsed command line into resolved settings: the target's
//! profile loaded once, fault names and filters parsed once, the real-AWS interlock's
//! environment read once, and every default applied once ([`crate::settings`]).

use rolecheck_sim::{Fault, FaultSet};

use super::{
    Cli, Command, EnvCommand, JunitLevelArg, ReportCommand, RunArgs, RunCommand, SchemaOf,
    SimCommand, SuiteArg, TargetArgs,
};
use crate::commands::{self, Invocation, Resolved};
use crate::exit::AppError;
use crate::plan::Filter;
use crate::report::junit::JunitLevel;
use crate::selfcheck::SelfcheckOptions;
use crate::settings::{
    DEFAULT_REPEAT, LimitOverrides, ReportPaths, RunCommandSettings, RunSettings, Selection,
    resolve_limits,
};
use crate::sim_serve::{ServeOptions, WebhookFlags};
use crate::suite::Suite;
use crate::target::TargetError;
use crate::target::gc::GcOptions;
use crate::target::interlock;
use crate::target::profile::Profile;

impl Cli {
    /// The command with its settings resolved.
    pub fn resolve(self) -> Result<Invocation, AppError> {
        let request_timeout = match &self.command {
            Command::Run(command) => command.access.request_timeout,
            Command::Gc(args) => args.access.request_timeout,
            _ => None,
        };
        let command = match self.command {
            Command::Run(command) => Resolved::Run(Box::new(command.resolve()?)),
            Command::Validate(args) => Resolved::Validate(args.paths),
            Command::List(args) => Resolved::List(args.paths),
            Command::Schema(args) => Resolved::Schema(match args.of {
                SchemaOf::Scenario => commands::SchemaOf::Scenario,
                SchemaOf::Profile => commands::SchemaOf::Profile,
            }),
            Command::Coverage(args) => Resolved::Coverage {
                profile: Box::new(profile(&args.target, &TargetArgs::default())?),
                target: args.target,
                paths: args.paths,
            },
            Command::Selfcheck(args) => {
                let defaults = SelfcheckOptions::default();
                let faults = if args.fault.is_empty() {
                    defaults.faults.clone()
                } else {
                    parse_faults(&args.fault)?
                };
                Resolved::Selfcheck {
                    options: SelfcheckOptions {
                        faults,
                        filters: parse_filters(&args.filter),
                        jobs: args.jobs.unwrap_or(defaults.jobs),
                        step_timeout: args.step_timeout,
                        ..defaults
                    },
                    json: args.json,
                    paths: args.paths,
                }
            }
            Command::Report(ReportCommand::Merge(args)) => Resolved::Merge {
                inputs: args.inputs,
                out_dir: args.out_dir,
                junit_level: args.junit_level.into(),
            },
            Command::Targets => Resolved::Targets,
            Command::Doctor(args) => Resolved::Doctor {
                profile: Box::new(profile(&args.target, &args.access)?),
                allow_real_aws: real_aws_allowed(args.access.allow_real_aws),
            },
            Command::Gc(args) => Resolved::Gc {
                profile: Box::new(profile(&args.target, &args.access)?),
                options: GcOptions {
                    older_than: args.older_than,
                    allow_real_aws: real_aws_allowed(args.access.allow_real_aws),
                    timeout: args.timeout,
                    include_untagged: args.include_untagged,
                },
            },
            Command::Env(EnvCommand::Up(args)) => Resolved::EnvUp(args.name),
            Command::Env(EnvCommand::Down(args)) => Resolved::EnvDown(args.name),
            Command::Sim(SimCommand::Faults) => Resolved::SimFaults,
            Command::Sim(SimCommand::Serve(args)) => Resolved::SimServe(Box::new(ServeOptions {
                port_base: args.port_base,
                kubeconfig: Some(args.kubeconfig),
                env_file: args.env_file,
                faults: parse_faults(&args.fault)?.into_iter().collect(),
                webhook: WebhookFlags {
                    default_region: args.aws_default_region,
                    sts_regional_endpoint: args.sts_regional_endpoint,
                    lookup_grace: args.service_account_lookup_grace_period,
                    cache_lag: args.webhook_cache_lag,
                },
                attach_local: args.cluster.is_some(),
            })),
        };
        Ok(Invocation {
            request_timeout,
            command,
        })
    }
}

impl RunCommand {
    /// The run, its scenario paths, its reports and what it re-runs, resolved.
    pub fn resolve(&self) -> Result<RunCommandSettings, AppError> {
        let args = &self.args;
        let faults = parse_faults(&args.fault)?;
        let retries = match (Suite::from(self.suite.suite), self.suite.repeat) {
            (Suite::Qualify, times) => Some(times.unwrap_or(DEFAULT_REPEAT)),
            (Suite::Nightly, Some(_)) => {
                return Err(AppError::Usage(
                    "--repeat only applies to --suite qualify".to_owned(),
                ));
            }
            (Suite::Nightly, None) => None,
        };
        let profile = profile(&args.target, &self.access)?;
        let mut limits = resolve_limits(
            LimitOverrides {
                jobs: args.jobs,
                step_timeout: args.step_timeout,
                cleanup_timeout: args.cleanup_timeout,
            },
            &profile,
        );
        limits.retries = retries;
        Ok(RunCommandSettings {
            run: RunSettings {
                profile,
                faults: faults.into_iter().collect::<FaultSet>(),
                allow_real_aws: real_aws_allowed(self.access.allow_real_aws),
                limits,
                selection: Selection {
                    filters: parse_filters(&args.filter),
                    only: None,
                    partition: self.suite.partition,
                },
            },
            paths: args.paths.clone(),
            reports: ReportPaths::new(
                args.junit.clone(),
                args.json.clone(),
                self.output.html.clone(),
                self.output.junit_level.into(),
            ),
            rerun_failed: self.suite.rerun_failed.clone(),
        })
    }
}

impl RunArgs {
    /// The nightly run these options describe (the named target's profile, no shard, no
    /// re-runs, reports at their paths with the HTML report next to the JSON), resolved.
    pub fn resolve(&self) -> Result<RunCommandSettings, AppError> {
        RunCommand {
            args: self.clone(),
            suite: Default::default(),
            output: Default::default(),
            access: Default::default(),
        }
        .resolve()
    }
}

impl From<SuiteArg> for Suite {
    fn from(arg: SuiteArg) -> Self {
        match arg {
            SuiteArg::Nightly => Suite::Nightly,
            SuiteArg::Qualify => Suite::Qualify,
        }
    }
}

impl From<JunitLevelArg> for JunitLevel {
    fn from(arg: JunitLevelArg) -> Self {
        match arg {
            JunitLevelArg::Scenario => JunitLevel::Scenario,
            JunitLevelArg::Step => JunitLevel::Step,
        }
    }
}

/// The profile a command names: `--profile PATH`, else the target's.
fn profile(target: &str, access: &TargetArgs) -> Result<Profile, AppError> {
    let profile = match &access.profile {
        Some(path) => Profile::load(path),
        None => Profile::named(target),
    };
    Ok(profile.map_err(TargetError::from)?)
}

/// Whether real AWS is allowed by the flag or `ROLECHECK_ALLOW_REAL_AWS`.
fn real_aws_allowed(flag: bool) -> bool {
    interlock::allowed(flag, std::env::var(interlock::ALLOW_ENV).ok().as_deref())
}

/// The fault switches `--fault` names (the only place they are parsed).
fn parse_faults(names: &[String]) -> Result<Vec<Fault>, AppError> {
    names
        .iter()
        .map(|n| {
            n.parse::<Fault>()
                .map_err(|e| AppError::Usage(e.to_string()))
        })
        .collect()
}

/// Selection filters (`--filter NAME|RULE`).
fn parse_filters(filters: &[String]) -> Vec<Filter> {
    filters.iter().map(|f| Filter::parse(f)).collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use clap::Parser as _;

    use super::*;

    fn run_settings(argv: &[&str]) -> Result<RunCommandSettings, AppError> {
        let cli = Cli::try_parse_from(["rolecheck", "run"].iter().chain(argv)).unwrap();
        let Command::Run(command) = cli.command else {
            panic!("not a run");
        };
        command.resolve()
    }

    /// A profile file like the built-in `sim`, with `jobs`, `step_timeout` and
    /// `cleanup_timeout` of its own.
    fn profile_with_limits(dir: &tempfile::TempDir) -> PathBuf {
        let sim = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/targets/sim.yaml"),
        )
        .unwrap();
        let kept: Vec<&str> = sim
            .lines()
            .filter(|l| !l.starts_with("jobs:") && !l.ends_with("_timeout:"))
            .collect();
        let path = dir.path().join("limits.yaml");
        std::fs::write(
            &path,
            format!(
                "{}\njobs: 3\nstep_timeout: 3m\ncleanup_timeout: 4m\n",
                kept.join("\n")
            ),
        )
        .unwrap();
        path
    }

    /// Through the command line: each option given beats the profile, which beats the
    /// default; the profile is the one `--profile` names.
    #[test]
    fn the_command_line_beats_the_profile_field_by_field() {
        let dir = tempfile::tempdir().unwrap();
        let profile = profile_with_limits(&dir);
        let profile = profile.to_str().unwrap();
        let from_profile = run_settings(&["--profile", profile]).unwrap();
        let limits = &from_profile.run.limits;
        assert_eq!(limits.jobs, 3);
        assert_eq!(limits.step_timeout, Duration::from_secs(180));
        assert_eq!(limits.cleanup_timeout, Duration::from_secs(240));
        let given =
            run_settings(&["--profile", profile, "-j", "5", "--step-timeout", "7s"]).unwrap();
        let limits = &given.run.limits;
        assert_eq!(limits.jobs, 5);
        assert_eq!(limits.step_timeout, Duration::from_secs(7));
        assert_eq!(limits.cleanup_timeout, Duration::from_secs(240));
    }

    #[test]
    fn faults_are_parsed_once_and_unknown_ones_refused() {
        let settings = run_settings(&["--fault", "webhook-disabled"]).unwrap();
        assert!(settings.run.faults.has(Fault::WebhookDisabled));
        let err = run_settings(&["--fault", "no-such-fault"]).unwrap_err();
        assert!(err.to_string().contains("no-such-fault"), "{err}");
    }

    #[test]
    fn qualify_retries_three_times_unless_told_and_nightly_never() {
        let nightly = run_settings(&[]).unwrap();
        assert_eq!(nightly.run.limits.retries, None);
        let qualify = run_settings(&["--suite", "qualify"]).unwrap();
        assert_eq!(qualify.run.limits.retries, Some(DEFAULT_REPEAT));
        let twice = run_settings(&["--suite", "qualify", "--repeat", "2"]).unwrap();
        assert_eq!(twice.run.limits.retries.map(|n| n.get()), Some(2));
        let err = run_settings(&["--repeat", "2"]).unwrap_err();
        assert!(err.to_string().contains("--suite qualify"), "{err}");
    }
}

//! The command line: its definitions (clap; no clap type lives anywhere else) and, in
//! [`resolve`], their one conversion into the resolved settings the library takes
//! ([`crate::commands::Invocation`]).

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::suite::Partition;

pub mod resolve;

/// rolecheck: prove that "IAM roles for Airflow deployments" works as documented.
#[derive(Debug, Parser)]
#[command(name = "rolecheck", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenarios against a target and write reports.
    Run(RunCommand),
    /// Load and check scenario files without running anything.
    Validate(PathArgs),
    /// List scenarios with the rules they check.
    List(PathArgs),
    /// Print the JSON Schema of scenario files (or of target profiles), for editors.
    Schema(SchemaArgs),
    /// Show which scenarios check each rule and whether they can run on a target; exit 1
    /// when a rule has no scenario.
    Coverage(CoverageArgs),
    /// Prove the suite notices breakage: run it on the healthy sim, then once per fault
    /// switch; exit 1 when the healthy sim fails or a fault goes unnoticed.
    Selfcheck(SelfcheckArgs),
    /// Work with written reports.
    #[command(subcommand)]
    Report(ReportCommand),
    /// The embedded sim on its own.
    #[command(subcommand)]
    Sim(SimCommand),
    /// List the known targets (built-in profiles) and their capabilities.
    Targets,
    /// Remove leftovers of killed runs from a running target: namespaces labelled
    /// `rolecheck.io/run-id` and IAM roles tagged with it or named `rolecheck-...`.
    Gc(GcArgs),
    /// Check, without creating anything, that a target has what a run needs (cluster,
    /// permissions, OIDC provider, AWS identity, bucket, platform tokens and roles, webhook);
    /// prints a table (check, result, how to fix); exit 0 when all hold, 2 otherwise.
    Doctor(DoctorArgs),
    /// Bring a local test environment up or down (`kind`: kind + webhook + LocalStack;
    /// `local`: a real Kubernetes 1.20 cluster on loopback built from Debian's packages).
    #[command(subcommand)]
    Env(EnvCommand),
}

/// Which target a command uses and whether it may touch real AWS.
#[derive(Debug, Clone, Default, Args)]
pub struct TargetArgs {
    /// Read the target from this profile file instead of `fixtures/targets/<target>.yaml`.
    #[arg(long, value_name = "PATH")]
    pub profile: Option<PathBuf>,
    /// Allow a target that uses real AWS (also: ROLECHECK_ALLOW_REAL_AWS=1).
    #[arg(long)]
    pub allow_real_aws: bool,
    /// How long any request to the target may wait for an answer (read timeout; connecting
    /// may take at most 5s). Default 30s.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub request_timeout: Option<Duration>,
}

/// Options of `rolecheck gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// The target (a built-in profile name or `fixtures/targets/<name>.yaml`).
    #[arg(long, default_value = "kind")]
    pub target: String,
    /// Profile file and real-AWS interlock.
    #[command(flatten)]
    pub access: TargetArgs,
    /// Only remove leftovers at least this old (by creation time), e.g. `2h`; `0s` removes all
    /// (at most 365 days).
    #[arg(long, default_value = "1h", value_parser = crate::duration::parse_age)]
    pub older_than: Duration,
    /// Time budget for removing one namespace (at most 24h).
    #[arg(long, default_value = "120s", value_parser = crate::duration::parse_timeout)]
    pub timeout: Duration,
    /// Also remove IAM roles merely named `rolecheck-...` that carry no run-id tag (by
    /// default they are listed, not removed: nothing proves a run made them).
    #[arg(long)]
    pub include_untagged: bool,
}

/// Options of `rolecheck doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The target (a built-in profile name or `fixtures/targets/<name>.yaml`).
    #[arg(long, default_value = "sim")]
    pub target: String,
    /// Profile file and real-AWS interlock.
    #[command(flatten)]
    pub access: TargetArgs,
}

/// `rolecheck env ...`.
#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// Create the environment (`kind`: cluster, pod-identity webhook, LocalStack, OIDC
    /// provider and role).
    Up(EnvArgs),
    /// Remove the environment.
    Down(EnvArgs),
}

/// The environment `env up|down` works on.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Its name (`kind` or `local`).
    pub name: String,
}

/// `rolecheck sim ...`.
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve the sim until SIGINT/SIGTERM, writing a kubeconfig and printing its endpoints.
    Serve(ServeArgs),
    /// List every fault switch with the rule it breaks.
    Faults,
}

/// Options of `rolecheck sim serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Listen on N (Kubernetes), N+1 (STS/IAM) and N+2 (platform) instead of random ports.
    #[arg(long, value_name = "N")]
    pub port_base: Option<u16>,
    /// Where to write the kubeconfig.
    #[arg(long, value_name = "PATH", default_value = "reports/sim-kubeconfig")]
    pub kubeconfig: PathBuf,
    /// Also write the endpoints as shell lines (KUBECONFIG=, AWS_ENDPOINT_URL_STS=, ...).
    #[arg(long, value_name = "PATH")]
    pub env_file: Option<PathBuf>,
    /// Turn on a fault switch; repeatable.
    #[arg(long, value_name = "NAME")]
    pub fault: Vec<String>,
    /// The webhook's `--aws-default-region`: inject AWS_REGION and AWS_DEFAULT_REGION.
    #[arg(long, value_name = "REGION")]
    pub aws_default_region: Option<String>,
    /// The webhook's `--sts-regional-endpoint`: inject AWS_STS_REGIONAL_ENDPOINTS=regional
    /// unless a ServiceAccount says otherwise.
    #[arg(long)]
    pub sts_regional_endpoint: bool,
    /// The webhook's `--service-account-lookup-grace-period`: a pod created right after its
    /// ServiceAccount waits for it instead of going unmutated (0s: off, the default).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = humantime::parse_duration)]
    pub service_account_lookup_grace_period: Duration,
    /// How far the webhook's ServiceAccount cache lags behind the API server (0s: off).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = humantime::parse_duration)]
    pub webhook_cache_lag: Duration,
    /// `local`: attach the platform, webhook and STS to the real cluster of `rolecheck env up
    /// local` (the kubeconfig written is the cluster's; namespaces the platform created are
    /// removed on exit) instead of serving the sim's own Kubernetes API.
    #[arg(long, value_name = "CLUSTER", value_parser = ["local"])]
    pub cluster: Option<String>,
}

/// Options of `rolecheck schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which files the schema describes.
    #[arg(value_enum, default_value = "scenario")]
    pub of: SchemaOf,
}

/// The files `rolecheck schema` can describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemaOf {
    /// Scenario files (`scenarios/*.yaml`).
    Scenario,
    /// Target profiles (`fixtures/targets/*.yaml`, `--profile PATH`).
    Profile,
}

/// Scenario files or directories.
#[derive(Debug, Args)]
pub struct PathArgs {
    /// Scenario files or directories of `*.yaml` files.
    #[arg(default_value = "scenarios")]
    pub paths: Vec<PathBuf>,
}

/// Everything `rolecheck run` takes: the run itself, suite selection, report options.
#[derive(Debug, Clone, Args)]
pub struct RunCommand {
    /// The run.
    #[command(flatten)]
    pub args: RunArgs,
    /// Suites and CI selection.
    #[command(flatten)]
    pub suite: SuiteArgs,
    /// Report options beyond the paths.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Profile file and real-AWS interlock.
    #[command(flatten)]
    pub access: TargetArgs,
}

/// Suite and CI selection options of `rolecheck run`.
#[derive(Debug, Clone, Default, Args)]
pub struct SuiteArgs {
    /// `nightly`: everything the target can run, once; `qualify`: the same, then every
    /// failed scenario re-run `--repeat` times to tell a flake from a regression.
    #[arg(long, value_enum, default_value_t = SuiteArg::Nightly)]
    pub suite: SuiteArg,
    /// How often `--suite qualify` re-runs a failed scenario [default: 3].
    #[arg(long, value_name = "N")]
    pub repeat: Option<NonZeroU32>,
    /// Run only the scenarios that failed or errored in a JSON report
    /// (`--rerun-failed` alone: reports/results.json).
    #[arg(
        long,
        value_name = "PATH",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "reports/results.json"
    )]
    pub rerun_failed: Option<PathBuf>,
    /// Run only shard K of N of the selected scenarios: `K/N` (by position in the
    /// name-sorted list), `count:K/N` (the same) or `hash:K/N` (by a hash of the name).
    #[arg(long, value_name = "K/N")]
    pub partition: Option<Partition>,
}

/// Report options of `rolecheck run` beyond the JUnit and JSON paths.
#[derive(Debug, Clone, Default, Args)]
pub struct OutputArgs {
    /// One JUnit test case per scenario or per step.
    #[arg(long, value_enum, default_value_t = JunitLevelArg::Scenario)]
    pub junit_level: JunitLevelArg,
    /// Where to write the HTML report [default: index.html next to the JSON report,
    /// reports/index.html].
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
}

/// Options of `rolecheck coverage`.
#[derive(Debug, Args)]
pub struct CoverageArgs {
    /// The target whose capabilities decide which scenarios can run (nothing is started).
    #[arg(long, default_value = "sim")]
    pub target: String,
    /// Scenario files or directories of `*.yaml` files.
    #[arg(default_value = "scenarios")]
    pub paths: Vec<PathBuf>,
}

/// Options of `rolecheck selfcheck`.
#[derive(Debug, Args)]
pub struct SelfcheckArgs {
    /// How many scenarios of one run run at once [default: the number of cores, at least 4].
    #[arg(short = 'j', long)]
    pub jobs: Option<usize>,
    /// Check only these fault switches (see `rolecheck sim faults`); repeatable. Default: all.
    #[arg(long, value_name = "NAME")]
    pub fault: Vec<String>,
    /// Run only scenarios whose name contains NAME or that check RULE (`R5`); repeatable.
    #[arg(long, value_name = "NAME|RULE")]
    pub filter: Vec<String>,
    /// Time budget of a step that names none (at most 24h).
    #[arg(long, default_value = "10s", value_parser = crate::duration::parse_timeout)]
    pub step_timeout: Duration,
    /// Where to write the self-check's JSON report.
    #[arg(long, default_value = "reports/selfcheck.json")]
    pub json: PathBuf,
    /// Scenario files or directories of `*.yaml` files.
    #[arg(default_value = "scenarios")]
    pub paths: Vec<PathBuf>,
}

/// `rolecheck report ...`.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Join several JSON reports (e.g. of `--partition` shards) into one JUnit, JSON and HTML
    /// report in OUT_DIR, with the rule verdicts recomputed from all their scenarios.
    Merge(MergeArgs),
}

/// Options of `rolecheck report merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// One JUnit test case per scenario or per step.
    #[arg(long, value_enum, default_value_t = JunitLevelArg::Scenario)]
    pub junit_level: JunitLevelArg,
    /// Where the merged junit.xml, results.json and index.html go.
    pub out_dir: PathBuf,
    /// The JSON reports to merge.
    #[arg(required = true, value_name = "INPUT.json")]
    pub inputs: Vec<PathBuf>,
}

/// Options of one run (`rolecheck run`); usable on their own through
/// [`RunArgs::resolve`] and [`crate::session::run`].
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The target to run against (`sim` is the embedded reference environment).
    #[arg(long, default_value = "sim")]
    pub target: String,
    /// How many scenarios run at once [default: the target profile's `jobs` (the sim, moto
    /// and LocalStack: 8, their work is waiting, not computing; a real cluster: 4, its
    /// kubelet starts pods one by one), else the number of cores].
    #[arg(short = 'j', long)]
    pub jobs: Option<usize>,
    /// Run only scenarios whose name contains NAME or that check RULE (`R5`); repeatable.
    #[arg(long, value_name = "NAME|RULE")]
    pub filter: Vec<String>,
    /// Where to write the JUnit XML report.
    #[arg(long, default_value = "reports/junit.xml")]
    pub junit: PathBuf,
    /// Where to write the JSON report.
    #[arg(long, default_value = "reports/results.json")]
    pub json: PathBuf,
    /// Turn on a fault switch of the embedded sim (see the sim's fault list); repeatable.
    #[arg(long, value_name = "NAME")]
    pub fault: Vec<String>,
    /// Time budget of a step that names none (at most 24h) [default: the profile's
    /// `step_timeout`, else 60s].
    #[arg(long, value_parser = crate::duration::parse_timeout)]
    pub step_timeout: Option<Duration>,
    /// Time budget for removing each object the run created; what is still there after it
    /// is listed as left behind and the run exits non-zero (at most 24h) [default: the
    /// target profile's `cleanup_timeout` (a real cluster: 3m), else 60s].
    #[arg(long, value_parser = crate::duration::parse_timeout)]
    pub cleanup_timeout: Option<Duration>,
    /// Scenario files or directories of `*.yaml` files.
    #[arg(default_value = "scenarios")]
    pub paths: Vec<PathBuf>,
}

/// `--suite`: which suite a run is (mirrors [`crate::suite::Suite`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum SuiteArg {
    /// Everything the target can run, once (the default).
    #[default]
    Nightly,
    /// Everything, then every failed scenario re-run a few times to tell a flake (passes on
    /// some re-run) from a regression (fails every time).
    Qualify,
}

/// `--junit-level`: how fine-grained the JUnit `scenarios` suite is (mirrors
/// [`crate::report::junit::JunitLevel`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum JunitLevelArg {
    /// One test case per scenario.
    #[default]
    Scenario,
    /// One test case per step.
    Step,
}

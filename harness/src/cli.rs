//! Command-line definitions (clap) and nothing else.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

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
    Run(RunArgs),
    /// Load and check scenario files without running anything.
    Validate(PathArgs),
    /// List scenarios with the rules they check.
    List(PathArgs),
    /// The embedded sim on its own.
    #[command(subcommand)]
    Sim(SimCommand),
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
}

/// Scenario files or directories.
#[derive(Debug, Args)]
pub struct PathArgs {
    /// Scenario files or directories of `*.yaml` files.
    #[arg(default_value = "scenarios")]
    pub paths: Vec<PathBuf>,
}

/// Options of `rolecheck run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The target to run against (`sim` is the embedded reference environment).
    #[arg(long, default_value = "sim")]
    pub target: String,
    /// How many scenarios run at once (default: the number of cores).
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
    /// Time budget of a step that names none.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub step_timeout: Duration,
    /// Scenario files or directories of `*.yaml` files.
    #[arg(default_value = "scenarios")]
    pub paths: Vec<PathBuf>,
}

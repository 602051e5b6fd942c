//! A sim running in the test process (as `rolecheck sim serve` runs it), a kubeconfig and
//! profiles pointing the `rolecheck` binary at it, optionally through other addresses (a
//! proxy, a silent server) for one of its endpoints.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rolecheck::sim_serve::kubeconfig_text;
use rolecheck_sim::{Endpoints, Sim, SimConfig};

/// The environment variables the profiles name for the platform's tokens and workspace.
pub const ADMIN_TOKEN_ENV: &str = "ROLECHECK_TEST_ADMIN_TOKEN";
/// The editor's token.
pub const EDITOR_TOKEN_ENV: &str = "ROLECHECK_TEST_EDITOR_TOKEN";

/// A running sim and a directory for kubeconfigs, profiles, scenarios and reports.
pub struct RunningSim {
    /// The sim.
    pub sim: Sim,
    /// Scratch directory.
    pub dir: tempfile::TempDir,
    /// A kube-rs client of the sim's cluster (admin).
    pub kube: kube::Client,
}

/// Where a profile sends each part of the target (the sim's own endpoints by default).
#[derive(Debug, Clone, Default)]
pub struct Route {
    /// The Kubernetes API URL instead of the sim's.
    pub kube_url: Option<String>,
    /// The STS/IAM URL instead of the sim's.
    pub aws_url: Option<String>,
    /// Whether the profile has the sim's platform as a Houston API (else no platform).
    pub houston: bool,
    /// The platform URL instead of the sim's.
    pub platform_url: Option<String>,
}

impl RunningSim {
    /// Starts the sim on loopback.
    pub async fn start() -> Self {
        let sim = Sim::start(SimConfig::default()).await.unwrap();
        let e = sim.endpoints().clone();
        let mut config = kube::Config::new(e.kube_url.parse().unwrap());
        config.auth_info.token = Some(e.kube_token.clone().into());
        let kube = kube::Client::try_from(config).unwrap();
        Self {
            sim,
            dir: tempfile::tempdir().unwrap(),
            kube,
        }
    }

    /// The sim's endpoints.
    pub fn endpoints(&self) -> &Endpoints {
        self.sim.endpoints()
    }

    /// Writes a profile (and its kubeconfig) following `route`; returns its path.
    pub fn profile(&self, name: &str, route: &Route) -> PathBuf {
        let e = self.endpoints();
        let mut routed = e.clone();
        if let Some(url) = &route.kube_url {
            routed.kube_url = url.clone();
        }
        let kubeconfig = self.dir.path().join(format!("{name}.kubeconfig"));
        std::fs::write(&kubeconfig, kubeconfig_text(&routed)).unwrap();
        let aws_url = route.aws_url.clone().unwrap_or_else(|| e.aws_url.clone());
        let platform = if route.houston {
            let url = route
                .platform_url
                .clone()
                .unwrap_or_else(|| e.platform_url.clone());
            format!(
                "{{driver: houston, url: '{url}', workspace: '{}', tokens: {{admin: {ADMIN_TOKEN_ENV}, editor: {EDITOR_TOKEN_ENV}}}}}",
                e.workspace_id
            )
        } else {
            "{driver: none}".to_owned()
        };
        let capabilities = if route.houston {
            "[webhook, deployments, platform-api, admin-roles]"
        } else {
            "[webhook]"
        };
        let path = self.dir.path().join(format!("{name}.profile.yaml"));
        std::fs::write(
            &path,
            format!(
                "name: {name}\nkubernetes: {{source: kubeconfig, kubeconfig: '{}'}}\naws: {{service: endpoint, endpoint: '{aws_url}', region: {}}}\nplatform: {platform}\noidc: {{issuer: cluster}}\nrole: {{create: \"rolecheck-example-{{run_id}}\"}}\ncapabilities: {capabilities}\n",
                kubeconfig.display(),
                e.region
            ),
        )
        .unwrap();
        path
    }

    /// Writes a scenario file; returns its path.
    pub fn scenario(&self, file: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(file);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `rolecheck run --profile <profile> --junit/--json <dir>/<reports>/... <scenario>`
    /// with the platform's tokens in the environment, stderr piped.
    pub fn run(&self, profile: &Path, reports: &str, scenario: &Path) -> tokio::process::Command {
        let reports = self.dir.path().join(reports);
        let mut command = self.command();
        command
            .arg("run")
            .arg("--profile")
            .arg(profile)
            .arg("--junit")
            .arg(reports.join("junit.xml"))
            .arg("--json")
            .arg(reports.join("results.json"))
            .arg(scenario)
            .stderr(std::process::Stdio::piped());
        command
    }

    /// The `rolecheck` binary with the platform's tokens in the environment.
    pub fn command(&self) -> tokio::process::Command {
        let e = self.endpoints();
        let token = |role: &str| {
            e.platform_users
                .iter()
                .find(|u| u.workspace_role == role)
                .map(|u| u.token.clone())
                .unwrap_or_default()
        };
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_rolecheck"));
        command
            .env("NO_COLOR", "1")
            .env("ROLECHECK_LOG", "rolecheck=info")
            .env(ADMIN_TOKEN_ENV, token("WORKSPACE_ADMIN"))
            .env(EDITOR_TOKEN_ENV, token("WORKSPACE_EDITOR"))
            // The sim's IAM checks request signatures: sign with its own key.
            .env("AWS_ACCESS_KEY_ID", &e.aws_access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &e.aws_secret_access_key)
            .kill_on_drop(true);
        command
    }

    /// The JSON report a run wrote into `<dir>/<reports>`.
    pub fn report(&self, reports: &str) -> serde_json::Value {
        let path = self.dir.path().join(reports).join("results.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("no report at {}: {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    }

    /// The JUnit report a run wrote into `<dir>/<reports>`.
    pub fn junit(&self, reports: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(reports).join("junit.xml")).unwrap()
    }
}

/// Reads `child`'s stderr line by line until a line contains all of `needles` (the run's
/// own log, instead of sleeping); returns every line read. Panics if stderr ends first.
pub async fn read_until(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStderr>>,
    needles: &[&str],
) -> Vec<String> {
    let mut seen = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        let done = needles.iter().all(|n| line.contains(n));
        seen.push(line);
        if done {
            return seen;
        }
    }
    panic!(
        "stderr ended before a line with {needles:?}:\n{}",
        seen.join("\n")
    );
}

/// The rest of `child`'s stderr.
pub async fn read_rest(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStderr>>,
) -> Vec<String> {
    let mut seen = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        seen.push(line);
    }
    seen
}

/// Sends a signal (`INT`, `TERM`) to a process.
pub fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid}");
}

//! The `local` environment: a real Kubernetes 1.20.2 cluster on loopback, built from Debian's
//! packages (issue 14).
//!
//! `rolecheck env up local` checks that the machine can run a kubelet ([`preflight`]), then
//! runs the scripts in `cluster/` ([`lifecycle`]): `build.sh` fills a cache outside the work
//! tree (Debian packages, Debian's `kubernetes` source package, the four binaries, the
//! images), `up.sh` starts etcd, the control plane, containerd and the kubelet on 127.0.0.1
//! and writes `cluster.json`, which [`LocalCluster`] reads. `env down local` runs `down.sh`,
//! which leaves the host as `up.sh` found it ([`host`] captures what "as found" means for the
//! tests). [`netwatch`] watches that nothing the cluster runs leaves loopback.
//!
//! The layout (cache and run directory, ports, image names) has one home: `cluster/lib.sh`;
//! [`run_dir`] mirrors its `RUN`.

pub mod host;
pub mod lifecycle;
pub mod netwatch;
pub mod preflight;

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::TargetError;

/// The Kubernetes version Debian bookworm's `kubernetes` source package holds (the cache key).
pub const K8S_VERSION: &str = "1.20.2";

/// The environment's name on the command line.
pub const NAME: &str = "local";

/// The environment variable that says the local cluster is up and its tests must run (the
/// Makefile sets it after `make cluster`); unset, they print why they skip.
pub const TESTS_ENV: &str = "ROLECHECK_LOCAL_CLUSTER";

/// What `up.sh` wrote to `cluster.json`: where the running cluster is and how to reach it.
#[derive(Debug, Clone, Deserialize)]
pub struct LocalCluster {
    /// Kubernetes version (`v1.20.2`).
    pub version: String,
    /// API server URL (`https://127.0.0.1:<port>`).
    pub api_server: String,
    /// Kubeconfig of the admin user (system:masters).
    pub kubeconfig: PathBuf,
    /// The admin user's bearer token.
    pub admin_token: String,
    /// The cluster CA certificate (PEM file).
    pub ca_cert: PathBuf,
    /// The cluster CA key (PEM file), to sign more serving certificates.
    pub ca_key: PathBuf,
    /// A serving certificate for 127.0.0.1 signed by the cluster CA (for admission webhooks).
    pub webhook_cert: PathBuf,
    /// Its key.
    pub webhook_key: PathBuf,
    /// `--service-account-issuer`; the API server serves OIDC discovery under it.
    pub service_account_issuer: String,
    /// Where the API server serves the token signing keys.
    pub jwks_uri: String,
    /// `--api-audiences` (never `sts.amazonaws.com`).
    pub api_audiences: Vec<String>,
    /// The service IP range (no kube-proxy runs: nothing may contact these addresses).
    pub service_cidr: String,
    /// The node's name, also its InternalIP (`127.0.0.1`).
    pub node_name: String,
    /// The images imported into containerd.
    pub images: Images,
    /// containerd's socket.
    pub containerd_socket: PathBuf,
    /// The kubelet's root directory.
    pub kubelet_root: PathBuf,
    /// The run directory (removed by `env down local`).
    pub run_dir: PathBuf,
    /// The build cache (kept).
    pub cache_dir: PathBuf,
    /// The daemons' logs.
    pub logs: PathBuf,
    /// The daemons' pid files.
    pub pids: PathBuf,
}

/// The images of the local cluster (pods use them with `imagePullPolicy: Never`).
#[derive(Debug, Clone, Deserialize)]
pub struct Images {
    /// The sandbox image, built from the tree's `build/pause`.
    pub pause: String,
    /// Debian bookworm with python3, boto3, botocore and pip; user 50000:0.
    pub airflow_like: String,
}

/// The daemons `up.sh` starts, in start order (pid files `<run>/pids/<name>.pid`).
pub const DAEMONS: [&str; 6] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "containerd",
    "kubelet",
];

impl LocalCluster {
    /// Where `cluster.json` is.
    pub fn path() -> PathBuf {
        run_dir().join("cluster.json")
    }

    /// Reads `cluster.json`; an error says the cluster is not up.
    pub fn load() -> Result<Self, TargetError> {
        let path = Self::path();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            local_error(format!(
                "{}: {e} (is the local cluster up? `rolecheck env up local`)",
                path.display()
            ))
        })?;
        serde_json::from_str(&text).map_err(|e| {
            local_error(format!(
                "{}:{}:{}: {e}",
                path.display(),
                e.line(),
                e.column()
            ))
        })
    }

    /// The pid of a daemon if its pid file names a live process.
    pub fn daemon_pid(&self, name: &str) -> Option<u32> {
        daemon_pid(&self.pids, name)
    }
}

/// The pid in `<pids>/<name>.pid` if that process is alive.
fn daemon_pid(pids: &Path, name: &str) -> Option<u32> {
    let text = std::fs::read_to_string(pids.join(format!("{name}.pid"))).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
}

/// The run directory of `cluster/lib.sh` (`ROLECHECK_LOCAL_RUN`, else `<root>/run` with root
/// `ROLECHECK_LOCAL_ROOT`, else `${XDG_CACHE_HOME:-$HOME/.cache}/rolecheck/local-k8s`).
pub fn run_dir() -> PathBuf {
    if let Some(run) = non_empty_env("ROLECHECK_LOCAL_RUN") {
        return PathBuf::from(run);
    }
    root_dir().join("run")
}

/// The root of the cache and the run directory (`cluster/lib.sh`'s `LOCAL_ROOT`).
pub fn root_dir() -> PathBuf {
    if let Some(root) = non_empty_env("ROLECHECK_LOCAL_ROOT") {
        return PathBuf::from(root);
    }
    let cache = non_empty_env("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(non_empty_env("HOME").unwrap_or_else(|| "/root".to_owned()))
                .join(".cache")
        });
    cache.join("rolecheck/local-k8s")
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The `cluster/` scripts (under the current directory, else the workspace root).
pub fn scripts_dir() -> PathBuf {
    let here = Path::new("cluster");
    if here.join("lib.sh").is_file() {
        here.to_path_buf()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../cluster")
    }
}

/// An error of the local environment (exit code 2).
pub(crate) fn local_error(message: impl Into<String>) -> TargetError {
    TargetError::Unsupported {
        target: NAME.to_owned(),
        message: message.into(),
    }
}

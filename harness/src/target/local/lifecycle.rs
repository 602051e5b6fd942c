//! `rolecheck env up|down local`: checks the machine, runs `cluster/build.sh` and
//! `cluster/up.sh` (their progress goes to stderr as it happens), and confirms through the
//! API that the node is Ready; `down` runs `cluster/down.sh`.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Node;
use kube::Api;

use super::host::{self, HostState};
use super::{DAEMONS, LocalCluster, local_error, preflight, scripts_dir};
use crate::target::TargetError;

/// Bound of `build.sh` (a cold build is ~6-15 minutes on 2 busy cores).
const BUILD_TIMEOUT: Duration = Duration::from_secs(60 * 60);
/// Bound of `up.sh` (warm: well under a minute; its own waits have deadlines too).
const UP_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Bound of `down.sh`.
const DOWN_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// How long the node may take to be Ready after `up.sh` returned.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the health check of an already running cluster may take.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// Brings the local cluster up (or confirms it runs); returns what was done.
pub async fn up() -> Result<String, TargetError> {
    let problems = preflight::problems();
    if !problems.is_empty() {
        return Err(local_error(format!(
            "this machine cannot run a kubelet: {}",
            problems.join("; ")
        )));
    }
    if let Ok(cluster) = LocalCluster::load() {
        match health(&cluster).await {
            Ok(()) => {
                return Ok(format!(
                    "local cluster already running: {} {}, node {} Ready ({})",
                    cluster.api_server,
                    cluster.version,
                    cluster.node_name,
                    LocalCluster::path().display()
                ));
            }
            Err(why) => eprintln!("local cluster not healthy ({why}): starting what is missing"),
        }
    }
    let started = Instant::now();
    if !super::run_dir().exists() {
        // A fresh start: remember the host as found, for `down` (and its test) to compare.
        save_host_state()?;
    }
    script("build.sh", BUILD_TIMEOUT).await?;
    let built = started.elapsed();
    script("up.sh", UP_TIMEOUT).await?;
    let cluster = LocalCluster::load()?;
    let client = client(&cluster).await?;
    wait_node_ready(&client, &cluster.node_name, READY_TIMEOUT).await?;
    Ok(format!(
        "local cluster up: {} {}, node {} Ready; build step {:.1}s, total {:.1}s\ncluster facts: {}",
        cluster.api_server,
        cluster.version,
        cluster.node_name,
        built.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        LocalCluster::path().display()
    ))
}

/// Stops the local cluster and removes what it created (the build cache stays).
pub async fn down() -> Result<String, TargetError> {
    let started = Instant::now();
    script("down.sh", DOWN_TIMEOUT).await?;
    let took = started.elapsed().as_secs_f64();
    let Some(before) = load_host_state() else {
        return Ok(format!(
            "local cluster down in {took:.1}s (build cache kept; no snapshot from `env up` to compare the host with)"
        ));
    };
    let left = HostState::capture(&super::run_dir(), &cache_dir()).differences(&before);
    if left.is_empty() {
        Ok(format!(
            "local cluster down in {took:.1}s; the host is as `env up` found it (build cache kept)"
        ))
    } else {
        Err(local_error(format!(
            "down.sh finished but the host differs from before `env up`: {}",
            left.join("; ")
        )))
    }
}

/// The build cache of `cluster/lib.sh` (`<root>/<version>`).
pub fn cache_dir() -> std::path::PathBuf {
    super::root_dir().join(super::K8S_VERSION)
}

fn save_host_state() -> Result<(), TargetError> {
    let path = host::before_path();
    let state = HostState::capture(&super::run_dir(), &cache_dir());
    let text = serde_json::to_string_pretty(&state)
        .map_err(|e| local_error(format!("host snapshot: {e}")))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| local_error(format!("{}: {e}", dir.display())))?;
    }
    std::fs::write(&path, text).map_err(|e| local_error(format!("{}: {e}", path.display())))
}

/// The snapshot `env up` took before a fresh start, if any.
pub fn load_host_state() -> Option<HostState> {
    let text = std::fs::read_to_string(host::before_path()).ok()?;
    serde_json::from_str(&text).ok()
}

/// Every daemon alive and the node Ready, within `HEALTH_TIMEOUT`.
pub async fn health(cluster: &LocalCluster) -> Result<(), String> {
    let dead: Vec<&str> = DAEMONS
        .into_iter()
        .filter(|d| cluster.daemon_pid(d).is_none())
        .collect();
    if !dead.is_empty() {
        return Err(format!("not running: {}", dead.join(", ")));
    }
    let check = async {
        let client = client(cluster).await.map_err(|e| e.to_string())?;
        let node = Api::<Node>::all(client)
            .get(&cluster.node_name)
            .await
            .map_err(|e| format!("reading node {}: {e}", cluster.node_name))?;
        if node_is_ready(&node) {
            Ok(())
        } else {
            Err(format!("node {} is not Ready", cluster.node_name))
        }
    };
    tokio::time::timeout(HEALTH_TIMEOUT, check)
        .await
        .map_err(|_| {
            format!(
                "no answer from {} within {HEALTH_TIMEOUT:?}",
                cluster.api_server
            )
        })?
}

/// A client of the cluster as its admin, with bounded connect and read times.
pub async fn client(cluster: &LocalCluster) -> Result<kube::Client, TargetError> {
    let kubeconfig = kube::config::Kubeconfig::read_from(&cluster.kubeconfig)
        .map_err(|e| local_error(format!("{}: {e}", cluster.kubeconfig.display())))?;
    let mut config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .map_err(|e| local_error(format!("{}: {e}", cluster.kubeconfig.display())))?;
    config.connect_timeout = Some(Duration::from_secs(5));
    config.read_timeout = Some(Duration::from_secs(30));
    kube::Client::try_from(config).map_err(|e| local_error(format!("kube client: {e}")))
}

/// The condition: the node's `Ready` condition is `True`.
pub fn node_is_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Waits (watch) until the node is Ready, at most `timeout`.
pub async fn wait_node_ready(
    client: &kube::Client,
    name: &str,
    timeout: Duration,
) -> Result<(), TargetError> {
    let api = Api::<Node>::all(client.clone());
    let ready = kube::runtime::wait::await_condition(api, name, |node: Option<&Node>| {
        node.is_some_and(node_is_ready)
    });
    match tokio::time::timeout(timeout, ready).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(local_error(format!("watching node {name}: {e}"))),
        Err(_) => Err(local_error(format!(
            "node {name} not Ready within {timeout:?} (kubelet log: {}/logs/kubelet.log)",
            super::run_dir().display()
        ))),
    }
}

/// Runs `cluster/<name>` with bash, its output going to our stderr, at most `timeout`
/// (then its whole process group is killed).
async fn script(name: &str, timeout: Duration) -> Result<(), TargetError> {
    let path = scripts_dir().join(name);
    if !path.is_file() {
        return Err(local_error(format!("{} missing", path.display())));
    }
    let stderr = std::io::stderr();
    let out = std::os::fd::AsFd::as_fd(&stderr)
        .try_clone_to_owned()
        .map_err(|e| local_error(format!("duplicating stderr: {e}")))?;
    let mut child = tokio::process::Command::new("bash")
        .arg(&path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::from(out))
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| local_error(format!("running {}: {e}", path.display())))?;
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => {
            status.map_err(|e| local_error(format!("running {}: {e}", path.display())))?
        }
        Err(_) => {
            if let Some(pid) = child.id() {
                let _ = tokio::process::Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pid}")])
                    .status()
                    .await;
            }
            return Err(local_error(format!(
                "{} did not finish within {timeout:?}; stopped it",
                path.display()
            )));
        }
    };
    if status.success() {
        Ok(())
    } else {
        Err(local_error(format!(
            "{} failed ({status}); its last lines above say what; logs in {}/logs",
            path.display(),
            super::run_dir().display()
        )))
    }
}

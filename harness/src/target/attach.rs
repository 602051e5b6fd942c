//! The `local` target: the embedded sim's platform, pod-identity webhook and STS attached to
//! the real cluster that `rolecheck env up local` runs, from what its `cluster.json` says.
//!
//! The platform installs deployments into the cluster with the cluster's own images (never
//! pulled), in the host's network (the cluster has no pod network and no kube-proxy), with
//! a command that keeps them running and the API server's loopback address in place of the
//! service IP the kubelet injects. These are settings of the platform for this cluster
//! ([`rolecheck_sim::platform::apply::WorkloadSettings`]), not changes of the chart.

use std::path::Path;
use std::time::Duration;

use rolecheck_sim::cluster::{ClusterConfig, ServingCert};
use rolecheck_sim::platform::apply::WorkloadSettings;

use super::TargetError;
use super::local::LocalCluster;
use crate::drivers::kube::RUN_ID_LABEL;
use crate::drivers::kube_pods::BarePods;

/// Bound of every request the sim makes to the cluster.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What the sim needs to attach to `cluster` for the run `run_id`.
pub async fn cluster_config(
    cluster: &LocalCluster,
    run_id: &str,
) -> Result<ClusterConfig, TargetError> {
    let kubeconfig = kube::config::Kubeconfig::read_from(&cluster.kubeconfig)
        .map_err(|e| local(format!("{}: {e}", cluster.kubeconfig.display())))?;
    let kube = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .map_err(|e| local(format!("{}: {e}", cluster.kubeconfig.display())))?;
    let ca_pem = read(&cluster.ca_cert)?;
    Ok(ClusterConfig {
        kube,
        issuer: cluster.service_account_issuer.clone(),
        webhook_cert: ServingCert {
            cert_pem: read(&cluster.webhook_cert)?,
            key_pem: read(&cluster.webhook_key)?,
            ca_bundle_pem: ca_pem.clone(),
        },
        ca_pem,
        run_label: (RUN_ID_LABEL.to_owned(), run_id.to_owned()),
        workloads: workloads(cluster, run_id)?,
        request_timeout: REQUEST_TIMEOUT,
    })
}

/// The platform's workload settings for `cluster`.
pub fn workloads(cluster: &LocalCluster, run_id: &str) -> Result<WorkloadSettings, TargetError> {
    let port = api_port(&cluster.api_server)?;
    Ok(WorkloadSettings {
        image: Some(cluster.images.airflow_like.clone()),
        image_pull_policy: Some("Never".to_owned()),
        // Keeps running, and exits at once on SIGTERM (a bare `sleep` as PID 1 ignores it,
        // so every pod deletion would wait out the 30 s grace period).
        command: Some(
            [
                "/bin/sh",
                "-c",
                "trap 'exit 0' TERM INT; sleep infinity & wait",
            ]
            .map(str::to_owned)
            .to_vec(),
        ),
        init_command: Some(vec!["true".to_owned()]),
        host_network: true,
        // The command above exits on SIGTERM at once; the chart's 600 s for workers would only
        // make the 1.20 namespace controller wait that long before it finishes a deletion.
        termination_grace_period_seconds: Some(5),
        env: vec![
            ("KUBERNETES_SERVICE_HOST".to_owned(), "127.0.0.1".to_owned()),
            ("KUBERNETES_SERVICE_PORT".to_owned(), port.to_string()),
        ],
        namespace_labels: vec![(RUN_ID_LABEL.to_owned(), run_id.to_owned())],
    })
}

/// How bare pods (`create_pod`) run on `cluster`.
pub fn bare_pods(cluster: &LocalCluster) -> Result<BarePods, TargetError> {
    Ok(BarePods {
        image: cluster.images.pause.clone(),
        image_pull_policy: Some("Never".to_owned()),
        host_network: true,
        env: vec![
            ("KUBERNETES_SERVICE_HOST".to_owned(), "127.0.0.1".to_owned()),
            (
                "KUBERNETES_SERVICE_PORT".to_owned(),
                api_port(&cluster.api_server)?.to_string(),
            ),
        ],
    })
}

/// The local cluster of `rolecheck env up local`, when it is up and the kubeconfig `path`
/// (default lookup when `None`) at `context` (else its current one) points at its API server.
pub fn local_cluster_behind(path: Option<&Path>, context: Option<&str>) -> Option<LocalCluster> {
    let names = super::interlock::kubeconfig_names(path, context)?;
    let cluster = LocalCluster::load().ok()?;
    let same = |url: &str| url.trim_end_matches('/') == cluster.api_server.trim_end_matches('/');
    names.server.as_deref().is_some_and(same).then_some(cluster)
}

/// The port of an `https://127.0.0.1:<port>` URL.
fn api_port(url: &str) -> Result<u16, TargetError> {
    url.rsplit_once(':')
        .and_then(|(_, port)| port.trim_end_matches('/').parse().ok())
        .ok_or_else(|| local(format!("cluster.json: api_server `{url}` has no port")))
}

fn read(path: &Path) -> Result<Vec<u8>, TargetError> {
    std::fs::read(path).map_err(|e| local(format!("{}: {e}", path.display())))
}

fn local(message: String) -> TargetError {
    TargetError::Unsupported {
        target: "local".to_owned(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_port_comes_from_the_url() {
        assert_eq!(api_port("https://127.0.0.1:16443").unwrap(), 16443);
        assert!(api_port("https://127.0.0.1").is_err());
    }
}

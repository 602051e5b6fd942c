//! The real local cluster (issue 14): `env up` on a running cluster, a pod with the local
//! Airflow-like image, exec into a real container, a rollout replacing pods, OIDC discovery.
//!
//! The cluster is brought up once per test run by the Makefile (`make cluster`), which sets
//! `ROLECHECK_LOCAL_CLUSTER=1`; with it set, a missing or unhealthy cluster fails every test
//! here. Without it, each test prints why it does not run and returns. Every wait has a
//! deadline; each test works in its own namespace and removes it.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::Api;
use kube::api::{AttachParams, DeleteParams, LogParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use rolecheck::target::local::{LocalCluster, TESTS_ENV, lifecycle};

const WAIT: Duration = Duration::from_secs(120);

/// The running cluster and an admin client, or `None` (with the reason printed) when the
/// Makefile did not ask for these tests.
async fn cluster() -> Option<(LocalCluster, kube::Client)> {
    if std::env::var(TESTS_ENV).as_deref() != Ok("1") {
        eprintln!(
            "skipped: {TESTS_ENV}=1 is not set (`make test` brings the local cluster up and sets it)"
        );
        return None;
    }
    let cluster = LocalCluster::load()
        .unwrap_or_else(|e| panic!("{TESTS_ENV}=1 but the local cluster is not up: {e}"));
    if let Err(why) = lifecycle::health(&cluster).await {
        panic!("{TESTS_ENV}=1 but the local cluster is not healthy: {why}");
    }
    let client = lifecycle::client(&cluster).await.unwrap();
    Some((cluster, client))
}

/// A fresh namespace named after the test.
async fn namespace(client: &kube::Client, test: &str) -> String {
    let name = format!(
        "lc-{test}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..6]
    );
    let ns: Namespace = serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "labels": {"rolecheck.io/test": "local-cluster"}}
    }))
    .unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    // Pods can be created once the controller-manager made the namespace's default account.
    let accounts =
        Api::<k8s_openapi::api::core::v1::ServiceAccount>::namespaced(client.clone(), &name);
    tokio::time::timeout(
        WAIT,
        await_condition(accounts, "default", |sa: Option<&_>| sa.is_some()),
    )
    .await
    .expect("no default ServiceAccount in time")
    .unwrap();
    name
}

async fn remove(client: &kube::Client, namespace: &str) {
    let _ = Api::<Namespace>::all(client.clone())
        .delete(namespace, &DeleteParams::background())
        .await;
}

/// A pod spec on this cluster: host network, the local image, never pulled, the API server
/// address overridden so nothing in the pod is pointed at a service IP.
fn pod_spec(cluster: &LocalCluster, command: &[&str], restart: &str) -> serde_json::Value {
    let port = cluster.api_server.rsplit(':').next().unwrap_or_default();
    serde_json::json!({
        "hostNetwork": true,
        "enableServiceLinks": false,
        "automountServiceAccountToken": false,
        "restartPolicy": restart,
        "terminationGracePeriodSeconds": 1,
        "containers": [{
            "name": "main",
            "image": cluster.images.airflow_like,
            "imagePullPolicy": "Never",
            "command": command,
            "env": [
                {"name": "KUBERNETES_SERVICE_HOST", "value": "127.0.0.1"},
                {"name": "KUBERNETES_SERVICE_PORT", "value": port},
            ],
        }],
    })
}

fn pod(name: &str, spec: serde_json::Value) -> Pod {
    serde_json::from_value(serde_json::json!({"metadata": {"name": name}, "spec": spec})).unwrap()
}

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

#[tokio::test]
async fn env_up_on_a_running_cluster_changes_nothing() {
    let Some((cluster, _)) = cluster().await else {
        return;
    };
    let before: Vec<Option<u32>> = rolecheck::target::local::DAEMONS
        .iter()
        .map(|d| cluster.daemon_pid(d))
        .collect();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .args(["env", "up", "local"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("already running"), "{stdout}");
    let after: Vec<Option<u32>> = rolecheck::target::local::DAEMONS
        .iter()
        .map(|d| cluster.daemon_pid(d))
        .collect();
    assert_eq!(before, after, "a daemon was restarted");
}

#[tokio::test]
async fn a_pod_with_the_airflow_like_image_runs_python_with_boto3() {
    let Some((cluster, client)) = cluster().await else {
        return;
    };
    let ns = namespace(&client, "image").await;
    let pods = Api::<Pod>::namespaced(client.clone(), &ns);
    let script =
        "import os, boto3, botocore; print(os.getuid(), boto3.__version__, botocore.__version__)";
    pods.create(
        &PostParams::default(),
        &pod(
            "python",
            pod_spec(&cluster, &["python3", "-c", script], "Never"),
        ),
    )
    .await
    .unwrap();
    let done = await_condition(pods.clone(), "python", |p: Option<&Pod>| {
        p.is_some_and(|p| matches!(phase(p), "Succeeded" | "Failed"))
    });
    let last = tokio::time::timeout(WAIT, done)
        .await
        .expect("pod did not finish in time")
        .unwrap()
        .unwrap();
    let logs = pods.logs("python", &LogParams::default()).await.unwrap();
    assert_eq!(phase(&last), "Succeeded", "{logs}");
    let requirements = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../python/requirements.txt"),
    )
    .unwrap();
    let pin = |name: &str| {
        requirements
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}==")))
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        logs.trim(),
        format!("50000 {} {}", pin("boto3"), pin("botocore"))
    );
    remove(&client, &ns).await;
}

#[tokio::test]
async fn exec_runs_in_the_real_container() {
    let Some((cluster, client)) = cluster().await else {
        return;
    };
    let ns = namespace(&client, "exec").await;
    let pods = Api::<Pod>::namespaced(client.clone(), &ns);
    pods.create(
        &PostParams::default(),
        &pod(
            "sleeper",
            pod_spec(&cluster, &["sleep", "infinity"], "Always"),
        ),
    )
    .await
    .unwrap();
    tokio::time::timeout(
        WAIT,
        await_condition(pods.clone(), "sleeper", |p: Option<&Pod>| {
            p.is_some_and(is_ready)
        }),
    )
    .await
    .expect("pod not Ready in time")
    .unwrap();
    let mut process = pods
        .exec(
            "sleeper",
            ["sh", "-c", "getent passwd airflow; python3 -m pip show botocore 2>/dev/null | grep ^Version; tr '\\0' ' ' < /proc/1/cmdline"],
            &AttachParams::default().stdout(true).stderr(true).stdin(false),
        )
        .await
        .unwrap();
    let mut stdout = process.stdout().unwrap();
    let mut out = String::new();
    tokio::time::timeout(
        WAIT,
        tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut out),
    )
    .await
    .expect("exec output in time")
    .unwrap();
    let status = process.take_status().unwrap().await.unwrap();
    assert_eq!(
        status.status.as_deref(),
        Some("Success"),
        "{status:?} {out}"
    );
    let lines: Vec<&str> = out.lines().collect();
    // The image's own user (the host has none), pip's view of the installed botocore, and
    // the container's pid 1 (its own pid namespace).
    assert_eq!(
        lines[0], "airflow:x:50000:0::/opt/airflow:/bin/bash",
        "{out}"
    );
    assert!(lines[1].starts_with("Version: 1."), "{out}");
    assert_eq!(lines[2].trim(), "sleep infinity", "{out}");
    remove(&client, &ns).await;
}

#[tokio::test]
async fn a_rollout_replaces_the_pod() {
    let Some((cluster, client)) = cluster().await else {
        return;
    };
    let ns = namespace(&client, "rollout").await;
    let deployments = Api::<Deployment>::namespaced(client.clone(), &ns);
    let pods = Api::<Pod>::namespaced(client.clone(), &ns);
    let mut template = pod_spec(&cluster, &["sleep", "infinity"], "Always");
    template["containers"][0]["name"] = "worker".into();
    let deployment: Deployment = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "worker"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "worker"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": {"app": "worker"}}, "spec": template},
        }
    }))
    .unwrap();
    deployments
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();
    let rolled_out = |generation: i64| {
        move |d: Option<&Deployment>| {
            d.and_then(|d| Some((d.metadata.generation?, d.status.as_ref()?)))
                .is_some_and(|(g, s)| {
                    g >= generation
                        && s.observed_generation.unwrap_or(0) >= generation
                        && s.updated_replicas == Some(1)
                        && s.available_replicas == Some(1)
                        && s.replicas == Some(1)
                })
        }
    };
    tokio::time::timeout(
        WAIT,
        await_condition(deployments.clone(), "worker", rolled_out(1)),
    )
    .await
    .expect("first rollout in time")
    .unwrap();
    let first = pods.list(&Default::default()).await.unwrap().items;
    assert_eq!(first.len(), 1);
    let first_name = first[0].metadata.name.clone().unwrap();

    let patch = serde_json::json!({"spec": {"template": {"metadata": {"annotations": {"rolecheck.io/rev": "2"}}}}});
    deployments
        .patch("worker", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    tokio::time::timeout(
        WAIT,
        await_condition(deployments.clone(), "worker", rolled_out(2)),
    )
    .await
    .expect("second rollout in time")
    .unwrap();
    // The old pod goes (kubelet 1.20.2 may take a while to report it gone: kubernetes#97288).
    tokio::time::timeout(
        WAIT,
        await_condition(pods.clone(), &first_name, |p: Option<&Pod>| p.is_none()),
    )
    .await
    .expect("old pod removed in time")
    .unwrap();
    let now = pods.list(&Default::default()).await.unwrap().items;
    let running: Vec<&Pod> = now.iter().filter(|p| is_ready(p)).collect();
    assert_eq!(running.len(), 1, "{now:?}");
    assert_ne!(
        running[0].metadata.name.as_deref(),
        Some(first_name.as_str())
    );
    assert_eq!(
        running[0]
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("rolecheck.io/rev"))
            .map(String::as_str),
        Some("2")
    );
    remove(&client, &ns).await;
}

#[tokio::test]
async fn oidc_discovery_is_served_without_credentials_under_the_issuer() {
    let Some((cluster, _)) = cluster().await else {
        return;
    };
    assert!(
        !cluster
            .api_audiences
            .iter()
            .any(|a| a == "sts.amazonaws.com"),
        "{:?}",
        cluster.api_audiences
    );
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&cluster.ca_cert).unwrap()).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(ca)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let discovery: serde_json::Value = http
        .get(format!(
            "{}/.well-known/openid-configuration",
            cluster.service_account_issuer
        ))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], cluster.service_account_issuer.as_str());
    assert_eq!(discovery["jwks_uri"], cluster.jwks_uri.as_str());
    let jwks: serde_json::Value = http
        .get(&cluster.jwks_uri)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{jwks}");
    assert_eq!(keys[0]["alg"], "RS256");
}

/// A pod that tries to reach AWS by name cannot leave loopback: its only nameserver is
/// 127.0.0.1, and the watch over the cluster's daemons and pods sees no peer off loopback
/// (and does see the cluster's own loopback traffic).
#[tokio::test(flavor = "multi_thread")]
async fn nothing_leaves_loopback_when_a_pod_reaches_for_aws() {
    use rolecheck::target::local::netwatch::{DEFAULT_INTERVAL, Scope, watch_while};
    let Some((cluster, client)) = cluster().await else {
        return;
    };
    let ns = namespace(&client, "net").await;
    let pods = Api::<Pod>::namespaced(client.clone(), &ns);
    let script = "import socket\n\
try:\n    socket.getaddrinfo('sts.amazonaws.com', 443)\n    print('resolved')\n\
except OSError as e:\n    print('no route off loopback:', type(e).__name__)\n\
print(open('/etc/resolv.conf').read().strip())";
    let scope = Scope::cluster(&cluster, vec![std::process::id()]);
    let (last, report) = watch_while(scope, DEFAULT_INTERVAL, async {
        pods.create(
            &PostParams::default(),
            &pod(
                "reach",
                pod_spec(&cluster, &["python3", "-c", script], "Never"),
            ),
        )
        .await
        .unwrap();
        let done = await_condition(pods.clone(), "reach", |p: Option<&Pod>| {
            p.is_some_and(|p| matches!(phase(p), "Succeeded" | "Failed"))
        });
        tokio::time::timeout(WAIT, done)
            .await
            .expect("pod did not finish in time")
            .unwrap()
            .unwrap()
    })
    .await;
    let logs = pods.logs("reach", &LogParams::default()).await.unwrap();
    assert_eq!(phase(&last), "Succeeded", "{logs}");
    assert!(
        logs.starts_with("no route off loopback: gaierror"),
        "{logs}"
    );
    assert!(logs.trim_end().ends_with("nameserver 127.0.0.1"), "{logs}");
    assert!(report.off_loopback.is_empty(), "{report}");
    assert!(
        report.loopback_flows > 0,
        "the watch saw no traffic at all: {report}"
    );
    remove(&client, &ns).await;
}

/// On a machine that cannot run a kubelet, `env up local` fails at once with exit 2 and says
/// why, before installing or starting anything. Here: the same machine with CAP_SYS_ADMIN
/// dropped from the bounding set (util-linux `setpriv`); needs no cluster.
#[test]
fn env_up_local_without_cap_sys_admin_exits_2_naming_it() {
    let out = std::process::Command::new("setpriv")
        .args([
            "--bounding-set",
            "-sys_admin",
            "--inh-caps",
            "-sys_admin",
            "--",
        ])
        .arg(env!("CARGO_BIN_EXE_rolecheck"))
        .args(["env", "up", "local"])
        .output()
        .expect("setpriv (util-linux) runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("this machine cannot run a kubelet") && stderr.contains("CAP_SYS_ADMIN"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

//! Stock kubectl against the sim, unmodified: the kubeconfig `rolecheck sim serve` writes
//! (`server: http://...`, a user token), no extra flags. Each test starts its own sim on
//! random ports and runs `kubectl` as a subprocess, asserting on what it prints.
//!
//! When kubectl is not installed the kubectl tests print why and pass without running.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use rolecheck_sim::{Sim, SimConfig};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

const ARN: &str = "arn:aws:iam::123456789012:role/astronomer-demo";

/// The kubectl binary on `PATH`, if any.
fn kubectl_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("kubectl"))
        .find(|candidate| candidate.is_file())
}

/// A started sim plus a kubeconfig for it, as `rolecheck sim serve` writes one.
struct Cluster {
    sim: Sim,
    kubectl: PathBuf,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// `None` (with a message) when kubectl is not installed.
    async fn start(config: SimConfig) -> Option<Cluster> {
        let Some(kubectl) = kubectl_binary() else {
            eprintln!("SKIPPED: kubectl is not installed (not found on PATH)");
            return None;
        };
        let sim = Sim::start(config).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ep = sim.endpoints();
        let kubeconfig = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "rolecheck-sim", "cluster": {"server": ep.kube_url}}],
            "users": [{"name": "rolecheck-admin", "user": {"token": ep.kube_token}}],
            "contexts": [{"name": "rolecheck-sim", "context": {"cluster": "rolecheck-sim", "user": "rolecheck-admin"}}],
            "current-context": "rolecheck-sim",
        });
        std::fs::write(
            dir.path().join("kubeconfig"),
            serde_json::to_string_pretty(&kubeconfig).unwrap(),
        )
        .unwrap();
        Some(Cluster { sim, kubectl, dir })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.kubectl);
        cmd.args(args)
            .env("KUBECONFIG", self.dir.path().join("kubeconfig"))
            .env("KUBECACHEDIR", self.dir.path().join("cache"))
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// Runs kubectl; returns (success, stdout, stderr).
    async fn try_run(&self, args: &[&str]) -> (bool, String, String) {
        let out = within(self.command(args).output()).await.unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs kubectl, which must succeed; returns stdout.
    async fn run(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.try_run(args).await;
        assert!(
            ok,
            "kubectl {args:?} failed:\nstdout: {stdout}\nstderr: {stderr}"
        );
        stdout
    }

    /// Runs kubectl, which must fail; returns stderr.
    async fn fail(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.try_run(args).await;
        assert!(!ok, "kubectl {args:?} should have failed: {stdout}");
        stderr
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }
}

/// Bounds a wait so a broken sim fails the test instead of hanging it.
async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("kubectl did not finish in time")
}

/// The whitespace-separated words of each line.
fn words(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .map(|l| l.split_whitespace().collect())
        .collect()
}

fn manifests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/manifests")
}

fn jwt_claims(token: &str) -> Value {
    let payload = token.trim().split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn requests_without_credentials_are_the_admin_and_a_wrong_token_is_refused() {
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    let ep = sim.endpoints();
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/namespaces", ep.kube_url);

    let anonymous = http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 200);
    let list: Value = anonymous.json().await.unwrap();
    assert_eq!(list["kind"], "NamespaceList");

    let admin = http
        .get(&url)
        .bearer_auth(&ep.kube_token)
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);

    for header in ["Bearer wrong-token", "Basic YWRtaW46YWRtaW4=", "Bearer "] {
        let refused = http
            .get(&url)
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401, "{header}");
        let status: Value = refused.json().await.unwrap();
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["reason"], "Unauthorized");
        assert_eq!(status["code"], 401);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn imperative_commands_work_like_on_a_cluster() {
    let Some(k) = Cluster::start(SimConfig::default()).await else {
        return;
    };
    let ns = words(&k.run(&["get", "ns"]).await)
        .into_iter()
        .map(|w| w.join(" "))
        .collect::<Vec<_>>();
    assert_eq!(ns[0], "NAME STATUS AGE");
    assert!(
        ns.iter().any(|l| l.starts_with("default Active ")),
        "{ns:?}"
    );

    assert_eq!(
        k.run(&["create", "ns", "astronomer-demo"]).await.trim(),
        "namespace/astronomer-demo created"
    );
    let n = ["-n", "astronomer-demo"];
    let with_ns = |args: &[&'static str]| [&n[..], args].concat();
    assert_eq!(
        k.run(&with_ns(&["create", "sa", "worker"])).await.trim(),
        "serviceaccount/worker created"
    );
    let annotation = format!("eks.amazonaws.com/role-arn={ARN}");
    let annotate = [
        "-n",
        "astronomer-demo",
        "annotate",
        "sa",
        "worker",
        annotation.as_str(),
    ];
    assert_eq!(
        k.run(&annotate).await.trim(),
        "serviceaccount/worker annotated"
    );

    let yaml = k
        .run(&with_ns(&["get", "sa", "worker", "-o", "yaml"]))
        .await;
    assert!(
        yaml.contains(&format!("eks.amazonaws.com/role-arn: {ARN}")),
        "{yaml}"
    );
    assert!(yaml.contains("kind: ServiceAccount"), "{yaml}");
    let arn = k
        .run(&with_ns(&[
            "get",
            "sa",
            "worker",
            "-o",
            r"jsonpath={.metadata.annotations.eks\.amazonaws\.com/role-arn}",
        ]))
        .await;
    assert_eq!(arn, ARN);
    let sas = words(&k.run(&with_ns(&["get", "sa"])).await)
        .into_iter()
        .map(|w| w[..2].join(" "))
        .collect::<Vec<_>>();
    assert_eq!(sas, ["NAME SECRETS", "default 0", "worker 0"]);

    let token = k
        .run(&with_ns(&[
            "create",
            "token",
            "worker",
            "--audience",
            "sts.amazonaws.com",
        ]))
        .await;
    let claims = jwt_claims(&token);
    assert_eq!(claims["aud"], serde_json::json!(["sts.amazonaws.com"]));
    assert_eq!(
        claims["sub"],
        "system:serviceaccount:astronomer-demo:worker"
    );
    assert_eq!(claims["iss"], k.sim.endpoints().oidc_issuer);

    assert_eq!(
        k.run(&with_ns(&[
            "run",
            "web",
            "--image=quay.io/astronomer/ap-airflow:1.10.5",
            r#"--overrides={"spec":{"serviceAccountName":"worker"}}"#,
        ]))
        .await
        .trim(),
        "pod/web created"
    );
    k.run(&with_ns(&[
        "wait",
        "--for=condition=Ready",
        "pod/web",
        "--timeout=30s",
    ]))
    .await;
    let describe = k.run(&with_ns(&["describe", "po", "web"])).await;
    for expected in [
        "Service Account:  worker",
        "Status:           Running",
        &format!("AWS_ROLE_ARN:                 {ARN}"),
        "AWS_WEB_IDENTITY_TOKEN_FILE:  /var/run/secrets/eks.amazonaws.com/serviceaccount/token",
        "/var/run/secrets/eks.amazonaws.com/serviceaccount from aws-iam-token (ro)",
        "aws-iam-token:",
        "TokenExpirationSeconds:  86400",
        "Successfully assigned astronomer-demo/web to sim-node-1",
        "Started container web",
    ] {
        assert!(
            describe.contains(expected),
            "missing {expected:?} in\n{describe}"
        );
    }
    let events = describe.split("Events:").nth(1).unwrap();
    let reasons: Vec<&str> = words(events)
        .into_iter()
        .filter(|w| w.first() == Some(&"Normal"))
        .map(|w| w[1])
        .collect();
    assert_eq!(reasons, ["Scheduled", "Pulled", "Created", "Started"]);

    let pods = words(&k.run(&with_ns(&["get", "po"])).await)
        .into_iter()
        .map(|w| w[..4].join(" "))
        .collect::<Vec<_>>();
    assert_eq!(pods, ["NAME READY STATUS RESTARTS", "web 1/1 Running 0"]);
    let wide = k.run(&with_ns(&["get", "po", "-o", "wide"])).await;
    assert!(wide.lines().next().unwrap().contains("IP"), "{wide}");
    assert!(wide.contains("sim-node-1"), "{wide}");

    let found = k
        .run(&[
            "get",
            "events",
            "-A",
            "--field-selector",
            "involvedObject.name=web,reason=Started",
            "-o",
            "jsonpath={.items[*].message}",
        ])
        .await;
    assert_eq!(found, "Started container web");

    assert_eq!(
        k.run(&with_ns(&["delete", "po", "web"])).await.trim(),
        "pod \"web\" deleted"
    );
    let missing = k.fail(&with_ns(&["get", "po", "web"])).await;
    assert!(
        missing.contains(r#"Error from server (NotFound): pods "web" not found"#),
        "{missing}"
    );
    let dup = k.fail(&["create", "ns", "astronomer-demo"]).await;
    assert!(
        dup.contains(
            r#"Error from server (AlreadyExists): namespaces "astronomer-demo" already exists"#
        ),
        "{dup}"
    );
    k.sim.shutdown().await;
}

#[tokio::test]
async fn get_watch_streams_rows_until_the_pod_runs() {
    let Some(k) = Cluster::start(SimConfig::default()).await else {
        return;
    };
    k.run(&["create", "ns", "astronomer-watch"]).await;
    let mut watch = k
        .command(&["-n", "astronomer-watch", "get", "po", "-w"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    k.run(&["-n", "astronomer-watch", "run", "w1", "--image=busybox"])
        .await;
    let mut seen = Vec::new();
    within(async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let cells: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
            let running = cells.first().map(String::as_str) == Some("w1")
                && cells.get(2).map(String::as_str) == Some("Running");
            seen.push(cells);
            if running {
                return;
            }
        }
        panic!("the watch ended before the pod ran");
    })
    .await;
    watch.kill().await.unwrap();
    assert_eq!(seen[0][..3], ["NAME", "READY", "STATUS"]);
    let last = seen.last().unwrap();
    assert_eq!(last[..4], ["w1", "1/1", "Running", "0"]);
    assert!(
        seen.iter()
            .filter(|c| c.first().map(String::as_str) == Some("NAME"))
            .count()
            == 1,
        "one header only: {seen:?}"
    );
    k.sim.shutdown().await;
}

#[tokio::test]
async fn apply_of_the_fixtures_validates_creates_and_merges() {
    let Some(k) = Cluster::start(SimConfig::default()).await else {
        return;
    };
    let dir = manifests_dir().display().to_string();
    let applied = k.run(&["apply", "-f", &dir]).await;
    for expected in [
        "namespace/astronomer-demo created",
        "serviceaccount/demo-worker created",
        "deployment.apps/demo-worker created",
    ] {
        assert!(applied.contains(expected), "{applied}");
    }
    let n = ["-n", "astronomer-demo"];
    let with_ns = |args: &[&str]| -> Vec<String> {
        n.iter()
            .chain(args.iter())
            .map(|s| (*s).to_owned())
            .collect()
    };
    let run = |args: Vec<String>| {
        let k = &k;
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            k.run(&args).await
        }
    };
    let rollout = run(with_ns(&[
        "rollout",
        "status",
        "deploy/demo-worker",
        "--timeout=30s",
    ]))
    .await;
    assert!(rollout.contains("successfully rolled out"), "{rollout}");

    let deploys = words(&run(with_ns(&["get", "deploy"])).await)
        .into_iter()
        .map(|w| w[..4].join(" "))
        .collect::<Vec<_>>();
    assert_eq!(
        deploys,
        ["NAME READY UP-TO-DATE AVAILABLE", "demo-worker 1/1 1 1"]
    );
    let rs = run(with_ns(&["get", "rs"])).await;
    let rs = words(&rs);
    assert_eq!(rs[0][..4], ["NAME", "DESIRED", "CURRENT", "READY"]);
    assert_eq!(rs[1][1..4], ["1", "1", "1"]);
    let env = run(with_ns(&[
        "get",
        "po",
        "-l",
        "component=worker",
        "-o",
        "jsonpath={.items[0].spec.containers[0].env[*].name}",
    ]))
    .await;
    assert_eq!(
        env,
        "AIRFLOW__CORE__EXECUTOR AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE"
    );
    let scaling = run(with_ns(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.kind=Deployment,reason=ScalingReplicaSet",
        "-o",
        "jsonpath={.items[*].message}",
    ]))
    .await;
    assert!(
        scaling.starts_with("Scaled up replica set demo-worker-") && scaling.ends_with(" to 1"),
        "{scaling}"
    );

    let again = k.run(&["apply", "-f", &dir]).await;
    assert_eq!(again.matches("unchanged").count(), 3, "{again}");

    // A changed manifest: client-side apply sends a strategic merge patch that names the
    // container and env var by key; everything else of the container must survive.
    let text = std::fs::read_to_string(manifests_dir().join("astronomer-demo.yaml")).unwrap();
    assert!(text.contains("value: CeleryExecutor"));
    let changed = k.write(
        "changed.yaml",
        &text.replace("value: CeleryExecutor", "value: KubernetesExecutor"),
    );
    let configured = k.run(&["apply", "-f", &changed]).await;
    assert!(
        configured.contains("deployment.apps/demo-worker configured"),
        "{configured}"
    );
    let container = run(with_ns(&[
        "get",
        "deploy",
        "demo-worker",
        "-o",
        "jsonpath={.spec.template.spec.containers[0]}",
    ]))
    .await;
    let container: Value = serde_json::from_str(&container).unwrap();
    assert_eq!(container["image"], "quay.io/astronomer/ap-airflow:1.10.5");
    assert_eq!(container["args"], serde_json::json!(["worker"]));
    assert_eq!(container["ports"][0]["containerPort"], 8793);
    assert_eq!(
        container["env"],
        serde_json::json!([{"name": "AIRFLOW__CORE__EXECUTOR", "value": "KubernetesExecutor"}])
    );

    // A stale resourceVersion on replace is a 409 Conflict.
    let stale = run(with_ns(&["get", "sa", "demo-worker", "-o", "json"])).await;
    run(with_ns(&["label", "sa", "demo-worker", "touched=yes"])).await;
    let stale_file = k.write("stale.json", &stale);
    let conflict = k.fail(&["replace", "-f", &stale_file]).await;
    assert!(
        conflict.contains("Error from server (Conflict)")
            && conflict.contains("the object has been modified"),
        "{conflict}"
    );

    let deleted = k.run(&["delete", "-f", &dir, "--ignore-not-found"]).await;
    assert!(
        deleted.contains("namespace \"astronomer-demo\" deleted"),
        "{deleted}"
    );
    k.sim.shutdown().await;
}

/// `kubectl rollout status` reads what the API server defaults: a StatefulSet's
/// `spec.updateStrategy` (it refuses a set without a RollingUpdate strategy) and a
/// Deployment's `progressDeadlineSeconds` and strategy; both roll out and say so.
#[tokio::test]
async fn rollout_status_follows_stateful_sets_and_deployments() {
    let Some(k) = Cluster::start(SimConfig::default()).await else {
        return;
    };
    let manifest = k.write(
        "workloads.yaml",
        r#"apiVersion: v1
kind: Namespace
metadata: {name: rollouts}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: worker, namespace: rollouts}
spec:
  serviceName: worker
  selector: {matchLabels: {component: worker}}
  template:
    metadata: {labels: {component: worker}}
    spec:
      containers: [{name: worker, image: "quay.io/astronomer/ap-airflow:1.10.5"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: scheduler, namespace: rollouts}
spec:
  selector: {matchLabels: {component: scheduler}}
  template:
    metadata: {labels: {component: scheduler}}
    spec:
      containers: [{name: scheduler, image: "quay.io/astronomer/ap-airflow:1.10.5"}]
"#,
    );
    k.run(&["apply", "-f", &manifest]).await;
    let strategy = k
        .run(&[
            "-n",
            "rollouts",
            "get",
            "statefulset",
            "worker",
            "-o",
            "jsonpath={.spec.updateStrategy.type}/{.spec.podManagementPolicy}",
        ])
        .await;
    assert_eq!(strategy, "RollingUpdate/OrderedReady");

    let set = k
        .run(&[
            "-n",
            "rollouts",
            "rollout",
            "status",
            "statefulset/worker",
            "--timeout=30s",
        ])
        .await;
    assert!(set.contains("roll out complete"), "{set}");
    let deployment = k
        .run(&[
            "-n",
            "rollouts",
            "rollout",
            "status",
            "deployment/scheduler",
            "--timeout=30s",
        ])
        .await;
    assert!(
        deployment.contains("\"scheduler\" successfully rolled out"),
        "{deployment}"
    );

    // A new template rolls out again, and `rollout status` waits for it.
    k.run(&[
        "-n",
        "rollouts",
        "set",
        "image",
        "statefulset/worker",
        "worker=quay.io/astronomer/ap-airflow:1.10.7",
    ])
    .await;
    let again = k
        .run(&[
            "-n",
            "rollouts",
            "rollout",
            "status",
            "statefulset/worker",
            "--timeout=30s",
        ])
        .await;
    assert!(again.contains("roll out complete"), "{again}");
    let image = k
        .run(&[
            "-n",
            "rollouts",
            "get",
            "pod",
            "worker-0",
            "-o",
            "jsonpath={.spec.containers[0].image}",
        ])
        .await;
    assert_eq!(image, "quay.io/astronomer/ap-airflow:1.10.7");
    k.sim.shutdown().await;
}

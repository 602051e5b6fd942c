//! The suite on `--target local` (issue 14 part B): the real Kubernetes 1.20.2 cluster of
//! `rolecheck env up local` with the sim's platform, webhook and STS attached, and the
//! differential check against the embedded sim.
//!
//! These tests need the cluster: `make test` brings it up and sets `ROLECHECK_LOCAL_CLUSTER=1`.
//! Without the variable they print why they do not run; with it and no cluster, they fail.

#[allow(dead_code)] // this file uses `run_suite` only
mod target_common;

use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    Container, Namespace, PersistentVolume, PersistentVolumeClaim, Pod, PodSpec, ServiceAccount,
};
use kube::ResourceExt as _;
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams};
use rolecheck::drivers::deadline::Deadline;
use rolecheck::drivers::houston::{HoustonAccess, HoustonDriver};
use rolecheck::drivers::iam::IamDriver;
use rolecheck::drivers::kube::{KubeAccess, KubeDriver};
use rolecheck::drivers::sts::{AwsEndpoint, StsDriver};
use rolecheck::platform::{Actor, Executor, RoleArg};
use rolecheck::report::differential::compare;
use rolecheck::report::model::Outcome;
use rolecheck::target::local::netwatch::{DEFAULT_INTERVAL, Scope, watch_while};
use rolecheck::target::local::{LocalCluster, TESTS_ENV};
use rolecheck_sim::{Sim, SimConfig};

/// The cluster when the tests are requested; `None` (with the reason printed) otherwise.
fn cluster() -> Option<LocalCluster> {
    if std::env::var(TESTS_ENV).ok().as_deref() != Some("1") {
        eprintln!("not requested: set {TESTS_ENV}=1 with the local cluster up (make test does)");
        return None;
    }
    match LocalCluster::load() {
        Ok(cluster) => Some(cluster),
        Err(err) => panic!("{TESTS_ENV}=1 but the local cluster is not up: {err}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_passes_on_local_and_agrees_with_the_sim() {
    let Some(cluster) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let local_dir = dir.path().join("local");
    let sim_dir = dir.path().join("sim");
    std::fs::create_dir_all(&local_dir).unwrap();
    std::fs::create_dir_all(&sim_dir).unwrap();

    // The suite on local as a child process, watched: nothing may leave loopback.
    let scope = Scope::cluster(&cluster, vec![std::process::id()]);
    let run_dir = local_dir.clone();
    let ((code, stderr, local), traffic) = watch_while(scope, DEFAULT_INTERVAL, async move {
        tokio::task::spawn_blocking(move || run_local_suite(&run_dir))
            .await
            .unwrap()
    })
    .await;
    eprintln!("{stderr}");
    assert!(traffic.off_loopback.is_empty(), "{traffic}");
    assert!(traffic.loopback_flows > 0, "{traffic}");
    let sim_dir2 = sim_dir.clone();
    let (_, sim_stderr, sim) =
        tokio::task::spawn_blocking(move || target_common::run_suite("sim", &sim_dir2))
            .await
            .unwrap();
    assert!(local.leftovers.is_empty(), "{:?}", local.leftovers);

    let mut passed = Vec::new();
    for s in &local.scenarios {
        match &s.outcome {
            Outcome::Passed => passed.push(s.name.as_str()),
            Outcome::Skipped { reason } => assert!(
                reason.contains("clock-control"),
                "{} skipped on local for another reason than clock control: {reason}",
                s.name
            ),
            other => panic!("{} did not pass on local: {other:?}\n{stderr}", s.name),
        }
    }
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        passed.len() >= 28,
        "only {} passed: {passed:?}",
        passed.len()
    );
    // Exec into a real container (R15), a real rollout (R16), the SDK's own chain in a pod.
    for name in [
        "airflow-images-ship-boto3-and-botocore",
        "rebind-rolls-pods-with-new-role",
        "pods-before-annotation-keep-running-without-role",
        "sdk-in-pod-assumes-role-by-itself",
        "token-resigned-by-foreign-key-refused",
    ] {
        assert!(passed.contains(&name), "{name} did not pass on local");
    }

    let comparison = compare(&sim, &local);
    eprintln!(
        "differential sim vs local: {} scenarios and {} rules compared; one-sided: {:#?}",
        comparison.scenarios_compared, comparison.rules_compared, comparison.one_sided
    );
    assert!(
        comparison.differences.is_empty(),
        "sim and local disagree:\n{}\n(sim run: {sim_stderr})",
        comparison
            .differences
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(comparison.scenarios_compared >= 28, "{comparison:?}");
}

/// `rolecheck run --target local` over the suite. Namespace deletion on a real cluster waits
/// for the kubelet to confirm each pod is gone (kubelet 1.20.2 retries a NotFound while
/// killing: kubernetes#97288), so clean-up gets more time than the default minute.
fn run_local_suite(
    reports: &std::path::Path,
) -> (Option<i32>, String, rolecheck::report::model::RunReport) {
    let json = reports.join("results.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .args([
            "run",
            "--target",
            "local",
            "-j",
            "4",
            "--cleanup-timeout",
            "3m",
        ])
        .arg("--json")
        .arg(&json)
        .arg("../scenarios")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = rolecheck::report::json::read_json(&json)
        .unwrap_or_else(|e| panic!("no report ({e}): {stderr}"));
    (out.status.code(), stderr, report)
}

/// A sim attached to the cluster for the run id `run`.
async fn attached_sim(cluster: &LocalCluster, run: &str) -> Sim {
    let config = rolecheck::target::attach::cluster_config(cluster, run)
        .await
        .unwrap();
    Sim::start(SimConfig {
        cluster: Some(config),
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

async fn client(cluster: &LocalCluster) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(&cluster.kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

fn run_id() -> String {
    format!("t{:08x}", rand::random::<u32>())
}

async fn labelled_namespace(client: &kube::Client, name: &str, run: &str) {
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some([("rolecheck.io/run-id".to_owned(), run.to_owned())].into()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
}

async fn remove_namespace(client: &kube::Client, name: &str) {
    let _ = Api::<Namespace>::all(client.clone())
        .delete(name, &DeleteParams::background())
        .await;
}

/// Creates a ServiceAccount, waiting until the API server accepts it (the namespace's
/// controller may lag a moment behind a fresh namespace).
async fn service_account(client: &kube::Client, ns: &str, name: &str, role: Option<&str>) {
    let sa = ServiceAccount {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            annotations: role
                .map(|r| [("eks.amazonaws.com/role-arn".to_owned(), r.to_owned())].into()),
            ..ObjectMeta::default()
        },
        ..ServiceAccount::default()
    };
    let api = Api::<ServiceAccount>::namespaced(client.clone(), ns);
    api.create(&PostParams::default(), &sa).await.unwrap();
    // Kubernetes 1.20's ServiceAccount admission refuses pods ("No API token found for
    // service account", 500 with retryAfterSeconds) until the token controller has given the
    // ServiceAccount its token Secret: wait for that, watching, with a deadline.
    tokio::time::timeout(
        Duration::from_secs(60),
        kube::runtime::wait::await_condition(api, name, has_token_secret),
    )
    .await
    .expect("the token controller gave the ServiceAccount no token Secret within 60 s")
    .unwrap();
}

/// The ServiceAccount lists a token Secret (what the 1.20 ServiceAccount admission needs).
fn has_token_secret(sa: Option<&ServiceAccount>) -> bool {
    sa.and_then(|sa| sa.secrets.as_ref())
        .is_some_and(|secrets| !secrets.is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_request_tokens_are_verified_by_the_sims_sts_through_the_real_jwks() {
    let Some(cluster) = cluster() else { return };
    let run = run_id();
    let sim = attached_sim(&cluster, &run).await;
    let client = client(&cluster).await;
    let ns = format!("astronomer-{run}");
    labelled_namespace(&client, &ns, &run).await;
    service_account(&client, &ns, "worker", None).await;

    // A token of the real API server, for STS's audience.
    let kube = KubeDriver::connect(&KubeAccess::Kubeconfig {
        path: Some(cluster.kubeconfig.clone()),
        context: None,
    })
    .await
    .unwrap();
    let token = kube
        .request_token(&ns, "worker", "sts.amazonaws.com", Some(3600), None)
        .await
        .unwrap();

    // The cluster's issuer registered in the sim's IAM, and a role trusting it.
    let endpoints = sim.endpoints().clone();
    let endpoint = AwsEndpoint::local(endpoints.aws_url.clone(), endpoints.region.clone());
    let iam = IamDriver::with_static_credentials(
        &endpoint,
        &endpoints.aws_access_key_id,
        &endpoints.aws_secret_access_key,
    );
    let provider = iam
        .create_oidc_provider(
            &cluster.service_account_issuer,
            "9e99a48a9960b14926bb7f3b02e22da2b0ab7280",
            &run,
        )
        .await
        .unwrap();
    let issuer = cluster
        .service_account_issuer
        .trim_start_matches("https://")
        .to_owned();
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider.arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {format!("{issuer}:sub"): "system:serviceaccount:astronomer-*:*"}},
        }],
    });
    let role = iam
        .create_role("real-jwks", &trust.to_string(), &[], &run)
        .await
        .unwrap();

    let sts = StsDriver::new(endpoint);
    let assumed = sts
        .assume_role_with_web_identity(&role, "rolecheck-session", &token)
        .await
        .unwrap()
        .unwrap_or_else(|r| panic!("STS refused the real token: {}: {}", r.code, r.message));
    assert!(
        assumed
            .assumed_role_arn
            .ends_with(":assumed-role/real-jwks/rolecheck-session"),
        "{}",
        assumed.assumed_role_arn
    );

    // The same claims with a signature the real keys do not verify: refused.
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged_signature = "A".repeat(parts[2].len());
    parts[2] = &forged_signature;
    let Err(refusal) = sts
        .assume_role_with_web_identity(&role, "rolecheck-session", &parts.join("."))
        .await
        .unwrap()
    else {
        panic!("a forged signature must be refused");
    };
    assert_eq!(refusal.code, "InvalidIdentityToken", "{}", refusal.message);

    remove_namespace(&client, &ns).await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admission_webhook_mutates_a_real_pod_and_its_failure_is_visible() {
    let Some(cluster) = cluster() else { return };
    let run = run_id();
    let sim = attached_sim(&cluster, &run).await;
    let registration = sim.endpoints().webhook_configuration.clone().unwrap();
    let client = client(&cluster).await;
    let ns = format!("rolecheck-webhook-{run}");
    labelled_namespace(&client, &ns, &run).await;
    let role = "arn:aws:iam::123456789012:role/example-role";
    service_account(&client, &ns, "annotated", Some(role)).await;

    let pod = |name: &str, sa: &str| Pod {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            service_account_name: Some(sa.to_owned()),
            host_network: Some(true),
            containers: vec![Container {
                name: "main".to_owned(),
                image: Some(cluster.images.pause.clone()),
                image_pull_policy: Some("Never".to_owned()),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        ..Pod::default()
    };
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let created = pods
        .create(&PostParams::default(), &pod("mutated", "annotated"))
        .await
        .unwrap();
    let spec = created.spec.unwrap();
    let env: Vec<(String, Option<String>)> = spec.containers[0]
        .env
        .iter()
        .flatten()
        .map(|e| (e.name.clone(), e.value.clone()))
        .collect();
    assert!(
        env.contains(&("AWS_ROLE_ARN".to_owned(), Some(role.to_owned()))),
        "{env:?}"
    );
    assert!(
        env.contains(&(
            "AWS_WEB_IDENTITY_TOKEN_FILE".to_owned(),
            Some("/var/run/secrets/eks.amazonaws.com/serviceaccount/token".to_owned())
        )),
        "{env:?}"
    );
    let volume = spec
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == "aws-iam-token")
        .expect("the projected token volume");
    let projection = volume.projected.as_ref().unwrap().sources.as_ref().unwrap()[0]
        .service_account_token
        .clone()
        .unwrap();
    assert_eq!(projection.audience.as_deref(), Some("sts.amazonaws.com"));

    // With the webhook gone but still registered, the API server refuses pods (Fail).
    let config = {
        let api: Api<k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration> =
            Api::all(client.clone());
        let mut existing = api.get(&registration).await.unwrap();
        existing.metadata = ObjectMeta {
            name: Some(format!("{registration}-dead")),
            labels: existing.metadata.labels.clone(),
            ..ObjectMeta::default()
        };
        existing
    };
    sim.shutdown().await;
    let api: Api<k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration> =
        Api::all(client.clone());
    api.create(&PostParams::default(), &config).await.unwrap();
    // The API server picks the registration up within moments; until then a pod may still
    // be admitted (and is removed again).
    let mut refused = None;
    for attempt in 0..100 {
        let name = format!("refused-{attempt}");
        match pods
            .create(&PostParams::default(), &pod(&name, "annotated"))
            .await
        {
            Ok(_) => {
                let _ = pods.delete(&name, &DeleteParams::background()).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(err) => {
                refused = Some(err);
                break;
            }
        }
    }
    let refused = refused.expect("the API server kept admitting pods without the webhook");
    let _ = api
        .delete(&format!("{registration}-dead"), &DeleteParams::default())
        .await;
    assert!(
        refused.to_string().contains("failed calling webhook"),
        "{refused}"
    );
    remove_namespace(&client, &ns).await;
}

/// The names of a pod's containers (`containers` or `initContainers`).
fn container_names(pod: &Pod, init: bool) -> Vec<String> {
    let spec = pod.spec.as_ref().unwrap();
    let containers = if init {
        spec.init_containers.clone().unwrap_or_default()
    } else {
        spec.containers.clone()
    };
    containers.into_iter().map(|c| c.name).collect()
}

/// The value of `name` in every container of the pod (`None` where a container lacks it).
fn env_everywhere(pod: &Pod, name: &str) -> Vec<Option<String>> {
    pod.spec
        .as_ref()
        .unwrap()
        .containers
        .iter()
        .map(|c| {
            c.env
                .iter()
                .flatten()
                .find(|e| e.name == name)
                .and_then(|e| e.value.clone())
        })
        .collect()
}

/// The platform installs what the v0.16 chart renders into the real cluster: a generated
/// release name (manualReleaseNames off), the worker as a StatefulSet whose volume claim the
/// cluster's default StorageClass binds, `<release>-worker-0` running the worker and its
/// log garbage-collector sidecar under `<release>-worker-serviceaccount`, the webhook's role in
/// every container; an update rolls the StatefulSet (the real controller's revisions), and
/// deleting the deployment leaves neither the namespace nor the volume behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_installs_the_charts_shapes_into_the_real_cluster() {
    let Some(cluster) = cluster() else { return };
    let run = run_id();
    let sim = attached_sim(&cluster, &run).await;
    let endpoints = sim.endpoints().clone();
    let admin = endpoints
        .platform_users
        .iter()
        .find(|u| u.workspace_role == "WORKSPACE_ADMIN")
        .unwrap()
        .token
        .clone();
    let houston = HoustonDriver::new(HoustonAccess {
        url: endpoints.platform_url.clone(),
        workspace_id: endpoints.workspace_id.clone(),
        tokens: [(Actor::Admin, admin)].into(),
        run_id: Some(run.clone()),
    })
    .unwrap();
    let kube = KubeDriver::connect(&KubeAccess::Kubeconfig {
        path: Some(cluster.kubeconfig.clone()),
        context: None,
    })
    .await
    .unwrap();
    let client = client(&cluster).await;
    let first = "arn:aws:iam::123456789012:role/first";
    let second = "arn:aws:iam::123456789012:role/second";

    let asked = format!("shapes-{run}");
    let release = houston
        .create_deployment(
            Actor::Admin,
            &asked,
            Executor::Celery,
            &RoleArg::Value(first.to_owned()),
        )
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        release, asked,
        "manualReleaseNames is off: the platform names the release"
    );
    let ns = format!("astronomer-{release}");
    let worker = format!("release={release},component=worker");
    let wait = Duration::from_secs(240);

    let pods = kube
        .rolled_out_pods(&ns, &worker, &Deadline::after(wait))
        .await
        .unwrap();
    assert_eq!(pods.len(), 1);
    let pod = &pods[0];
    assert_eq!(pod.name_any(), format!("{release}-worker-0"));
    assert_eq!(container_names(pod, false), ["worker", "worker-gc"]);
    assert_eq!(container_names(pod, true), ["wait-for-airflow-migrations"]);
    assert_eq!(
        pod.spec.as_ref().unwrap().service_account_name.as_deref(),
        Some(format!("{release}-worker-serviceaccount").as_str())
    );
    assert_eq!(
        env_everywhere(pod, "AWS_ROLE_ARN"),
        vec![Some(first.to_owned()); 2]
    );

    let set = Api::<StatefulSet>::namespaced(client.clone(), &ns)
        .get(&format!("{release}-worker"))
        .await
        .unwrap();
    let revision = set.status.unwrap().current_revision.unwrap();
    let claim = Api::<PersistentVolumeClaim>::namespaced(client.clone(), &ns)
        .get(&format!("logs-{release}-worker-0"))
        .await
        .unwrap();
    assert_eq!(
        claim.status.as_ref().unwrap().phase.as_deref(),
        Some("Bound"),
        "{claim:?}"
    );
    let volume = claim.spec.unwrap().volume_name.unwrap();

    // The scheduler is a Deployment with its log garbage-collector sidecar.
    let scheduler = kube
        .rolled_out_pods(
            &ns,
            &format!("release={release},component=scheduler"),
            &Deadline::after(wait),
        )
        .await
        .unwrap();
    assert_eq!(
        container_names(&scheduler[0], false),
        ["scheduler", "scheduler-gc"]
    );
    assert_eq!(
        container_names(&scheduler[0], true),
        ["run-airflow-migrations"]
    );

    houston
        .update_deployment(Actor::Admin, &release, &RoleArg::Value(second.to_owned()))
        .await
        .unwrap()
        .unwrap();
    // The platform patched the StatefulSet before answering (its generation moved on), so
    // the driver's rollout wait alone must end with the pod of the new revision.
    let rolled = kube
        .rolled_out_pods(&ns, &worker, &Deadline::after(wait))
        .await
        .unwrap();
    assert_eq!(
        env_everywhere(&rolled[0], "AWS_ROLE_ARN"),
        vec![Some(second.to_owned()); 2]
    );
    assert_eq!(rolled[0].name_any(), format!("{release}-worker-0"));
    let set = Api::<StatefulSet>::namespaced(client.clone(), &ns)
        .get(&format!("{release}-worker"))
        .await
        .unwrap();
    assert_ne!(set.status.unwrap().current_revision.unwrap(), revision);

    houston
        .delete_deployment(Actor::Admin, &release)
        .await
        .unwrap()
        .unwrap();
    kube.delete_namespace(&ns, &Deadline::after(Duration::from_secs(180)))
        .await
        .unwrap();
    // The volume goes with its claim (reclaimPolicy Delete of the default class).
    tokio::time::timeout(
        Duration::from_secs(120),
        kube::runtime::wait::await_condition(
            Api::<PersistentVolume>::all(client.clone()),
            &volume,
            |pv: Option<&PersistentVolume>| pv.is_none(),
        ),
    )
    .await
    .expect("the worker's volume was not deleted with its claim")
    .unwrap();
    sim.shutdown().await;
}

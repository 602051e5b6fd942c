//! Deployments rolling out to Running pods, the pod-identity webhook on real pod creation,
//! and the webhook's fault switches, observed through kube-rs.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, ResourceExt as _};
use rolecheck_sim::{Fault, FaultSet, Sim, SimConfig};
use rstest::rstest;
use serde_json::{Value, json};

const ARN: &str = "arn:aws:iam::123456789012:role/airflow";
const TOKEN_FILE: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";

mod kube_common;

use kube_common::client;

async fn start(faults: FaultSet) -> (Sim, Client) {
    let sim = Sim::start(SimConfig {
        faults,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let client = client(&sim).await;
    (sim, client)
}

fn typed<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("the sim did not reach the expected state")
}

/// A namespace with a ServiceAccount `sa`, annotated with the role when `role` is set.
async fn setup(client: &Client, ns: &str, role: Option<&str>) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &typed(json!({"metadata": {"name": ns}})),
        )
        .await
        .unwrap();
    let annotations = role.map_or(json!({}), |r| json!({"eks.amazonaws.com/role-arn": r}));
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    sas.create(
        &PostParams::default(),
        &typed(json!({"metadata": {"name": "sa", "annotations": annotations}})),
    )
    .await
    .unwrap();
}

fn env(pod: &Pod, container: usize) -> Vec<(String, String)> {
    pod.spec.as_ref().unwrap().containers[container]
        .env
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.name, e.value.unwrap_or_default()))
        .collect()
}

fn env_value(pod: &Pod, name: &str) -> Option<String> {
    env(pod, 0)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

/// The audience of the `aws-iam-token` projected volume, if the pod has it.
fn token_audience(pod: &Pod) -> Option<String> {
    let volume = pod
        .spec
        .as_ref()?
        .volumes
        .as_ref()?
        .iter()
        .find(|v| v.name == "aws-iam-token")?;
    volume.projected.as_ref()?.sources.as_ref()?[0]
        .service_account_token
        .as_ref()?
        .audience
        .clone()
}

fn token_mounted(pod: &Pod) -> bool {
    pod.spec.as_ref().unwrap().containers[0]
        .volume_mounts
        .iter()
        .flatten()
        .any(|m| {
            m.name == "aws-iam-token"
                && m.mount_path == "/var/run/secrets/eks.amazonaws.com/serviceaccount"
                && m.read_only == Some(true)
        })
}

fn deployment(image: &str) -> Deployment {
    typed(json!({
        "metadata": {"name": "r-worker", "labels": {"component": "worker"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"component": "worker", "release": "r"}},
            "template": {
                "metadata": {"labels": {"component": "worker", "release": "r"}},
                "spec": {"serviceAccountName": "sa", "containers": [{"name": "worker", "image": image}]}
            }
        }
    }))
}

/// `kubectl rollout status`'s notion of done.
fn rolled_out(d: Option<&Deployment>) -> bool {
    let Some(d) = d else { return false };
    let Some(status) = &d.status else {
        return false;
    };
    let want = d.spec.replicas.unwrap_or(1);
    status.observed_generation >= d.metadata.generation
        && status.updated_replicas == Some(want)
        && status.replicas == Some(want)
        && status.ready_replicas == Some(want)
        && status.available_replicas == Some(want)
}

#[tokio::test]
async fn a_deployment_rolls_out_and_rolls_again_on_a_template_change() {
    let (sim, client) = start(FaultSet::none()).await;
    setup(&client, "astronomer-r", Some(ARN)).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "astronomer-r");
    let created = deployments
        .create(&PostParams::default(), &deployment("airflow:1"))
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));

    let done = within(await_condition(deployments.clone(), "r-worker", rolled_out))
        .await
        .unwrap()
        .unwrap();
    let conditions = done.status.unwrap().conditions.unwrap();
    assert!(conditions.iter().any(|c| c.type_.as_deref() == Some("Available") && c.status.as_deref() == Some("True")));

    let pods: Api<Pod> = Api::namespaced(client.clone(), "astronomer-r");
    let first = pods
        .list(&ListParams::default().labels("release=r"))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    let rs_names: Vec<String> = first
        .items
        .iter()
        .map(|p| p.owner_references()[0].name.clone())
        .collect();
    for pod in &first.items {
        let hash = pod.labels()["pod-template-hash"].clone();
        assert!(pod.name_any().starts_with(&format!("r-worker-{hash}-")));
        assert_eq!(
            pod.status.as_ref().unwrap().phase.as_deref(),
            Some("Running")
        );
        // Pods created by the controller went through the webhook.
        assert_eq!(env_value(pod, "AWS_ROLE_ARN").as_deref(), Some(ARN));
        assert_eq!(
            env_value(pod, "AWS_WEB_IDENTITY_TOKEN_FILE").as_deref(),
            Some(TOKEN_FILE)
        );
        assert_eq!(token_audience(pod).as_deref(), Some("sts.amazonaws.com"));
        assert!(token_mounted(pod));
    }

    let patched = deployments
        .patch(
            "r-worker",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [{"name": "worker", "image": "airflow:2"}]}}}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.metadata.generation, Some(2));
    let done = within(await_condition(deployments.clone(), "r-worker", rolled_out))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status.unwrap().observed_generation, Some(2));

    let second = pods
        .list(&ListParams::default().labels("release=r"))
        .await
        .unwrap();
    assert_eq!(second.items.len(), 2);
    for pod in &second.items {
        assert!(!rs_names.contains(&pod.owner_references()[0].name));
        assert_eq!(
            pod.spec.as_ref().unwrap().containers[0].image.as_deref(),
            Some("airflow:2")
        );
    }
    let replicasets: Api<ReplicaSet> = Api::namespaced(client.clone(), "astronomer-r");
    let old = replicasets.get(&rs_names[0]).await.unwrap();
    assert_eq!(old.spec.replicas, Some(0));
    sim.shutdown().await;
}

/// R16 in the healthy sim, and its fault: only pods created after the annotation are
/// mutated, unless `MutateExistingPods` is on.
#[rstest]
#[case::healthy(FaultSet::none(), false)]
#[case::mutate_existing(FaultSet::only(Fault::MutateExistingPods), true)]
#[tokio::test]
async fn pods_that_existed_before_the_annotation(
    #[case] faults: FaultSet,
    #[case] old_mutated: bool,
) {
    let (sim, client) = start(faults).await;
    setup(&client, "astronomer-e", None).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "astronomer-e");
    let pod = |name: &str| -> Pod {
        typed(
            json!({"metadata": {"name": name}, "spec": {"serviceAccountName": "sa", "containers": [{"name": "c", "image": "i"}]}}),
        )
    };
    let before = pods
        .create(&PostParams::default(), &pod("before"))
        .await
        .unwrap();
    assert!(env_value(&before, "AWS_ROLE_ARN").is_none());

    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "astronomer-e");
    sas.patch(
        "sa",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"annotations": {"eks.amazonaws.com/role-arn": ARN}}})),
    )
    .await
    .unwrap();
    let after = pods
        .create(&PostParams::default(), &pod("after"))
        .await
        .unwrap();
    assert_eq!(env_value(&after, "AWS_ROLE_ARN").as_deref(), Some(ARN));

    let before = pods.get("before").await.unwrap();
    assert_eq!(env_value(&before, "AWS_ROLE_ARN").is_some(), old_mutated);
    assert_eq!(token_mounted(&before), old_mutated);
    // And it still runs.
    within(await_condition(
        pods.clone(),
        "before",
        conditions::is_pod_running(),
    ))
    .await
    .unwrap();
    sim.shutdown().await;
}

struct Seen {
    role: Option<&'static str>,
    token_file: Option<&'static str>,
    audience: Option<&'static str>,
}

const HEALTHY: Seen = Seen {
    role: Some(ARN),
    token_file: Some(TOKEN_FILE),
    audience: Some("sts.amazonaws.com"),
};

#[rstest]
#[case::healthy(FaultSet::none(), HEALTHY)]
#[case::webhook_disabled(FaultSet::only(Fault::WebhookDisabled), Seen { role: None, token_file: None, audience: None })]
#[case::env_var_missing(FaultSet::only(Fault::EnvVarMissing), Seen { role: None, ..HEALTHY })]
#[case::wrong_token_path(FaultSet::only(Fault::WrongTokenPath), Seen { token_file: Some("/var/run/secrets/kubernetes.io/serviceaccount/token"), ..HEALTHY })]
#[case::token_volume_missing(FaultSet::only(Fault::TokenVolumeMissing), Seen { audience: None, ..HEALTHY })]
#[case::wrong_token_audience(FaultSet::only(Fault::WrongTokenAudience), Seen { audience: Some("https://kubernetes.default.svc"), ..HEALTHY })]
#[tokio::test]
async fn webhook_faults_as_a_client_sees_them(#[case] faults: FaultSet, #[case] seen: Seen) {
    let (sim, client) = start(faults).await;
    setup(&client, "astronomer-f", Some(ARN)).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "astronomer-f");
    pods.create(
        &PostParams::default(),
        &typed(json!({
            "metadata": {"name": "p"},
            "spec": {"serviceAccountName": "sa", "containers": [
                {"name": "c", "image": "i", "env": [{"name": "KEEP", "value": "me"}]}
            ]}
        })),
    )
    .await
    .unwrap();
    let pod = pods.get("p").await.unwrap();
    assert_eq!(env_value(&pod, "KEEP").as_deref(), Some("me"));
    assert_eq!(env_value(&pod, "AWS_ROLE_ARN").as_deref(), seen.role);
    assert_eq!(
        env_value(&pod, "AWS_WEB_IDENTITY_TOKEN_FILE").as_deref(),
        seen.token_file
    );
    assert_eq!(token_audience(&pod).as_deref(), seen.audience);
    assert_eq!(token_mounted(&pod), seen.audience.is_some());
    sim.shutdown().await;
}

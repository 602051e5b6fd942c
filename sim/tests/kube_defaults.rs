//! The API server's defaulting, as clients read it back: what a Kubernetes 1.20 API server
//! fills in on workloads, their pod templates and pods when the client leaves a field out,
//! and that a value the client set is kept. Raw HTTP, so that nothing in between fills
//! anything in.

use rolecheck_sim::{Sim, SimConfig};
use rstest::rstest;
use serde_json::{Value, json};

const NS: &str = "defaults";

struct Api {
    sim: Sim,
    http: reqwest::Client,
}

impl Api {
    async fn start() -> Api {
        let sim = Sim::start(SimConfig::default()).await.unwrap();
        let api = Api {
            sim,
            http: reqwest::Client::new(),
        };
        let (code, body) = api
            .send(
                reqwest::Method::POST,
                "/api/v1/namespaces",
                &json!({"metadata": {"name": NS}}),
            )
            .await;
        assert_eq!(code, 201, "{body}");
        api
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
        let ep = self.sim.endpoints();
        let answer = self
            .http
            .request(method, format!("{}{path}", ep.kube_url))
            .bearer_auth(&ep.kube_token)
            .json(body)
            .send()
            .await
            .unwrap();
        (answer.status().as_u16(), answer.json().await.unwrap())
    }

    /// Creates `body` at the collection `path` (in the test namespace), returns what is stored.
    async fn create(&self, collection: &str, body: Value) -> Value {
        let (code, stored) = self.send(reqwest::Method::POST, collection, &body).await;
        assert_eq!(code, 201, "{stored}");
        stored
    }
}

fn container(image: &str) -> Value {
    json!({"name": "main", "image": image})
}

fn template(containers: Value) -> Value {
    json!({"metadata": {"labels": {"app": "a"}}, "spec": {"containers": containers}})
}

fn deployment(spec: Value) -> Value {
    let mut body = json!({"metadata": {"name": "d"}, "spec": {
        "selector": {"matchLabels": {"app": "a"}},
        "template": template(json!([container("busybox:1.36")])),
    }});
    merge(&mut body["spec"], spec);
    body
}

fn stateful_set(spec: Value) -> Value {
    let mut body = json!({"metadata": {"name": "s"}, "spec": {
        "serviceName": "s",
        "selector": {"matchLabels": {"app": "a"}},
        "template": template(json!([container("busybox:1.36")])),
    }});
    merge(&mut body["spec"], spec);
    body
}

fn pod(spec: Value) -> Value {
    let mut body = json!({"metadata": {"name": "p"}, "spec": {
        "containers": [container("busybox:1.36")],
    }});
    merge(&mut body["spec"], spec);
    body
}

/// Overlays the fields of `extra` onto `into` (one level deep is all the cases need).
fn merge(into: &mut Value, extra: Value) {
    if let (Some(into), Value::Object(extra)) = (into.as_object_mut(), extra) {
        into.extend(extra);
    }
}

const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/defaults/deployments";
const STATEFUL_SETS: &str = "/apis/apps/v1/namespaces/defaults/statefulsets";
const PODS: &str = "/api/v1/namespaces/defaults/pods";

#[rstest]
// Deployments.
#[case::deployment_strategy(DEPLOYMENTS, deployment(json!({})), "/spec/strategy",
    json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}))]
#[case::deployment_revision_history(DEPLOYMENTS, deployment(json!({})), "/spec/revisionHistoryLimit", json!(10))]
#[case::deployment_progress_deadline(DEPLOYMENTS, deployment(json!({})), "/spec/progressDeadlineSeconds", json!(600))]
#[case::deployment_replicas(DEPLOYMENTS, deployment(json!({})), "/spec/replicas", json!(1))]
#[case::deployment_partial_rolling_update(DEPLOYMENTS,
    deployment(json!({"strategy": {"rollingUpdate": {"maxSurge": 2}}})), "/spec/strategy",
    json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 2}}))]
#[case::deployment_recreate_kept(DEPLOYMENTS,
    deployment(json!({"strategy": {"type": "Recreate"}})), "/spec/strategy", json!({"type": "Recreate"}))]
#[case::deployment_template_restart_policy(DEPLOYMENTS, deployment(json!({})),
    "/spec/template/spec/restartPolicy", json!("Always"))]
#[case::deployment_template_security_context(DEPLOYMENTS, deployment(json!({})),
    "/spec/template/spec/securityContext", json!({}))]
#[case::deployment_template_termination_message(DEPLOYMENTS, deployment(json!({})),
    "/spec/template/spec/containers/0/terminationMessagePath", json!("/dev/termination-log"))]
// StatefulSets.
#[case::stateful_set_update_strategy(STATEFUL_SETS, stateful_set(json!({})), "/spec/updateStrategy",
    json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}))]
#[case::stateful_set_pod_management(STATEFUL_SETS, stateful_set(json!({})), "/spec/podManagementPolicy",
    json!("OrderedReady"))]
#[case::stateful_set_revision_history(STATEFUL_SETS, stateful_set(json!({})), "/spec/revisionHistoryLimit", json!(10))]
#[case::stateful_set_partition_kept(STATEFUL_SETS,
    stateful_set(json!({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}})),
    "/spec/updateStrategy", json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}))]
#[case::stateful_set_on_delete_kept(STATEFUL_SETS,
    stateful_set(json!({"updateStrategy": {"type": "OnDelete"}})), "/spec/updateStrategy", json!({"type": "OnDelete"}))]
#[case::stateful_set_parallel_kept(STATEFUL_SETS,
    stateful_set(json!({"podManagementPolicy": "Parallel"})), "/spec/podManagementPolicy", json!("Parallel"))]
#[case::stateful_set_claim_volume_mode(STATEFUL_SETS,
    stateful_set(json!({"volumeClaimTemplates": [{"metadata": {"name": "logs"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]})),
    "/spec/volumeClaimTemplates/0/spec/volumeMode", json!("Filesystem"))]
#[case::stateful_set_template_dns_policy(STATEFUL_SETS, stateful_set(json!({})),
    "/spec/template/spec/dnsPolicy", json!("ClusterFirst"))]
// Pods.
#[case::pod_restart_policy(PODS, pod(json!({})), "/spec/restartPolicy", json!("Always"))]
#[case::pod_restart_policy_kept(PODS, pod(json!({"restartPolicy": "Never"})), "/spec/restartPolicy", json!("Never"))]
#[case::pod_dns_policy(PODS, pod(json!({})), "/spec/dnsPolicy", json!("ClusterFirst"))]
#[case::pod_grace_period(PODS, pod(json!({})), "/spec/terminationGracePeriodSeconds", json!(30))]
#[case::pod_grace_period_kept(PODS, pod(json!({"terminationGracePeriodSeconds": 5})),
    "/spec/terminationGracePeriodSeconds", json!(5))]
#[case::pod_scheduler(PODS, pod(json!({})), "/spec/schedulerName", json!("default-scheduler"))]
#[case::pod_service_links(PODS, pod(json!({})), "/spec/enableServiceLinks", json!(true))]
#[case::pod_priority(PODS, pod(json!({})), "/spec/priority", json!(0))]
#[case::pod_preemption(PODS, pod(json!({})), "/spec/preemptionPolicy", json!("PreemptLowerPriority"))]
#[case::pod_tolerations(PODS, pod(json!({})), "/spec/tolerations", json!([
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]))]
#[case::pod_termination_message_policy(PODS, pod(json!({})),
    "/spec/containers/0/terminationMessagePolicy", json!("File"))]
#[case::image_with_tag(PODS, pod(json!({})), "/spec/containers/0/imagePullPolicy", json!("IfNotPresent"))]
#[case::image_without_tag(PODS, pod(json!({"containers": [container("busybox")]})),
    "/spec/containers/0/imagePullPolicy", json!("Always"))]
#[case::image_latest(PODS, pod(json!({"containers": [container("registry.example:5000/busybox:latest")]})),
    "/spec/containers/0/imagePullPolicy", json!("Always"))]
#[case::image_registry_port_no_tag(PODS, pod(json!({"containers": [container("registry.example:5000/busybox")]})),
    "/spec/containers/0/imagePullPolicy", json!("Always"))]
#[case::image_digest(PODS, pod(json!({"containers": [container(
    "busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000")]})),
    "/spec/containers/0/imagePullPolicy", json!("IfNotPresent"))]
#[case::image_pull_policy_kept(PODS,
    pod(json!({"containers": [{"name": "main", "image": "busybox", "imagePullPolicy": "Never"}]})),
    "/spec/containers/0/imagePullPolicy", json!("Never"))]
#[case::container_port_protocol(PODS,
    pod(json!({"containers": [{"name": "main", "image": "busybox:1", "ports": [{"containerPort": 8080}]}]})),
    "/spec/containers/0/ports/0", json!({"containerPort": 8080, "protocol": "TCP"}))]
#[case::host_network_host_port(PODS,
    pod(json!({"hostNetwork": true, "containers": [{"name": "main", "image": "busybox:1", "ports": [{"containerPort": 8080}]}]})),
    "/spec/containers/0/ports/0", json!({"containerPort": 8080, "hostPort": 8080, "protocol": "TCP"}))]
#[case::probe(PODS,
    pod(json!({"containers": [{"name": "main", "image": "busybox:1", "readinessProbe": {"httpGet": {"port": 8080}}}]})),
    "/spec/containers/0/readinessProbe", json!({"httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}))]
#[case::requests_from_limits(PODS,
    pod(json!({"containers": [{"name": "main", "image": "busybox:1",
        "resources": {"limits": {"cpu": "1"}, "requests": {"memory": "1Gi"}}}]})),
    "/spec/containers/0/resources/requests", json!({"cpu": "1", "memory": "1Gi"}))]
#[case::volume_without_source(PODS, pod(json!({"volumes": [{"name": "scratch"}]})),
    "/spec/volumes/0", json!({"name": "scratch", "emptyDir": {}}))]
#[case::secret_volume_mode(PODS, pod(json!({"volumes": [{"name": "s", "secret": {"secretName": "x"}}]})),
    "/spec/volumes/0/secret/defaultMode", json!(420))]
#[case::projected_token_expiration(PODS, pod(json!({"volumes": [{"name": "t", "projected": {"sources": [
        {"serviceAccountToken": {"path": "token", "audience": "a"}}]}}]})),
    "/spec/volumes/0/projected", json!({"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"path": "token", "audience": "a", "expirationSeconds": 3600}}]}))]
#[case::field_ref_api_version(PODS,
    pod(json!({"containers": [{"name": "main", "image": "busybox:1",
        "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]}]})),
    "/spec/containers/0/env/0/valueFrom/fieldRef/apiVersion", json!("v1"))]
#[tokio::test]
async fn the_api_server_defaults_what_the_client_left_out(
    #[case] collection: &str,
    #[case] body: Value,
    #[case] pointer: &str,
    #[case] expected: Value,
) {
    let api = Api::start().await;
    let stored = api.create(collection, body).await;
    assert_eq!(stored.pointer(pointer), Some(&expected), "{stored:#}");
    // What a client reads back is what the create answered.
    let name = stored["metadata"]["name"].as_str().unwrap();
    let (code, read) = api
        .send(
            reqwest::Method::GET,
            &format!("{collection}/{name}"),
            &Value::Null,
        )
        .await;
    assert_eq!(code, 200, "{read}");
    assert_eq!(read.pointer(pointer), Some(&expected), "{read:#}");
    api.sim.shutdown().await;
}

/// An update that leaves the defaulted fields out is defaulted again: nothing changed, so
/// the generation stays, as on a real API server.
#[tokio::test]
async fn an_update_without_the_defaulted_fields_changes_nothing() {
    let api = Api::start().await;
    for (collection, body) in [
        (DEPLOYMENTS, deployment(json!({}))),
        (STATEFUL_SETS, stateful_set(json!({}))),
    ] {
        let stored = api.create(collection, body.clone()).await;
        let name = stored["metadata"]["name"].as_str().unwrap();
        let path = format!("{collection}/{name}");
        // The controllers write the status meanwhile: retry on 409 as clients do.
        let mut answer = None;
        for _ in 0..20 {
            let (_, current) = api.send(reqwest::Method::GET, &path, &Value::Null).await;
            let mut update = body.clone();
            update["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
            let (code, replaced) = api.send(reqwest::Method::PUT, &path, &update).await;
            if code != 409 {
                answer = Some((code, replaced));
                break;
            }
        }
        let (code, replaced) = answer.expect("every update met a conflict");
        assert_eq!(code, 200, "{replaced}");
        assert_eq!(replaced["metadata"]["generation"], 1, "{replaced:#}");
        assert_eq!(replaced["spec"], stored["spec"], "{replaced:#}");
    }
    api.sim.shutdown().await;
}

//! The StatefulSet controller, as Kubernetes' (`RollingUpdate` strategy, `OrderedReady` pod
//! management):
//! - pods are named `<set>-<ordinal>` for ordinals `0..spec.replicas`, created in order, each
//!   only once every lower ordinal is Running and Ready; surplus ordinals go highest first;
//! - each pod carries the template's labels plus `controller-revision-hash` (the revision of
//!   the template it was made from, `<set>-<hash>`) and `statefulset.kubernetes.io/pod-name`,
//!   `hostname`/`subdomain` from its name and `spec.serviceName`, and one volume per
//!   `volumeClaimTemplates` entry claiming `<template>-<set>-<ordinal>`;
//! - a template change is rolled out by deleting the pods of the old revision one at a time,
//!   highest ordinal first, each only while every pod is Running and Ready; the deleted
//!   ordinal is recreated from the new template;
//! - status: `replicas`, `readyReplicas`, `availableReplicas`, `currentReplicas`,
//!   `updatedReplicas`, `currentRevision`, `updateRevision`, `observedGeneration`,
//!   `collisionCount`; `currentRevision` becomes `updateRevision` once every pod is updated
//!   and ready.
//!
//! Not modelled: ControllerRevision objects (the revision names are computed, not stored),
//! PersistentVolumeClaim objects (pods reference the claims the real controller would
//! create), `partition`, `Parallel` pod management and `OnDelete`.

use serde_json::{Map, Value, json};

use super::workload::{log_err, owned_by, owner_ref, pod_ready, set_status, template_hash};
use crate::kube::events::{EventRecord, Reporter};
use crate::kube::meta::{self, int_at, name_of, namespace_of};
use crate::kube::{ApiServer, Resource};

/// The pod label naming the revision a pod was created from.
pub const REVISION_LABEL: &str = "controller-revision-hash";
/// The pod label carrying the pod's own name.
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";

/// The revision name of a StatefulSet's current template, `<set>-<hash>`.
pub fn update_revision(set: &Value) -> String {
    let template = set.pointer("/spec/template").unwrap_or(&Value::Null);
    format!("{}-{}", name_of(set), template_hash(template))
}

fn ordinal(set: &Value, pod: &Value) -> Option<i64> {
    name_of(pod)
        .strip_prefix(name_of(set))?
        .strip_prefix('-')?
        .parse()
        .ok()
}

fn desired(set: &Value) -> i64 {
    int_at(set, "/spec/replicas").unwrap_or(1)
}

/// One reconcile pass over a StatefulSet: create the next missing pod, delete a surplus one,
/// or roll one pod of an old revision.
pub(super) fn reconcile(api: &ApiServer, set: &Value) {
    let revision = update_revision(set);
    let desired = desired(set);
    let mut pods: Vec<(i64, Value)> = owned_by(api, Resource::Pod, set)
        .into_iter()
        .filter_map(|p| ordinal(set, &p).map(|o| (o, p)))
        .collect();
    pods.sort_by_key(|(o, _)| *o);
    let live = |p: &Value| p.pointer("/metadata/deletionTimestamp").is_none();

    // Scale up: the lowest missing ordinal, once every lower one is ready.
    for ordinal in 0..desired {
        match pods.iter().find(|(o, _)| *o == ordinal) {
            Some((_, pod)) if pod_ready(pod) && live(pod) => continue,
            Some(_) => return,
            None => {
                create_pod(api, set, ordinal, &revision);
                return;
            }
        }
    }
    // Scale down: the highest surplus ordinal.
    if let Some((_, pod)) = pods.iter().rev().find(|(o, _)| *o >= desired) {
        if live(pod) {
            delete_pod(api, set, pod);
        }
        return;
    }
    // Rolling update: the highest pod of an old revision, while every pod is ready.
    if pods.iter().all(|(_, p)| pod_ready(p) && live(p))
        && let Some((_, pod)) = pods
            .iter()
            .rev()
            .find(|(_, p)| meta::label(p, REVISION_LABEL) != Some(revision.as_str()))
    {
        delete_pod(api, set, pod);
    }
}

fn create_pod(api: &ApiServer, set: &Value, ordinal: i64, revision: &str) {
    let ns = namespace_of(set);
    let set_name = name_of(set);
    let name = format!("{set_name}-{ordinal}");
    let template = set
        .pointer("/spec/template")
        .cloned()
        .unwrap_or(Value::Null);
    let mut labels = template
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    labels.insert(REVISION_LABEL.to_owned(), json!(revision));
    labels.insert(POD_NAME_LABEL.to_owned(), json!(name));
    let mut metadata = Map::new();
    metadata.insert("name".to_owned(), json!(name));
    metadata.insert("namespace".to_owned(), json!(ns));
    metadata.insert("labels".to_owned(), Value::Object(labels));
    if let Some(annotations) = template.pointer("/metadata/annotations") {
        metadata.insert("annotations".to_owned(), annotations.clone());
    }
    metadata.insert(
        "ownerReferences".to_owned(),
        json!([owner_ref("StatefulSet", set)]),
    );
    let mut spec = template
        .get("spec")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    spec.insert("hostname".to_owned(), json!(name));
    if let Some(service) = set.pointer("/spec/serviceName").and_then(Value::as_str) {
        spec.insert("subdomain".to_owned(), json!(service));
    }
    let claims: Vec<Value> = set
        .pointer("/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|claim| claim.pointer("/metadata/name").and_then(Value::as_str))
        .map(|claim| {
            json!({"name": claim, "persistentVolumeClaim": {"claimName": format!("{claim}-{name}")}})
        })
        .collect();
    if !claims.is_empty() {
        let volumes = spec.entry("volumes").or_insert_with(|| json!([]));
        if let Some(list) = volumes.as_array_mut() {
            list.retain(|v| {
                !claims
                    .iter()
                    .any(|c| c.get("name").is_some() && c.get("name") == v.get("name"))
            });
            list.extend(claims);
        }
    }
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec});
    if log_err(
        "creating a statefulset pod",
        api.create(Resource::Pod, Some(ns), pod),
    )
    .is_some()
    {
        record(
            api,
            set,
            "SuccessfulCreate",
            format!("create Pod {name} in StatefulSet {set_name} successful"),
        );
    }
}

fn delete_pod(api: &ApiServer, set: &Value, pod: &Value) {
    let name = name_of(pod);
    if log_err(
        "deleting a statefulset pod",
        api.delete(Resource::Pod, Some(namespace_of(set)), name),
    )
    .is_some()
    {
        record(
            api,
            set,
            "SuccessfulDelete",
            format!(
                "delete Pod {name} in StatefulSet {} successful",
                name_of(set)
            ),
        );
    }
}

fn record(api: &ApiServer, set: &Value, reason: &'static str, message: String) {
    api.record_event(
        Resource::StatefulSet,
        set,
        EventRecord {
            reporter: Reporter::StatefulSetController,
            reason,
            message,
            field_path: None,
        },
    );
}

/// Writes the StatefulSet's status from its pods.
pub(super) fn update_status(api: &ApiServer, set: &Value) {
    let revision = update_revision(set);
    let pods: Vec<Value> = owned_by(api, Resource::Pod, set);
    let count = |f: &dyn Fn(&Value) -> bool| {
        i64::try_from(pods.iter().filter(|p| f(p)).count()).unwrap_or(i64::MAX)
    };
    let replicas = count(&|_| true);
    let ready = count(&pod_ready);
    let updated = count(&|p| meta::label(p, REVISION_LABEL) == Some(revision.as_str()));
    let previous_current = set
        .pointer("/status/currentRevision")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    // Until a rollout completes, `currentRevision` names the revision the set had before.
    let (current_revision, current) = if previous_current.is_empty()
        || (updated == replicas && ready == replicas && replicas == desired(set))
    {
        (revision.clone(), updated)
    } else {
        let current = count(&|p| meta::label(p, REVISION_LABEL) == Some(previous_current.as_str()));
        (previous_current, current)
    };
    let mut status = json!({
        "observedGeneration": int_at(set, "/metadata/generation").unwrap_or(1),
        "replicas": replicas,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "currentReplicas": current,
        "updatedReplicas": updated,
        "currentRevision": current_revision,
        "updateRevision": revision,
        "collisionCount": 0,
    });
    if let Some(map) = status.as_object_mut() {
        map.retain(|k, v| k == "replicas" || k == "collisionCount" || v != &json!(0));
    }
    set_status(api, Resource::StatefulSet, set, status);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::SimConfig;
    use crate::kube::KubeOptions;
    use crate::kube::controller::reconcile_all;
    use crate::oidc::Issuer;

    fn api() -> Arc<ApiServer> {
        let issuer = Arc::new(Issuer::new("https://issuer.example".to_owned()).unwrap());
        let api = ApiServer::new(KubeOptions::from_config(&SimConfig::default()), issuer);
        api.create(
            Resource::Namespace,
            None,
            json!({"metadata": {"name": "n"}}),
        )
        .unwrap();
        api
    }

    fn template(image: &str) -> Value {
        json!({
            "metadata": {"labels": {"component": "worker"}},
            "spec": {"containers": [{"name": "worker", "image": image}]},
        })
    }

    fn make_ready(api: &ApiServer) {
        for pod in api.list(Resource::Pod, Some("n")) {
            if pod.pointer("/status/phase").and_then(Value::as_str) != Some("Running") {
                let now = meta::now();
                let status = json!({"phase": "Running", "conditions": [
                    {"type": "Ready", "status": "True", "lastTransitionTime": now}
                ]});
                set_status(api, Resource::Pod, &pod, status);
            }
        }
    }

    fn pod_names(api: &ApiServer) -> Vec<String> {
        let mut names: Vec<String> = api
            .list(Resource::Pod, Some("n"))
            .iter()
            .map(|p| name_of(p).to_owned())
            .collect();
        names.sort();
        names
    }

    fn status(api: &ApiServer) -> Value {
        api.get(Resource::StatefulSet, Some("n"), "w").unwrap()["status"].clone()
    }

    #[test]
    fn pods_are_created_in_order_and_rolled_highest_first() {
        let api = api();
        api.create(
            Resource::StatefulSet,
            Some("n"),
            json!({"metadata": {"name": "w"}, "spec": {
                "replicas": 2,
                "serviceName": "w",
                "selector": {"matchLabels": {"component": "worker"}},
                "template": template("i:1"),
                "volumeClaimTemplates": [{"metadata": {"name": "logs"}}],
            }}),
        )
        .unwrap();
        reconcile_all(&api);
        // OrderedReady: w-1 waits for w-0 to be ready.
        assert_eq!(pod_names(&api), ["w-0"]);
        let pod = api.get(Resource::Pod, Some("n"), "w-0").unwrap();
        assert_eq!(pod["spec"]["hostname"], "w-0");
        assert_eq!(pod["spec"]["subdomain"], "w");
        assert_eq!(pod["metadata"]["labels"][POD_NAME_LABEL], "w-0");
        assert_eq!(
            pod["spec"]["volumes"][0],
            json!({"name": "logs", "persistentVolumeClaim": {"claimName": "logs-w-0"}})
        );
        let first_revision = pod["metadata"]["labels"][REVISION_LABEL].clone();
        make_ready(&api);
        reconcile_all(&api);
        assert_eq!(pod_names(&api), ["w-0", "w-1"]);
        make_ready(&api);
        reconcile_all(&api);
        let s = status(&api);
        assert_eq!(s["readyReplicas"], 2);
        assert_eq!(s["currentRevision"], s["updateRevision"]);
        assert_eq!(s["updateRevision"], first_revision);

        // A template change: the highest ordinal goes first; currentRevision lags behind.
        api.merge_patch(
            Resource::StatefulSet,
            Some("n"),
            "w",
            &json!({"spec": {"template": template("i:2")}}),
        )
        .unwrap();
        reconcile_all(&api);
        assert_eq!(pod_names(&api), ["w-0"]);
        let s = status(&api);
        assert_ne!(s["currentRevision"], s["updateRevision"]);
        assert_eq!(s["currentRevision"], first_revision);
        // Reconciling until converged, making each new pod ready.
        for _ in 0..6 {
            reconcile_all(&api);
            make_ready(&api);
        }
        reconcile_all(&api);
        let s = status(&api);
        assert_eq!(s["currentRevision"], s["updateRevision"]);
        assert_eq!(s["updatedReplicas"], 2);
        assert_eq!(s["readyReplicas"], 2);
        for pod in api.list(Resource::Pod, Some("n")) {
            assert_eq!(pod["spec"]["containers"][0]["image"], "i:2");
        }

        // Scale down removes the highest ordinal; deleting the set collects its pods.
        api.merge_patch(
            Resource::StatefulSet,
            Some("n"),
            "w",
            &json!({"spec": {"replicas": 1}}),
        )
        .unwrap();
        reconcile_all(&api);
        assert_eq!(pod_names(&api), ["w-0"]);
        api.delete(Resource::StatefulSet, Some("n"), "w").unwrap();
        reconcile_all(&api);
        assert!(pod_names(&api).is_empty());
    }
}

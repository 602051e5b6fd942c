//! Controllers, driven by the store's change broadcast (no polling):
//! - deployment: one ReplicaSet per pod template (`<deployment>-<template hash>`), the
//!   newest scaled to `spec.replicas`, older ones scaled to 0 once the new pods are ready,
//!   and the Deployment's status as the real controller reports it;
//! - replicaset: creates (through admission, so the webhook runs) or deletes pods;
//! - statefulset: see [`super::statefulset`];
//! - garbage collection: ReplicaSets and pods whose controlling owner is gone are deleted;
//! - kubelet: a new pod turns Running/Ready `pod_start_delay` after it was created.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Map, Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::events::{EventRecord, Reporter};
use super::meta::{self, controller_uid, int_at, name_of, namespace_of, uid_of};

use super::statefulset;
use super::store::{Change, ChangeType};
use super::{ApiServer, Part, PatchKind, Resource};

/// The label that ties ReplicaSets and pods to a pod template.
const HASH_LABEL: &str = "pod-template-hash";
/// The revision annotation of Deployments and ReplicaSets.
const REVISION: &str = "deployment.kubernetes.io/revision";

/// Spawns the controllers; they stop when `cancel` fires.
pub(super) fn spawn(api: &Arc<ApiServer>, tasks: &mut JoinSet<()>, cancel: CancellationToken) {
    let workloads = Arc::clone(api);
    let stop = cancel.clone();
    tasks.spawn(async move { run_workloads(workloads, stop).await });
    let kubelet = Arc::clone(api);
    tasks.spawn(async move { run_kubelet(kubelet, cancel).await });
}

/// Deployment, ReplicaSet and garbage-collection loop: reconcile everything, then wait for
/// the next change.
async fn run_workloads(api: Arc<ApiServer>, cancel: CancellationToken) {
    use tokio::sync::broadcast::error::TryRecvError;

    let mut changes = api.store.subscribe();
    // What the next pass covers: `None` is every namespace, `Some(set)` only those.
    let mut scope: Option<BTreeSet<String>> = None;
    loop {
        match &scope {
            None => reconcile_all(&api),
            Some(namespaces) => {
                for namespace in namespaces {
                    reconcile_namespace(&api, Some(namespace));
                }
            }
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            received = changes.recv() => {
                // Coalesce a burst of changes into one pass over the namespaces it touched
                // (ownership never crosses a namespace). Events, which the controllers write
                // themselves and never act on, touch nothing.
                let mut touched = Some(BTreeSet::new());
                let note = |touched: &mut Option<BTreeSet<String>>, change: Option<&Change>| {
                    match (touched.as_mut(), change) {
                        (Some(set), Some(change)) => {
                            if change.resource == Resource::Event {
                                return;
                            }
                            let ns = if change.resource == Resource::Namespace {
                                name_of(&change.object)
                            } else {
                                namespace_of(&change.object)
                            };
                            set.insert(ns.to_owned());
                        }
                        // Missed changes: look at everything.
                        _ => *touched = None,
                    }
                };
                match received {
                    Ok(change) => note(&mut touched, Some(&change)),
                    Err(RecvError::Lagged(_)) => note(&mut touched, None),
                    Err(RecvError::Closed) => return,
                }
                loop {
                    match changes.try_recv() {
                        Ok(change) => note(&mut touched, Some(&change)),
                        Err(TryRecvError::Lagged(_)) => note(&mut touched, None),
                        Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                    }
                }
                scope = touched;
            }
        }
    }
}

/// One pass over every workload.
pub(super) fn reconcile_all(api: &ApiServer) {
    reconcile_namespace(api, None);
}

/// One pass over the workloads of one namespace (`None`: all of them).
fn reconcile_namespace(api: &ApiServer, namespace: Option<&str>) {
    collect_garbage(api, namespace);
    for deployment in api.list(Resource::Deployment, namespace) {
        reconcile_deployment(api, &deployment);
    }
    for rs in api.list(Resource::ReplicaSet, namespace) {
        reconcile_replicaset(api, &rs);
    }
    for deployment in api.list(Resource::Deployment, namespace) {
        update_deployment_status(api, &deployment);
    }
    for set in api.list(Resource::StatefulSet, namespace) {
        statefulset::reconcile(api, &set);
    }
    for set in api.list(Resource::StatefulSet, namespace) {
        statefulset::update_status(api, &set);
    }
}

pub(super) fn log_err<T>(what: &str, result: Result<T, super::ApiError>) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(err) => {
            tracing::debug!(%err, "{what}");
            None
        }
    }
}

/// Deletes ReplicaSets and pods whose controlling Deployment/ReplicaSet/StatefulSet no longer
/// exists.
fn collect_garbage(api: &ApiServer, namespace: Option<&str>) {
    let uids = |r: Resource| {
        api.list(r, namespace)
            .iter()
            .map(|o| uid_of(o).to_owned())
            .collect::<std::collections::HashSet<_>>()
    };
    for (child, owner_kind, owner) in [
        (Resource::ReplicaSet, "Deployment", Resource::Deployment),
        (Resource::Pod, "ReplicaSet", Resource::ReplicaSet),
        (Resource::Pod, "StatefulSet", Resource::StatefulSet),
    ] {
        let live = uids(owner);
        for object in api.list(child, namespace) {
            let orphaned = object
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|r| {
                    r.get("kind").and_then(Value::as_str) == Some(owner_kind)
                        && r.get("uid")
                            .and_then(Value::as_str)
                            .is_some_and(|u| !live.contains(u))
                });
            if orphaned {
                log_err(
                    "garbage collection",
                    api.delete(child, Some(namespace_of(&object)), name_of(&object)),
                );
            }
        }
    }
}

/// FNV-1a of the template, encoded like the real controller's `pod-template-hash`.
pub(super) fn template_hash(template: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let text = serde_json::to_string(template).unwrap_or_default();
    let mut hash: u32 = 0x811c_9dc5;
    for byte in text.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash.to_string()
        .bytes()
        .map(|b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect()
}

pub(super) fn owner_ref(kind: &str, owner: &Value) -> Value {
    let api_version = "apps/v1";
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "name": name_of(owner),
        "uid": uid_of(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

pub(super) fn owned_by(api: &ApiServer, child: Resource, owner: &Value) -> Vec<Value> {
    let uid = uid_of(owner);
    api.list(child, Some(namespace_of(owner)))
        .into_iter()
        .filter(|o| controller_uid(o) == Some(uid))
        .collect()
}

pub(super) fn pod_ready(pod: &Value) -> bool {
    pod.pointer("/status/phase").and_then(Value::as_str) == Some("Running")
        && pod
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn with_label(labels: Option<&Value>, key: &str, value: &str) -> Value {
    let mut map = labels
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    map.insert(key.to_owned(), json!(value));
    Value::Object(map)
}

fn revision_of(object: &Value) -> i64 {
    meta::annotation(object, REVISION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn reconcile_deployment(api: &ApiServer, deployment: &Value) {
    if deployment.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let ns = namespace_of(deployment);
    let template = deployment
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let desired = int_at(deployment, "/spec/replicas").unwrap_or(1);
    let hash = template_hash(&template);
    let owned = owned_by(api, Resource::ReplicaSet, deployment);
    let current = owned
        .iter()
        .find(|rs| meta::label(rs, HASH_LABEL) == Some(hash.as_str()))
        .cloned();

    let new_rs = match current {
        Some(rs) => {
            let current = int_at(&rs, "/spec/replicas").unwrap_or(0);
            if current != desired
                && log_err(
                    "scaling the new replicaset",
                    api.merge_patch(
                        Resource::ReplicaSet,
                        Some(ns),
                        name_of(&rs),
                        &json!({"spec": {"replicas": desired}}),
                    ),
                )
                .is_some()
            {
                scaling_event(api, deployment, &rs, current, desired);
            }
            rs
        }
        None => {
            let revision = owned.iter().map(revision_of).max().unwrap_or(0) + 1;
            let mut pod_template = template.clone();
            let labels = with_label(pod_template.pointer("/metadata/labels"), HASH_LABEL, &hash);
            if let Some(m) = meta::meta_mut(&mut pod_template) {
                m.insert("labels".to_owned(), labels.clone());
            }
            let selector = with_label(
                deployment.pointer("/spec/selector/matchLabels"),
                HASH_LABEL,
                &hash,
            );
            let rs = json!({
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": format!("{}-{hash}", name_of(deployment)),
                    "namespace": ns,
                    "labels": labels,
                    "annotations": {
                        REVISION: revision.to_string(),
                        "deployment.kubernetes.io/desired-replicas": desired.to_string(),
                        "deployment.kubernetes.io/max-replicas": (desired + 1).to_string(),
                    },
                    "ownerReferences": [owner_ref("Deployment", deployment)],
                },
                "spec": {
                    "replicas": desired,
                    "selector": {"matchLabels": selector},
                    "template": pod_template,
                },
            });
            let Some(rs) = log_err(
                "creating a replicaset",
                api.create(Resource::ReplicaSet, Some(ns), rs),
            ) else {
                return;
            };
            scaling_event(api, deployment, &rs, 0, desired);
            log_err(
                "recording the revision",
                api.merge_patch(
                    Resource::Deployment,
                    Some(ns),
                    name_of(deployment),
                    &json!({"metadata": {"annotations": {REVISION: revision.to_string()}}}),
                ),
            );
            rs
        }
    };

    // Old ReplicaSets go to zero once the new one's pods are all ready.
    let new_ready = owned_by(api, Resource::Pod, &new_rs)
        .iter()
        .filter(|p| pod_ready(p))
        .count();
    let new_ready = i64::try_from(new_ready).unwrap_or(i64::MAX);
    if new_ready >= desired {
        for old in owned.iter().filter(|rs| uid_of(rs) != uid_of(&new_rs)) {
            let current = int_at(old, "/spec/replicas").unwrap_or(0);
            if current != 0
                && log_err(
                    "scaling an old replicaset down",
                    api.merge_patch(
                        Resource::ReplicaSet,
                        Some(ns),
                        name_of(old),
                        &json!({"spec": {"replicas": 0}}),
                    ),
                )
                .is_some()
            {
                scaling_event(api, deployment, old, current, 0);
            }
        }
    }
}

/// `ScalingReplicaSet` on the Deployment, worded like the 1.29 deployment controller.
fn scaling_event(api: &ApiServer, deployment: &Value, rs: &Value, from: i64, to: i64) {
    let direction = if to > from { "up" } else { "down" };
    api.record_event(
        Resource::Deployment,
        deployment,
        EventRecord {
            reporter: Reporter::DeploymentController,
            reason: "ScalingReplicaSet",
            message: format!("Scaled {direction} replica set {} to {to}", name_of(rs)),
            field_path: None,
        },
    );
}

fn reconcile_replicaset(api: &ApiServer, rs: &Value) {
    let ns = namespace_of(rs);
    let desired = usize::try_from(int_at(rs, "/spec/replicas").unwrap_or(1)).unwrap_or(0);
    let mut pods = owned_by(api, Resource::Pod, rs);
    if pods.len() < desired {
        let template = rs.pointer("/spec/template").cloned().unwrap_or(Value::Null);
        for _ in pods.len()..desired {
            let mut metadata = Map::new();
            metadata.insert(
                "name".to_owned(),
                json!(format!("{}-{}", name_of(rs), meta::random_suffix(5))),
            );
            metadata.insert(
                "generateName".to_owned(),
                json!(format!("{}-", name_of(rs))),
            );
            metadata.insert("namespace".to_owned(), json!(ns));
            for field in ["labels", "annotations"] {
                if let Some(v) = template.pointer(&format!("/metadata/{field}")) {
                    metadata.insert(field.to_owned(), v.clone());
                }
            }
            metadata.insert(
                "ownerReferences".to_owned(),
                json!([owner_ref("ReplicaSet", rs)]),
            );
            let pod = json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": metadata,
                "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
            });
            let Some(pod) = log_err("creating a pod", api.create(Resource::Pod, Some(ns), pod))
            else {
                break;
            };
            api.record_event(
                Resource::ReplicaSet,
                rs,
                EventRecord {
                    reporter: Reporter::ReplicaSetController,
                    reason: "SuccessfulCreate",
                    message: format!("Created pod: {}", name_of(&pod)),
                    field_path: None,
                },
            );
        }
    } else if pods.len() > desired {
        // Not-ready pods go first, then the newest.
        pods.sort_by_key(|p| {
            (
                pod_ready(p),
                std::cmp::Reverse(
                    meta::meta_str(p, "creationTimestamp")
                        .unwrap_or("")
                        .to_owned(),
                ),
            )
        });
        for pod in pods.iter().take(pods.len() - desired) {
            if log_err(
                "deleting a surplus pod",
                api.delete(Resource::Pod, Some(ns), name_of(pod)),
            )
            .is_some()
            {
                api.record_event(
                    Resource::ReplicaSet,
                    rs,
                    EventRecord {
                        reporter: Reporter::ReplicaSetController,
                        reason: "SuccessfulDelete",
                        message: format!("Deleted pod: {}", name_of(pod)),
                        field_path: None,
                    },
                );
            }
        }
    }

    let pods = owned_by(api, Resource::Pod, rs);
    let count = pods.len();
    let ready = pods.iter().filter(|p| pod_ready(p)).count();
    let mut status = json!({
        "replicas": count,
        "fullyLabeledReplicas": count,
        "observedGeneration": int_at(rs, "/metadata/generation").unwrap_or(1),
    });
    if ready > 0 {
        status["readyReplicas"] = json!(ready);
        status["availableReplicas"] = json!(ready);
    }
    set_status(api, Resource::ReplicaSet, rs, status);
}

pub(super) fn set_status(api: &ApiServer, resource: Resource, object: &Value, status: Value) {
    if object.get("status") == Some(&status) {
        return;
    }
    log_err(
        "writing a status",
        api.patch(
            resource,
            Some(namespace_of(object)),
            name_of(object),
            PatchKind::Json,
            &json!([{"op": "add", "path": "/status", "value": status}]),
            Part::Status,
        ),
    );
}

/// A condition, keeping the old timestamps when nothing about it changed.
fn condition(old: &Value, kind: &str, status: bool, reason: &str, message: String) -> Value {
    let status = if status { "True" } else { "False" };
    let previous = old
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| c["type"] == kind);
    let now = meta::now();
    let (updated, transitioned) = match previous {
        Some(p)
            if p["status"] == status
                && p["reason"] == reason
                && p["message"] == message.as_str() =>
        {
            (p["lastUpdateTime"].clone(), p["lastTransitionTime"].clone())
        }
        Some(p) if p["status"] == status => (json!(now), p["lastTransitionTime"].clone()),
        _ => (json!(now), json!(now)),
    };
    json!({
        "type": kind,
        "status": status,
        "lastUpdateTime": updated,
        "lastTransitionTime": transitioned,
        "reason": reason,
        "message": message,
    })
}

fn update_deployment_status(api: &ApiServer, deployment: &Value) {
    let desired = int_at(deployment, "/spec/replicas").unwrap_or(1);
    let hash = template_hash(deployment.pointer("/spec/template").unwrap_or(&Value::Null));
    let mut replicas = 0i64;
    let mut updated = 0i64;
    let mut ready = 0i64;
    let mut new_rs_name = String::new();
    for rs in owned_by(api, Resource::ReplicaSet, deployment) {
        let is_new = meta::label(&rs, HASH_LABEL) == Some(hash.as_str());
        if is_new {
            new_rs_name = name_of(&rs).to_owned();
        }
        for pod in owned_by(api, Resource::Pod, &rs) {
            replicas += 1;
            if is_new {
                updated += 1;
            }
            if pod_ready(&pod) {
                ready += 1;
            }
        }
    }
    let available = ready;
    let complete = updated == desired && replicas == desired && available == desired;
    let conditions = vec![
        condition(
            deployment,
            "Available",
            available >= desired,
            if available >= desired {
                "MinimumReplicasAvailable"
            } else {
                "MinimumReplicasUnavailable"
            },
            if available >= desired {
                "Deployment has minimum availability.".to_owned()
            } else {
                "Deployment does not have minimum availability.".to_owned()
            },
        ),
        condition(
            deployment,
            "Progressing",
            true,
            if complete {
                "NewReplicaSetAvailable"
            } else {
                "ReplicaSetUpdated"
            },
            if complete {
                format!("ReplicaSet \"{new_rs_name}\" has successfully progressed.")
            } else {
                format!("ReplicaSet \"{new_rs_name}\" is progressing.")
            },
        ),
    ];
    let mut status = json!({
        "observedGeneration": int_at(deployment, "/metadata/generation").unwrap_or(1),
        "replicas": replicas,
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": available,
        "conditions": conditions,
    });
    if replicas > available {
        status["unavailableReplicas"] = json!(replicas - available);
    }
    if let Some(map) = status.as_object_mut() {
        map.retain(|_, v| v != &json!(0));
    }
    set_status(api, Resource::Deployment, deployment, status);
}

/// The "kubelet": starts every new pod after `pod_start_delay`.
async fn run_kubelet(api: Arc<ApiServer>, cancel: CancellationToken) {
    let mut changes = api.store.subscribe();
    let mut starting = JoinSet::new();
    let ips = Arc::new(AtomicU32::new(2));
    let schedule = |starting: &mut JoinSet<()>, pod: &Value| {
        let api = Arc::clone(&api);
        let ips = Arc::clone(&ips);
        let ns = namespace_of(pod).to_owned();
        let name = name_of(pod).to_owned();
        let uid = uid_of(pod).to_owned();
        starting.spawn(async move {
            // The deliberate start-up delay of a pod (image pull, container start).
            tokio::time::sleep(api.options.pod_start_delay).await;
            start_pod(&api, &ns, &name, &uid, ips.fetch_add(1, Ordering::Relaxed));
        });
    };
    for pod in api.list(Resource::Pod, None) {
        if pod.pointer("/status/phase").and_then(Value::as_str) == Some("Pending") {
            schedule(&mut starting, &pod);
        }
    }
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            Some(_) = starting.join_next(), if !starting.is_empty() => {}
            received = changes.recv() => match received {
                Ok(change) => {
                    if change.resource == Resource::Pod && change.kind == ChangeType::Added {
                        scheduled_event(&api, &change.object);
                        schedule(&mut starting, &change.object);
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    for pod in api.list(Resource::Pod, None) {
                        if pod.pointer("/status/phase").and_then(Value::as_str) == Some("Pending") {
                            schedule(&mut starting, &pod);
                        }
                    }
                }
                Err(RecvError::Closed) => return,
            },
        }
    }
}

/// The scheduler's `Scheduled` event (pods are bound at admission; the event follows).
fn scheduled_event(api: &ApiServer, pod: &Value) {
    let node = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or("");
    api.record_event(
        Resource::Pod,
        pod,
        EventRecord {
            reporter: Reporter::Scheduler,
            reason: "Scheduled",
            message: format!(
                "Successfully assigned {}/{} to {node}",
                namespace_of(pod),
                name_of(pod)
            ),
            field_path: None,
        },
    );
}

/// The kubelet's `Pulled`, `Created` and `Started` events for each container of a pod.
fn container_events(api: &ApiServer, pod: &Value) {
    for (list, field) in [
        ("initContainers", "spec.initContainers"),
        ("containers", "spec.containers"),
    ] {
        let containers: Vec<Value> = pod
            .pointer(&format!("/spec/{list}"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for container in containers {
            let name = container.get("name").and_then(Value::as_str).unwrap_or("");
            let image = container.get("image").and_then(Value::as_str).unwrap_or("");
            for (reason, message) in [
                (
                    "Pulled",
                    format!("Container image \"{image}\" already present on machine"),
                ),
                ("Created", format!("Created container {name}")),
                ("Started", format!("Started container {name}")),
            ] {
                api.record_event(
                    Resource::Pod,
                    pod,
                    EventRecord {
                        reporter: Reporter::Kubelet,
                        reason,
                        message,
                        field_path: Some(format!("{field}{{{name}}}")),
                    },
                );
            }
        }
    }
}

/// Marks a pod Running and Ready (if it still exists with the same uid and is Pending).
fn start_pod(api: &ApiServer, ns: &str, name: &str, uid: &str, ip: u32) {
    let Ok(pod) = api.get(Resource::Pod, Some(ns), name) else {
        return;
    };
    if uid_of(&pod) != uid
        || pod.pointer("/status/phase").and_then(Value::as_str) != Some("Pending")
    {
        return;
    }
    let now = meta::now();
    let pod_ip = format!("10.244.{}.{}", (ip >> 8) & 0xff, ip & 0xff);
    let cond = |t: &str| json!({"type": t, "status": "True", "lastProbeTime": null, "lastTransitionTime": now});
    let status_of = |c: &Value, init: bool| {
        let state = if init {
            json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now}})
        } else {
            json!({"running": {"startedAt": now}})
        };
        json!({
            "name": c.get("name").cloned().unwrap_or(Value::Null),
            "image": c.get("image").cloned().unwrap_or(Value::Null),
            "imageID": format!("sim://{}", c.get("image").and_then(Value::as_str).unwrap_or("")),
            "containerID": format!("containerd://{}", uuid::Uuid::new_v4().simple()),
            "ready": !init,
            "started": !init,
            "restartCount": 0,
            "state": state,
        })
    };
    let list = |field: &str, init: bool| -> Vec<Value> {
        pod.pointer(&format!("/spec/{field}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| status_of(c, init))
            .collect()
    };
    let mut status = json!({
        "phase": "Running",
        "conditions": [cond("Initialized"), cond("Ready"), cond("ContainersReady"), cond("PodScheduled")],
        "hostIP": "10.0.0.1",
        "hostIPs": [{"ip": "10.0.0.1"}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": now,
        "qosClass": "BestEffort",
        "containerStatuses": list("containers", false),
    });
    let init = list("initContainers", true);
    if !init.is_empty() {
        status["initContainerStatuses"] = json!(init);
    }
    // The kubelet reports the containers' start before the status manager posts the status.
    container_events(api, &pod);
    set_status(api, Resource::Pod, &pod, status);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimConfig;
    use crate::kube::KubeOptions;
    use crate::oidc::Issuer;

    fn api() -> Arc<ApiServer> {
        let issuer = Arc::new(Issuer::new("https://issuer.example".to_owned()).unwrap());
        ApiServer::new(KubeOptions::from_config(&SimConfig::default()), issuer)
    }

    fn start_all(api: &ApiServer) {
        for (i, pod) in api.list(Resource::Pod, None).iter().enumerate() {
            start_pod(
                api,
                namespace_of(pod),
                name_of(pod),
                uid_of(pod),
                u32::try_from(i).unwrap(),
            );
        }
    }

    #[test]
    fn reconciling_converges_and_then_writes_nothing() {
        let api = api();
        api.create(
            Resource::Namespace,
            None,
            json!({"metadata": {"name": "n"}}),
        )
        .unwrap();
        let template = |image: &str| {
            json!({
                "metadata": {"labels": {"app": "a"}},
                "spec": {"containers": [{"name": "c", "image": image}]}
            })
        };
        api.create(
            Resource::Deployment,
            Some("n"),
            json!({"metadata": {"name": "d"}, "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "a"}}, "template": template("i:1")}}),
        )
        .unwrap();
        reconcile_all(&api);
        assert_eq!(api.list(Resource::ReplicaSet, Some("n")).len(), 1);
        assert_eq!(api.list(Resource::Pod, Some("n")).len(), 2);
        start_all(&api);
        reconcile_all(&api);
        let d = api.get(Resource::Deployment, Some("n"), "d").unwrap();
        assert_eq!(d["status"]["readyReplicas"], 2);
        assert_eq!(d["status"]["updatedReplicas"], 2);
        let rv = api.list_at(Resource::Pod, None).1;
        reconcile_all(&api);
        assert_eq!(
            api.list_at(Resource::Pod, None).1,
            rv,
            "a converged reconcile must not write"
        );

        // A template change: a second ReplicaSet, old pods kept until the new ones are ready.
        api.merge_patch(
            Resource::Deployment,
            Some("n"),
            "d",
            &json!({"spec": {"template": template("i:2")}}),
        )
        .unwrap();
        reconcile_all(&api);
        assert_eq!(api.list(Resource::ReplicaSet, Some("n")).len(), 2);
        assert_eq!(api.list(Resource::Pod, Some("n")).len(), 4);
        start_all(&api);
        reconcile_all(&api);
        reconcile_all(&api);
        let pods = api.list(Resource::Pod, Some("n"));
        assert_eq!(pods.len(), 2);
        assert!(
            pods.iter()
                .all(|p| p["spec"]["containers"][0]["image"] == "i:2")
        );
        let d = api.get(Resource::Deployment, Some("n"), "d").unwrap();
        assert_eq!(d["status"]["observedGeneration"], 2);
        assert_eq!(d["status"]["replicas"], 2);
        assert_eq!(d["metadata"]["annotations"][REVISION], "2");

        // Deleting the Deployment collects its ReplicaSets and pods.
        api.delete(Resource::Deployment, Some("n"), "d").unwrap();
        reconcile_all(&api);
        reconcile_all(&api);
        assert!(api.list(Resource::ReplicaSet, Some("n")).is_empty());
        assert!(api.list(Resource::Pod, Some("n")).is_empty());
    }

    #[test]
    fn template_hash_is_stable_and_sensitive() {
        let a = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}});
        let b = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i:2"}]}});
        assert_eq!(template_hash(&a), template_hash(&a.clone()));
        assert_ne!(template_hash(&a), template_hash(&b));
        assert!(
            template_hash(&a)
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }
}

//! The Deployment controller: one ReplicaSet per pod template (`<deployment>-<template
//! hash>`), the newest scaled to `spec.replicas`, older ones scaled to 0 once the new pods
//! are ready, and the Deployment's status as the real controller reports it.

use serde_json::{Value, json};

use super::workload::{
    HASH_LABEL, log_err, owned_by, owner_ref, pod_ready, set_status, template_hash, with_label,
};
use crate::kube::events::{EventRecord, Reporter};
use crate::kube::meta::{self, int_at, name_of, namespace_of, uid_of};
use crate::kube::{ApiServer, Resource};

/// The revision annotation of Deployments and ReplicaSets.
pub(super) const REVISION: &str = "deployment.kubernetes.io/revision";

fn revision_of(object: &Value) -> i64 {
    meta::annotation(object, REVISION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

pub(super) fn reconcile(api: &ApiServer, deployment: &Value) {
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

pub(super) fn update_status(api: &ApiServer, deployment: &Value) {
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

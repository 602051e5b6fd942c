//! The ReplicaSet controller: creates pods from the template (through admission, so the
//! webhook runs) or deletes the surplus, and writes the ReplicaSet's status.

use serde_json::{Map, Value, json};

use super::workload::{log_err, owned_by, owner_ref, pod_ready, set_status};
use crate::kube::events::{EventRecord, Reporter};
use crate::kube::meta::{self, int_at, name_of, namespace_of};
use crate::kube::{ApiServer, Resource};

pub(super) fn reconcile(api: &ApiServer, rs: &Value) {
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

//! Garbage collection: ReplicaSets and pods whose controlling owner is gone are deleted.

use serde_json::Value;

use super::workload::log_err;
use crate::kube::meta::{name_of, namespace_of, uid_of};
use crate::kube::{ApiServer, Resource};

/// Deletes ReplicaSets and pods whose controlling Deployment/ReplicaSet/StatefulSet no longer
/// exists.
pub(super) fn collect(api: &ApiServer, namespace: Option<&str>) {
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

//! What the workload controllers share: owner references, the pod-template hash, a
//! pod's readiness, status writes.

use serde_json::{Value, json};

use crate::kube::meta::{controller_uid, name_of, namespace_of, uid_of};
use crate::kube::{ApiError, ApiServer, Part, PatchKind, Resource};

/// The label that ties ReplicaSets and pods to a pod template.
pub(super) const HASH_LABEL: &str = "pod-template-hash";

/// The result, or `None` after logging why the write failed (a controller retries on
/// its next pass).
pub(super) fn log_err<T>(what: &str, result: Result<T, ApiError>) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(err) => {
            tracing::debug!(%err, "{what}");
            None
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

pub(super) fn with_label(labels: Option<&Value>, key: &str, value: &str) -> Value {
    let mut map = labels
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    map.insert(key.to_owned(), json!(value));
    Value::Object(map)
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

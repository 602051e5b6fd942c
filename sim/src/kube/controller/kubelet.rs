//! The "kubelet": a new pod turns Running and Ready `pod_start_delay` after it was
//! created, with the events a kubelet records.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use serde_json::{Value, json};

use crate::kube::events::{EventRecord, Reporter};
use crate::kube::meta::{self, name_of, namespace_of, uid_of};
use crate::kube::store::ChangeType;
use crate::kube::{ApiServer, Resource};

use super::workload::set_status;

/// The "kubelet": starts every new pod after `pod_start_delay`.
pub(super) async fn run(api: Arc<ApiServer>, cancel: CancellationToken) {
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
pub(super) fn start_pod(api: &ApiServer, ns: &str, name: &str, uid: &str, ip: u32) {
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

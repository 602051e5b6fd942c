//! Events (`core/v1`), written by the sim's scheduler, kubelet and controllers like a real
//! cluster's components write them: `Scheduled`, `Pulled`, `Created`, `Started`,
//! `SuccessfulCreate`/`SuccessfulDelete` and `ScalingReplicaSet`. `kubectl describe` lists
//! them with a `fieldSelector` on `involvedObject.*`.

use serde_json::{Value, json};

use super::meta;
use super::{ApiServer, Resource};

/// The component that reports an event (`source.component`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reporter {
    /// `default-scheduler`.
    Scheduler,
    /// `kubelet` on the sim's node.
    Kubelet,
    /// `replicaset-controller`.
    ReplicaSetController,
    /// `deployment-controller`.
    DeploymentController,
    /// `statefulset-controller`.
    StatefulSetController,
}

impl Reporter {
    fn component(self) -> &'static str {
        match self {
            Reporter::Scheduler => "default-scheduler",
            Reporter::Kubelet => "kubelet",
            Reporter::ReplicaSetController => "replicaset-controller",
            Reporter::DeploymentController => "deployment-controller",
            Reporter::StatefulSetController => "statefulset-controller",
        }
    }
}

/// One event to record about an object.
#[derive(Debug, Clone)]
pub struct EventRecord<'a> {
    /// Who reports it.
    pub reporter: Reporter,
    /// `Scheduled`, `Started`, ...
    pub reason: &'a str,
    /// The human-readable message.
    pub message: String,
    /// `spec.containers{name}` when the event is about one container.
    pub field_path: Option<String>,
}

impl ApiServer {
    /// Records a `Normal` event about `object` (of kind `resource`) in its namespace.
    /// Failures (e.g. the namespace is being deleted) are logged, never raised: an event is
    /// best effort, as in a real cluster.
    pub fn record_event(&self, resource: Resource, object: &Value, event: EventRecord<'_>) {
        let namespace = meta::namespace_of(object);
        let namespace = if namespace.is_empty() {
            "default"
        } else {
            namespace
        };
        let bytes: [u8; 8] = rand::random();
        let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        // Microseconds, so that `kubectl describe` (which sorts by `lastTimestamp`) keeps
        // the order in which the components reported.
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let mut involved = json!({
            "kind": resource.kind(),
            "namespace": meta::namespace_of(object),
            "name": meta::name_of(object),
            "uid": meta::uid_of(object),
            "apiVersion": resource.api_version(),
            "resourceVersion": meta::meta_str(object, "resourceVersion").unwrap_or(""),
        });
        if let Some(path) = &event.field_path {
            involved["fieldPath"] = json!(path);
        }
        let mut source = json!({"component": event.reporter.component()});
        if event.reporter == Reporter::Kubelet {
            source["host"] = json!(super::admission::NODE_NAME);
        }
        let body = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": format!("{}.{suffix}", meta::name_of(object)),
                "namespace": namespace,
            },
            "involvedObject": involved,
            "reason": event.reason,
            "message": event.message,
            "source": source,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": "Normal",
            "eventTime": null,
            "reportingComponent": event.reporter.component(),
            "reportingInstance": if event.reporter == Reporter::Kubelet { super::admission::NODE_NAME } else { "" },
        });
        if let Err(err) = self.create(Resource::Event, Some(namespace), body) {
            tracing::debug!(%err, reason = event.reason, "recording an event");
        }
    }
}

//! Defaulting: the fields a Kubernetes 1.20 API server fills in when it decodes a written
//! object, before admission and storage, so that clients read them back (`kubectl rollout
//! status` refuses a StatefulSet without `spec.updateStrategy`, for example).
//!
//! Learned from the API server's defaulting functions for `apps/v1` and `core/v1`: a field
//! is filled only when the client left it out (absent or `null`, which Go decodes to the
//! zero value); a value the client set is never changed. Workload templates get the pod
//! spec's and containers' defaults; pods also get what only pods get (service links, the
//! Priority and DefaultTolerationSeconds admission plugins' fields, requests from limits).

use serde_json::{Map, Value, json};

use super::Resource;

/// Fills in the defaults of `resource` on a decoded `object` (create and update alike).
pub(super) fn apply(resource: Resource, object: &mut Value) {
    let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    match resource {
        Resource::Deployment => deployment(spec),
        Resource::StatefulSet => stateful_set(spec),
        Resource::ReplicaSet => {
            fill(spec, "replicas", json!(1));
            template(spec);
        }
        Resource::Pod => {
            pod_spec(spec);
            fill(spec, "enableServiceLinks", json!(true));
            for list in ["containers", "initContainers"] {
                for container in objects_in(spec, list) {
                    requests_from_limits(container);
                }
            }
        }
        Resource::Namespace | Resource::ServiceAccount | Resource::Event => {}
    }
}

/// What the Priority and DefaultTolerationSeconds admission plugins add to a created Pod:
/// its priority (0 without a priority class, as no class is the global default; the
/// built-in system classes' values), the preemption policy, and tolerations of unready and
/// unreachable nodes for 300 seconds unless the pod tolerates them already.
pub(super) fn admit_pod(object: &mut Value) {
    let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let priority = match spec.get("priorityClassName").and_then(Value::as_str) {
        None | Some("") => Some(0),
        Some("system-cluster-critical") => Some(2_000_000_000),
        Some("system-node-critical") => Some(2_000_001_000),
        Some(_) => None,
    };
    if let Some(priority) = priority {
        fill(spec, "priority", json!(priority));
    }
    fill(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    if tolerations.is_null() {
        *tolerations = json!([]);
    }
    if let Some(tolerations) = tolerations.as_array_mut() {
        for taint in [
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable",
        ] {
            let tolerated = tolerations.iter().any(|t| {
                let key = t.get("key").and_then(Value::as_str);
                let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
                let exists = t.get("operator").and_then(Value::as_str) == Some("Exists");
                (key == Some(taint) || (key.is_none() && exists))
                    && (effect.is_empty() || effect == "NoExecute")
            });
            if !tolerated {
                tolerations.push(json!({
                    "key": taint,
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                }));
            }
        }
    }
}

fn deployment(spec: &mut Map<String, Value>) {
    fill(spec, "replicas", json!(1));
    if let Some(strategy) = object_at(spec, "strategy") {
        fill(strategy, "type", json!("RollingUpdate"));
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(rolling) = object_at(strategy, "rollingUpdate")
        {
            fill(rolling, "maxUnavailable", json!("25%"));
            fill(rolling, "maxSurge", json!("25%"));
        }
    }
    fill(spec, "revisionHistoryLimit", json!(10));
    fill(spec, "progressDeadlineSeconds", json!(600));
    template(spec);
}

fn stateful_set(spec: &mut Map<String, Value>) {
    fill(spec, "podManagementPolicy", json!("OrderedReady"));
    if let Some(strategy) = object_at(spec, "updateStrategy") {
        if is_unset(strategy.get("type")) {
            strategy.insert("type".to_owned(), json!("RollingUpdate"));
            fill(strategy, "rollingUpdate", json!({}));
        }
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(rolling) = strategy
                .get_mut("rollingUpdate")
                .and_then(Value::as_object_mut)
        {
            fill(rolling, "partition", json!(0));
        }
    }
    fill(spec, "replicas", json!(1));
    fill(spec, "revisionHistoryLimit", json!(10));
    template(spec);
    for claim in objects_in(spec, "volumeClaimTemplates") {
        if let Some(claim_spec) = object_at(claim, "spec") {
            fill(claim_spec, "volumeMode", json!("Filesystem"));
        }
        if let Some(status) = object_at(claim, "status") {
            fill(status, "phase", json!("Pending"));
        }
    }
}

/// `spec.template.spec` of a workload.
fn template(workload_spec: &mut Map<String, Value>) {
    if let Some(spec) = workload_spec
        .get_mut("template")
        .and_then(Value::as_object_mut)
        .and_then(|t| t.get_mut("spec"))
        .and_then(Value::as_object_mut)
    {
        pod_spec(spec);
    }
}

fn pod_spec(spec: &mut Map<String, Value>) {
    fill(spec, "dnsPolicy", json!("ClusterFirst"));
    fill(spec, "restartPolicy", json!("Always"));
    fill(spec, "securityContext", json!({}));
    fill(spec, "terminationGracePeriodSeconds", json!(30));
    fill(spec, "schedulerName", json!("default-scheduler"));
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        for c in objects_in(spec, list) {
            container(c, host_network);
        }
    }
    for volume in objects_in(spec, "volumes") {
        self::volume(volume);
    }
}

fn container(c: &mut Map<String, Value>, host_network: bool) {
    if is_unset(c.get("imagePullPolicy")) {
        let image = c.get("image").and_then(Value::as_str).unwrap_or("");
        let policy = if image_tag(image) == "latest" {
            "Always"
        } else {
            "IfNotPresent"
        };
        c.insert("imagePullPolicy".to_owned(), json!(policy));
    }
    fill(c, "terminationMessagePath", json!("/dev/termination-log"));
    fill(c, "terminationMessagePolicy", json!("File"));
    for port in objects_in(c, "ports") {
        fill(port, "protocol", json!("TCP"));
        let host_port_unset =
            is_unset(port.get("hostPort")) || port.get("hostPort") == Some(&json!(0));
        if host_network
            && host_port_unset
            && let Some(container_port) = port.get("containerPort").cloned()
        {
            port.insert("hostPort".to_owned(), container_port);
        }
    }
    for env in objects_in(c, "env") {
        if let Some(field_ref) = env
            .get_mut("valueFrom")
            .and_then(Value::as_object_mut)
            .and_then(|v| v.get_mut("fieldRef"))
            .and_then(Value::as_object_mut)
        {
            fill(field_ref, "apiVersion", json!("v1"));
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(probe) = c.get_mut(probe).and_then(Value::as_object_mut) {
            self::probe(probe);
        }
    }
}

fn probe(probe: &mut Map<String, Value>) {
    for (field, value) in [
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ] {
        if is_unset(probe.get(field)) || probe.get(field) == Some(&json!(0)) {
            probe.insert(field.to_owned(), json!(value));
        }
    }
    if let Some(get) = probe.get_mut("httpGet").and_then(Value::as_object_mut) {
        fill(get, "path", json!("/"));
        fill(get, "scheme", json!("HTTP"));
    }
}

/// The volume sources a volume may name (one of them must be set).
const VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
];

/// Octal 0644, the default mode of secret, config map, downward API and projected files.
const DEFAULT_MODE: i64 = 0o644;

fn volume(volume: &mut Map<String, Value>) {
    if VOLUME_SOURCES.iter().all(|s| is_unset(volume.get(*s))) {
        volume.insert("emptyDir".to_owned(), json!({}));
    }
    for source in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(source) = volume.get_mut(source).and_then(Value::as_object_mut) {
            fill(source, "defaultMode", json!(DEFAULT_MODE));
        }
    }
    if let Some(host_path) = volume.get_mut("hostPath").and_then(Value::as_object_mut) {
        fill(host_path, "type", json!(""));
    }
    if let Some(projected) = volume.get_mut("projected").and_then(Value::as_object_mut) {
        for source in objects_in(projected, "sources") {
            if let Some(token) = source
                .get_mut("serviceAccountToken")
                .and_then(Value::as_object_mut)
            {
                fill(token, "expirationSeconds", json!(3600));
            }
        }
    }
}

/// Requests default to the limits for every resource that has a limit and no request.
fn requests_from_limits(container: &mut Map<String, Value>) {
    let Some(resources) = container
        .get_mut("resources")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let Some(limits) = resources.get("limits").and_then(Value::as_object).cloned() else {
        return;
    };
    if let Some(requests) = object_at(resources, "requests") {
        for (name, quantity) in limits {
            requests.entry(name).or_insert(quantity);
        }
    }
}

/// The tag of an image reference, as the API server's image-name parser gives it:
/// `latest` when neither a tag nor a digest is named, empty with a digest only.
pub(super) fn image_tag(image: &str) -> &str {
    let (name, digest) = match image.split_once('@') {
        Some((name, _)) => (name, true),
        None => (image, false),
    };
    let last_component = name.rsplit('/').next().unwrap_or(name);
    match last_component.split_once(':') {
        Some((_, tag)) => tag,
        None if digest => "",
        None => "latest",
    }
}

/// Absent, `null` or an empty string: what Go decodes to a nil pointer or a zero string.
fn is_unset(value: Option<&Value>) -> bool {
    value.is_none_or(|v| v.is_null() || v.as_str() == Some(""))
}

/// Sets `field` to `value` when the client left it out.
fn fill(map: &mut Map<String, Value>, field: &str, value: Value) {
    if is_unset(map.get(field)) {
        map.insert(field.to_owned(), value);
    }
}

/// The object at `field`, created empty when left out (a Go struct field, never nil);
/// `None` when the field holds something else (left for validation to refuse).
fn object_at<'a>(
    map: &'a mut Map<String, Value>,
    field: &str,
) -> Option<&'a mut Map<String, Value>> {
    let slot = map.entry(field).or_insert_with(|| json!({}));
    if slot.is_null() {
        *slot = json!({});
    }
    slot.as_object_mut()
}

/// The objects of the list at `field` (nothing when absent or not a list).
fn objects_in<'a>(
    map: &'a mut Map<String, Value>,
    field: &str,
) -> impl Iterator<Item = &'a mut Map<String, Value>> {
    map.get_mut(field)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

//! CREATE: what happens to an object before it is stored — the checks and defaults of the
//! built-in admission plugins (NamespaceLifecycle, ServiceAccount), the pod-identity
//! mutating webhook, and metadata (uid, creationTimestamp, generation).

use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use serde_json::{Value, json};

use super::{ApiError, ApiServer, Resource, key, validation};
use super::{defaults, meta};
use crate::webhook;

/// Where pods are "scheduled".
pub(super) const NODE_NAME: &str = "sim-node-1";

/// Creates `object` as `resource` in `namespace`.
pub(super) fn create(
    api: &ApiServer,
    resource: Resource,
    namespace: Option<&str>,
    mut object: Value,
) -> Result<Value, ApiError> {
    let Some(map) = object.as_object_mut() else {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    };
    for (field, expected) in [
        ("kind", resource.kind()),
        ("apiVersion", resource.api_version()),
    ] {
        match map.get(field).and_then(Value::as_str) {
            Some(found) if found != expected => {
                return Err(ApiError::bad_request(format!(
                    "the API version or kind in the request body ({found}) does not match the resource ({expected})"
                )));
            }
            _ => {
                map.insert(field.to_owned(), json!(expected));
            }
        }
    }

    validation::decode_metadata(resource, &object)?;

    let namespace = if resource.namespaced() {
        let body_ns = meta::namespace_of(&object).to_owned();
        let ns = match namespace {
            Some(ns) => ns.to_owned(),
            None if !body_ns.is_empty() => body_ns.clone(),
            None => "default".to_owned(),
        };
        if !body_ns.is_empty() && body_ns != ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        Some(ns)
    } else {
        None
    };

    let name = match meta::meta_str(&object, "name").filter(|n| !n.is_empty()) {
        Some(name) => name.to_owned(),
        None => match meta::meta_str(&object, "generateName").filter(|n| !n.is_empty()) {
            Some(prefix) => format!("{prefix}{}", meta::random_suffix(5)),
            None => {
                return Err(ApiError::invalid(
                    resource,
                    "",
                    "metadata.name: Required value: name or generateName is required",
                ));
            }
        },
    };
    if let Some(m) = meta::meta_mut(&mut object) {
        m.insert("name".to_owned(), json!(name));
    }
    validation::validate_metadata(resource, &object)?;

    let mut txn = api.store.lock();
    if let Some(ns) = &namespace
        && txn
            .state()
            .get(Resource::Namespace, &(String::new(), ns.clone()))
            .is_none()
    {
        return Err(ApiError::not_found(Resource::Namespace, ns));
    }
    let object_key = key(resource, namespace.as_deref(), &name);
    if txn.state().get(resource, &object_key).is_some() {
        return Err(ApiError::already_exists(resource, &name));
    }

    defaults::apply(resource, &mut object);
    match resource {
        Resource::Pod => {
            let ns = namespace.as_deref().unwrap_or("default");
            object = admit_pod(api, txn.state(), ns, &name, object)?;
        }
        Resource::Deployment | Resource::ReplicaSet | Resource::StatefulSet => {
            validate_workload(resource, &name, &mut object)?
        }
        Resource::Namespace => {
            if let Some(map) = object.as_object_mut() {
                map.insert("spec".to_owned(), json!({"finalizers": ["kubernetes"]}));
                map.insert("status".to_owned(), json!({"phase": "Active"}));
            }
        }
        Resource::ServiceAccount | Resource::Event => {}
    }

    let uid = uuid::Uuid::new_v4().to_string();
    if let Some(m) = meta::meta_mut(&mut object) {
        m.insert("name".to_owned(), json!(name));
        match &namespace {
            Some(ns) => m.insert("namespace".to_owned(), json!(ns)),
            None => m.remove("namespace"),
        };
        m.insert("uid".to_owned(), json!(uid));
        m.insert("creationTimestamp".to_owned(), json!(meta::now()));
        m.remove("resourceVersion");
        m.remove("deletionTimestamp");
        if resource.tracks_generation() {
            m.insert("generation".to_owned(), json!(1));
        } else {
            m.remove("generation");
        }
        if resource == Resource::Namespace {
            let labels = m.entry("labels").or_insert_with(|| json!({}));
            if let Some(labels) = labels.as_object_mut() {
                labels.insert("kubernetes.io/metadata.name".to_owned(), json!(name));
            }
        }
    }
    let stored = txn.insert(resource, object_key.clone(), object);

    match resource {
        Resource::ServiceAccount => {
            api.remember_sa(object_key, Some(stored.clone()));
            api.shadow_with_pod_identity(&stored);
        }
        // The ServiceAccount controller gives every namespace its `default` account.
        Resource::Namespace => {
            let sa_key = (name.clone(), "default".to_owned());
            let sa = json!({
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {
                    "name": "default",
                    "namespace": name,
                    "uid": uuid::Uuid::new_v4().to_string(),
                    "creationTimestamp": meta::now(),
                },
            });
            let sa = txn.insert(Resource::ServiceAccount, sa_key.clone(), sa);
            api.remember_sa(sa_key, Some(sa));
        }
        _ => {}
    }
    Ok(stored)
}

/// Apps/v1 workloads: a selector that matches the template's labels, replicas defaulted.
fn validate_workload(resource: Resource, name: &str, object: &mut Value) -> Result<(), ApiError> {
    let selector = object
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .cloned();
    let Some(selector) = selector.filter(|s| !s.is_empty()) else {
        return Err(ApiError::invalid(
            resource,
            name,
            "spec.selector: Required value",
        ));
    };
    let labels = object
        .pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object);
    let matches =
        labels.is_some_and(|labels| selector.iter().all(|(k, v)| labels.get(k) == Some(v)));
    if !matches {
        return Err(ApiError::invalid(
            resource,
            name,
            "spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`",
        ));
    }
    let containers = object
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array);
    if containers.is_none_or(Vec::is_empty) {
        return Err(ApiError::invalid(
            resource,
            name,
            "spec.template.spec.containers: Required value",
        ));
    }
    if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) {
        spec.entry("replicas").or_insert(json!(1));
    }
    if let Some(map) = object.as_object_mut() {
        map.insert("status".to_owned(), json!({}));
    }
    Ok(())
}

/// Pods: the ServiceAccount admission check, the webhook, the initial status.
fn admit_pod(
    api: &ApiServer,
    state: &super::store::State,
    namespace: &str,
    name: &str,
    object: Value,
) -> Result<Value, ApiError> {
    let mut pod: Pod = serde_json::from_value(object).map_err(|e| {
        ApiError::bad_request(format!(
            "Pod in version \"v1\" cannot be handled as a Pod: {e}"
        ))
    })?;
    let Some(spec) = pod.spec.as_mut() else {
        return Err(ApiError::invalid(
            Resource::Pod,
            name,
            "spec: Required value",
        ));
    };
    if spec.containers.is_empty() {
        return Err(ApiError::invalid(
            Resource::Pod,
            name,
            "spec.containers: Required value",
        ));
    }
    let sa_name = spec
        .service_account_name
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| spec.service_account.clone().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "default".to_owned());
    spec.service_account_name = Some(sa_name.clone());
    spec.service_account = Some(sa_name.clone());
    spec.node_name.get_or_insert_with(|| NODE_NAME.to_owned());

    let sa_key = (namespace.to_owned(), sa_name.clone());
    if state.get(Resource::ServiceAccount, &sa_key).is_none() {
        return Err(ApiError::forbidden(
            Resource::Pod,
            name,
            format!(
                "error looking up service account {namespace}/{sa_name}: serviceaccount \"{sa_name}\" not found"
            ),
        ));
    }

    // The mutating webhook, with the namespace set as the admission request carries it.
    pod.metadata.namespace = Some(namespace.to_owned());
    let seen = api
        .webhook_view_of_sa(state, &sa_key)
        .and_then(|v| serde_json::from_value::<ServiceAccount>(v).ok());
    webhook::mutate(&mut pod, seen.as_ref(), &api.webhook_options());

    let mut object = serde_json::to_value(&pod)
        .map_err(|e| ApiError::bad_request(format!("encoding the pod: {e}")))?;
    // What the webhook added is defaulted too, and the admission plugins add their fields.
    defaults::apply(Resource::Pod, &mut object);
    defaults::admit_pod(&mut object);
    // Until the kubelet starts them, containers wait in `ContainerCreating`.
    let waiting: Vec<Value> = object
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            json!({
                "name": c.get("name").cloned().unwrap_or(Value::Null),
                "image": c.get("image").cloned().unwrap_or(Value::Null),
                "imageID": "",
                "ready": false,
                "started": false,
                "restartCount": 0,
                "state": {"waiting": {"reason": "ContainerCreating"}},
            })
        })
        .collect();
    if let Some(map) = object.as_object_mut() {
        map.insert(
            "status".to_owned(),
            json!({
                "phase": "Pending",
                "containerStatuses": waiting,
                "qosClass": "BestEffort",
                "conditions": [{
                    "type": "PodScheduled",
                    "status": "True",
                    "lastProbeTime": null,
                    "lastTransitionTime": meta::now(),
                }],
            }),
        );
    }
    Ok(object)
}

/// Pod updates may not change the spec beyond what the real API server allows (here: the
/// containers' images and the pod's labels and annotations are the mutable parts).
pub(super) fn validate_pod_update(old: &Value, new: &Value) -> Result<(), ApiError> {
    let strip = |v: &Value| {
        let mut spec = v.get("spec").cloned().unwrap_or(Value::Null);
        for list in ["containers", "initContainers"] {
            if let Some(items) = spec.get_mut(list).and_then(Value::as_array_mut) {
                for c in items {
                    if let Some(c) = c.as_object_mut() {
                        c.remove("image");
                    }
                }
            }
        }
        if let Some(map) = spec.as_object_mut() {
            map.remove("activeDeadlineSeconds");
            map.remove("tolerations");
        }
        spec
    };
    if strip(old) != strip(new) {
        return Err(ApiError::invalid(
            Resource::Pod,
            meta::name_of(old),
            "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations) or `spec.terminationGracePeriodSeconds`",
        ));
    }
    Ok(())
}

/// Fault [`crate::Fault::MutateExistingPods`]: when a ServiceAccount's role annotation
/// appears or changes, the pods already running under it are mutated in place.
pub(super) fn mutate_existing_pods(api: &ApiServer, old_sa: &Value, new_sa: &Value) {
    const ROLE: &str = "eks.amazonaws.com/role-arn";
    let new_role = meta::annotation(new_sa, ROLE);
    if new_role.is_none() || new_role == meta::annotation(old_sa, ROLE) {
        return;
    }
    let Ok(sa) = serde_json::from_value::<ServiceAccount>(new_sa.clone()) else {
        return;
    };
    let ns = meta::namespace_of(new_sa).to_owned();
    let sa_name = meta::name_of(new_sa).to_owned();
    let mut txn = api.store.lock();
    for object in txn.state().list(Resource::Pod, Some(&ns)) {
        let Ok(mut pod) = serde_json::from_value::<Pod>(object.clone()) else {
            continue;
        };
        let runs_under = pod
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.as_deref())
            == Some(sa_name.as_str());
        if runs_under
            && webhook::mutate(&mut pod, Some(&sa), &api.webhook_options())
            && let Ok(mutated) = serde_json::to_value(&pod)
        {
            let pod_key = (ns.clone(), meta::name_of(&object).to_owned());
            txn.update(Resource::Pod, pod_key, mutated);
        }
    }
}

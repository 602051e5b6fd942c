//! OpenAPI v3 documents: `/openapi/v3` (the index of group versions) and one document per
//! group version (`/openapi/v3/api/v1`, `/openapi/v3/apis/apps/v1`, ...).
//!
//! kubectl (1.27+) reads them before `apply`/`create -f` with validation on: when a
//! resource's PATCH operation lists the `fieldValidation` query parameter, kubectl leaves
//! validation to the server (`?fieldValidation=Strict`) instead of validating against a
//! schema itself; and client-side `apply` reads the kind's schema (found through its
//! `x-kubernetes-group-version-kind`) for the strategic-merge keys of lists
//! (`x-kubernetes-patch-merge-key`). The documents are minimal but valid: every kind
//! served, its paths and verbs, and hand-written schemas of the fields the sim uses, with
//! the real patch strategies (containers, env, ports, volumes and mounts merge by key).
//! The sim serves no `/openapi/v2` (kubectl would want it as protobuf; it only falls back
//! to it when v3 is missing).

use serde_json::{Map, Value, json};

use super::Resource;

/// A fixed hash per document (the content never changes while a sim runs).
const HASH: &str = "5f1d0c6f0e2a4b7c9d8e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e";

/// The group versions served, as `(path after /openapi/v3/, group)`.
const GROUP_VERSIONS: &[(&str, &str)] = &[("api/v1", ""), ("apis/apps/v1", "apps")];

/// `/openapi/v3`: where each group version's document is.
pub fn index() -> Value {
    let paths: Map<String, Value> = GROUP_VERSIONS
        .iter()
        .map(|(path, _)| {
            (
                (*path).to_owned(),
                json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={HASH}")}),
            )
        })
        .collect();
    json!({"paths": paths})
}

/// The document of one group version (`api/v1`, `apis/apps/v1`), if served.
pub fn group_version(path: &str) -> Option<Value> {
    let group = GROUP_VERSIONS
        .iter()
        .find(|(p, _)| *p == path.trim_matches('/'))
        .map(|(_, g)| *g)?;
    let mut paths = Map::new();
    for resource in Resource::ALL.iter().copied().filter(|r| r.group() == group) {
        add_paths(&mut paths, resource);
    }
    let title = if group.is_empty() {
        "Kubernetes"
    } else {
        "Kubernetes apps"
    };
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": title, "version": "v1.29.6"},
        "paths": paths,
        "components": {"schemas": schemas(group)},
    }))
}

fn gvk(resource: Resource) -> Value {
    json!({"group": resource.group(), "version": resource.version(), "kind": resource.kind()})
}

fn query(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": {"type": "string", "uniqueItems": true}})
}

fn write_params() -> Vec<Value> {
    vec![
        query(
            "dryRun",
            "When present, indicates that modifications should not be persisted.",
        ),
        query(
            "fieldManager",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
        ),
        query(
            "fieldValidation",
            "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn (default), Strict.",
        ),
    ]
}

fn schema_name(resource: Resource) -> String {
    let package = match resource.group() {
        "apps" => "io.k8s.api.apps.v1",
        _ => "io.k8s.api.core.v1",
    };
    format!("{package}.{}", resource.kind())
}

fn operation(resource: Resource, action: &str, id: &str, params: Vec<Value>, code: &str) -> Value {
    let schema = json!({"$ref": format!("#/components/schemas/{}", schema_name(resource))});
    json!({
        "operationId": id,
        "parameters": params,
        "responses": {code: {"description": "OK", "content": {"application/json": {"schema": schema}}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(resource),
    })
}

fn add_paths(paths: &mut Map<String, Value>, resource: Resource) {
    let prefix = match resource.group() {
        "" => "/api/v1".to_owned(),
        g => format!("/apis/{g}/v1"),
    };
    let kind = resource.kind();
    let scope = if resource.namespaced() {
        "Namespaced"
    } else {
        ""
    };
    let collection = if resource.namespaced() {
        format!("{prefix}/namespaces/{{namespace}}/{}", resource.plural())
    } else {
        format!("{prefix}/{}", resource.plural())
    };
    let item = format!("{collection}/{{name}}");
    let mut patch_params = write_params();
    patch_params.push(query(
        "force",
        "Force is going to \"force\" Apply requests.",
    ));
    paths.insert(
        collection,
        json!({
            "get": operation(resource, "list", &format!("list{scope}{kind}"), vec![
                query("labelSelector", "A selector to restrict the list of returned objects by their labels."),
                query("fieldSelector", "A selector to restrict the list of returned objects by their fields."),
                query("watch", "Watch for changes to the described resources."),
            ], "200"),
            "post": operation(resource, "post", &format!("create{scope}{kind}"), write_params(), "201"),
        }),
    );
    paths.insert(
        item,
        json!({
            "get": operation(resource, "get", &format!("read{scope}{kind}"), vec![], "200"),
            "put": operation(resource, "put", &format!("replace{scope}{kind}"), write_params(), "200"),
            "patch": operation(resource, "patch", &format!("patch{scope}{kind}"), patch_params, "200"),
            "delete": operation(resource, "delete", &format!("delete{scope}{kind}"), vec![query("dryRun", "When present, indicates that modifications should not be persisted.")], "200"),
        }),
    );
}

fn r(name: &str) -> Value {
    json!({"allOf": [{"$ref": format!("#/components/schemas/{name}")}]})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn int() -> Value {
    json!({"type": "integer", "format": "int32"})
}

fn string_map() -> Value {
    json!({"type": "object", "additionalProperties": {"type": "string", "default": ""}})
}

fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string", "default": ""}})
}

fn free_object() -> Value {
    json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
}

/// An array of `item` merged by `key` under strategic merge patch.
fn merged_list(item: &str, key: &str, strategy: &str) -> Value {
    json!({
        "type": "array",
        "items": {"allOf": [{"$ref": format!("#/components/schemas/{item}")}], "default": {}},
        "x-kubernetes-patch-merge-key": key,
        "x-kubernetes-patch-strategy": strategy,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": [key],
    })
}

fn object(properties: Value, required: &[&str]) -> Value {
    let mut schema = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

/// A top-level kind: `apiVersion`, `kind`, `metadata` and the given properties.
fn kind_schema(resource: Resource, mut properties: Value) -> Value {
    if let Some(map) = properties.as_object_mut() {
        map.insert("apiVersion".to_owned(), string());
        map.insert("kind".to_owned(), string());
        map.insert(
            "metadata".to_owned(),
            r("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        );
    }
    let mut schema = object(properties, &[]);
    schema["x-kubernetes-group-version-kind"] = json!([gvk(resource)]);
    schema
}

fn meta_schemas(schemas: &mut Map<String, Value>) {
    schemas.insert(
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta".to_owned(),
        object(
            json!({
                "name": string(), "generateName": string(), "namespace": string(),
                "uid": string(), "resourceVersion": string(), "generation": {"type": "integer", "format": "int64"},
                "creationTimestamp": {"type": "string", "format": "date-time"},
                "deletionTimestamp": {"type": "string", "format": "date-time"},
                "labels": string_map(), "annotations": string_map(),
                "finalizers": {"type": "array", "items": {"type": "string", "default": ""}, "x-kubernetes-patch-strategy": "merge", "x-kubernetes-list-type": "set"},
                "ownerReferences": merged_list("io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference", "uid", "merge"),
                "managedFields": {"type": "array", "items": free_object()},
            }),
            &[],
        ),
    );
    schemas.insert(
        "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference".to_owned(),
        object(
            json!({
                "apiVersion": string(), "kind": string(), "name": string(), "uid": string(),
                "controller": {"type": "boolean"}, "blockOwnerDeletion": {"type": "boolean"},
            }),
            &["apiVersion", "kind", "name", "uid"],
        ),
    );
    schemas.insert(
        "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector".to_owned(),
        object(
            json!({"matchLabels": string_map(), "matchExpressions": {"type": "array", "items": free_object()}}),
            &[],
        ),
    );
}

fn pod_schemas(schemas: &mut Map<String, Value>) {
    const CORE: &str = "io.k8s.api.core.v1";
    let container = object(
        json!({
            "name": string(), "image": string(), "imagePullPolicy": string(),
            "command": strings(), "args": strings(), "workingDir": string(),
            "env": merged_list(&format!("{CORE}.EnvVar"), "name", "merge"),
            "envFrom": {"type": "array", "items": free_object()},
            "ports": merged_list(&format!("{CORE}.ContainerPort"), "containerPort", "merge"),
            "volumeMounts": merged_list(&format!("{CORE}.VolumeMount"), "mountPath", "merge"),
            "resources": free_object(), "securityContext": free_object(),
            "livenessProbe": free_object(), "readinessProbe": free_object(), "startupProbe": free_object(),
        }),
        &["name"],
    );
    schemas.insert(format!("{CORE}.Container"), container);
    schemas.insert(
        format!("{CORE}.EnvVar"),
        object(
            json!({"name": string(), "value": string(), "valueFrom": free_object()}),
            &["name"],
        ),
    );
    schemas.insert(
        format!("{CORE}.ContainerPort"),
        object(
            json!({"containerPort": int(), "name": string(), "protocol": string(), "hostPort": int(), "hostIP": string()}),
            &["containerPort"],
        ),
    );
    schemas.insert(
        format!("{CORE}.VolumeMount"),
        object(
            json!({"name": string(), "mountPath": string(), "readOnly": {"type": "boolean"}, "subPath": string()}),
            &["name", "mountPath"],
        ),
    );
    let mut volume = free_object();
    volume["properties"] = json!({"name": string()});
    volume["required"] = json!(["name"]);
    schemas.insert(format!("{CORE}.Volume"), volume);
    schemas.insert(
        format!("{CORE}.PodSpec"),
        object(
            json!({
                "containers": merged_list(&format!("{CORE}.Container"), "name", "merge"),
                "initContainers": merged_list(&format!("{CORE}.Container"), "name", "merge"),
                "volumes": merged_list(&format!("{CORE}.Volume"), "name", "merge,retainKeys"),
                "serviceAccountName": string(), "serviceAccount": string(),
                "automountServiceAccountToken": {"type": "boolean"},
                "nodeName": string(), "nodeSelector": string_map(),
                "restartPolicy": string(), "dnsPolicy": string(), "schedulerName": string(),
                "terminationGracePeriodSeconds": {"type": "integer", "format": "int64"},
                "securityContext": free_object(), "affinity": free_object(),
                "tolerations": {"type": "array", "items": free_object()},
                "imagePullSecrets": {"type": "array", "items": free_object(), "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"},
            }),
            &["containers"],
        ),
    );
    schemas.insert(
        format!("{CORE}.PodTemplateSpec"),
        object(
            json!({
                "metadata": r("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
                "spec": r(&format!("{CORE}.PodSpec")),
            }),
            &[],
        ),
    );
}

fn schemas(group: &str) -> Map<String, Value> {
    let mut schemas = Map::new();
    meta_schemas(&mut schemas);
    pod_schemas(&mut schemas);
    for resource in Resource::ALL.iter().copied().filter(|r| r.group() == group) {
        let properties = match resource {
            Resource::Namespace => json!({"spec": free_object(), "status": free_object()}),
            Resource::ServiceAccount => json!({
                "secrets": {"type": "array", "items": free_object(), "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"},
                "imagePullSecrets": {"type": "array", "items": free_object()},
                "automountServiceAccountToken": {"type": "boolean"},
            }),
            Resource::Pod => json!({
                "spec": r("io.k8s.api.core.v1.PodSpec"),
                "status": free_object(),
            }),
            Resource::Deployment | Resource::ReplicaSet | Resource::StatefulSet => {
                let spec = object(
                    json!({
                        "replicas": int(),
                        "selector": r("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"),
                        "template": r("io.k8s.api.core.v1.PodTemplateSpec"),
                        "serviceName": string(), "podManagementPolicy": string(),
                        "updateStrategy": free_object(),
                        "volumeClaimTemplates": {"type": "array", "items": free_object()},
                        "strategy": {"type": "object", "x-kubernetes-patch-strategy": "retainKeys", "properties": {"type": string(), "rollingUpdate": free_object()}},
                        "minReadySeconds": int(), "revisionHistoryLimit": int(),
                        "progressDeadlineSeconds": int(), "paused": {"type": "boolean"},
                    }),
                    &["selector", "template"],
                );
                let spec_name = format!("{}Spec", schema_name(resource));
                schemas.insert(spec_name.clone(), spec);
                json!({"spec": r(&spec_name), "status": free_object()})
            }
            Resource::Event => json!({
                "involvedObject": free_object(), "reason": string(), "message": string(),
                "source": free_object(), "type": string(), "count": int(),
                "firstTimestamp": {"type": "string", "format": "date-time"},
                "lastTimestamp": {"type": "string", "format": "date-time"},
                "eventTime": {"type": "string", "format": "date-time"},
                "reportingComponent": string(), "reportingInstance": string(),
            }),
        };
        schemas.insert(schema_name(resource), kind_schema(resource, properties));
    }
    schemas
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_points_at_each_group_version() {
        let index = index();
        let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap();
        assert!(url.starts_with("/openapi/v3/apis/apps/v1?hash="));
        assert!(group_version("apis/batch/v1").is_none());
    }

    #[test]
    fn patch_operations_offer_field_validation_for_each_kind() {
        for (path, group) in GROUP_VERSIONS {
            let doc = group_version(path).unwrap();
            for resource in Resource::ALL.iter().filter(|r| r.group() == *group) {
                let patch = doc["paths"]
                    .as_object()
                    .unwrap()
                    .values()
                    .filter_map(|p| p.get("patch"))
                    .find(|op| op["x-kubernetes-group-version-kind"]["kind"] == resource.kind())
                    .unwrap_or_else(|| panic!("no PATCH for {resource:?}"));
                assert!(
                    patch["parameters"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
                );
                let schema = &doc["components"]["schemas"][schema_name(*resource)];
                assert_eq!(
                    schema["x-kubernetes-group-version-kind"][0]["kind"],
                    resource.kind()
                );
            }
        }
    }
}

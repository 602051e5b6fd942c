//! Server-side printing: `meta.k8s.io/v1` `Table` responses, which kubectl asks for on
//! `get` (and `get -w`) with `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.
//!
//! The columns are the real API server's for each kind (kubectl upper-cases their names);
//! columns with `priority: 1` only show with `-o wide`. Each row carries the object as
//! `?includeObject=` asks: `Metadata` (the default, a `PartialObjectMetadata`), `Object`
//! or `None`.

use axum::http::{HeaderMap, header};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::meta::{self, int_at};
use super::{ApiError, Resource};

/// What each row carries besides its cells (`?includeObject=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    /// A `PartialObjectMetadata` with the object's metadata (the default).
    #[default]
    Metadata,
    /// The whole object.
    Object,
    /// Nothing.
    None,
}

impl IncludeObject {
    /// Parses `?includeObject=`.
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        match raw.unwrap_or("") {
            "" | "Metadata" => Ok(Self::Metadata),
            "Object" => Ok(Self::Object),
            "None" => Ok(Self::None),
            other => Err(ApiError::bad_request(format!(
                "includeObject: Unsupported value: {other:?}: supported values: \"Metadata\", \"None\", \"Object\""
            ))),
        }
    }
}

/// Whether the `Accept` header asks for a `Table` (in any of the offered media types).
pub fn wants_table(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|media| {
            let params: Vec<&str> = media.split(';').map(str::trim).collect();
            params.first() == Some(&"application/json")
                && params.contains(&"as=Table")
                && params.contains(&"g=meta.k8s.io")
                && (params.contains(&"v=v1") || params.contains(&"v=v1beta1"))
        })
}

/// One column definition.
struct Column {
    name: &'static str,
    kind: &'static str,
    format: &'static str,
    priority: u8,
    description: &'static str,
}

const fn col(name: &'static str, kind: &'static str, priority: u8) -> Column {
    Column {
        name,
        kind,
        format: "",
        priority,
        description: "",
    }
}

const NAME: Column = Column {
    name: "Name",
    kind: "string",
    format: "name",
    priority: 0,
    description: "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated.",
};
const AGE: Column = Column {
    name: "Age",
    kind: "string",
    format: "",
    priority: 0,
    description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
};

fn columns(resource: Resource) -> Vec<Column> {
    match resource {
        Resource::Namespace => vec![NAME, col("Status", "string", 0), AGE],
        Resource::ServiceAccount => vec![NAME, col("Secrets", "string", 0), AGE],
        Resource::Pod => vec![
            NAME,
            col("Ready", "string", 0),
            col("Status", "string", 0),
            col("Restarts", "string", 0),
            AGE,
            col("IP", "string", 1),
            col("Node", "string", 1),
            col("Nominated Node", "string", 1),
            col("Readiness Gates", "string", 1),
        ],
        Resource::Deployment => vec![
            NAME,
            col("Ready", "string", 0),
            col("Up-to-date", "string", 0),
            col("Available", "string", 0),
            AGE,
            col("Containers", "string", 1),
            col("Images", "string", 1),
            col("Selector", "string", 1),
        ],
        Resource::StatefulSet => vec![
            NAME,
            col("Ready", "string", 0),
            AGE,
            col("Containers", "string", 1),
            col("Images", "string", 1),
        ],
        Resource::ReplicaSet => vec![
            NAME,
            col("Desired", "integer", 0),
            col("Current", "integer", 0),
            col("Ready", "integer", 0),
            AGE,
            col("Containers", "string", 1),
            col("Images", "string", 1),
            col("Selector", "string", 1),
        ],
        Resource::Event => vec![
            col("Last Seen", "string", 0),
            col("Type", "string", 0),
            col("Reason", "string", 0),
            col("Object", "string", 0),
            col("Subobject", "string", 1),
            col("Source", "string", 1),
            col("Message", "string", 0),
            col("First Seen", "string", 1),
            col("Count", "string", 1),
            Column {
                priority: 1,
                ..NAME
            },
        ],
    }
}

/// A `Table` of `objects` of one resource.
pub fn table(
    resource: Resource,
    objects: &[Value],
    resource_version: Option<String>,
    include: IncludeObject,
) -> Value {
    let now = Utc::now();
    let definitions: Vec<Value> = columns(resource)
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "type": c.kind,
                "format": c.format,
                "description": c.description,
                "priority": c.priority,
            })
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let mut row = json!({"cells": cells(resource, object, now)});
            match include {
                IncludeObject::Metadata => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
                    });
                }
                IncludeObject::Object => row["object"] = object.clone(),
                IncludeObject::None => {}
            }
            row
        })
        .collect();
    let mut metadata = json!({});
    if let Some(rv) = resource_version {
        metadata["resourceVersion"] = json!(rv);
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

fn text_at<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn age(object: &Value, pointer: &str, now: DateTime<Utc>) -> String {
    match DateTime::parse_from_rfc3339(text_at(object, pointer)) {
        Ok(t) => human_duration(now.signed_duration_since(t).num_seconds()),
        Err(_) => "<unknown>".to_owned(),
    }
}

fn cells(resource: Resource, object: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let name = json!(meta::name_of(object));
    let created = json!(age(object, "/metadata/creationTimestamp", now));
    let int = |pointer: &str| int_at(object, pointer).unwrap_or(0);
    match resource {
        Resource::Namespace => vec![name, json!(text_at(object, "/status/phase")), created],
        Resource::ServiceAccount => {
            let secrets = object
                .get("secrets")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            vec![name, json!(secrets), created]
        }
        Resource::Pod => pod_cells(object, name, created),
        Resource::Deployment => {
            let (containers, images) = containers_and_images(object);
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    int("/status/readyReplicas"),
                    int("/spec/replicas")
                )),
                json!(int("/status/updatedReplicas")),
                json!(int("/status/availableReplicas")),
                created,
                json!(containers),
                json!(images),
                json!(selector_text(object)),
            ]
        }
        Resource::StatefulSet => {
            let (containers, images) = containers_and_images(object);
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    int("/status/readyReplicas"),
                    int("/spec/replicas")
                )),
                created,
                json!(containers),
                json!(images),
            ]
        }
        Resource::ReplicaSet => {
            let (containers, images) = containers_and_images(object);
            vec![
                name,
                json!(int("/spec/replicas")),
                json!(int("/status/replicas")),
                json!(int("/status/readyReplicas")),
                created,
                json!(containers),
                json!(images),
                json!(selector_text(object)),
            ]
        }
        Resource::Event => {
            let last = if object
                .pointer("/lastTimestamp")
                .is_some_and(|v| !v.is_null())
            {
                age(object, "/lastTimestamp", now)
            } else {
                age(object, "/eventTime", now)
            };
            let involved = format!(
                "{}/{}",
                text_at(object, "/involvedObject/kind").to_lowercase(),
                text_at(object, "/involvedObject/name")
            );
            let source = [
                text_at(object, "/source/component"),
                text_at(object, "/source/host"),
            ]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
            vec![
                json!(last),
                json!(text_at(object, "/type")),
                json!(text_at(object, "/reason")),
                json!(involved),
                json!(text_at(object, "/involvedObject/fieldPath")),
                json!(source),
                json!(text_at(object, "/message")),
                json!(age(object, "/firstTimestamp", now)),
                json!(int("/count").to_string()),
                name,
            ]
        }
    }
}

fn pod_cells(object: &Value, name: Value, created: Value) -> Vec<Value> {
    let statuses: Vec<&Value> = object
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let total = object
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let ready = statuses
        .iter()
        .filter(|s| s.get("ready").and_then(Value::as_bool) == Some(true))
        .count();
    let restarts: i64 = statuses
        .iter()
        .filter_map(|s| s.get("restartCount").and_then(Value::as_i64))
        .sum();
    let waiting = statuses
        .iter()
        .find_map(|s| s.pointer("/state/waiting/reason").and_then(Value::as_str));
    let status = if meta::meta_str(object, "deletionTimestamp").is_some() {
        "Terminating"
    } else if let Some(reason) = waiting {
        reason
    } else if let Some(reason) = object.pointer("/status/reason").and_then(Value::as_str) {
        reason
    } else {
        match text_at(object, "/status/phase") {
            "" => "Unknown",
            phase => phase,
        }
    };
    let or_none = |s: &str| {
        if s.is_empty() {
            "<none>".to_owned()
        } else {
            s.to_owned()
        }
    };
    vec![
        name,
        json!(format!("{ready}/{total}")),
        json!(status),
        json!(restarts),
        created,
        json!(or_none(text_at(object, "/status/podIP"))),
        json!(or_none(text_at(object, "/spec/nodeName"))),
        json!("<none>"),
        json!("<none>"),
    ]
}

fn containers_and_images(object: &Value) -> (String, String) {
    let containers: Vec<&Value> = object
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let join = |field: &str| {
        containers
            .iter()
            .map(|c| c.get(field).and_then(Value::as_str).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(",")
    };
    (join("name"), join("image"))
}

fn selector_text(object: &Value) -> String {
    object
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// A duration in seconds as kubectl and the API server print ages (`5s`, `3m20s`, `4h`,
/// `2d3h`, `3y45d`).
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    let s = seconds.max(0);
    let (minutes, hours, days) = (s / 60, s / 3600, s / 86_400);
    let with = |major: i64, unit: &str, minor: i64, minor_unit: &str| {
        if minor == 0 {
            format!("{major}{unit}")
        } else {
            format!("{major}{unit}{minor}{minor_unit}")
        }
    };
    if s < 120 {
        format!("{s}s")
    } else if minutes < 10 {
        with(minutes, "m", s % 60, "s")
    } else if minutes < 180 {
        format!("{minutes}m")
    } else if hours < 8 {
        with(hours, "h", minutes % 60, "m")
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        with(days, "d", hours % 24, "h")
    } else if days < 365 * 2 {
        format!("{days}d")
    } else if days < 365 * 8 {
        with(days / 365, "y", days % 365, "d")
    } else {
        format!("{}y", days / 365)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use rstest::rstest;

    #[rstest]
    #[case(-5, "<invalid>")]
    #[case(0, "0s")]
    #[case(119, "119s")]
    #[case(200, "3m20s")]
    #[case(600, "10m")]
    #[case(4 * 3600, "4h")]
    #[case(4 * 3600 + 60, "4h1m")]
    #[case(20 * 3600, "20h")]
    #[case(3 * 86_400 + 3600, "3d1h")]
    #[case(30 * 86_400, "30d")]
    #[case(3 * 365 * 86_400 + 86_400, "3y1d")]
    fn ages(#[case] seconds: i64, #[case] expected: &str) {
        assert_eq!(human_duration(seconds), expected);
    }

    #[rstest]
    #[case(
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
        true
    )]
    #[case("application/json", false)]
    #[case(
        "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
        false
    )]
    fn table_accept(#[case] accept: &str, #[case] expected: bool) {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
        assert_eq!(wants_table(&headers), expected);
    }

    #[test]
    fn pod_rows_show_readiness_and_status() {
        let pod = json!({
            "metadata": {"name": "p", "namespace": "n", "creationTimestamp": meta::now()},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "node"},
            "status": {"phase": "Running", "podIP": "10.0.0.2", "containerStatuses": [
                {"ready": true, "restartCount": 1}, {"ready": false, "restartCount": 2}
            ]},
        });
        let t = table(
            Resource::Pod,
            &[pod],
            Some("7".into()),
            IncludeObject::Metadata,
        );
        assert_eq!(t["metadata"]["resourceVersion"], "7");
        let cells = &t["rows"][0]["cells"];
        assert_eq!(cells[0], "p");
        assert_eq!(cells[1], "1/2");
        assert_eq!(cells[2], "Running");
        assert_eq!(cells[3], 3);
        assert_eq!(cells[5], "10.0.0.2");
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(t["rows"][0]["object"]["metadata"]["namespace"], "n");
        let names: Vec<&str> = t["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["priority"] == 0)
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Name", "Ready", "Status", "Restarts", "Age"]);
    }
}

//! PATCH bodies: JSON merge patch (RFC 7386), strategic merge patch and JSON patch
//! (RFC 6902).
//!
//! Strategic merge patch follows the patch strategies of the built-in types the sim serves:
//! lists of objects with a merge key (`containers`, `initContainers`, `volumes`,
//! `imagePullSecrets` and `secrets` by `name`, `env` by `name`, `ports` by
//! `containerPort`, `volumeMounts` by `mountPath`, `ownerReferences` by `uid`, ...) merge
//! item by item; the directives `$patch: delete|replace|merge`, `$setElementOrder/<list>`,
//! `$retainKeys` and `$deleteFromPrimitiveList/<list>` are honoured; every other list is
//! replaced, as the real types' atomic lists are. That is what client-side `kubectl apply`
//! sends.

use serde_json::Value;

use super::ApiError;

/// The patch formats the API server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/merge-patch+json`.
    Merge,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/json-patch+json`.
    Json,
}

impl PatchKind {
    /// The kind named by a `Content-Type` header.
    pub fn from_content_type(content_type: &str) -> Result<Self, ApiError> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        match media {
            "application/merge-patch+json" => Ok(PatchKind::Merge),
            "application/strategic-merge-patch+json" => Ok(PatchKind::Strategic),
            "application/json-patch+json" => Ok(PatchKind::Json),
            other => Err(ApiError::unsupported_media_type(other)),
        }
    }

    /// Applies a patch of this kind to `target`.
    pub fn apply(self, target: &mut Value, patch: &Value) -> Result<(), ApiError> {
        match self {
            PatchKind::Merge => {
                merge(target, patch);
                Ok(())
            }
            PatchKind::Strategic => strategic_merge(target, patch),
            PatchKind::Json => json_patch(target, patch),
        }
    }
}

/// RFC 7386 JSON merge patch.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(target_map) = target {
        for (k, v) in patch_map {
            if v.is_null() {
                target_map.remove(k);
            } else {
                merge(target_map.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// The merge key of a list field of the built-in types, if its items merge by key.
fn merge_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "secrets"
        | "resourceClaims"
        | "schedulingGates" => "name",
        "ports" => "containerPort",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "ownerReferences" => "uid",
        "conditions" => "type",
        "hostAliases" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        _ => return None,
    })
}

fn smp_error(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(message)
}

/// Applies a strategic merge patch to `target`.
pub fn strategic_merge(target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    let Value::Object(patch_map) = patch else {
        return Err(smp_error("a strategic merge patch must be a JSON object"));
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    match patch_map.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            *target = strip_directives(patch);
            return Ok(());
        }
        Some("delete") => {
            *target = Value::Object(serde_json::Map::new());
            return Ok(());
        }
        Some("merge") | None => {}
        Some(other) => {
            return Err(smp_error(format!("unknown patch type: {other:?}")));
        }
    }
    let Value::Object(target_map) = target else {
        return Ok(());
    };
    for (key, value) in patch_map {
        if key.starts_with("$setElementOrder/") || key == "$patch" || key == "$retainKeys" {
            continue;
        }
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            let remove = value.as_array().cloned().unwrap_or_default();
            if let Some(items) = target_map.get_mut(field).and_then(Value::as_array_mut) {
                items.retain(|v| !remove.contains(v));
            }
            continue;
        }
        if key.starts_with('$') {
            continue;
        }
        match value {
            Value::Null => {
                target_map.remove(key);
            }
            Value::Object(_) => {
                let slot = target_map.entry(key.clone()).or_insert(Value::Null);
                if value.get("$patch").and_then(Value::as_str) == Some("delete") {
                    target_map.remove(key);
                } else {
                    strategic_merge(slot, value)?;
                }
            }
            Value::Array(items) => match merge_key(key) {
                Some(merge_key) if items.iter().all(Value::is_object) => {
                    let slot = target_map
                        .entry(key.clone())
                        .or_insert_with(|| Value::Array(Vec::new()));
                    merge_list(slot, items, merge_key)?;
                }
                _ => {
                    target_map.insert(key.clone(), strip_directives(value));
                }
            },
            other => {
                target_map.insert(key.clone(), other.clone());
            }
        }
    }
    for (key, order) in patch_map {
        if let Some(field) = key.strip_prefix("$setElementOrder/")
            && let (Some(merge_key), Some(order)) = (merge_key(field), order.as_array())
            && let Some(items) = target_map.get_mut(field).and_then(Value::as_array_mut)
        {
            reorder(items, order, merge_key);
        }
    }
    if let Some(keep) = patch_map.get("$retainKeys").and_then(Value::as_array) {
        target_map.retain(|k, _| keep.iter().any(|v| v.as_str() == Some(k)));
    }
    Ok(())
}

/// Merges a list of objects item by item on `key`.
fn merge_list(target: &mut Value, items: &[Value], key: &str) -> Result<(), ApiError> {
    if items
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        *target = Value::Array(
            items
                .iter()
                .filter(|i| i.get("$patch").is_none())
                .map(strip_directives)
                .collect(),
        );
        return Ok(());
    }
    if !target.is_array() {
        *target = Value::Array(Vec::new());
    }
    let Value::Array(existing) = target else {
        return Ok(());
    };
    for item in items {
        let Some(id) = item.get(key) else {
            return Err(smp_error(format!(
                "map: {item} does not contain declared merge key: {key}"
            )));
        };
        let position = existing.iter().position(|e| e.get(key) == Some(id));
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (position, delete) {
            (Some(i), true) => {
                existing.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => strategic_merge(&mut existing[i], item)?,
            (None, false) => existing.push(strip_directives(item)),
        }
    }
    Ok(())
}

/// Puts the items named in `order` first, in that order; the others keep their order after.
fn reorder(items: &mut [Value], order: &[Value], key: &str) {
    let rank = |item: &Value| {
        order
            .iter()
            .position(|o| o.get(key).is_some() && o.get(key) == item.get(key))
            .unwrap_or(usize::MAX)
    };
    items.sort_by_key(rank);
}

/// Drops strategic-merge directives (`$patch`, `$setElementOrder/...`, `$retainKeys`, ...).
fn strip_directives(patch: &Value) -> Value {
    match patch {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Splits a JSON pointer into its parent pointer and last token.
fn split_pointer(path: &str) -> Result<(&str, String), ApiError> {
    if !path.starts_with('/') {
        return Err(ApiError::bad_request(format!(
            "invalid JSON pointer {path:?}"
        )));
    }
    let idx = path.rfind('/').unwrap_or(0);
    Ok((&path[..idx], unescape(&path[idx + 1..])))
}

fn missing(path: &str) -> ApiError {
    ApiError::new(
        422,
        "Invalid",
        format!(
            "the server rejected our request due to an error in our request: doc is missing path: {path:?}"
        ),
    )
}

fn add(target: &mut Value, path: &str, value: Value) -> Result<(), ApiError> {
    if path.is_empty() {
        *target = value;
        return Ok(());
    }
    let (parent, last) = split_pointer(path)?;
    match target.pointer_mut(parent).ok_or_else(|| missing(path))? {
        Value::Object(map) => {
            map.insert(last, value);
            Ok(())
        }
        Value::Array(items) => {
            let idx = if last == "-" {
                items.len()
            } else {
                last.parse::<usize>()
                    .ok()
                    .filter(|i| *i <= items.len())
                    .ok_or_else(|| missing(path))?
            };
            items.insert(idx, value);
            Ok(())
        }
        _ => Err(missing(path)),
    }
}

fn remove(target: &mut Value, path: &str) -> Result<Value, ApiError> {
    let (parent, last) = split_pointer(path)?;
    match target.pointer_mut(parent).ok_or_else(|| missing(path))? {
        Value::Object(map) => map.remove(&last).ok_or_else(|| missing(path)),
        Value::Array(items) => {
            let idx = last
                .parse::<usize>()
                .ok()
                .filter(|i| *i < items.len())
                .ok_or_else(|| missing(path))?;
            Ok(items.remove(idx))
        }
        _ => Err(missing(path)),
    }
}

/// RFC 6902 JSON patch: `add`, `remove`, `replace`, `test`, `move`, `copy`.
pub fn json_patch(target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    let ops = patch
        .as_array()
        .ok_or_else(|| ApiError::bad_request("json patch must be an array of operations"))?;
    let mut work = target.clone();
    for op in ops {
        let name = op.get("op").and_then(Value::as_str).unwrap_or("");
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::bad_request("json patch operation without a path"))?;
        let value = || {
            op.get("value")
                .cloned()
                .ok_or_else(|| ApiError::bad_request(format!("json patch {name} without a value")))
        };
        let from = || {
            op.get("from")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::bad_request(format!("json patch {name} without from")))
        };
        match name {
            "add" => add(&mut work, path, value()?)?,
            "remove" => {
                remove(&mut work, path)?;
            }
            "replace" => {
                let slot = work.pointer_mut(path).ok_or_else(|| missing(path))?;
                *slot = value()?;
            }
            "test" => {
                if work.pointer(path) != Some(&value()?) {
                    return Err(ApiError::new(
                        422,
                        "Invalid",
                        format!("testing value {path} failed"),
                    ));
                }
            }
            "move" => {
                let moved = remove(&mut work, from()?)?;
                add(&mut work, path, moved)?;
            }
            "copy" => {
                let copied = work
                    .pointer(from()?)
                    .cloned()
                    .ok_or_else(|| missing(path))?;
                add(&mut work, path, copied)?;
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unsupported json patch operation {other:?}"
                )));
            }
        }
    }
    *target = work;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc7386() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]});
        merge(
            &mut doc,
            &json!({"a": "z", "c": {"f": null}, "l": [3], "n": {"x": 1}}),
        );
        assert_eq!(
            doc,
            json!({"a": "z", "c": {"d": "e"}, "l": [3], "n": {"x": 1}})
        );
    }

    #[test]
    fn strategic_patch_keeps_retained_keys() {
        let mut doc = json!({"metadata": {"annotations": {"a": "1"}}});
        PatchKind::Strategic
            .apply(
                &mut doc,
                &json!({"metadata": {"annotations": {"b": "2"}, "$retainKeys": ["annotations"]}}),
            )
            .unwrap();
        assert_eq!(
            doc,
            json!({"metadata": {"annotations": {"a": "1", "b": "2"}}})
        );
    }

    #[test]
    fn strategic_patch_merges_containers_and_env_by_name() {
        let mut doc = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}], "args": ["x"]},
            {"name": "b", "image": "b:1"}
        ]}}}});
        PatchKind::Strategic
            .apply(
                &mut doc,
                &json!({"spec": {"template": {"spec": {
                    "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                    "containers": [
                        {"name": "a", "$setElementOrder/env": [{"name": "X"}, {"name": "Y"}],
                         "env": [{"name": "X", "value": "9"}, {"name": "Y", "$patch": "delete"}], "args": ["y"]},
                        {"name": "c", "image": "c:1"}
                    ]
                }}}}),
            )
            .unwrap();
        assert_eq!(
            doc["spec"]["template"]["spec"]["containers"],
            json!([
                {"name": "b", "image": "b:1"},
                {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "9"}], "args": ["y"]},
                {"name": "c", "image": "c:1"}
            ])
        );
    }

    #[test]
    fn strategic_patch_directives() {
        let mut doc = json!({"metadata": {"finalizers": ["a", "b"], "labels": {"x": "1"}},
            "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}, "volumes": [{"name": "v"}]}});
        PatchKind::Strategic
            .apply(
                &mut doc,
                &json!({
                    "metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "labels": {"$patch": "replace", "y": "2"}},
                    "spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}, "volumes": [{"$patch": "replace"}, {"name": "w"}]}
                }),
            )
            .unwrap();
        assert_eq!(
            doc,
            json!({"metadata": {"finalizers": ["b"], "labels": {"y": "2"}},
                "spec": {"strategy": {"type": "Recreate"}, "volumes": [{"name": "w"}]}})
        );
        let err = PatchKind::Strategic
            .apply(&mut doc, &json!({"spec": {"volumes": [{"secret": {}}]}}))
            .unwrap_err();
        assert_eq!(err.code, 400);
    }

    #[test]
    fn json_patch_operations() {
        let mut doc = json!({"metadata": {"labels": {"a/b": "1"}}, "spec": {"items": [1, 2]}});
        json_patch(
            &mut doc,
            &json!([
                {"op": "add", "path": "/metadata/annotations", "value": {}},
                {"op": "add", "path": "/metadata/annotations/x", "value": "y"},
                {"op": "replace", "path": "/metadata/labels/a~1b", "value": "2"},
                {"op": "add", "path": "/spec/items/-", "value": 3},
                {"op": "remove", "path": "/spec/items/0"},
                {"op": "test", "path": "/spec/items", "value": [2, 3]}
            ]),
        )
        .unwrap();
        assert_eq!(
            doc,
            json!({"metadata": {"labels": {"a/b": "2"}, "annotations": {"x": "y"}}, "spec": {"items": [2, 3]}})
        );
        let before = doc.clone();
        let err = json_patch(&mut doc, &json!([{"op": "remove", "path": "/nope"}])).unwrap_err();
        assert_eq!(err.code, 422);
        assert_eq!(doc, before);
        assert_eq!(
            json_patch(&mut doc, &json!({"op": "add"}))
                .unwrap_err()
                .code,
            400
        );
    }
}

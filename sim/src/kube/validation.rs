//! Object metadata validation as the API server does it (apimachinery's
//! `IsDNS1123Subdomain`, `IsDNS1123Label`, `IsQualifiedName`, `IsValidLabelValue`), with
//! its wording: names, label keys and values, annotation keys.

use serde_json::Value;

use super::{ApiError, Resource};

const DNS1123_LABEL_MAX: usize = 63;
const DNS1123_SUBDOMAIN_MAX: usize = 253;
const QUALIFIED_NAME_MAX: usize = 63;
const LABEL_VALUE_MAX: usize = 63;

const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

fn max_len(n: usize) -> String {
    format!("must be no more than {n} characters")
}

fn is_label_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

fn alnum_ends(s: &str, lower_only: bool) -> bool {
    let ok = |c: char| {
        if lower_only {
            c.is_ascii_lowercase() || c.is_ascii_digit()
        } else {
            c.is_ascii_alphanumeric()
        }
    };
    s.starts_with(ok) && s.ends_with(ok)
}

/// Errors of `IsDNS1123Label` (namespace names).
pub fn dns1123_label(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1123_LABEL_MAX {
        errors.push(max_len(DNS1123_LABEL_MAX));
    }
    if !(value.chars().all(is_label_char) && alnum_ends(value, true)) {
        errors.push(DNS1123_LABEL_MSG.to_owned());
    }
    errors
}

/// Errors of `IsDNS1123Subdomain` (most object names).
pub fn dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        errors.push(max_len(DNS1123_SUBDOMAIN_MAX));
    }
    let ok = value
        .split('.')
        .all(|part| part.chars().all(is_label_char) && alnum_ends(part, true));
    if !ok {
        errors.push(DNS1123_SUBDOMAIN_MSG.to_owned());
    }
    errors
}

/// Errors of `IsQualifiedName` (label and annotation keys: `[prefix/]name`).
pub fn qualified_name(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errors.push("prefix part must be non-empty".to_owned());
            } else {
                errors.extend(
                    dns1123_subdomain(prefix)
                        .into_iter()
                        .map(|e| format!("prefix part {e}")),
                );
            }
            *name
        }
        _ => {
            errors.push(format!(
                "a qualified name {QUALIFIED_NAME_MSG} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            ));
            return errors;
        }
    };
    if name.is_empty() {
        errors.push("name part must be non-empty".to_owned());
    } else if name.len() > QUALIFIED_NAME_MAX {
        errors.push(format!("name part {}", max_len(QUALIFIED_NAME_MAX)));
    }
    if !name.is_empty() && !is_qualified_part(name) {
        errors.push(format!("name part {QUALIFIED_NAME_MSG}"));
    }
    errors
}

fn is_qualified_part(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && alnum_ends(s, false)
}

/// Errors of `IsValidLabelValue`.
pub fn label_value(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > LABEL_VALUE_MAX {
        errors.push(max_len(LABEL_VALUE_MAX));
    }
    if !value.is_empty() && !is_qualified_part(value) {
        errors.push(LABEL_VALUE_MSG.to_owned());
    }
    errors
}

/// `<field>: Invalid value: "<value>": <detail>` for each detail.
fn invalid(field: &str, value: &str, details: Vec<String>) -> impl Iterator<Item = String> {
    let field = field.to_owned();
    let value = value.to_owned();
    details
        .into_iter()
        .map(move |d| format!("{field}: Invalid value: {value:?}: {d}"))
}

/// The Go JSON type name of a value (for decoding errors).
fn go_json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks the types of `metadata.labels` and `metadata.annotations` as decoding does: a
/// value that is not a string is a 400, worded like the API server's decoder.
pub fn decode_metadata(resource: Resource, object: &Value) -> Result<(), ApiError> {
    for field in ["labels", "annotations"] {
        let Some(map) = object.pointer(&format!("/metadata/{field}")) else {
            continue;
        };
        let bad = match map {
            Value::Null => None,
            Value::Object(entries) => entries
                .values()
                .find(|v| !v.is_string())
                .map(|v| (go_json_type(v), "string")),
            other => Some((go_json_type(other), "map[string]string")),
        };
        if let Some((found, wanted)) = bad {
            let version = resource
                .api_version()
                .rsplit('/')
                .next()
                .unwrap_or("v1")
                .to_owned();
            let kind = resource.kind();
            return Err(ApiError::bad_request(format!(
                "{kind} in version \"{version}\" cannot be handled as a {kind}: json: cannot unmarshal {found} into Go struct field ObjectMeta.metadata.{field} of type {wanted}"
            )));
        }
    }
    Ok(())
}

/// Validates `metadata` of an object about to be stored: its name (a DNS-1123 label for
/// namespaces, a subdomain otherwise), label keys and values, annotation keys. A 422 naming
/// every invalid field, as the API server answers.
pub fn validate_metadata(resource: Resource, object: &Value) -> Result<(), ApiError> {
    decode_metadata(resource, object)?;
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut errors: Vec<String> = Vec::new();
    let name_errors = if resource == Resource::Namespace {
        dns1123_label(name)
    } else {
        dns1123_subdomain(name)
    };
    errors.extend(invalid("metadata.name", name, name_errors));
    if let Some(labels) = object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
    {
        for (key, value) in labels {
            errors.extend(invalid("metadata.labels", key, qualified_name(key)));
            let value = value.as_str().unwrap_or_default();
            errors.extend(invalid("metadata.labels", value, label_value(value)));
        }
    }
    if let Some(annotations) = object
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
    {
        for key in annotations.keys() {
            let lower = key.to_lowercase();
            errors.extend(invalid("metadata.annotations", key, qualified_name(&lower)));
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(ApiError::invalid(resource, name, &errors[0])),
        _ => Err(ApiError::invalid(
            resource,
            name,
            format!("[{}]", errors.join(", ")),
        )),
    }
}

/// Fields of `object` that `resource` does not have, as dotted paths (`spec.containers[0].x`):
/// what a typed decode of the object would drop.
pub fn unknown_fields(resource: Resource, object: &Value) -> Vec<String> {
    use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
    use k8s_openapi::api::core::v1::{Event, Namespace, Pod, ServiceAccount};
    fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(v: &Value) -> Option<Value> {
        let typed: T = serde_json::from_value(v.clone()).ok()?;
        serde_json::to_value(typed).ok()
    }
    let known = match resource {
        Resource::Pod => round_trip::<Pod>(object),
        Resource::ServiceAccount => round_trip::<ServiceAccount>(object),
        Resource::Namespace => round_trip::<Namespace>(object),
        Resource::Event => round_trip::<Event>(object),
        Resource::Deployment => round_trip::<Deployment>(object),
        Resource::ReplicaSet => round_trip::<ReplicaSet>(object),
        Resource::StatefulSet => round_trip::<StatefulSet>(object),
    };
    // An object that does not decode at all is refused by decoding, with its own message.
    let Some(known) = known else {
        return Vec::new();
    };
    let mut out = Vec::new();
    missing(object, &known, "", &mut out);
    out
}

fn missing(given: &Value, known: &Value, path: &str, out: &mut Vec<String>) {
    match (given, known) {
        (Value::Object(g), Value::Object(k)) => {
            for (key, value) in g {
                // Strategic-merge directives (`$patch`, `$setElementOrder/...`).
                if key.starts_with('$') {
                    continue;
                }
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match k.get(key) {
                    Some(inner) => missing(value, inner, &at, out),
                    None if !value.is_null() => out.push(at),
                    None => {}
                }
            }
        }
        (Value::Array(g), Value::Array(k)) => {
            for (i, (value, inner)) in g.iter().zip(k).enumerate() {
                missing(value, inner, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// What an update may not change: the object's name and namespace (400, as the API server's
/// name check words it), its uid, and a workload's `spec.selector` (422, "field is
/// immutable").
pub fn immutable_fields(resource: Resource, old: &Value, new: &Value) -> Result<(), ApiError> {
    let meta = |o: &Value, f: &str| {
        o.pointer(&format!("/metadata/{f}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let old_name = meta(old, "name");
    let new_name = meta(new, "name");
    if !new_name.is_empty() && new_name != old_name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({new_name}) does not match the name on the URL ({old_name})"
        )));
    }
    let (old_ns, new_ns) = (meta(old, "namespace"), meta(new, "namespace"));
    if resource.namespaced() && !new_ns.is_empty() && new_ns != old_ns {
        return Err(ApiError::bad_request(format!(
            "the namespace of the object ({new_ns}) does not match the namespace on the URL ({old_ns})"
        )));
    }
    let new_uid = meta(new, "uid");
    if !new_uid.is_empty() && new_uid != meta(old, "uid") {
        return Err(ApiError::invalid(
            resource,
            &old_name,
            format!("metadata.uid: Invalid value: {new_uid:?}: field is immutable"),
        ));
    }
    if matches!(
        resource,
        Resource::Deployment | Resource::ReplicaSet | Resource::StatefulSet
    ) {
        let selector = |o: &Value| o.pointer("/spec/selector").cloned();
        let new_selector = selector(new);
        if new_selector != selector(old) {
            return Err(ApiError::invalid(
                resource,
                &old_name,
                format!(
                    "spec.selector: Invalid value: {}: field is immutable",
                    go_label_selector(new_selector.as_ref())
                ),
            ));
        }
    }
    Ok(())
}

/// A label selector as Go's `%#v` prints it in the API server's message.
fn go_label_selector(selector: Option<&Value>) -> String {
    let labels: Vec<String> = selector
        .and_then(|s| s.get("matchLabels"))
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k:?}:{:?}", v.as_str().unwrap_or_default()))
        .collect();
    let labels = if labels.is_empty() {
        "map[string]string(nil)".to_owned()
    } else {
        format!("map[string]string{{{}}}", labels.join(", "))
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    #[rstest]
    #[case::plain("astronomer-a.b-1", 0)]
    #[case::double_dot("a..b", 1)]
    #[case::leading_dot(".a", 1)]
    #[case::upper("Upper", 1)]
    #[case::underscore("a_b", 1)]
    #[case::empty("", 1)]
    #[case::label_too_long_is_fine_here(&"a".repeat(64), 0)]
    #[case::too_long(&"a".repeat(254), 1)]
    fn subdomains(#[case] value: &str, #[case] errors: usize) {
        assert_eq!(dns1123_subdomain(value).len(), errors, "{value}");
    }

    #[rstest]
    #[case::plain("astronomer-x", 0)]
    #[case::dot("a.b", 1)]
    #[case::sixty_three(&"a".repeat(63), 0)]
    #[case::sixty_four(&"a".repeat(64), 1)]
    #[case::trailing_dash("a-", 1)]
    fn labels(#[case] value: &str, #[case] errors: usize) {
        assert_eq!(dns1123_label(value).len(), errors, "{value}");
    }

    #[rstest]
    #[case::simple("app", vec![])]
    #[case::prefixed("rolecheck.io/run-id", vec![])]
    #[case::upper_name("MyName", vec![])]
    #[case::space("bad key!", vec!["name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"])]
    #[case::empty_prefix("/x", vec!["prefix part must be non-empty"])]
    #[case::empty_name("a/", vec!["name part must be non-empty"])]
    #[case::long_name(&"a".repeat(64), vec!["name part must be no more than 63 characters"])]
    fn qualified_names(#[case] value: &str, #[case] expected: Vec<&str>) {
        assert_eq!(qualified_name(value), expected);
    }

    #[test]
    fn two_slashes() {
        assert_eq!(qualified_name("a/b/c").len(), 1);
        assert!(
            qualified_name("Bad.Prefix/x")[0]
                .starts_with("prefix part a lowercase RFC 1123 subdomain")
        );
    }

    #[rstest]
    #[case::empty("", 0)]
    #[case::plain("my_value-1.x", 0)]
    #[case::space("bad value", 1)]
    #[case::trailing_dot("a.", 1)]
    #[case::too_long(&"a".repeat(64), 1)]
    fn label_values(#[case] value: &str, #[case] errors: usize) {
        assert_eq!(label_value(value).len(), errors, "{value}");
    }

    #[test]
    fn metadata_errors_are_one_422_naming_every_field() {
        let err = validate_metadata(
            Resource::Namespace,
            &json!({"metadata": {"name": "Bad", "labels": {"bad key!": "ok", "k": "bad value"}}}),
        )
        .unwrap_err();
        assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
        assert!(err.message.starts_with("Namespace \"Bad\" is invalid: [metadata.name: Invalid value: \"Bad\": a lowercase RFC 1123 label"), "{}", err.message);
        assert!(
            err.message
                .contains("metadata.labels: Invalid value: \"bad key!\": name part must consist"),
            "{}",
            err.message
        );
        assert!(err.message.contains("metadata.labels: Invalid value: \"bad value\": a valid label must be an empty string"), "{}", err.message);
    }

    #[test]
    fn non_string_label_values_are_a_decoding_error() {
        let err = validate_metadata(
            Resource::ServiceAccount,
            &json!({"metadata": {"name": "ok", "labels": {"a": 5}}}),
        )
        .unwrap_err();
        assert_eq!(err.code, 400);
        assert_eq!(
            err.message,
            "ServiceAccount in version \"v1\" cannot be handled as a ServiceAccount: json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"
        );
    }
}

//! Label and field selectors, as `?labelSelector=` and `?fieldSelector=` spell them.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{ApiError, validation};

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, BTreeSet<String>),
    NotIn(String, BTreeSet<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector (requirements are ANDed; the empty selector matches everything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<Requirement>);

/// Splits at commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// The key and value checks of the API server's selector parser: keys are qualified names,
/// values label values.
fn check_requirement(req: &Requirement) -> Result<(), ApiError> {
    let (key, values): (&String, Vec<&String>) = match req {
        Requirement::Equals(k, v) | Requirement::NotEquals(k, v) => (k, vec![v]),
        Requirement::In(k, vs) | Requirement::NotIn(k, vs) => (k, vs.iter().collect()),
        Requirement::Exists(k) | Requirement::NotExists(k) => (k, Vec::new()),
    };
    let key_errors = validation::qualified_name(key);
    if !key_errors.is_empty() {
        return Err(ApiError::bad_request(format!(
            "unable to parse requirement: key: Invalid value: {key:?}: {}",
            key_errors.join("; ")
        )));
    }
    for (i, value) in values.into_iter().enumerate() {
        let errors = validation::label_value(value);
        if !errors.is_empty() {
            return Err(ApiError::bad_request(format!(
                "unable to parse requirement: values[{i}][{key}]: Invalid value: {value:?}: {}",
                errors.join("; ")
            )));
        }
    }
    Ok(())
}

fn parse_set(rest: &str, raw: &str) -> Result<BTreeSet<String>, ApiError> {
    let inner = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .filter(|inner| !inner.contains(['(', ')']))
        .ok_or_else(|| bad_selector(raw))?;
    let values: Vec<String> = inner.split(',').map(|v| v.trim().to_owned()).collect();
    // `in ()` and `in (a,,b)` are refused like the API server's parser does.
    if values.iter().any(String::is_empty) {
        return Err(bad_selector(raw));
    }
    Ok(values.into_iter().collect())
}

fn bad_selector(raw: &str) -> ApiError {
    ApiError::bad_request(format!(
        "unable to parse requirement: invalid label selector: {raw:?}"
    ))
}

impl LabelSelector {
    /// Parses `k=v,k!=v,k,!k,k in (a,b),k notin (a)`.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        for part in split_top_level(raw) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let req = if let Some(k) = part.strip_prefix('!') {
                Requirement::NotExists(k.trim().to_owned())
            } else if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Requirement::Equals(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some((k, rest)) = part.split_once(" notin ") {
                Requirement::NotIn(k.trim().to_owned(), parse_set(rest, raw)?)
            } else if let Some((k, rest)) = part.split_once(" in ") {
                Requirement::In(k.trim().to_owned(), parse_set(rest, raw)?)
            } else {
                Requirement::Exists(part.to_owned())
            };
            check_requirement(&req)?;
            reqs.push(req);
        }
        Ok(Self(reqs))
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = object.pointer("/metadata/labels");
        let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|req| match req {
            Requirement::Equals(k, v) => label(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => label(k) != Some(v.as_str()),
            Requirement::In(k, vs) => label(k).is_some_and(|l| vs.contains(l)),
            Requirement::NotIn(k, vs) => label(k).is_none_or(|l| !vs.contains(l)),
            Requirement::Exists(k) => label(k).is_some(),
            Requirement::NotExists(k) => label(k).is_none(),
        })
    }
}

/// A parsed field selector: `metadata.name`, `metadata.namespace`, the pod fields the real
/// server indexes, and the Event fields `kubectl describe` uses (`involvedObject.*`,
/// `reason`, `type`, `source`), with `=`, `==` or `!=`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

/// Fields a selector may name, with their JSON pointer.
const FIELDS: &[(&str, &str)] = &[
    ("metadata.name", "/metadata/name"),
    ("metadata.namespace", "/metadata/namespace"),
    ("spec.nodeName", "/spec/nodeName"),
    ("spec.serviceAccountName", "/spec/serviceAccountName"),
    ("status.phase", "/status/phase"),
    ("status.podIP", "/status/podIP"),
    ("involvedObject.kind", "/involvedObject/kind"),
    ("involvedObject.namespace", "/involvedObject/namespace"),
    ("involvedObject.name", "/involvedObject/name"),
    ("involvedObject.uid", "/involvedObject/uid"),
    ("involvedObject.apiVersion", "/involvedObject/apiVersion"),
    (
        "involvedObject.resourceVersion",
        "/involvedObject/resourceVersion",
    ),
    ("involvedObject.fieldPath", "/involvedObject/fieldPath"),
    ("reason", "/reason"),
    ("reportingComponent", "/reportingComponent"),
    ("source", "/source/component"),
    ("type", "/type"),
];

impl FieldSelector {
    /// Parses `metadata.name=x,metadata.namespace!=y`.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, equal, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (f, true, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{raw}'; can't understand '{part}'"
                )));
            };
            let field = field.trim();
            if !FIELDS.iter().any(|(f, _)| *f == field) {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {field}"
                )));
            }
            reqs.push((field.to_owned(), equal, value.trim().to_owned()));
        }
        Ok(Self(reqs))
    }

    /// Whether the object satisfies every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|(field, equal, value)| {
            let pointer = FIELDS
                .iter()
                .find(|(f, _)| f == field)
                .map_or("", |(_, p)| *p);
            let actual = object
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or("");
            (actual == value) == *equal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    #[rstest]
    #[case("app=web", true)]
    #[case("app==web", true)]
    #[case("app=db", false)]
    #[case("app!=db", true)]
    #[case("tier", true)]
    #[case("!tier", false)]
    #[case("!missing", true)]
    #[case("app in (db, web)", true)]
    #[case("app in (db)", false)]
    #[case("app notin (db)", true)]
    #[case("app=web,tier=front", true)]
    #[case("app=web,tier=back", false)]
    #[case("", true)]
    fn label_selectors(#[case] selector: &str, #[case] expected: bool) {
        let obj = json!({"metadata": {"labels": {"app": "web", "tier": "front"}}});
        assert_eq!(
            LabelSelector::parse(selector).unwrap().matches(&obj),
            expected
        );
    }

    #[rstest]
    #[case("app in (a")]
    #[case("a b=c")]
    #[case("bad key!=x")]
    #[case("a=b=c")]
    #[case("=x")]
    #[case("a=bad value")]
    #[case("a in ()")]
    #[case("a in (b,,c)")]
    #[case("a in ((b))")]
    #[case("a/b/c")]
    #[case("!")]
    #[case(",,=")]
    fn bad_label_selectors(#[case] selector: &str) {
        let err = LabelSelector::parse(selector).unwrap_err();
        assert_eq!(
            (err.code, err.reason.as_str()),
            (400, "BadRequest"),
            "{selector}"
        );
        assert!(
            err.message.starts_with("unable to parse requirement: "),
            "{}",
            err.message
        );
    }

    #[test]
    fn bad_keys_are_named_like_the_api_server() {
        let err = LabelSelector::parse("bad key=x").unwrap_err();
        assert!(
            err.message.starts_with("unable to parse requirement: key: Invalid value: \"bad key\": name part must consist of"),
            "{}",
            err.message
        );
    }

    #[test]
    fn field_selectors() {
        let obj = json!({"metadata": {"name": "a", "namespace": "n"}});
        assert!(
            FieldSelector::parse("metadata.name=a")
                .unwrap()
                .matches(&obj)
        );
        assert!(
            FieldSelector::parse("metadata.name=a,metadata.namespace!=m")
                .unwrap()
                .matches(&obj)
        );
        assert!(
            !FieldSelector::parse("metadata.namespace=m")
                .unwrap()
                .matches(&obj)
        );
        assert_eq!(FieldSelector::parse("spec.bogus=1").unwrap_err().code, 400);
        let event =
            json!({"involvedObject": {"kind": "Pod", "name": "p", "uid": "u"}, "type": "Normal"});
        assert!(
            FieldSelector::parse(
                "involvedObject.name=p,involvedObject.kind=Pod,involvedObject.uid=u,type=Normal"
            )
            .unwrap()
            .matches(&event)
        );
        assert!(
            !FieldSelector::parse("involvedObject.name=q")
                .unwrap()
                .matches(&event)
        );
    }
}

//! JSON Schemas (draft 2020-12) of scenario files and target profiles, for editors
//! (`# yaml-language-server: $schema=...`) and `rolecheck schema`.
//!
//! The scenario schema is made from the step registry ([`crate::steps::registry::KINDS`]):
//! each kind's keys, their shapes and which `expect` forms apply. It checks the form of a
//! file; what only the loader can check (placeholders naming a var or built-in, every listed
//! rule checked by a step, durations of at most a day) stays the loader's.

use serde_json::{Map, Value, json};

use crate::capability::Capability;
use crate::rules::RuleId;
use crate::steps::fields::COMPONENT_NAMES;
use crate::steps::kind::{Key, KindInfo, Refusals, Shape};
use crate::steps::registry::KINDS;

/// Where the checked-in scenario schema is, relative to the repository root (scenario files
/// name it in their `yaml-language-server` line).
pub const SCENARIO_SCHEMA_PATH: &str = "docs/scenario.schema.json";
/// Where the checked-in profile schema is, relative to the repository root.
pub const PROFILE_SCHEMA_PATH: &str = "docs/profile.schema.json";

/// A duration with a unit (`30s`, `2m`, `1h 30m`), as the loader reads them.
const DURATION_PATTERN: &str = r"^\s*[0-9]+\s*[a-zµ]+(\s*[0-9]+\s*[a-zµ]+)*\s*$";

/// The JSON Schema of a scenario file.
pub fn scenario_schema() -> Value {
    let mut defs = Map::new();
    let mut steps = Vec::new();
    for kind in KINDS {
        defs.insert(kind.name.to_owned(), step_schema(kind));
        steps.push(json!({ "$ref": format!("#/$defs/{}", kind.name) }));
    }
    defs.insert("step".to_owned(), json!({ "oneOf": steps }));
    let rules: Vec<String> = RuleId::all().map(|r| r.to_string()).collect();
    defs.insert(
        "rules".to_owned(),
        json!({
            "type": "array",
            "uniqueItems": true,
            "items": { "enum": rules },
        }),
    );
    defs.insert("duration".to_owned(), duration());
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "rolecheck scenario",
        "description": "One scenario of the rolecheck suite: the contract rules it checks and the steps that check them.",
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "description", "rules", "steps"],
        "properties": {
            "name": {
                "description": "Unique across the suite: lower-case letters, digits and `-`.",
                "type": "string",
                "pattern": "^[a-z0-9-]+$",
            },
            "description": {
                "description": "What the scenario shows, in one or two sentences.",
                "type": "string",
                "pattern": "\\S",
            },
            "rules": {
                "description": "The contract rules the scenario checks.",
                "$ref": "#/$defs/rules",
                "minItems": 1,
            },
            "tags": {
                "description": "Free-form tags for filtering.",
                "type": "array",
                "items": { "type": "string", "pattern": "\\S" },
            },
            "requires": {
                "description": "Capabilities the target must have besides those the steps imply.",
                "type": "array",
                "uniqueItems": true,
                "items": { "enum": capability_names() },
            },
            "vars": {
                "description": "Scenario variables (`{{name}}` in steps); their values may use the built-ins.",
                "type": "object",
                "propertyNames": { "pattern": "^[A-Za-z_][A-Za-z0-9_]*$" },
                "additionalProperties": { "type": "string" },
            },
            "steps": {
                "description": "The steps, run in order.",
                "type": "array",
                "minItems": 1,
                "items": { "$ref": "#/$defs/step" },
            },
            "finally": {
                "description": "Steps that always run after `steps` (the run's clean-up removes what it created anyway).",
                "type": "array",
                "items": { "$ref": "#/$defs/step" },
            },
        },
        "$defs": defs,
    })
}

/// One step of `kind`: a one-key mapping whose value holds the kind's fields.
fn step_schema(kind: &KindInfo) -> Value {
    let mut body = object(kind.keys);
    if let Value::Object(body) = &mut body {
        if let Some(Value::Object(props)) = body.get_mut("properties") {
            props.insert(
                "timeout".to_owned(),
                json!({
                    "description": "How long the step may take (default the run's step timeout).",
                    "$ref": "#/$defs/duration",
                }),
            );
            props.insert("expect".to_owned(), expect(kind.refusals));
            props.insert(
                "rules".to_owned(),
                json!({
                    "description": "The rules this step checks (default: those of the scenario its kind can show); `[]` makes it a set-up step.",
                    "$ref": "#/$defs/rules",
                }),
            );
        }
        if !kind.keys.iter().any(|k| k.required) {
            // `kind:` with nothing after it is a step with no fields.
            body.insert("type".to_owned(), json!(["object", "null"]));
        }
    }
    let mut properties = Map::new();
    properties.insert(kind.name.to_owned(), body);
    json!({
        "description": kind.about,
        "type": "object",
        "additionalProperties": false,
        "required": [kind.name],
        "properties": properties,
    })
}

/// The `expect` forms of a kind.
fn expect(refusals: Refusals) -> Value {
    let description = "The outcome the step expects; `success` (the default) means the action succeeds and its checks hold.";
    match refusals {
        Refusals::None => json!({ "description": description, "const": "success" }),
        Refusals::Platform => json!({
            "description": description,
            "anyOf": [
                { "enum": ["success", "allowed", "accepted_or_refused"] },
                {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["error"],
                    "properties": {
                        "error": { "enum": ["permission_denied", "invalid_request", "any"] },
                    },
                },
            ],
        }),
        Refusals::Sts => json!({
            "description": description,
            "anyOf": [
                { "enum": ["success", "allowed"] },
                {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["sts_error"],
                    "properties": {
                        "sts_error": { "type": "string", "pattern": "^[A-Za-z0-9]+$" },
                    },
                },
            ],
        }),
    }
}

/// A mapping with these keys and no others.
fn object(keys: &[Key]) -> Value {
    let properties: Map<String, Value> = keys
        .iter()
        .map(|k| {
            let mut value = shape(k.shape);
            if let Value::Object(map) = &mut value {
                map.insert("description".to_owned(), json!(k.doc));
            }
            (k.name.to_owned(), value)
        })
        .collect();
    let required: Vec<&str> = keys.iter().filter(|k| k.required).map(|k| k.name).collect();
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": required,
        "properties": properties,
    })
}

/// The schema of a value of this shape.
fn shape(shape: Shape) -> Value {
    match shape {
        Shape::Text => json!({ "type": "string" }),
        Shape::TextOrNull => json!({ "type": ["string", "null"] }),
        Shape::OneOf(names) => json!({ "enum": names }),
        Shape::Components => json!({
            "type": "array",
            "minItems": 1,
            "uniqueItems": true,
            "items": { "enum": COMPONENT_NAMES },
        }),
        Shape::TextMap => json!({
            "type": "object",
            "additionalProperties": { "type": "string" },
        }),
        Shape::TextList => json!({ "type": "array", "items": { "type": "string" } }),
        Shape::Duration => json!({ "$ref": "#/$defs/duration" }),
        Shape::PositiveInteger => json!({ "type": "integer", "minimum": 1 }),
        Shape::KubeVersion => json!({ "type": "string", "pattern": "^[0-9]+\\.[0-9]+$" }),
        Shape::Requirements => json!({
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "type": "string",
                "pattern": "^\\s*>=\\s*[0-9]+(\\.[0-9]+)*\\s*$",
            },
        }),
        Shape::Object(keys) => object(keys),
        Shape::AnyOf(forms) => {
            json!({ "oneOf": forms.iter().map(|keys| object(keys)).collect::<Vec<_>>() })
        }
        Shape::ListOf(keys) => json!({ "type": "array", "minItems": 1, "items": object(keys) }),
    }
}

fn duration() -> Value {
    json!({
        "description": "A duration with a unit, such as `30s` or `2m` (at most 24h).",
        "type": "string",
        "pattern": DURATION_PATTERN,
    })
}

fn capability_names() -> Vec<&'static str> {
    Capability::ALL.iter().map(|c| c.name()).collect()
}

/// The JSON Schema of a target profile (`fixtures/targets/<name>.yaml`, `--profile PATH`):
/// its keys and the values each takes; which combinations a driver accepts stays the
/// profile loader's (`harness/src/target/profile.rs`).
pub fn profile_schema() -> Value {
    let text = json!({ "type": "string" });
    let endpoint = json!({ "type": "string", "description": "an http(s) URL" });
    let closed = |properties: Value, required: &[&str]| {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": required,
            "properties": properties,
        })
    };
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "rolecheck target profile",
        "description": "Where a target's Kubernetes, STS/IAM and platform are, and which capabilities it has.",
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "kubernetes", "aws", "platform"],
        "properties": {
            "name": text,
            "description": text,
            "kubernetes": closed(json!({
                "source": { "enum": ["sim", "local", "kubeconfig"] },
                "kubeconfig": text,
                "context": text,
            }), &["source"]),
            "aws": closed(json!({
                "service": { "enum": ["sim", "moto", "localstack", "endpoint", "aws"] },
                "endpoint": endpoint,
                "region": text,
                "start": { "enum": ["process", "container", "external"] },
                "venv": text,
                "rehearsal": { "type": "boolean" },
            }), &["service"]),
            "platform": closed(json!({
                "driver": { "enum": ["sim", "houston", "astro", "manifest", "none"] },
                "url": endpoint,
                "workspace": text,
                "tokens": closed(json!({
                    "admin": text,
                    "editor": text,
                    "viewer": text,
                }), &["admin"]),
                "cli": text,
                "annotation_key": text,
                "image": text,
                "namespace": { "type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" },
            }), &["driver"]),
            "oidc": closed(json!({
                "issuer": text,
                "register": { "type": "boolean" },
            }), &[]),
            "account": text,
            "role": closed(json!({
                "create": text,
                "use": text,
                "propagation": duration(),
            }), &[]),
            "s3": closed(json!({
                "bucket": text,
                "other_bucket": text,
            }), &["bucket", "other_bucket"]),
            "step_timeout": duration(),
            "jobs": { "type": "integer", "minimum": 1 },
            "cleanup_timeout": duration(),
            "capabilities": {
                "type": "array",
                "uniqueItems": true,
                "items": { "enum": capability_names() },
            },
            "why_not": {
                "type": "object",
                "propertyNames": { "enum": capability_names() },
                "additionalProperties": { "type": "string" },
            },
            "sim": closed(json!({
                "manual_release_names": { "type": "boolean" },
                "worker_persistence": { "type": "boolean" },
            }), &[]),
        },
    })
}

/// A schema as checked-in text: pretty JSON with a final newline.
pub fn to_text(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

//! Discovery documents: `/version`, `/api`, `/apis`, `/api/v1`, `/apis/apps/v1`.

use serde_json::{Value, json};

use super::Resource;

/// `/version`; [`crate::Fault::OldServerVersion`] reports 1.13.
pub fn version(old: bool) -> Value {
    let (minor, git) = if old {
        ("13", "v1.13.12-eks-sim")
    } else {
        ("29", "v1.29.6-eks-sim")
    };
    json!({
        "major": "1",
        "minor": minor,
        "gitVersion": git,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-06-11T00:00:00Z",
        "goVersion": "go1.22.4",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `/api`.
pub fn core_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
    })
}

fn group(name: &str) -> Value {
    json!({
        "name": name,
        "versions": [{"groupVersion": format!("{name}/v1"), "version": "v1"}],
        "preferredVersion": {"groupVersion": format!("{name}/v1"), "version": "v1"},
    })
}

/// `/apis`.
pub fn groups() -> Value {
    json!({
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [group("apps"), group("authentication.k8s.io")],
    })
}

/// `/apis/<group>`, if the group is served.
pub fn group_doc(name: &str) -> Option<Value> {
    matches!(name, "apps" | "authentication.k8s.io").then(|| {
        let mut doc = group(name);
        doc["kind"] = json!("APIGroup");
        doc["apiVersion"] = json!("v1");
        doc
    })
}

const VERBS: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];

/// `/api/v1` or `/apis/<group>/v1`, if the group version is served.
pub fn resource_list(group: &str) -> Option<Value> {
    let group_version = match group {
        "" => "v1",
        "apps" => "apps/v1",
        "authentication.k8s.io" => "authentication.k8s.io/v1",
        _ => return None,
    };
    let mut resources = Vec::new();
    for r in Resource::ALL.iter().copied().filter(|r| r.group() == group) {
        resources.push(json!({
            "name": r.plural(),
            "singularName": r.singular(),
            "namespaced": r.namespaced(),
            "kind": r.kind(),
            "verbs": VERBS,
            "shortNames": r.short_names(),
        }));
        if r.has_status() {
            resources.push(json!({
                "name": format!("{}/status", r.plural()),
                "singularName": "",
                "namespaced": r.namespaced(),
                "kind": r.kind(),
                "verbs": ["get", "patch", "update"],
            }));
        }
        if r == Resource::ServiceAccount {
            resources.push(json!({
                "name": "serviceaccounts/token",
                "singularName": "",
                "namespaced": true,
                "group": "authentication.k8s.io",
                "version": "v1",
                "kind": "TokenRequest",
                "verbs": ["create"],
            }));
        }
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }))
}

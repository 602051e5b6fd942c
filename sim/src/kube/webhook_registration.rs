//! The pod-identity webhook's registration as EKS shows it: a `MutatingWebhookConfiguration`
//! named `pod-identity-webhook` (`admissionregistration.k8s.io/v1`), read-only. The sim's
//! admission calls its webhook in-process; this object is what `kubectl get
//! mutatingwebhookconfigurations` (and a preflight) sees on an EKS cluster, shaped like the
//! webhook project's own deployment manifest: pods on CREATE, `failurePolicy: Ignore`, and
//! the `eks.amazonaws.com/skip-pod-identity-webhook` object selector.

use serde_json::{Value, json};

/// The collection's path.
pub const COLLECTION_PATH: &str =
    "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations";

/// The registration's name.
pub const NAME: &str = "pod-identity-webhook";

/// The registration object.
pub fn object(created: &str) -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {
            "name": NAME,
            "uid": "6b1f0e1c-0000-4000-8000-706f6469647763",
            "resourceVersion": "1",
            "generation": 1,
            "creationTimestamp": created,
        },
        "webhooks": [{
            "name": "pod-identity-webhook.amazonaws.com",
            "admissionReviewVersions": ["v1beta1"],
            "clientConfig": {"service": {
                "name": "pod-identity-webhook",
                "namespace": "kube-system",
                "path": "/mutate",
                "port": 443,
            }},
            "failurePolicy": "Ignore",
            "matchPolicy": "Equivalent",
            "namespaceSelector": {},
            "objectSelector": {"matchExpressions": [{
                "key": "eks.amazonaws.com/skip-pod-identity-webhook",
                "operator": "DoesNotExist",
            }]},
            "reinvocationPolicy": "Never",
            "rules": [{
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "operations": ["CREATE"],
                "resources": ["pods"],
                "scope": "*",
            }],
            "sideEffects": "None",
            "timeoutSeconds": 10,
        }],
    })
}

/// The list `GET <collection>` answers.
pub fn list(created: &str) -> Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfigurationList",
        "metadata": {"resourceVersion": "1"},
        "items": [object(created)],
    })
}

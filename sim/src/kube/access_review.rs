//! `SelfSubjectAccessReview` (`authorization.k8s.io/v1`): "may I do this?". The sim's only
//! Kubernetes user is the cluster admin, so every answer is `allowed`; the request is checked
//! as the API server checks it (a `spec` with `resourceAttributes` or
//! `nonResourceAttributes`) and echoed back with its `status`.

use serde_json::{Value, json};

use super::ApiError;

/// The path the review is created at.
pub const PATH: &str = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

/// Answers one review.
pub fn review(body: &Value) -> Result<Value, ApiError> {
    let spec = body
        .get("spec")
        .filter(|s| s.is_object())
        .ok_or_else(|| invalid("spec: Required value"))?;
    let resource = spec.get("resourceAttributes");
    let non_resource = spec.get("nonResourceAttributes");
    match (resource, non_resource) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "spec: Invalid value: \"resourceAttributes and nonResourceAttributes\": cannot be specified in combination with resourceAttributes",
            ));
        }
        (None, None) => {
            return Err(invalid(
                "spec: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified",
            ));
        }
        _ => {}
    }
    Ok(json!({
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": spec,
        "status": {
            "allowed": true,
            "reason": "the sim's only Kubernetes user is the cluster admin",
        },
    }))
}

fn invalid(detail: &str) -> ApiError {
    ApiError::new(
        422,
        "Invalid",
        format!("SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: {detail}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_review_is_allowed_and_echoed() {
        let spec = json!({"resourceAttributes": {"verb": "create", "resource": "pods", "subresource": "exec"}});
        let answer = review(&json!({"spec": spec})).unwrap();
        assert_eq!(answer["status"]["allowed"], true);
        assert_eq!(answer["spec"], spec);
    }

    #[test]
    fn a_review_without_attributes_is_invalid() {
        let err = review(&json!({"spec": {}})).unwrap_err();
        assert_eq!(err.code, 422);
    }
}

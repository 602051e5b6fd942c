//! TokenRequest: `POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token` issues a
//! service-account JWT signed by the cluster's [`Issuer`](crate::oidc::Issuer), with the
//! claims a real cluster puts in projected tokens.

use serde_json::{Value, json};

use super::meta;
use super::{ApiError, ApiServer, Resource};

/// Default `spec.expirationSeconds`.
const DEFAULT_EXPIRATION: i64 = 3600;
/// The API server rejects shorter lifetimes with 422, like the real validation
/// ("may not specify a duration less than 10 minutes").
const MIN_EXPIRATION: i64 = 600;
/// The longest lifetime the validation accepts (2^32 seconds).
const MAX_EXPIRATION: i64 = 1 << 32;
/// The API server's own audience, used when the request names none (`--api-audiences`).
const API_AUDIENCE: &str = "https://kubernetes.default.svc";

impl ApiServer {
    /// Issues a token for ServiceAccount `namespace/name` from a TokenRequest body; returns
    /// the TokenRequest with `status.token` and `status.expirationTimestamp` filled.
    pub fn create_token(
        &self,
        namespace: &str,
        name: &str,
        body: &Value,
    ) -> Result<Value, ApiError> {
        let invalid = |detail: String| {
            ApiError::new(
                422,
                "Invalid",
                format!("TokenRequest.authentication.k8s.io \"{name}\" is invalid: {detail}"),
            )
        };
        if !body.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a TokenRequest object",
            ));
        }
        let sa = self.get(Resource::ServiceAccount, Some(namespace), name)?;
        let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
        let expiration = match spec.get("expirationSeconds") {
            None | Some(Value::Null) => DEFAULT_EXPIRATION,
            Some(v) => v.as_i64().ok_or_else(|| {
                ApiError::bad_request("spec.expirationSeconds must be an integer")
            })?,
        };
        if expiration < MIN_EXPIRATION {
            return Err(invalid(format!(
                "spec.expirationSeconds: Invalid value: {expiration}: may not specify a duration less than 10 minutes"
            )));
        }
        if expiration > MAX_EXPIRATION {
            return Err(invalid(format!(
                "spec.expirationSeconds: Invalid value: {expiration}: may not specify a duration larger than 2^32 seconds"
            )));
        }
        let mut audiences: Vec<String> = spec
            .get("audiences")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if audiences.is_empty() {
            audiences.push(API_AUDIENCE.to_owned());
        }

        let mut k8s = json!({
            "namespace": namespace,
            "serviceaccount": {"name": name, "uid": meta::uid_of(&sa)},
        });
        let bound = spec.get("boundObjectRef").filter(|r| !r.is_null());
        if let Some(bound) = bound {
            let kind = bound.get("kind").and_then(Value::as_str).unwrap_or("");
            let pod_name = bound.get("name").and_then(Value::as_str).unwrap_or("");
            if kind != "Pod" {
                return Err(invalid(format!(
                    "spec.boundObjectRef.kind: Unsupported value: {kind:?}: supported values: \"Pod\""
                )));
            }
            let pod = self.get(Resource::Pod, Some(namespace), pod_name)?;
            let uid = meta::uid_of(&pod);
            if let Some(want) = bound
                .get("uid")
                .and_then(Value::as_str)
                .filter(|u| !u.is_empty())
                && want != uid
            {
                return Err(ApiError::new(
                    409,
                    "Conflict",
                    format!(
                        "the UID in the bound object reference ({want}) does not match the UID in record. The object might have been deleted and then recreated"
                    ),
                ));
            }
            k8s["pod"] = json!({"name": pod_name, "uid": uid});
        }

        let now = self.issuer.now().timestamp();
        let claims = json!({
            "aud": audiences,
            "exp": now + expiration,
            "iat": now,
            "nbf": now,
            "iss": self.issuer.url(),
            "jti": uuid::Uuid::new_v4().to_string(),
            "kubernetes.io": k8s,
            "sub": format!("system:serviceaccount:{namespace}:{name}"),
        });
        let token = self.issuer.sign(&claims).map_err(|e| {
            ApiError::new(500, "InternalError", format!("signing the token: {e:#}"))
        })?;

        let mut out_spec = json!({"audiences": audiences, "expirationSeconds": expiration});
        out_spec["boundObjectRef"] = bound.cloned().unwrap_or(Value::Null);
        Ok(json!({
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "creationTimestamp": meta::now(),
            },
            "spec": out_spec,
            "status": {
                "token": token,
                "expirationTimestamp": meta::in_seconds(expiration),
            },
        }))
    }
}

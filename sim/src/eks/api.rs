//! EKS's REST-JSON surface for Pod Identity associations, on the AWS listener:
//!
//! - `POST /clusters/<name>/pod-identity-associations` (`CreatePodIdentityAssociation`,
//!   body `{"namespace", "serviceAccount", "roleArn"}`),
//! - `GET /clusters/<name>/pod-identity-associations[?namespace=&serviceAccount=]`
//!   (`ListPodIdentityAssociations`),
//! - `GET` / `DELETE /clusters/<name>/pod-identity-associations/<id>` (`Describe…`,
//!   `Delete…`).
//!
//! Answers are JSON as EKS sends them (`{"association": {...}}`, `{"associations": [...]}`),
//! errors carry `x-amzn-ErrorType` and `{"message": ...}`. Like the sim's IAM, requests are
//! not signature-checked.

use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::aws_protocol::query::Params;

use super::{Association, AssociationError, Associations, CLUSTER_NAME};

const PREFIX: &str = "/clusters/";

/// Whether a request on the AWS listener is for the EKS API.
pub fn is_eks_request(uri: &Uri) -> bool {
    uri.path().starts_with(PREFIX)
}

/// Serves one EKS request.
pub fn handle(
    store: &Associations,
    method: &Method,
    uri: &Uri,
    body: &[u8],
    now: DateTime<Utc>,
) -> Response {
    match route(store, method, uri, body, now) {
        Ok(value) => (StatusCode::OK, axum::Json(value)).into_response(),
        Err(err) => err.into_response(),
    }
}

/// The EKS error answer to a request whose body could not be read: larger than `limit`
/// bytes, or cut off.
pub fn unreadable_body(too_large: bool, limit: usize) -> Response {
    let error = if too_large {
        EksError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "InvalidRequestException",
            format!("The request body is larger than the limit of {limit} bytes."),
        )
    } else {
        EksError::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequestException",
            "The request body could not be read.",
        )
    };
    error.into_response()
}

/// An EKS error answer.
#[derive(Debug)]
struct EksError {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

impl EksError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
        }
    }
}

impl From<AssociationError> for EksError {
    fn from(err: AssociationError) -> Self {
        let (status, kind) = match &err {
            AssociationError::NotFound(_) => (StatusCode::NOT_FOUND, "ResourceNotFoundException"),
            AssociationError::InUse(_) => (StatusCode::CONFLICT, "ResourceInUseException"),
            AssociationError::InvalidParameter(_) => {
                (StatusCode::BAD_REQUEST, "InvalidParameterException")
            }
        };
        Self::new(status, kind, err.to_string())
    }
}

impl IntoResponse for EksError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, axum::Json(json!({"message": self.message}))).into_response();
        if let Ok(value) = HeaderValue::from_str(self.kind) {
            response.headers_mut().insert("x-amzn-errortype", value);
        }
        response
    }
}

fn route(
    store: &Associations,
    method: &Method,
    uri: &Uri,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Value, EksError> {
    let rest = uri.path().strip_prefix(PREFIX).unwrap_or_default();
    let mut parts = rest.split('/');
    let cluster = parts.next().unwrap_or_default();
    let collection = parts.next();
    let id = parts.next();
    if parts.next().is_some() || collection.is_none() {
        return Err(unknown_operation(method, uri));
    }
    if collection != Some("pod-identity-associations") {
        return Err(unknown_operation(method, uri));
    }
    if cluster != CLUSTER_NAME {
        return Err(EksError::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("No cluster found for name: {cluster}."),
        ));
    }
    match (method.as_str(), id) {
        ("POST", None) => {
            let request: Value = serde_json::from_slice(body).map_err(|e| {
                EksError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameterException",
                    format!("the request body is not JSON: {e}"),
                )
            })?;
            let field = |name: &str| request.get(name).and_then(Value::as_str).unwrap_or("");
            let created = store.create(
                field("namespace"),
                field("serviceAccount"),
                field("roleArn"),
                now,
            )?;
            Ok(json!({"association": full(&created)}))
        }
        ("GET", None) => {
            let query = Params::parse(uri.query().unwrap_or_default().as_bytes());
            let list = store.list(query.get("namespace"), query.get("serviceAccount"));
            let summaries: Vec<Value> = list.iter().map(summary).collect();
            Ok(json!({"associations": summaries, "nextToken": null}))
        }
        ("GET", Some(id)) => Ok(json!({"association": full(&store.describe(id)?)})),
        ("DELETE", Some(id)) => Ok(json!({"association": full(&store.delete(id)?)})),
        _ => Err(unknown_operation(method, uri)),
    }
}

fn unknown_operation(method: &Method, uri: &Uri) -> EksError {
    EksError::new(
        StatusCode::NOT_FOUND,
        "UnknownOperationException",
        format!("no EKS operation for {method} {}", uri.path()),
    )
}

fn summary(a: &Association) -> Value {
    json!({
        "clusterName": CLUSTER_NAME,
        "namespace": a.namespace,
        "serviceAccount": a.service_account,
        "associationArn": a.arn,
        "associationId": a.id,
    })
}

fn full(a: &Association) -> Value {
    let at = a.created_at.timestamp() as f64;
    json!({
        "clusterName": CLUSTER_NAME,
        "namespace": a.namespace,
        "serviceAccount": a.service_account,
        "roleArn": a.role_arn,
        "associationArn": a.arn,
        "associationId": a.id,
        "tags": {},
        "createdAt": at,
        "modifiedAt": at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(store: &Associations, method: Method, uri: &str, body: Value) -> (StatusCode, Value) {
        let uri: Uri = uri.parse().unwrap();
        let body = serde_json::to_vec(&body).unwrap();
        match route(store, &method, &uri, &body, Utc::now()) {
            Ok(v) => (StatusCode::OK, v),
            Err(e) => (e.status, json!({"type": e.kind, "message": e.message})),
        }
    }

    #[test]
    fn create_list_describe_delete() {
        let store = Associations::new("111111111111", "eu-west-1");
        let base = format!("/clusters/{CLUSTER_NAME}/pod-identity-associations");
        let (status, created) = call(
            &store,
            Method::POST,
            &base,
            json!({"namespace": "ns", "serviceAccount": "sa", "roleArn": "arn:aws:iam::111111111111:role/r"}),
        );
        assert_eq!(status, StatusCode::OK);
        let id = created["association"]["associationId"].as_str().unwrap();
        assert_eq!(
            created["association"]["roleArn"],
            "arn:aws:iam::111111111111:role/r"
        );

        let (_, listed) = call(
            &store,
            Method::GET,
            &format!("{base}?namespace=ns&serviceAccount=sa"),
            json!(null),
        );
        assert_eq!(listed["associations"][0]["associationId"], id);
        let (_, none) = call(
            &store,
            Method::GET,
            &format!("{base}?namespace=other"),
            json!(null),
        );
        assert_eq!(none["associations"], json!([]));

        let (status, again) = call(
            &store,
            Method::POST,
            &base,
            json!({"namespace": "ns", "serviceAccount": "sa", "roleArn": "arn:aws:iam::111111111111:role/r"}),
        );
        assert_eq!(
            (status, again["type"].as_str()),
            (StatusCode::CONFLICT, Some("ResourceInUseException"))
        );

        let (status, described) = call(&store, Method::GET, &format!("{base}/{id}"), json!(null));
        assert_eq!(
            (status, &described["association"]["serviceAccount"]),
            (StatusCode::OK, &json!("sa"))
        );
        assert_eq!(
            call(&store, Method::DELETE, &format!("{base}/{id}"), json!(null)).0,
            StatusCode::OK
        );
        assert_eq!(
            call(&store, Method::DELETE, &format!("{base}/{id}"), json!(null)).0,
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn unknown_cluster_and_paths() {
        let store = Associations::new("111111111111", "eu-west-1");
        let (status, body) = call(
            &store,
            Method::GET,
            "/clusters/nope/pod-identity-associations",
            json!(null),
        );
        assert_eq!(
            (status, body["type"].as_str()),
            (StatusCode::NOT_FOUND, Some("ResourceNotFoundException"))
        );
        let (status, body) = call(
            &store,
            Method::GET,
            &format!("/clusters/{CLUSTER_NAME}/addons"),
            json!(null),
        );
        assert_eq!(
            (status, body["type"].as_str()),
            (StatusCode::NOT_FOUND, Some("UnknownOperationException"))
        );
    }
}

//! The AWS endpoint: one listener for STS, IAM, S3 and the EKS Pod Identity API, as the
//! SDKs' endpoint overrides reach it. Query-protocol requests (form-encoded `POST /`, or
//! `GET` with a query string) are dispatched on `Action` to IAM (2010-05-08) or STS
//! (2011-06-15) and answered with AWS-shaped XML; `/clusters/...` goes to the EKS API when
//! associations are served; any other path is a path-style S3 request.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;

use crate::aws_protocol::MAX_BODY_BYTES;
use crate::aws_protocol::query::{self, AwsError, Params, Service};
use crate::aws_protocol::sigv4::SignedRequest;
use crate::eks::Associations;
use crate::s3::Buckets;
use crate::sts::AwsState;

/// The AWS endpoint's services: STS and IAM (in [`AwsState`]), S3 buckets and, when set,
/// the EKS Pod Identity associations.
pub struct AwsEndpoint {
    state: AwsState,
    buckets: Buckets,
    associations: Option<Arc<Associations>>,
}

impl AwsEndpoint {
    /// STS and IAM from `state`, no buckets, no EKS API.
    pub fn new(state: AwsState) -> Self {
        Self {
            state,
            buckets: Buckets::new("us-east-1", &[]),
            associations: None,
        }
    }

    /// Replaces the S3 buckets (and so the region S3 requests must be signed for).
    pub fn with_buckets(mut self, buckets: Buckets) -> Self {
        self.buckets = buckets;
        self
    }

    /// Serves the EKS Pod Identity API (`/clusters/...`) from these associations.
    pub fn with_associations(mut self, associations: Arc<Associations>) -> Self {
        self.associations = Some(associations);
        self
    }
}

/// The HTTP router of the AWS endpoint (every path and method goes to the dispatcher).
pub fn router(endpoint: AwsEndpoint) -> Router {
    Router::new()
        .fallback(dispatch)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(Arc::new(endpoint))
}

/// The query-protocol error for a body that could not be read, from the service its
/// query string names (STS when it names none).
fn body_failure(uri: &Uri, rejection: &BytesRejection, request_id: &str) -> Response {
    let action = uri.query().map(|q| Params::parse(q.as_bytes()));
    let service = match action.as_ref().and_then(|p| p.get("Action")) {
        Some(action) if crate::iam::api::ACTIONS.contains(&action) => Service::Iam,
        _ => Service::Sts,
    };
    let error = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AwsError::new(
            "RequestEntityTooLarge",
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Request body is larger than the limit of {MAX_BODY_BYTES} bytes"),
        )
    } else {
        AwsError::new(
            "MalformedInput",
            StatusCode::BAD_REQUEST,
            format!("Request body could not be read: {}", rejection.body_text()),
        )
    };
    query::failure(service, &error, request_id)
}

async fn dispatch(
    State(endpoint): State<Arc<AwsEndpoint>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let state = &endpoint.state;
    if let Some(associations) = endpoint
        .associations
        .as_ref()
        .filter(|_| crate::eks::api::is_eks_request(&uri))
    {
        return match &body {
            Ok(body) => crate::eks::api::handle(associations, &method, &uri, body, state.now()),
            Err(rejection) => crate::eks::api::unreadable_body(
                rejection.status() == StatusCode::PAYLOAD_TOO_LARGE,
                MAX_BODY_BYTES,
            ),
        };
    }
    if crate::s3::is_s3_request(&uri) {
        let now = state.now();
        return crate::s3::handle(state, &endpoint.buckets, &method, &uri, &headers, body, now);
    }
    let request_id = query::request_id();
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return body_failure(&uri, &rejection, &request_id),
    };
    let mut params = Params::default();
    if let Some(q) = uri.query() {
        params.extend_from(q.as_bytes());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/x-www-form-urlencoded");
    if method == Method::POST && content_type.starts_with("application/x-www-form-urlencoded") {
        params.extend_from(&body);
    }
    let Some(action) = params.get("Action").map(str::to_owned) else {
        return query::failure(Service::Sts, &AwsError::missing_action(), &request_id);
    };
    let version = params.get("Version");
    let service = if crate::iam::api::ACTIONS.contains(&action.as_str()) {
        Service::Iam
    } else if crate::sts::api::ACTIONS.contains(&action.as_str()) {
        Service::Sts
    } else {
        let service = if version == Some(Service::Iam.version()) {
            Service::Iam
        } else {
            Service::Sts
        };
        return query::failure(
            service,
            &AwsError::invalid_action(&action, version),
            &request_id,
        );
    };
    if let Some(v) = version.filter(|v| *v != service.version()) {
        return query::failure(
            service,
            &AwsError::invalid_action(&action, Some(v)),
            &request_id,
        );
    }
    let now = state.now();
    let request = SignedRequest {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or_default(),
        headers: &headers,
        body: &body,
    };
    let result = match service {
        Service::Iam => crate::sts::api::authenticate_admin(state, &request, &action, now)
            .and_then(|()| crate::iam::api::handle(state.iam(), &action, &params)),
        Service::Sts => match action.as_str() {
            "AssumeRoleWithWebIdentity" => {
                crate::sts::api::assume_role_with_web_identity(state, &params, now)
            }
            _ => crate::sts::api::get_caller_identity(state, &request, now),
        },
    };
    match result {
        Ok(xml) => query::success(service, &action, &xml, &request_id),
        Err(err) => {
            tracing::debug!(action, code = err.code, message = %err.message, "AWS request refused");
            query::failure(service, &err, &request_id)
        }
    }
}

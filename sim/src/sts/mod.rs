//! STS and IAM over the AWS query protocol, on one listener: requests are form-encoded
//! (`POST /`, or `GET` with a query string), dispatched on `Action` to IAM (2010-05-08) or
//! STS (2011-06-15), and answered with AWS-shaped XML. Requests for any other path are
//! path-style S3 requests and go to [`crate::s3`].

pub mod api;
pub mod query;
pub mod sessions;
pub mod sigv4;
pub mod verify;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use chrono::{DateTime, Utc};

use crate::config::SimConfig;
use crate::eks::Associations;
use crate::faults::FaultSet;
use crate::iam::Iam;
use crate::oidc::Issuer;
use crate::s3::Buckets;
use query::{AwsError, Params, Service};
use sessions::Sessions;
use sigv4::SignedRequest;
pub use verify::{KeySource, StaticKeys};

/// The clock STS reads (injectable so tests can move time without sleeping).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Everything the AWS endpoint needs: IAM, the issuers' keys, fault switches, sessions.
pub struct AwsState {
    iam: Arc<Iam>,
    keys: Arc<dyn KeySource>,
    faults: FaultSet,
    sessions: Sessions,
    buckets: Buckets,
    clock: Clock,
    associations: Option<Arc<Associations>>,
    admin: AdminKey,
}

/// The long-term access key of the account's administrator: what IAM requests must be
/// signed with (the sim has no IAM users; this one stands for the operator's credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminKey {
    /// `AKIA…` access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
}

impl AdminKey {
    /// A fresh random key.
    pub fn random() -> Self {
        let (_, secret, _) = sessions::new_credentials();
        Self {
            access_key_id: crate::iam::store::unique_id("AKIA", 16),
            secret_access_key: secret,
        }
    }
}

impl AwsState {
    /// The state for a sim: keys come from the cluster's token issuer.
    pub fn new(config: &SimConfig, iam: Arc<Iam>, issuer: Arc<Issuer>) -> Self {
        Self::with_keys(config.faults.clone(), iam, issuer)
            .with_buckets(Buckets::new(&config.region, &config.s3_buckets))
    }

    /// The state with any key source (e.g. [`StaticKeys`]).
    pub fn with_keys(faults: FaultSet, iam: Arc<Iam>, keys: Arc<dyn KeySource>) -> Self {
        Self {
            iam,
            keys,
            faults,
            sessions: Sessions::default(),
            buckets: Buckets::new("us-east-1", &[]),
            clock: Arc::new(Utc::now),
            associations: None,
            admin: AdminKey::random(),
        }
    }

    /// Replaces the clock.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
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

    /// The administrator's access key, which IAM requests must be signed with.
    pub fn admin_key(&self) -> &AdminKey {
        &self.admin
    }

    /// The IAM behind this endpoint.
    pub fn iam(&self) -> &Arc<Iam> {
        &self.iam
    }

    /// The S3 buckets behind this endpoint.
    pub fn buckets(&self) -> &Buckets {
        &self.buckets
    }

    /// The sessions STS issued.
    pub(crate) fn sessions(&self) -> &Sessions {
        &self.sessions
    }
}

/// The largest request body the AWS listener reads (16 MiB: more than any single S3 `PUT`
/// the AWS CLI sends before it switches to multipart). A larger one is answered in the
/// shape of the API asked: S3 `EntityTooLarge`, or an STS/IAM `ErrorResponse`.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The HTTP router of the AWS endpoint (every path and method goes to the dispatcher).
pub fn router(state: AwsState) -> Router {
    Router::new()
        .fallback(dispatch)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(Arc::new(state))
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
    State(state): State<Arc<AwsState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Some(associations) = state
        .associations
        .as_ref()
        .filter(|_| crate::eks::api::is_eks_request(&uri))
    {
        return match &body {
            Ok(body) => crate::eks::api::handle(associations, &method, &uri, body, (state.clock)()),
            Err(rejection) => crate::eks::api::unreadable_body(
                rejection.status() == StatusCode::PAYLOAD_TOO_LARGE,
                MAX_BODY_BYTES,
            ),
        };
    }
    if crate::s3::is_s3_request(&uri) {
        let now = (state.clock)();
        return crate::s3::handle(&state, &method, &uri, &headers, body, now);
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
    } else if api::ACTIONS.contains(&action.as_str()) {
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
    let now = (state.clock)();
    let request = SignedRequest {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or_default(),
        headers: &headers,
        body: &body,
    };
    let result = match service {
        Service::Iam => api::authenticate_admin(&state, &request, &action, now)
            .and_then(|()| crate::iam::api::handle(&state.iam, &action, &params)),
        Service::Sts => match action.as_str() {
            "AssumeRoleWithWebIdentity" => api::assume_role_with_web_identity(&state, &params, now),
            _ => api::get_caller_identity(&state, &request, now),
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

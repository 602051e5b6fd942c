//! INTERFACE STUB (owned by the sim-kube helper; bodies to be replaced, signatures kept):
//! the Kubernetes API surface.
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::SimConfig;
use crate::faults::FaultSet;
use crate::oidc::Issuer;

/// Options of the Kubernetes surface.
#[derive(Debug, Clone)]
pub struct KubeOptions {
    /// Fault switches (webhook and server-version faults are read here).
    pub faults: FaultSet,
    /// How long a pod stays Pending before it turns Running.
    pub pod_start_delay: Duration,
    /// Webhook: delay before the ServiceAccount lookup.
    pub webhook_lookup_delay: Duration,
    /// Webhook: region injected as AWS_REGION/AWS_DEFAULT_REGION, if any.
    pub webhook_default_region: Option<String>,
    /// Webhook: inject AWS_STS_REGIONAL_ENDPOINTS=regional by default.
    pub webhook_sts_regional_endpoints: bool,
}

impl KubeOptions {
    /// Derives the options from the sim config.
    pub fn from_config(config: &SimConfig) -> Self {
        Self {
            faults: config.faults.clone(),
            pod_start_delay: config.pod_start_delay,
            webhook_lookup_delay: config.webhook_lookup_delay,
            webhook_default_region: config.webhook_default_region.clone(),
            webhook_sts_regional_endpoints: config.webhook_sts_regional_endpoints,
        }
    }
}

/// The kinds of object the sim serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// core/v1 Namespace (cluster-scoped).
    Namespace,
    /// core/v1 ServiceAccount.
    ServiceAccount,
    /// core/v1 Pod.
    Pod,
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 ReplicaSet.
    ReplicaSet,
    /// core/v1 Event.
    Event,
}

/// An API error, rendered as a `Status` object by the HTTP layer.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason} ({code}): {message}")]
pub struct ApiError {
    /// HTTP status code (404, 409, 422, ...).
    pub code: u16,
    /// Status reason (`NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, ...).
    pub reason: String,
    /// Human-readable message, worded like the real API server's.
    pub message: String,
}

/// The in-process API server: object store, watch fan-out, admission (webhook), controllers.
pub struct ApiServer {
    _issuer: Arc<Issuer>,
}

impl ApiServer {
    /// Creates the API server.
    pub fn new(_options: KubeOptions, issuer: Arc<Issuer>) -> Arc<Self> {
        Arc::new(Self { _issuer: issuer })
    }

    /// Spawns the controllers (deployment -> replicaset -> pods, pod start, namespace deletion).
    pub fn run_controllers(self: &Arc<Self>, _tasks: &mut JoinSet<()>, _cancel: CancellationToken) {}

    /// Creates an object (admission included: pods go through the webhook). Fills metadata
    /// (uid, resourceVersion, creationTimestamp, generation) and returns the stored object.
    pub fn create(&self, _resource: Resource, _namespace: Option<&str>, _object: Value) -> Result<Value, ApiError> {
        todo!("sim-kube helper")
    }

    /// Reads one object.
    pub fn get(&self, _resource: Resource, _namespace: Option<&str>, _name: &str) -> Result<Value, ApiError> {
        todo!("sim-kube helper")
    }

    /// Lists objects of a kind, in one namespace or (None) all.
    pub fn list(&self, _resource: Resource, _namespace: Option<&str>) -> Vec<Value> {
        todo!("sim-kube helper")
    }

    /// Applies a JSON merge patch (RFC 7386); bumps generation when `spec` changes.
    pub fn merge_patch(&self, _resource: Resource, _namespace: Option<&str>, _name: &str, _patch: &Value) -> Result<Value, ApiError> {
        todo!("sim-kube helper")
    }

    /// Deletes an object (a namespace deletes everything in it).
    pub fn delete(&self, _resource: Resource, _namespace: Option<&str>, _name: &str) -> Result<Value, ApiError> {
        todo!("sim-kube helper")
    }
}

/// The HTTP router of the Kubernetes API (bearer token required).
pub fn router(_api: Arc<ApiServer>, _token: String) -> axum::Router {
    axum::Router::new()
}

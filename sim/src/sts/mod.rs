//! STUB (being replaced): STS and IAM over the AWS query protocol.
use std::sync::Arc;

use crate::config::SimConfig;
use crate::iam::Iam;
use crate::oidc::Issuer;

/// State of the AWS endpoint.
pub struct AwsState {
    _iam: Arc<Iam>,
    _issuer: Arc<Issuer>,
}

impl AwsState {
    /// Creates the state.
    pub fn new(_config: &SimConfig, iam: Arc<Iam>, issuer: Arc<Issuer>) -> Self {
        Self { _iam: iam, _issuer: issuer }
    }
}

/// The HTTP router.
pub fn router(_state: AwsState) -> axum::Router {
    axum::Router::new()
}

//! STUB (being replaced): the Houston-style platform API.
use std::sync::Arc;

use crate::config::SimConfig;
use crate::kube::ApiServer;
use crate::server::PlatformUser;

/// Options.
#[derive(Debug, Clone)]
pub struct PlatformOptions {}

impl PlatformOptions {
    /// Derives the options from the sim config.
    pub fn from_config(_config: &SimConfig) -> Self {
        Self {}
    }
}

/// The platform.
pub struct Platform {
    _kube: Arc<ApiServer>,
}

impl Platform {
    /// Creates the platform.
    pub fn new(_options: PlatformOptions, kube: Arc<ApiServer>) -> Arc<Self> {
        Arc::new(Self { _kube: kube })
    }

    /// Creates the workspace and its users.
    pub fn seed_users(&self) -> (String, Vec<PlatformUser>) {
        (String::new(), Vec::new())
    }
}

/// The HTTP router.
pub fn router(_platform: Arc<Platform>) -> axum::Router {
    axum::Router::new()
}

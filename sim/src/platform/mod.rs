//! The Houston-style platform API: a GraphQL endpoint (`POST /v1`) that the `astro` CLI of
//! the v0.15/v0.16 era can talk to, turning deployments into Kubernetes objects the way
//! Houston plus the Airflow Helm chart do.
//!
//! One module per job:
//! - [`names`]: release names (generation, validation),
//! - [`auth`]: workspace roles, permissions, tokens,
//! - [`binding`]: how `cloudRole` becomes `serviceAccountAnnotations` (and the faults on it),
//! - [`values`]: the deployment `config` column,
//! - [`store`]: the platform database,
//! - [`chart`]: what the Airflow chart renders, applied through [`apply`] (the sim's
//!   Kubernetes API or a real cluster),
//! - [`ops`]: the operations with their checks,
//! - [`schema`]: GraphQL types and resolvers, [`http`]: the transport.

pub mod apply;
pub mod auth;
pub mod binding;
pub mod chart;
pub mod error;
pub mod http;
pub mod names;
pub mod ops;
pub mod schema;
pub mod store;
pub mod values;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::faults::FaultSet;
use crate::kube::ApiServer;
use crate::secret::random_token;

use self::apply::ObjectWriter;
use self::auth::WorkspaceRole;
use self::binding::AnnotationPolicy;
use self::store::Store;

pub use self::http::router;

/// The platform version `appConfig` reports (the documents' era).
pub const PLATFORM_VERSION: &str = "0.16.0";

/// The platform's settings.
#[derive(Debug, Clone)]
pub struct PlatformOptions {
    /// `astronomer.houston.config.deployments.serviceAccountAnnotationKey` (None = unset).
    pub annotation_key: Option<String>,
    /// Fault switches (the platform reads its own).
    pub faults: FaultSet,
    /// The platform's base domain (`appConfig.baseDomain`, deployment URLs).
    pub base_domain: String,
    /// `appConfig.version`.
    pub version: String,
    /// `appConfig.manualReleaseNames`: whether a requested release name is honoured.
    pub manual_release_names: bool,
    /// The Airflow chart's `workers.persistence.enabled` for every deployment.
    pub worker_persistence: bool,
    /// The platform's own namespace; deployments go to `<platform namespace>-<release>`.
    pub platform_namespace: String,
}

/// A platform user the sim created, with the workspace role it holds.
#[derive(Debug, Clone)]
pub struct PlatformUser {
    /// `WORKSPACE_ADMIN`, `WORKSPACE_EDITOR` or `WORKSPACE_VIEWER`.
    pub workspace_role: String,
    /// The user's email.
    pub email: String,
    /// The API token to send in the `authorization` header.
    pub token: String,
    /// The password for local login (`createToken`, what `astro auth login` sends).
    pub password: String,
}

/// The platform: its database plus the Kubernetes API it renders deployments into.
pub struct Platform {
    options: PlatformOptions,
    policy: AnnotationPolicy,
    kube: Arc<dyn ObjectWriter>,
    store: Mutex<Store>,
}

impl Platform {
    /// Creates the platform, empty, rendering into the sim's API server.
    pub fn new(options: PlatformOptions, kube: Arc<ApiServer>) -> Arc<Self> {
        Self::with_writer(options, kube)
    }

    /// Creates the platform, empty, rendering through `kube` (e.g. a real cluster).
    pub fn with_writer(options: PlatformOptions, kube: Arc<dyn ObjectWriter>) -> Arc<Self> {
        let policy = AnnotationPolicy::new(options.annotation_key.as_deref(), &options.faults);
        Arc::new(Self {
            options,
            policy,
            kube,
            store: Mutex::new(Store::default()),
        })
    }

    /// The platform's settings.
    pub fn options(&self) -> &PlatformOptions {
        &self.options
    }

    /// Creates a workspace and one user per workspace role (admin, editor, viewer), each
    /// with a fresh random token. Returns the workspace id and the users.
    pub fn seed_users(&self) -> (String, Vec<PlatformUser>) {
        let mut store = self.lock();
        let workspace = store.add_workspace("rolecheck");
        let users = WorkspaceRole::ALL
            .into_iter()
            .map(|role| {
                let token = random_token();
                let local = role.as_str().to_ascii_lowercase().replace('_', "-");
                let email = format!("{local}@{}", self.options.base_domain);
                let user = store.add_user(&email, &token, workspace.id, role);
                let password = random_token();
                store.set_password(user.id, &password);
                PlatformUser {
                    password,
                    workspace_role: role.as_str().to_owned(),
                    email,
                    token,
                }
            })
            .collect();
        (workspace.id.to_string(), users)
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

//! The Kubernetes API surface: an in-process API server with an object store, watches,
//! admission (defaults, ServiceAccount/namespace checks and the pod-identity webhook),
//! TokenRequest and the controllers that turn Deployments into running pods.
//!
//! The HTTP surface is plain HTTP on loopback; its authentication follows the API server's
//! former localhost insecure port (no `Authorization` header: cluster admin; a bearer token:
//! must be the admin's), see [`router`]. It serves what stock kubectl needs without extra
//! flags: discovery, `Table` renderings for `get` and `get -w`, Events for `describe`, the
//! OpenAPI v3 documents `apply` validates with, strategic merge patch and `fieldValidation`.
//!
//! Modules, one job each:
//! - [`store`]: objects, resourceVersions, change broadcast and history,
//! - `admission`: what happens to an object on CREATE before it is stored,
//! - `defaults`: the fields the API server fills in on every write,
//! - [`patch`], [`selector`]: PATCH formats and label/field selectors,
//! - `watch`, `routes`, `discovery`, `openapi`, `token`: the HTTP surface,
//! - [`table`]: server-side printing (`Table` responses),
//! - [`events`]: Events the scheduler, kubelet and controllers record,
//! - `controller`: one module per controller (Deployment, ReplicaSet, StatefulSet, garbage
//!   collection, kubelet).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::eks::Associations;
use crate::faults::{Fault, FaultSet};
use crate::oidc::Issuer;
use crate::webhook::WebhookOptions;

mod access_review;
mod admission;
mod controller;
mod defaults;
mod discovery;
pub mod events;
pub mod meta;
mod openapi;
pub mod patch;
mod resource;
mod routes;
pub mod selector;
mod status;
pub mod store;
pub mod table;
mod token;
pub mod validation;
mod watch;
mod webhook_registration;

pub use patch::PatchKind;
pub use routes::router;
use store::{Key, Store};

/// Options of the Kubernetes surface.
#[derive(Debug, Clone)]
pub struct KubeOptions {
    /// Fault switches (webhook and server-version faults are read here).
    pub faults: FaultSet,
    /// How long a pod stays Pending before it turns Running.
    pub pod_start_delay: Duration,
    /// Webhook: how far its view of ServiceAccounts lags behind the API server (the
    /// informer-cache race); zero turns the race off. See
    /// [`crate::SimConfig::webhook_lookup_delay`].
    pub webhook_lookup_delay: Duration,
    /// Webhook: its ServiceAccount lookup grace period. See
    /// [`crate::SimConfig::webhook_lookup_grace`].
    pub webhook_lookup_grace: Duration,
    /// The cluster's AWS account (Pod Identity association ARNs).
    pub account_id: String,
    /// The cluster's AWS region.
    pub region: String,
    /// Webhook: region injected as AWS_REGION/AWS_DEFAULT_REGION, if any.
    pub webhook_default_region: Option<String>,
    /// Webhook: inject AWS_STS_REGIONAL_ENDPOINTS=regional by default.
    pub webhook_sts_regional_endpoints: bool,
}

impl KubeOptions {
    /// The webhook's settings (without Pod Identity associations: see
    /// [`ApiServer::webhook_options`]).
    pub fn webhook(&self) -> WebhookOptions {
        WebhookOptions {
            default_region: self.webhook_default_region.clone(),
            sts_regional_endpoints: self.webhook_sts_regional_endpoints,
            faults: self.faults.clone(),
            ..WebhookOptions::default()
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
    /// apps/v1 StatefulSet.
    StatefulSet,
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
    /// The Status `details` (`{"name":..,"kind":..}`), when the error names an object.
    pub details: Option<Value>,
}

/// Which part of an object a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The object itself (its `status` is kept as stored when the resource has a status
    /// subresource).
    Main,
    /// The `status` subresource (only `status` changes).
    Status,
}

/// Versions of one ServiceAccount stamped with the sim clock (`None`: deleted).
type SaVersions = VecDeque<(DateTime<Utc>, Option<Value>)>;

/// How many ServiceAccount versions the webhook's "informer cache" remembers per account.
const SA_HISTORY_LEN: usize = 32;

/// The in-process API server: object store, watch fan-out, admission (webhook), controllers.
pub struct ApiServer {
    options: KubeOptions,
    issuer: Arc<Issuer>,
    store: Store,
    /// Timestamped versions of each ServiceAccount (`None`: deleted), so that the webhook
    /// can see them with its configured lag.
    sa_history: Mutex<HashMap<Key, SaVersions>>,
    /// Cancelled when the sim stops: ends open watches.
    shutdown: CancellationToken,
    /// The cluster's EKS Pod Identity associations (read by the webhook).
    associations: Arc<Associations>,
    /// When the API server started (RFC 3339), the creation time of built-in objects.
    started_at: String,
}

impl std::fmt::Debug for ApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiServer")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn key(resource: Resource, namespace: Option<&str>, name: &str) -> Key {
    let ns = if resource.namespaced() {
        namespace.unwrap_or("default")
    } else {
        ""
    };
    (ns.to_owned(), name.to_owned())
}

impl ApiServer {
    /// When the API server started (RFC 3339).
    pub fn started_at(&self) -> String {
        self.started_at.clone()
    }

    /// Creates the API server, with the namespaces every cluster has (`default`,
    /// `kube-system`, `kube-public`, `kube-node-lease`) and their `default` ServiceAccounts.
    pub fn new(options: KubeOptions, issuer: Arc<Issuer>) -> Arc<Self> {
        let started_at = issuer
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let api = Arc::new(Self {
            issuer,
            store: Store::new(),
            sa_history: Mutex::new(HashMap::new()),
            shutdown: CancellationToken::new(),
            associations: Arc::new(Associations::new(&options.account_id, &options.region)),
            options,
            started_at,
        });
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let created = api.create(Resource::Namespace, None, json!({"metadata": {"name": ns}}));
            if let Err(err) = created {
                tracing::error!(%err, ns, "creating a built-in namespace");
            }
        }
        api
    }

    /// The options the server runs with.
    pub fn options(&self) -> &KubeOptions {
        &self.options
    }

    /// The cluster's EKS Pod Identity associations.
    pub fn associations(&self) -> &Arc<Associations> {
        &self.associations
    }

    /// The webhook's settings now: the flags, and the associations as its
    /// container-credentials config.
    pub fn webhook_options(&self) -> WebhookOptions {
        let mut options = self.options.webhook();
        options.container_credentials.identities = self.associations.identities();
        options
    }

    /// Fault [`Fault::PodIdentityShadowsRole`]: a ServiceAccount that carries the role
    /// annotation also gets an EKS Pod Identity association (with another role), as on a
    /// cluster where someone set up Pod Identity for the same workloads.
    fn shadow_with_pod_identity(&self, sa: &Value) {
        if !self.options.faults.has(Fault::PodIdentityShadowsRole) {
            return;
        }
        let Some(role) =
            meta::annotation(sa, "eks.amazonaws.com/role-arn").filter(|r| !r.is_empty())
        else {
            return;
        };
        let account = role
            .split(':')
            .nth(4)
            .filter(|a| !a.is_empty())
            .unwrap_or(self.options.account_id.as_str());
        let (namespace, name) = (meta::namespace_of(sa), meta::name_of(sa));
        if self
            .associations
            .list(Some(namespace), Some(name))
            .is_empty()
        {
            let shadow = format!("arn:aws:iam::{account}:role/eks-pod-identity-{name}");
            if let Err(err) = self
                .associations
                .create(namespace, name, &shadow, self.issuer.now())
            {
                tracing::warn!(%err, namespace, name, "creating the shadowing association");
            }
        }
    }

    /// The service-account token issuer.
    pub fn issuer(&self) -> &Arc<Issuer> {
        &self.issuer
    }

    /// Spawns the controllers (deployment -> replicaset -> pods, pod start, namespace deletion).
    pub fn run_controllers(self: &Arc<Self>, tasks: &mut JoinSet<()>, cancel: CancellationToken) {
        let shutdown = self.shutdown.clone();
        let stop = cancel.clone();
        tasks.spawn(async move {
            stop.cancelled().await;
            shutdown.cancel();
        });
        controller::spawn(self, tasks, cancel);
    }

    /// Creates an object (admission included: pods go through the webhook). Fills metadata
    /// (uid, resourceVersion, creationTimestamp, generation) and returns the stored object.
    pub fn create(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        object: Value,
    ) -> Result<Value, ApiError> {
        admission::create(self, resource, namespace, object)
    }

    /// Reads one object.
    pub fn get(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        self.store
            .lock()
            .state()
            .get(resource, &key(resource, namespace, name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(resource, name))
    }

    /// Lists objects of a kind, in one namespace or (None) all.
    pub fn list(&self, resource: Resource, namespace: Option<&str>) -> Vec<Value> {
        self.list_at(resource, namespace).0
    }

    /// Lists objects with the resourceVersion the list was taken at.
    pub fn list_at(&self, resource: Resource, namespace: Option<&str>) -> (Vec<Value>, u64) {
        let txn = self.store.lock();
        let ns = namespace.filter(|_| resource.namespaced());
        (txn.state().list(resource, ns), txn.state().rv())
    }

    /// Applies a JSON merge patch (RFC 7386); bumps generation when `spec` changes.
    pub fn merge_patch(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        name: &str,
        patch: &Value,
    ) -> Result<Value, ApiError> {
        self.patch(
            resource,
            namespace,
            name,
            PatchKind::Merge,
            patch,
            Part::Main,
        )
    }

    /// Applies a patch of any supported kind to the object or its status.
    pub fn patch(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        name: &str,
        kind: PatchKind,
        patch: &Value,
        part: Part,
    ) -> Result<Value, ApiError> {
        let key = key(resource, namespace, name);
        let mut txn = self.store.lock();
        let old = txn
            .state()
            .get(resource, &key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(resource, name))?;
        let mut new = old.clone();
        kind.apply(&mut new, patch)?;
        // A patch may carry a resourceVersion precondition.
        if let Some(rv) = patch
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            && Some(rv) != meta::meta_str(&old, "resourceVersion")
        {
            return Err(ApiError::conflict(resource, name));
        }
        let stored = self.write_update(&mut txn, resource, key, &old, new, part)?;
        drop(txn);
        self.after_update(resource, &old, &stored);
        Ok(stored)
    }

    /// Replaces an object (PUT); a stale `metadata.resourceVersion` gives 409 Conflict.
    pub fn replace(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        name: &str,
        object: Value,
        part: Part,
    ) -> Result<Value, ApiError> {
        if !object.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        let body_name = meta::name_of(&object);
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let key = key(resource, namespace, name);
        let mut txn = self.store.lock();
        let old = txn
            .state()
            .get(resource, &key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(resource, name))?;
        if let Some(rv) = meta::meta_str(&object, "resourceVersion")
            && Some(rv) != meta::meta_str(&old, "resourceVersion")
        {
            return Err(ApiError::conflict(resource, name));
        }
        let stored = self.write_update(&mut txn, resource, key, &old, object, part)?;
        drop(txn);
        self.after_update(resource, &old, &stored);
        Ok(stored)
    }

    /// Stores an update: keeps identity metadata, honours the status subresource, bumps
    /// `generation` on spec changes, and skips the write when nothing changed.
    fn write_update(
        &self,
        txn: &mut store::Txn<'_>,
        resource: Resource,
        key: Key,
        old: &Value,
        mut new: Value,
        part: Part,
    ) -> Result<Value, ApiError> {
        if !new.is_object() {
            return Err(ApiError::bad_request("the object must be a JSON object"));
        }
        if part == Part::Status {
            let status = new.get("status").cloned();
            new = old.clone();
            if let (Some(map), Some(status)) = (new.as_object_mut(), status) {
                map.insert("status".to_owned(), status);
            }
        } else if resource.has_status()
            && let Some(map) = new.as_object_mut()
        {
            match old.get("status") {
                Some(status) => map.insert("status".to_owned(), status.clone()),
                None => map.remove("status"),
            };
        }
        if part == Part::Main {
            defaults::apply(resource, &mut new);
            validation::decode_metadata(resource, &new)?;
            validation::immutable_fields(resource, old, &new)?;
        }
        if let Some(map) = new.as_object_mut() {
            map.insert("kind".to_owned(), json!(resource.kind()));
            map.insert("apiVersion".to_owned(), json!(resource.api_version()));
        }
        let old_meta = old.get("metadata").cloned().unwrap_or_else(|| json!({}));
        if let Some(meta) = meta::meta_mut(&mut new) {
            for field in [
                "name",
                "namespace",
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "generation",
            ] {
                match old_meta.get(field) {
                    Some(v) => meta.insert(field.to_owned(), v.clone()),
                    None => meta.remove(field),
                };
            }
            meta.insert(
                "resourceVersion".to_owned(),
                old_meta
                    .get("resourceVersion")
                    .cloned()
                    .unwrap_or(Value::Null),
            );
        }
        if new == *old {
            return Ok(old.clone());
        }
        if part == Part::Main {
            validation::validate_metadata(resource, &new)?;
        }
        if resource.tracks_generation() && new.get("spec") != old.get("spec") {
            let generation = meta::int_at(old, "/metadata/generation").unwrap_or(0) + 1;
            if let Some(meta) = meta::meta_mut(&mut new) {
                meta.insert("generation".to_owned(), json!(generation));
            }
        }
        if resource == Resource::Pod && part == Part::Main {
            admission::validate_pod_update(old, &new)?;
        }
        // An object being deleted goes once its last finalizer is removed.
        if old.pointer("/metadata/deletionTimestamp").is_some() && !has_finalizers(&new) {
            let removed = txn.remove(resource, key.clone()).unwrap_or(new);
            if resource == Resource::ServiceAccount {
                self.remember_sa(key, None);
            }
            return Ok(removed);
        }
        let stored = txn.update(resource, key.clone(), new);
        if resource == Resource::ServiceAccount {
            self.remember_sa(key, Some(stored.clone()));
            self.shadow_with_pod_identity(&stored);
        }
        Ok(stored)
    }

    /// Work that follows an update outside the store lock.
    fn after_update(&self, resource: Resource, old: &Value, new: &Value) {
        if resource == Resource::ServiceAccount
            && self.options.faults.has(Fault::MutateExistingPods)
        {
            admission::mutate_existing_pods(self, old, new);
        }
    }

    /// Deletes an object (a namespace deletes everything in it).
    pub fn delete(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        let key = key(resource, namespace, name);
        let mut txn = self.store.lock();
        let Some(current) = txn.state().get(resource, &key).cloned() else {
            return Err(ApiError::not_found(resource, name));
        };
        if resource == Resource::Namespace {
            for inner in Resource::ALL.iter().copied().filter(|r| r.namespaced()) {
                for object in txn.state().list(inner, Some(name)) {
                    let inner_key = (name.to_owned(), meta::name_of(&object).to_owned());
                    txn.remove(inner, inner_key.clone());
                    if inner == Resource::ServiceAccount {
                        self.remember_sa(inner_key, None);
                    }
                }
            }
        }
        // Like the API server: an object with finalizers is only marked for deletion
        // (`deletionTimestamp`, "Terminating") and goes when its last finalizer is removed.
        if has_finalizers(&current) {
            if current.pointer("/metadata/deletionTimestamp").is_some() {
                return Ok(current);
            }
            let mut marked = current;
            if let Some(meta) = meta::meta_mut(&mut marked) {
                meta.insert(
                    "deletionTimestamp".to_owned(),
                    json!(
                        self.issuer
                            .now()
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ),
                );
            }
            return Ok(txn.update(resource, key, marked));
        }
        let removed = txn
            .remove(resource, key.clone())
            .ok_or_else(|| ApiError::not_found(resource, name))?;
        if resource == Resource::ServiceAccount {
            self.remember_sa(key, None);
        }
        Ok(removed)
    }

    /// Records a ServiceAccount version for the webhook's lagging view.
    fn remember_sa(&self, key: Key, sa: Option<Value>) {
        let mut history = self
            .sa_history
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let versions = history.entry(key).or_default();
        if versions.len() >= SA_HISTORY_LEN {
            versions.pop_front();
        }
        versions.push_back((self.issuer.now(), sa));
    }

    /// The ServiceAccount as the webhook sees it: as it was `webhook_lookup_delay` ago
    /// (the real webhook reads an informer cache that lags behind the API server).
    ///
    /// Time is the sim clock's (the one `/_sim/clock` moves), so a test can let the lag
    /// pass by advancing the clock instead of sleeping.
    ///
    /// With a lookup grace period, a ServiceAccount missing from that view is fetched from
    /// the API server, as the real webhook does when it waits for it.
    fn webhook_view_of_sa(&self, state: &store::State, key: &Key) -> Option<Value> {
        let cached = self.cached_sa(state, key);
        if cached.is_none() && !self.options.webhook_lookup_grace.is_zero() {
            return state.get(Resource::ServiceAccount, key).cloned();
        }
        cached
    }

    /// The webhook's informer cache: the ServiceAccount as it was `webhook_lookup_delay` ago.
    fn cached_sa(&self, state: &store::State, key: &Key) -> Option<Value> {
        let delay = self.options.webhook_lookup_delay;
        if delay.is_zero() {
            return state.get(Resource::ServiceAccount, key).cloned();
        }
        let history = self
            .sa_history
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let delay = chrono::TimeDelta::from_std(delay).unwrap_or(chrono::TimeDelta::MAX);
        let cutoff = self.issuer.now().checked_sub_signed(delay)?;
        history
            .get(key)?
            .iter()
            .rev()
            .find(|(at, _)| *at <= cutoff)
            .and_then(|(_, sa)| sa.clone())
    }
}

/// Whether an object carries `metadata.finalizers` (which hold its deletion back).
fn has_finalizers(object: &Value) -> bool {
    object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty())
}

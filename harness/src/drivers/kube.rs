//! The Kubernetes driver: kube-rs against whatever API server the target names.

use std::collections::BTreeMap;

use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, Pod, PodSpec, ServiceAccount};
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Client, ResourceExt as _};

use super::DriverError;
use super::deadline::Deadline;
use super::timeouts::RequestTimeouts;
use super::watch::{Check, wait_for};

/// The label every object a run creates carries, with the run id as value.
pub const RUN_ID_LABEL: &str = "rolecheck.io/run-id";

/// The image of a bare pod: it only has to keep running.
const BARE_POD_IMAGE: &str = "registry.k8s.io/pause:3.9";

/// How bare pods are made on a target: a cluster without a registry or pod network (the
/// `local` target) needs its own image, never pulled, and the host's network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarePods {
    /// The image (it only has to keep running).
    pub image: String,
    /// `imagePullPolicy`, when not the cluster's default.
    pub image_pull_policy: Option<String>,
    /// Run in the host's network namespace.
    pub host_network: bool,
    /// Environment variables of the container.
    pub env: Vec<(String, String)>,
}

impl Default for BarePods {
    fn default() -> Self {
        Self {
            image: BARE_POD_IMAGE.to_owned(),
            image_pull_policy: None,
            host_network: false,
            env: Vec::new(),
        }
    }
}

/// How to reach a Kubernetes API server.
#[derive(Debug, Clone)]
pub enum KubeAccess {
    /// A URL and a bearer token (the embedded sim).
    Token {
        /// API server URL.
        url: String,
        /// Bearer token.
        token: String,
    },
    /// A kubeconfig file and optional context (kind, EKS).
    Kubeconfig {
        /// Path of the kubeconfig; `None` uses the default lookup.
        path: Option<std::path::PathBuf>,
        /// Context name; `None` uses the current context.
        context: Option<String>,
    },
}

/// A Kubernetes API client and the operations steps need.
#[derive(Clone)]
pub struct KubeDriver {
    client: Client,
    bare_pods: BarePods,
    /// The API server's URL, named in every error about reaching it.
    endpoint: String,
}

impl KubeDriver {
    /// Builds a client with the [`RequestTimeouts`] in force. Does not contact the server
    /// (see [`KubeDriver::probe`]).
    pub async fn connect(access: &KubeAccess) -> Result<Self, DriverError> {
        let mut config = match access {
            KubeAccess::Token { url, token } => {
                let uri = url.parse().map_err(|e| {
                    DriverError::Protocol(format!("bad Kubernetes URL `{url}`: {e}"))
                })?;
                let mut config = kube::Config::new(uri);
                config.auth_info.token = Some(secrecy::SecretString::from(token.clone()));
                config
            }
            KubeAccess::Kubeconfig { path, context } => {
                let options = kube::config::KubeConfigOptions {
                    context: context.clone(),
                    ..Default::default()
                };
                let kubeconfig = match path {
                    Some(path) => kube::config::Kubeconfig::read_from(path).map_err(|e| {
                        DriverError::Unreachable(format!(
                            "reading kubeconfig {}: {e}",
                            path.display()
                        ))
                    })?,
                    None => kube::config::Kubeconfig::read().map_err(|e| {
                        DriverError::Unreachable(format!("reading kubeconfig: {e}"))
                    })?,
                };
                kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .map_err(|e| DriverError::Unreachable(format!("kubeconfig: {e}")))?
            }
        };
        RequestTimeouts::current().apply_to_kube(&mut config);
        let endpoint = config.cluster_url.to_string();
        let endpoint = endpoint.trim_end_matches('/').to_owned();
        let client = Client::try_from(config).map_err(|e| {
            DriverError::Unreachable(format!("Kubernetes API at {endpoint}: client: {e}"))
        })?;
        Ok(Self {
            client,
            endpoint,
            bare_pods: BarePods::default(),
        })
    }

    /// The same driver, creating bare pods (`create_pod`) as `bare_pods` says.
    pub fn with_bare_pods(mut self, bare_pods: BarePods) -> Self {
        self.bare_pods = bare_pods;
        self
    }

    /// How bare pods are created.
    pub(crate) fn bare_pods(&self) -> &BarePods {
        &self.bare_pods
    }

    /// The API server's URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Checks at start-up that the API server answers, within the probe bound of the
    /// [`RequestTimeouts`]; returns its version like [`KubeDriver::server_version`].
    pub async fn probe(&self) -> Result<(u32, u32), DriverError> {
        let bound = RequestTimeouts::current().probe();
        match tokio::time::timeout(bound, self.server_version()).await {
            Ok(answer) => answer,
            Err(_) => Err(DriverError::Unreachable(format!(
                "Kubernetes API at {}: no answer to GET /version within {} (it accepts connections but does not answer)",
                self.endpoint,
                humantime::format_duration(bound)
            ))),
        }
    }

    /// The underlying client (for the operations in [`super::kube_pods`]).
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The server's version as (major, minor), e.g. (1, 29). Fails as unreachable when the
    /// server cannot be contacted.
    pub async fn server_version(&self) -> Result<(u32, u32), DriverError> {
        let info = self.client.apiserver_version().await.map_err(|e| match e {
            kube::Error::Api(_) => self.api_error(e),
            other => DriverError::Unreachable(format!(
                "Kubernetes API at {}: GET /version: {}",
                self.endpoint,
                super::error_chain(&other)
            )),
        })?;
        let number = |s: &str| s.trim_end_matches('+').parse::<u32>().ok();
        match (number(&info.major), number(&info.minor)) {
            (Some(major), Some(minor)) => Ok((major, minor)),
            _ => Err(DriverError::Protocol(format!(
                "server version `{}`.`{}` is not numeric",
                info.major, info.minor
            ))),
        }
    }

    /// Waits until the namespace exists, then adds the run-id label to it.
    pub async fn label_namespace(
        &self,
        name: &str,
        run_id: &str,
        deadline: &Deadline,
    ) -> Result<(), DriverError> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        wait_for(
            &self.endpoint,
            api.clone(),
            by_name(name),
            deadline,
            |objects| {
                if objects.is_empty() {
                    Check::NotYet(format!("namespace {name} does not exist"))
                } else {
                    Check::Done(())
                }
            },
        )
        .await?;
        let patch = serde_json::json!({"metadata": {"labels": {RUN_ID_LABEL: run_id}}});
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| self.api_error(e))?;
        Ok(())
    }

    /// Creates a namespace (if missing) and a ServiceAccount in it, both labelled with the
    /// run id. Returns whether it created the namespace (an existing one is not labelled).
    pub async fn create_service_account(
        &self,
        namespace: &str,
        name: &str,
        run_id: &str,
    ) -> Result<bool, DriverError> {
        let labels = BTreeMap::from([(RUN_ID_LABEL.to_owned(), run_id.to_owned())]);
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(namespace.to_owned()),
                labels: Some(labels.clone()),
                ..Default::default()
            },
            ..Default::default()
        };
        let created = match Api::<Namespace>::all(self.client.clone())
            .create(&PostParams::default(), &ns)
            .await
        {
            Ok(_) => true,
            Err(kube::Error::Api(status)) if status.code == 409 => false,
            Err(e) => return Err(self.api_error(e)),
        };
        let sa = ServiceAccount {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some(namespace.to_owned()),
                labels: Some(labels),
                ..Default::default()
            },
            ..Default::default()
        };
        Api::<ServiceAccount>::namespaced(self.client.clone(), namespace)
            .create(&PostParams::default(), &sa)
            .await
            .map_err(|e| self.api_error(e))?;
        Ok(created)
    }

    /// Deletes a ServiceAccount; a missing one is not an error.
    pub async fn delete_service_account(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<(), DriverError> {
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(e) => Err(self.api_error(e)),
        }
    }

    /// Deletes a pod and waits until it is gone; a missing one is not an error.
    pub async fn delete_pod(
        &self,
        namespace: &str,
        name: &str,
        deadline: &Deadline,
    ) -> Result<(), DriverError> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let what = format!("pod {namespace}/{name}");
        self.delete_until_gone(api, name, &DeleteParams::default(), &what, deadline)
            .await
    }

    /// Waits until the workload of a component exists (a Deployment, or a StatefulSet as the
    /// chart renders Celery workers with persistence) and returns the name of the
    /// ServiceAccount its pods run under.
    pub async fn component_service_account(
        &self,
        namespace: &str,
        selector: &str,
        deadline: &Deadline,
    ) -> Result<String, DriverError> {
        let service_account = |spec: Option<&PodSpec>| {
            spec.and_then(|s| s.service_account_name.clone())
                .unwrap_or_else(|| "default".to_owned())
        };
        let deployments = wait_for(
            &self.endpoint,
            Api::<Deployment>::namespaced(self.client.clone(), namespace),
            watcher::Config::default().labels(selector),
            deadline,
            |objects| match objects.values().next() {
                None => Check::NotYet(format!("no Deployment matches `{selector}` in {namespace}")),
                Some(d) => Check::Done(service_account(d.spec.template.spec.as_ref())),
            },
        );
        let sets = wait_for(
            &self.endpoint,
            Api::<StatefulSet>::namespaced(self.client.clone(), namespace),
            watcher::Config::default().labels(selector),
            deadline,
            |objects| match objects.values().next() {
                None => Check::NotYet(format!(
                    "no StatefulSet matches `{selector}` in {namespace}"
                )),
                Some(s) => Check::Done(service_account(s.spec.template.spec.as_ref())),
            },
        );
        first_of(deployments, sets).await
    }

    /// Reads a ServiceAccount.
    pub async fn service_account(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<ServiceAccount, DriverError> {
        Api::<ServiceAccount>::namespaced(self.client.clone(), namespace)
            .get(name)
            .await
            .map_err(|e| self.api_error(e))
    }

    /// Waits until the component's workload (Deployment or StatefulSet) has rolled out
    /// completely (like `kubectl rollout status`) and returns its pods that are running and
    /// not being deleted. Both waits end at the one `deadline`: the pods get what the
    /// rollout left of it, never a budget of their own.
    pub async fn rolled_out_pods(
        &self,
        namespace: &str,
        selector: &str,
        deadline: &Deadline,
    ) -> Result<Vec<Pod>, DriverError> {
        let deployments = wait_for(
            &self.endpoint,
            Api::<Deployment>::namespaced(self.client.clone(), namespace),
            watcher::Config::default().labels(selector),
            deadline,
            |objects| match objects.values().next() {
                None => Check::NotYet(format!("no Deployment matches `{selector}` in {namespace}")),
                Some(d) => rollout_state(d),
            },
        );
        let sets = wait_for(
            &self.endpoint,
            Api::<StatefulSet>::namespaced(self.client.clone(), namespace),
            watcher::Config::default().labels(selector),
            deadline,
            |objects| match objects.values().next() {
                None => Check::NotYet(format!(
                    "no StatefulSet matches `{selector}` in {namespace}"
                )),
                Some(s) => statefulset_rollout_state(s),
            },
        );
        let replicas = first_of(deployments, sets).await?;
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        wait_for(
            &self.endpoint,
            pods,
            watcher::Config::default().labels(selector),
            deadline,
            |objects| {
                let live: Vec<&Pod> = objects
                    .values()
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                    .collect();
                let running = live.iter().filter(|p| phase(p) == "Running").count();
                if running == replicas && live.len() == replicas {
                    Check::Done(live.into_iter().cloned().collect())
                } else {
                    Check::NotYet(format!(
                        "{} pod(s) of `{selector}` ({}), {running} running, want {replicas}",
                        live.len(),
                        live.iter()
                            .map(|p| format!("{} {}", p.name_any(), phase(p)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                }
            },
        )
        .await
    }

    /// Asks the API server for a token of a ServiceAccount (TokenRequest), optionally bound
    /// to a pod, and returns the JWT.
    pub async fn request_token(
        &self,
        namespace: &str,
        service_account: &str,
        audience: &str,
        expiration_seconds: Option<i64>,
        bound_pod: Option<&Pod>,
    ) -> Result<String, DriverError> {
        let request = TokenRequest {
            spec: Some(TokenRequestSpec {
                audiences: Some(vec![audience.to_owned()]),
                expiration_seconds,
                bound_object_ref: bound_pod.map(|pod| BoundObjectReference {
                    api_version: Some("v1".to_owned()),
                    kind: Some("Pod".to_owned()),
                    name: Some(pod.name_any()),
                    uid: pod.uid(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let answer = Api::<ServiceAccount>::namespaced(self.client.clone(), namespace)
            .create_token_request(service_account, &PostParams::default(), &request)
            .await
            .map_err(|e| self.api_error(e))?;
        answer.status.and_then(|s| s.token).ok_or_else(|| {
            DriverError::Protocol("TokenRequest answer has no status.token".to_owned())
        })
    }

    /// The service-account token issuer the API server announces at
    /// `/.well-known/openid-configuration` (its `--service-account-issuer`).
    pub async fn service_account_issuer(&self) -> Result<String, DriverError> {
        let request = kube::core::Request::new("/.well-known")
            .get("openid-configuration", &kube::api::GetParams::default())
            .map_err(|e| DriverError::Protocol(format!("building the discovery request: {e}")))?;
        let text = self
            .client
            .request_text(request)
            .await
            .map_err(|e| self.api_error(e))?;
        let document: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| DriverError::Protocol(format!("openid-configuration is not JSON: {e}")))?;
        document
            .get("issuer")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| DriverError::Protocol("openid-configuration has no `issuer`".to_owned()))
    }

    /// MutatingWebhookConfigurations that carry the run-id label, as (name, run id,
    /// creation time in seconds since the epoch).
    pub async fn labelled_webhook_configurations(
        &self,
    ) -> Result<Vec<(String, String, Option<i64>)>, DriverError> {
        let api: Api<MutatingWebhookConfiguration> = Api::all(self.client.clone());
        let list = match api.list(&ListParams::default().labels(RUN_ID_LABEL)).await {
            Ok(list) => list,
            // A server without admission registration (the sim) has none to remove.
            Err(kube::Error::Api(status)) if status.code == 404 => return Ok(Vec::new()),
            Err(err) => return Err(self.api_error(err)),
        };
        Ok(list
            .items
            .into_iter()
            .map(|c| {
                let run = c
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(RUN_ID_LABEL))
                    .cloned()
                    .unwrap_or_default();
                let created = c
                    .metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| t.0.as_second());
                (c.name_any(), run, created)
            })
            .collect())
    }

    /// Deletes a MutatingWebhookConfiguration (gone already is fine).
    pub async fn delete_webhook_configuration(&self, name: &str) -> Result<(), DriverError> {
        let api: Api<MutatingWebhookConfiguration> = Api::all(self.client.clone());
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(err) => Err(self.api_error(err)),
        }
    }

    /// `SelfSubjectAccessReview`: whether the driver's identity may `verb` the resource
    /// (`group` `""` for core; `subresource` such as `exec` or `token`) in every namespace.
    pub async fn may(
        &self,
        verb: &str,
        group: &str,
        resource: &str,
        subresource: Option<&str>,
    ) -> Result<bool, DriverError> {
        use k8s_openapi::api::authorization::v1::{
            ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
        };
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(verb.to_owned()),
                    group: Some(group.to_owned()),
                    resource: Some(resource.to_owned()),
                    subresource: subresource.map(str::to_owned),
                    ..ResourceAttributes::default()
                }),
                ..SelfSubjectAccessReviewSpec::default()
            },
            ..SelfSubjectAccessReview::default()
        };
        let api: Api<SelfSubjectAccessReview> = Api::all(self.client.clone());
        let answer = api
            .create(&PostParams::default(), &review)
            .await
            .map_err(|e| self.api_error(e))?;
        Ok(answer.status.is_some_and(|s| s.allowed))
    }

    /// The cluster's MutatingWebhookConfigurations: (name, webhook names, whether one of its
    /// webhooks is called on pod CREATE).
    pub async fn pod_mutating_webhooks(
        &self,
    ) -> Result<Vec<(String, Vec<String>, bool)>, DriverError> {
        use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
        let api: Api<MutatingWebhookConfiguration> = Api::all(self.client.clone());
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|e| self.api_error(e))?;
        Ok(list
            .items
            .into_iter()
            .map(|config| {
                let hooks = config.webhooks.clone().unwrap_or_default();
                let on_pod_create = hooks.iter().any(|hook| {
                    hook.rules.iter().flatten().any(|rule| {
                        let has = |list: &Option<Vec<String>>, want: &str| {
                            list.iter().flatten().any(|v| v == want || v == "*")
                        };
                        has(&rule.resources, "pods") && has(&rule.operations, "CREATE")
                    })
                });
                (
                    config.name_any(),
                    hooks.into_iter().map(|h| h.name).collect(),
                    on_pod_create,
                )
            })
            .collect())
    }

    /// The namespaces that carry the run-id label (any run id when `run_id` is None).
    pub async fn labelled_namespaces(
        &self,
        run_id: Option<&str>,
    ) -> Result<Vec<Namespace>, DriverError> {
        self.namespaces_labelled(RUN_ID_LABEL, run_id).await
    }

    /// The namespaces that carry `label` (with exactly `value` when given): the one listing
    /// every removal of labelled namespaces starts from (the run's sweep, `gc`, `sim serve`'s
    /// shutdown, the bench).
    pub async fn namespaces_labelled(
        &self,
        label: &str,
        value: Option<&str>,
    ) -> Result<Vec<Namespace>, DriverError> {
        let selector = match value {
            Some(value) => format!("{label}={value}"),
            None => label.to_owned(),
        };
        let list = Api::<Namespace>::all(self.client.clone())
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| self.api_error(e))?;
        Ok(list.items)
    }

    /// Removes every namespace that carries `label` with exactly `value`: lists them, then
    /// [`KubeDriver::delete_namespaces`] (the run's sweep, `sim serve`'s shutdown).
    pub async fn remove_namespaces_labelled(
        &self,
        label: &str,
        value: &str,
        deadline: &Deadline,
    ) -> Result<Vec<(String, Result<(), DriverError>)>, DriverError> {
        let names = self
            .namespaces_labelled(label, Some(value))
            .await?
            .into_iter()
            .filter_map(|ns| ns.metadata.name)
            .collect();
        Ok(self.delete_namespaces(names, deadline).await)
    }

    /// Deletes the named namespaces at once and waits, until `deadline`, for each to be gone;
    /// returns every name with what happened to it (in the order given).
    pub async fn delete_namespaces(
        &self,
        names: Vec<String>,
        deadline: &Deadline,
    ) -> Vec<(String, Result<(), DriverError>)> {
        let removals = names
            .iter()
            .map(|name| self.delete_namespace(name, deadline));
        let results = futures::future::join_all(removals).await;
        names.into_iter().zip(results).collect()
    }

    /// Deletes a namespace and waits until it is gone.
    pub async fn delete_namespace(
        &self,
        name: &str,
        deadline: &Deadline,
    ) -> Result<(), DriverError> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let what = format!("namespace {name}");
        self.delete_until_gone(api, name, &DeleteParams::background(), &what, deadline)
            .await
    }

    /// Deletes the object `name` of `api` and waits, until `deadline`, for it to be gone; one
    /// already gone counts as removed. `what` names it in the last-seen state.
    async fn delete_until_gone<K>(
        &self,
        api: Api<K>,
        name: &str,
        params: &DeleteParams,
        what: &str,
        deadline: &Deadline,
    ) -> Result<(), DriverError>
    where
        K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
    {
        match api.delete(name, params).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
            Err(e) => return Err(self.api_error(e)),
        }
        wait_for(&self.endpoint, api, by_name(name), deadline, |objects| {
            if objects.is_empty() {
                Check::Done(())
            } else {
                Check::NotYet(format!("{what} still exists"))
            }
        })
        .await
    }
}

/// The pod's phase, or `Unknown`.
pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Unknown")
}

fn rollout_state(d: &Deployment) -> Check<usize> {
    let want = d.spec.replicas.unwrap_or(1);
    let generation = d.metadata.generation.unwrap_or(0);
    let status = d.status.clone().unwrap_or_default();
    let observed = status.observed_generation.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if observed >= generation && updated == want && total == want && available == want {
        Check::Done(usize::try_from(want).unwrap_or(0))
    } else {
        Check::NotYet(format!(
            "Deployment {} rolling out: generation {generation} observed {observed}, replicas {total}/{want}, updated {updated}, available {available}",
            d.name_any()
        ))
    }
}

/// `kubectl rollout status` for a StatefulSet with the `RollingUpdate` strategy: the
/// controller saw the newest spec, every replica is updated and ready, and the update
/// revision has become the current one.
fn statefulset_rollout_state(s: &StatefulSet) -> Check<usize> {
    let want = s.spec.replicas.unwrap_or(1);
    let generation = s.metadata.generation.unwrap_or(0);
    let status = s.status.clone().unwrap_or_default();
    let observed = status.observed_generation.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    let ready = status.ready_replicas.unwrap_or(0);
    let current = status.current_revision.unwrap_or_default();
    let update = status.update_revision.unwrap_or_default();
    if observed >= generation
        && updated == want
        && ready == want
        && !update.is_empty()
        && current == update
    {
        Check::Done(usize::try_from(want).unwrap_or(0))
    } else {
        Check::NotYet(format!(
            "StatefulSet {} rolling out: generation {generation} observed {observed}, replicas {}/{want}, updated {updated}, ready {ready}, revision {current:?} -> {update:?}",
            s.name_any(),
            status.replicas
        ))
    }
}

/// The first of two waits on alternative shapes of the same thing (a component is either a
/// Deployment or a StatefulSet) that succeeds. When both time out, the error says what each
/// last saw.
async fn first_of<T>(
    a: impl std::future::Future<Output = Result<T, DriverError>>,
    b: impl std::future::Future<Output = Result<T, DriverError>>,
) -> Result<T, DriverError> {
    futures::pin_mut!(a);
    futures::pin_mut!(b);
    let (first, other) = match futures::future::select(a, b).await {
        futures::future::Either::Left((Ok(v), _)) | futures::future::Either::Right((Ok(v), _)) => {
            return Ok(v);
        }
        futures::future::Either::Left((Err(first), other)) => (first, other.await),
        futures::future::Either::Right((Err(first), other)) => (first, other.await),
    };
    match (first, other) {
        (_, Ok(v)) => Ok(v),
        (
            DriverError::Timeout { waited, last_seen },
            Err(DriverError::Timeout {
                last_seen: other_seen,
                ..
            }),
        ) => Err(DriverError::Timeout {
            waited,
            last_seen: format!("{last_seen}; {other_seen}"),
        }),
        (first, Err(_)) => Err(first),
    }
}

fn by_name(name: &str) -> watcher::Config {
    watcher::Config::default().fields(&format!("metadata.name={name}"))
}

impl KubeDriver {
    /// A kube-rs error as a driver error: an answer with a status is an API error; not
    /// reaching the server (refused, reset, timed out) is unreachable, naming the server.
    pub(crate) fn api_error(&self, err: kube::Error) -> DriverError {
        match err {
            kube::Error::Api(status) => DriverError::Api(format!(
                "{} ({}): {}",
                status.reason, status.code, status.message
            )),
            other => {
                let text = super::error_chain(&other);
                if matches!(other, kube::Error::HyperError(_) | kube::Error::Service(_)) {
                    DriverError::Unreachable(format!("Kubernetes API at {}: {text}", self.endpoint))
                } else {
                    DriverError::Protocol(format!("Kubernetes API at {}: {text}", self.endpoint))
                }
            }
        }
    }
}

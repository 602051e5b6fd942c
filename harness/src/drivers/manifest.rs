//! The `manifest` platform driver: on a bare cluster (kind) with no platform, it applies what
//! the Airflow chart would for a deployment: namespace `astronomer-<release>`, one
//! ServiceAccount per component annotated `<annotation key>: <role>` when a role is given, and
//! webserver/scheduler/worker Deployments with the chart's labels
//! (`tier=airflow, component=<c>, release=<r>`), everything labelled with the run id.
//!
//! It stands in for the platform's *output* only: it has no users, no permissions and no
//! database, so it never answers for R1, R9, R10 or R11.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{Container, Namespace, PodSpec, PodTemplateSpec, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};

use super::DriverError;
use super::kube::{KubeDriver, RUN_ID_LABEL};
use crate::chart::{self, Component};
use crate::namespaces::ReleaseNamespaces;
use crate::platform::{Actor, Executor, PlatformRefusal, RefusalKind, RoleArg};

/// One write of a create or update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Create or annotate a component's ServiceAccount.
    ServiceAccount(Component),
    /// Create or roll a component's workload (its pods).
    Workload(Component),
}

/// The order of the writes: every ServiceAccount before any workload. The webhook reads a
/// pod's ServiceAccount from its cache when the pod is created, and only waits for one that
/// is missing, not for one whose annotation has not arrived yet: annotating and rolling one
/// component after the other lets a pod of the first race the annotation of a later one's
/// ServiceAccount in the cache (as Helm applies a chart: ServiceAccounts first).
fn plan(components: &[Component]) -> Vec<Step> {
    components
        .iter()
        .map(|c| Step::ServiceAccount(*c))
        .chain(components.iter().map(|c| Step::Workload(*c)))
        .collect()
}

/// The manifest driver.
#[derive(Clone)]
pub struct ManifestDriver {
    kube: KubeDriver,
    annotation_key: String,
    image: String,
    run_id: String,
    namespaces: ReleaseNamespaces,
}

impl ManifestDriver {
    /// A driver applying objects through `kube`, annotating with `annotation_key`, running
    /// `image` in every component pod, labelling everything with `run_id`, each release in
    /// its namespace of `namespaces` (as the platform would).
    pub fn new(
        kube: KubeDriver,
        annotation_key: &str,
        image: &str,
        run_id: &str,
        namespaces: ReleaseNamespaces,
    ) -> Self {
        Self {
            kube,
            annotation_key: annotation_key.to_owned(),
            image: image.to_owned(),
            run_id: run_id.to_owned(),
            namespaces,
        }
    }

    fn namespace_of(&self, release: &str) -> String {
        self.namespaces.of(release)
    }

    /// Creates the namespace, the ServiceAccounts (annotated when a role is given) and the
    /// Deployments of a release. The executor is not modelled (all three components run).
    pub async fn create_deployment(
        &self,
        actor: Actor,
        release: &str,
        _executor: Executor,
        cloud_role: &RoleArg,
    ) -> Result<Result<(), PlatformRefusal>, DriverError> {
        only_admin(actor)?;
        let namespace = self.namespace_of(release);
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(namespace.clone()),
                labels: Some(self.labels(None, None)),
                ..Default::default()
            },
            ..Default::default()
        };
        match Api::<Namespace>::all(self.kube.client().clone())
            .create(&PostParams::default(), &ns)
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {
                return Ok(Err(PlatformRefusal::new(
                    RefusalKind::InvalidRequest,
                    Some(status.reason),
                    format!("namespace {namespace} already exists"),
                )));
            }
            Err(e) => return Err(self.kube.api_error(e)),
        }
        let role = match cloud_role {
            RoleArg::Value(v) if !v.is_empty() => Some(v.as_str()),
            _ => None,
        };
        for step in plan(Component::ALL) {
            match step {
                Step::ServiceAccount(component) => {
                    self.create_service_account(release, component, role)
                        .await?;
                }
                Step::Workload(component) => {
                    self.create_deployment_object(release, component).await?;
                }
            }
        }
        Ok(Ok(()))
    }

    /// Annotates the ServiceAccounts with a non-empty role and rolls the pods (as the chart's
    /// upgrade does); an empty or missing role changes nothing, as on the platform.
    pub async fn update_deployment(
        &self,
        actor: Actor,
        release: &str,
        cloud_role: &RoleArg,
    ) -> Result<Result<(), PlatformRefusal>, DriverError> {
        only_admin(actor)?;
        let RoleArg::Value(role) = cloud_role else {
            return Ok(Ok(()));
        };
        if role.is_empty() {
            return Ok(Ok(()));
        }
        let rollout = chrono::Utc::now().to_rfc3339();
        let namespace = self.namespace_of(release);
        let client = self.kube.client().clone();
        for step in plan(Component::ALL) {
            match step {
                Step::ServiceAccount(component) => {
                    let name = chart::object_name(release, component);
                    let annotate = serde_json::json!({"metadata": {"annotations": {&self.annotation_key: role}}});
                    Api::<ServiceAccount>::namespaced(client.clone(), &namespace)
                        .patch(&name, &PatchParams::default(), &Patch::Merge(&annotate))
                        .await
                        .map_err(|e| self.kube.api_error(e))?;
                }
                Step::Workload(component) => {
                    // A changed pod template rolls the pods, as the chart's upgrade does.
                    let name = chart::object_name(release, component);
                    let roll = serde_json::json!({"spec": {"template": {"metadata": {"annotations": {"rolecheck.io/rolled-at": rollout}}}}});
                    Api::<Deployment>::namespaced(client.clone(), &namespace)
                        .patch(&name, &PatchParams::default(), &Patch::Merge(&roll))
                        .await
                        .map_err(|e| self.kube.api_error(e))?;
                }
            }
        }
        Ok(Ok(()))
    }

    /// Deletes the release's namespace (and so everything in it).
    pub async fn delete_deployment(
        &self,
        actor: Actor,
        release: &str,
    ) -> Result<Result<(), PlatformRefusal>, DriverError> {
        only_admin(actor)?;
        match Api::<Namespace>::all(self.kube.client().clone())
            .delete(&self.namespace_of(release), &DeleteParams::background())
            .await
        {
            Ok(_) => Ok(Ok(())),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(Err(PlatformRefusal::new(
                RefusalKind::InvalidRequest,
                Some(status.reason),
                format!("no deployment with release {release}"),
            ))),
            Err(e) => Err(self.kube.api_error(e)),
        }
    }

    /// The labels of what the driver creates: the run's label and, for a release's
    /// objects, the chart's labels ([`chart::labels`]).
    fn labels(
        &self,
        release: Option<&str>,
        component: Option<Component>,
    ) -> BTreeMap<String, String> {
        let mut labels = release.map_or_else(BTreeMap::new, |r| chart::labels(r, component));
        labels.insert(RUN_ID_LABEL.to_owned(), self.run_id.clone());
        labels
    }

    async fn create_service_account(
        &self,
        release: &str,
        component: Component,
        role: Option<&str>,
    ) -> Result<(), DriverError> {
        let name = chart::object_name(release, component);
        let sa = ServiceAccount {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(self.namespace_of(release)),
                labels: Some(self.labels(Some(release), Some(component))),
                annotations: role
                    .map(|r| BTreeMap::from([(self.annotation_key.clone(), r.to_owned())])),
                ..Default::default()
            },
            ..Default::default()
        };
        Api::<ServiceAccount>::namespaced(self.kube.client().clone(), &self.namespace_of(release))
            .create(&PostParams::default(), &sa)
            .await
            .map_err(|e| self.kube.api_error(e))?;
        Ok(())
    }

    async fn create_deployment_object(
        &self,
        release: &str,
        component: Component,
    ) -> Result<(), DriverError> {
        let name = chart::object_name(release, component);
        let labels = self.labels(Some(release), Some(component));
        let selector = chart::labels(release, Some(component));
        let deployment = Deployment {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(self.namespace_of(release)),
                labels: Some(labels.clone()),
                ..Default::default()
            },
            spec: DeploymentSpec {
                replicas: Some(1),
                selector: LabelSelector {
                    match_labels: Some(selector),
                    ..Default::default()
                },
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec {
                        service_account_name: Some(name.clone()),
                        containers: vec![Container {
                            name: component.name().to_owned(),
                            image: Some(self.image.clone()),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                },
                ..Default::default()
            },
            ..Default::default()
        };
        Api::<Deployment>::namespaced(self.kube.client().clone(), &self.namespace_of(release))
            .create(&PostParams::default(), &deployment)
            .await
            .map_err(|e| self.kube.api_error(e))?;
        Ok(())
    }
}

fn only_admin(actor: Actor) -> Result<(), DriverError> {
    if actor == Actor::Admin {
        Ok(())
    } else {
        Err(DriverError::Protocol(format!(
            "the manifest driver has no platform users; it cannot act as {}",
            actor.name()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_account_is_written_before_any_pod_rolls() {
        let steps = plan(Component::ALL);
        let last_sa = steps
            .iter()
            .rposition(|s| matches!(s, Step::ServiceAccount(_)))
            .unwrap();
        let first_workload = steps
            .iter()
            .position(|s| matches!(s, Step::Workload(_)))
            .unwrap();
        assert!(last_sa < first_workload, "{steps:?}");
        assert_eq!(steps.len(), 2 * Component::ALL.len());
    }
}

//! The platform a target has, whichever driver reaches it: Houston's GraphQL API, the Astro
//! CLI, or the `manifest` stand-in on a bare cluster. Steps call these methods only.

use serde_json::Value;

use super::DriverError;
use super::astro::AstroDriver;
use super::houston::HoustonDriver;
use super::manifest::ManifestDriver;
use crate::platform::{Actor, Executor, PlatformRefusal, RoleArg};

/// One of the platform drivers.
pub enum PlatformDriver {
    /// Houston GraphQL over HTTP(S).
    Houston(HoustonDriver),
    /// The `astro` CLI.
    Astro(AstroDriver),
    /// Chart objects applied through the Kubernetes API.
    Manifest(ManifestDriver),
}

impl PlatformDriver {
    /// Creates a deployment (R2) asking for the release name `release`; answers with the
    /// release name the platform gave it (Houston generates one unless `manualReleaseNames`
    /// is on).
    pub async fn create_deployment(
        &self,
        actor: Actor,
        release: &str,
        executor: Executor,
        cloud_role: &RoleArg,
    ) -> Result<Result<String, PlatformRefusal>, DriverError> {
        match self {
            PlatformDriver::Houston(d) => {
                d.create_deployment(actor, release, executor, cloud_role)
                    .await
            }
            PlatformDriver::Astro(d) => {
                d.create_deployment(actor, release, executor, cloud_role)
                    .await
            }
            PlatformDriver::Manifest(d) => Ok(d
                .create_deployment(actor, release, executor, cloud_role)
                .await?
                .map(|()| release.to_owned())),
        }
    }

    /// Updates a deployment's role (R3).
    pub async fn update_deployment(
        &self,
        actor: Actor,
        release: &str,
        cloud_role: &RoleArg,
    ) -> Result<Result<(), PlatformRefusal>, DriverError> {
        match self {
            PlatformDriver::Houston(d) => d.update_deployment(actor, release, cloud_role).await,
            PlatformDriver::Astro(d) => d.update_deployment(actor, release, cloud_role).await,
            PlatformDriver::Manifest(d) => d.update_deployment(actor, release, cloud_role).await,
        }
    }

    /// Deletes a deployment.
    pub async fn delete_deployment(
        &self,
        actor: Actor,
        release: &str,
    ) -> Result<Result<(), PlatformRefusal>, DriverError> {
        match self {
            PlatformDriver::Houston(d) => d.delete_deployment(actor, release).await,
            PlatformDriver::Astro(d) => d.delete_deployment(actor, release).await,
            PlatformDriver::Manifest(d) => d.delete_deployment(actor, release).await,
        }
    }

    /// Deletes the deployment of `release` whose create was sent but never answered (cut off
    /// by a timeout or a signal), if it exists and is this run's. `Ok(false)`: there is none.
    pub async fn delete_unanswered(
        &self,
        release: &str,
    ) -> Result<Result<bool, PlatformRefusal>, DriverError> {
        match self {
            PlatformDriver::Houston(d) => d.delete_unanswered(release).await,
            // The CLI's own create was killed with the step; delete by name, as a user would.
            PlatformDriver::Astro(d) => Ok(d
                .delete_deployment(Actor::Admin, release)
                .await?
                .map(|()| true)),
            // Its namespace carries the run's label; none means nothing was made.
            PlatformDriver::Manifest(d) => Ok(Ok(d
                .delete_deployment(Actor::Admin, release)
                .await?
                .is_ok())),
        }
    }

    /// The stored deployment config (R11); only Houston has a database to ask.
    pub async fn deployment_config(
        &self,
        release: &str,
    ) -> Result<Result<Value, PlatformRefusal>, DriverError> {
        match self {
            PlatformDriver::Houston(d) => d.deployment_config(release).await,
            PlatformDriver::Astro(_) | PlatformDriver::Manifest(_) => Err(DriverError::Protocol(
                "this platform driver cannot read the stored deployment config (capability platform-db)"
                    .to_owned(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::Component;
    use crate::drivers::kube::{KubeAccess, KubeDriver};
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::ServiceAccount;
    use kube::api::Api;

    #[tokio::test]
    async fn the_manifest_driver_applies_what_the_chart_would() {
        let sim = rolecheck_sim::Sim::start(rolecheck_sim::SimConfig::default())
            .await
            .unwrap();
        let e = sim.endpoints().clone();
        let kube = KubeDriver::connect(&KubeAccess::Token {
            url: e.kube_url.clone(),
            token: e.kube_token.clone(),
        })
        .await
        .unwrap();
        let platform = PlatformDriver::Manifest(ManifestDriver::new(
            kube.clone(),
            "eks.amazonaws.com/role-arn",
            "registry.k8s.io/pause:3.10",
            "run12345",
            crate::namespaces::ReleaseNamespaces::default(),
        ));
        let role = "arn:aws:iam::123456789012:role/example-role";
        let answer = platform
            .create_deployment(
                Actor::Admin,
                "arithmetic-radiation-6756",
                Executor::Celery,
                &RoleArg::Value(role.to_owned()),
            )
            .await
            .unwrap();
        assert_eq!(answer, Ok("arithmetic-radiation-6756".to_owned()));
        let ns = "astronomer-arithmetic-radiation-6756";
        let namespaces = kube.labelled_namespaces(Some("run12345")).await.unwrap();
        assert_eq!(namespaces.len(), 1);
        for component in Component::ALL {
            let name = format!("arithmetic-radiation-6756-{}", component.name());
            let sa: ServiceAccount = kube.service_account(ns, &name).await.unwrap();
            let annotations = sa.metadata.annotations.unwrap_or_default();
            assert_eq!(
                annotations
                    .get("eks.amazonaws.com/role-arn")
                    .map(String::as_str),
                Some(role)
            );
            let d: Deployment = Api::namespaced(kube.client().clone(), ns)
                .get(&name)
                .await
                .unwrap();
            let labels = d.metadata.labels.unwrap_or_default();
            assert_eq!(labels.get("tier").map(String::as_str), Some("airflow"));
            assert_eq!(
                labels.get("component").map(String::as_str),
                Some(component.name())
            );
            assert_eq!(
                labels.get("release").map(String::as_str),
                Some("arithmetic-radiation-6756")
            );
            assert_eq!(
                labels.get("rolecheck.io/run-id").map(String::as_str),
                Some("run12345")
            );
            let spec = d.spec.template.spec.unwrap();
            assert_eq!(spec.service_account_name.as_deref(), Some(name.as_str()));
        }
        // An update with another role re-annotates; the config is not the manifest's to tell.
        let other = "arn:aws:iam::123456789012:role/other";
        let updated = platform
            .update_deployment(
                Actor::Admin,
                "arithmetic-radiation-6756",
                &RoleArg::Value(other.to_owned()),
            )
            .await
            .unwrap();
        assert_eq!(updated, Ok(()));
        let sa = kube
            .service_account(ns, "arithmetic-radiation-6756-worker")
            .await
            .unwrap();
        assert_eq!(
            sa.metadata
                .annotations
                .unwrap_or_default()
                .get("eks.amazonaws.com/role-arn")
                .map(String::as_str),
            Some(other)
        );
        assert!(
            platform
                .deployment_config("arithmetic-radiation-6756")
                .await
                .is_err()
        );
        assert!(
            platform
                .create_deployment(Actor::Editor, "x", Executor::Celery, &RoleArg::Omitted)
                .await
                .is_err()
        );
        assert_eq!(
            platform
                .delete_deployment(Actor::Admin, "arithmetic-radiation-6756")
                .await
                .unwrap(),
            Ok(())
        );
        sim.shutdown().await;
    }
}

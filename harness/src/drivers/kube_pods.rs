//! Kubernetes operations on single objects, as a user would do them with kubectl: a bare pod
//! (`kubectl run`), waiting for one pod, a hand edit of a ServiceAccount (`kubectl annotate`),
//! and running a command in a pod (`kubectl exec`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, EnvVar, Pod, PodSpec, ServiceAccount};
use kube::api::{Api, AttachParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use tokio::io::AsyncReadExt as _;

use super::DriverError;
use super::deadline::Deadline;
pub use super::kube::BarePods;
use super::kube::{KubeDriver, RUN_ID_LABEL, phase};
use super::watch::{Check, wait_for};

/// What a command run in a pod printed, and whether it succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// `None` when the command succeeded, else the failure the API server reported.
    pub failure: Option<String>,
}

impl KubeDriver {
    /// Creates a pod with no controller, running under `service_account`, labelled with the
    /// run id ([`KubeDriver::running_pod`] waits until it runs).
    pub async fn create_bare_pod(
        &self,
        namespace: &str,
        name: &str,
        service_account: &str,
        run_id: &str,
    ) -> Result<(), DriverError> {
        let settings = self.bare_pods();
        let pod = Pod {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some(namespace.to_owned()),
                labels: Some(BTreeMap::from([(
                    RUN_ID_LABEL.to_owned(),
                    run_id.to_owned(),
                )])),
                ..Default::default()
            },
            spec: Some(PodSpec {
                service_account_name: Some(service_account.to_owned()),
                host_network: settings.host_network.then_some(true),
                containers: vec![Container {
                    name: "main".to_owned(),
                    image: Some(settings.image.clone()),
                    image_pull_policy: settings.image_pull_policy.clone(),
                    env: (!settings.env.is_empty()).then(|| {
                        settings
                            .env
                            .iter()
                            .map(|(name, value)| EnvVar {
                                name: name.clone(),
                                value: Some(value.clone()),
                                value_from: None,
                            })
                            .collect()
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        Api::<Pod>::namespaced(self.client().clone(), namespace)
            .create(&PostParams::default(), &pod)
            .await
            .map_err(|e| self.api_error(e))?;
        Ok(())
    }

    /// Waits until the pod `namespace/name` exists, runs and is not being deleted.
    pub async fn running_pod(
        &self,
        namespace: &str,
        name: &str,
        deadline: &Deadline,
    ) -> Result<Pod, DriverError> {
        let api: Api<Pod> = Api::namespaced(self.client().clone(), namespace);
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        wait_for(
            self.endpoint(),
            api,
            config,
            deadline,
            |objects| match objects.values().next() {
                None => Check::NotYet(format!("pod {namespace}/{name} does not exist")),
                Some(p) if p.metadata.deletion_timestamp.is_some() => {
                    Check::NotYet(format!("pod {namespace}/{name} is being deleted"))
                }
                Some(p) if phase(p) == "Running" => Check::Done(p.clone()),
                Some(p) => Check::NotYet(format!("pod {namespace}/{name} is {}", phase(p))),
            },
        )
        .await
    }

    /// Sets annotations on a ServiceAccount with a merge patch (`kubectl annotate
    /// --overwrite`).
    pub async fn annotate_service_account(
        &self,
        namespace: &str,
        name: &str,
        annotations: &BTreeMap<String, String>,
    ) -> Result<ServiceAccount, DriverError> {
        let patch = serde_json::json!({"metadata": {"annotations": annotations}});
        Api::<ServiceAccount>::namespaced(self.client().clone(), namespace)
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| self.api_error(e))
    }

    /// Runs `command` in the named container of a pod (`kubectl exec -c <container>`) and
    /// collects its output. The container is always named: chart pods run sidecars beside
    /// the component's main container, and the API server's default is only the first one.
    pub async fn exec(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        command: &[&str],
    ) -> Result<ExecOutput, DriverError> {
        let api: Api<Pod> = Api::namespaced(self.client().clone(), namespace);
        let params = AttachParams::default()
            .container(container)
            .stdin(false)
            .stdout(true)
            .stderr(true);
        let mut process = api
            .exec(pod, command.iter().copied(), &params)
            .await
            .map_err(|e| self.api_error(e))?;
        let status = process.take_status();
        let mut stdout = String::new();
        let mut stderr = String::new();
        if let Some(mut out) = process.stdout() {
            out.read_to_string(&mut stdout)
                .await
                .map_err(|e| DriverError::Protocol(format!("reading exec stdout: {e}")))?;
        }
        if let Some(mut err) = process.stderr() {
            err.read_to_string(&mut stderr)
                .await
                .map_err(|e| DriverError::Protocol(format!("reading exec stderr: {e}")))?;
        }
        let status = match status {
            Some(status) => status.await,
            None => None,
        };
        process
            .join()
            .await
            .map_err(|e| DriverError::Protocol(format!("exec in {namespace}/{pod}: {e}")))?;
        let failure = status
            .filter(|s| s.status.as_deref() != Some("Success"))
            .map(|s| s.message.unwrap_or_else(|| "the command failed".to_owned()));
        Ok(ExecOutput {
            stdout,
            stderr,
            failure,
        })
    }
}

//! The platform's apply step against a real cluster, through kube-rs dynamic objects.
//!
//! The platform's operations are synchronous (they hold the platform database's lock from
//! the first check to the last write, so a refused request changes nothing), while kube-rs
//! is asynchronous. [`ClusterWriter`] owns a thread with its own Tokio runtime and kube-rs
//! client; each call hands that thread one request and waits for the answer, bounded by the
//! writer's timeout. That keeps the platform's code the same for the sim's API server and a
//! real one, and works from any runtime flavour (the caller's thread only waits).

use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use futures::future::BoxFuture;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::kube::{ApiError, Resource};
use crate::platform::apply::ObjectWriter;

type Job = Box<dyn FnOnce(kube::Client) -> BoxFuture<'static, ()> + Send>;

/// Writes objects to a real API server (see the module docs).
pub struct ClusterWriter {
    jobs: mpsc::UnboundedSender<Job>,
    timeout: Duration,
}

impl std::fmt::Debug for ClusterWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterWriter")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ClusterWriter {
    /// Starts the writer's thread with a client for `config`; every call is bounded by
    /// `timeout`. The thread ends when the writer is dropped.
    pub fn start(config: kube::Config, timeout: Duration) -> anyhow::Result<Self> {
        let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
        let (ready_tx, ready_rx) = std_mpsc::sync_channel::<Result<(), String>>(1);
        std::thread::Builder::new()
            .name("rolecheck-sim-cluster-writer".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = ready_tx.send(Err(format!("starting its runtime: {err}")));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let client = match kube::Client::try_from(config) {
                        Ok(client) => client,
                        Err(err) => {
                            let _ = ready_tx.send(Err(format!("building its client: {err}")));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    while let Some(job) = queue.recv().await {
                        tokio::spawn(job(client.clone()));
                    }
                });
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Self { jobs, timeout }),
            Ok(Err(err)) => Err(anyhow::anyhow!("the cluster writer failed {err}")),
            Err(_) => Err(anyhow::anyhow!(
                "the cluster writer's thread ended at start"
            )),
        }
    }

    /// Runs `request` on the writer's thread and waits for its answer.
    fn call<T, F>(&self, request: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(kube::Client) -> BoxFuture<'static, Result<T, ApiError>> + Send + 'static,
    {
        let (reply, answer) = std_mpsc::sync_channel(1);
        let timeout = self.timeout;
        let job: Job = Box::new(move |client| {
            Box::pin(async move {
                let result = tokio::time::timeout(timeout, request(client))
                    .await
                    .unwrap_or_else(|_| Err(timed_out(timeout)));
                let _ = reply.send(result);
            })
        });
        self.jobs
            .send(job)
            .map_err(|_| ApiError::new(503, "ServiceUnavailable", "the cluster writer stopped"))?;
        // The job itself is bounded; the extra second covers handing it over.
        answer
            .recv_timeout(timeout + Duration::from_secs(1))
            .unwrap_or_else(|_| Err(timed_out(timeout)))
    }
}

fn timed_out(timeout: Duration) -> ApiError {
    ApiError::new(
        504,
        "Timeout",
        format!("the API server did not answer within {timeout:?}"),
    )
}

/// The kube-rs description of a sim resource kind.
pub fn api_resource(resource: Resource) -> ApiResource {
    ApiResource {
        group: resource.group().to_owned(),
        version: resource.version().to_owned(),
        api_version: resource.api_version().to_owned(),
        kind: resource.kind().to_owned(),
        plural: resource.plural().to_owned(),
    }
}

fn api(client: kube::Client, resource: Resource, namespace: Option<&str>) -> Api<DynamicObject> {
    let ar = api_resource(resource);
    match namespace.filter(|_| resource.namespaced()) {
        Some(ns) => Api::namespaced_with(client, ns, &ar),
        None => Api::all_with(client, &ar),
    }
}

/// A kube-rs error in the API server's shape: the server's own Status when it sent one.
pub fn api_error(err: kube::Error) -> ApiError {
    match err {
        kube::Error::Api(status) => {
            ApiError::new(status.code, &status.reason, status.message.clone())
        }
        other => ApiError::new(
            503,
            "ServiceUnavailable",
            format!("the API server: {other}"),
        ),
    }
}

fn to_value(object: DynamicObject) -> Result<Value, ApiError> {
    serde_json::to_value(object)
        .map_err(|e| ApiError::new(500, "InternalError", format!("encoding an object: {e}")))
}

impl ObjectWriter for ClusterWriter {
    fn create(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        object: Value,
    ) -> Result<Value, ApiError> {
        let namespace = namespace.map(str::to_owned);
        let object: DynamicObject = serde_json::from_value(object)
            .map_err(|e| ApiError::bad_request(format!("not an object: {e}")))?;
        self.call(move |client| {
            Box::pin(async move {
                let created = api(client, resource, namespace.as_deref())
                    .create(&PostParams::default(), &object)
                    .await
                    .map_err(api_error)?;
                to_value(created)
            })
        })
    }

    fn get(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        let namespace = namespace.map(str::to_owned);
        let name = name.to_owned();
        self.call(move |client| {
            Box::pin(async move {
                let object = api(client, resource, namespace.as_deref())
                    .get(&name)
                    .await
                    .map_err(api_error)?;
                to_value(object)
            })
        })
    }

    fn merge_patch(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        name: &str,
        patch: &Value,
    ) -> Result<Value, ApiError> {
        let namespace = namespace.map(str::to_owned);
        let name = name.to_owned();
        let patch = patch.clone();
        self.call(move |client| {
            Box::pin(async move {
                let object = api(client, resource, namespace.as_deref())
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map_err(api_error)?;
                to_value(object)
            })
        })
    }

    fn delete(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<(), ApiError> {
        let namespace = namespace.map(str::to_owned);
        let name = name.to_owned();
        self.call(move |client| {
            Box::pin(async move {
                api(client, resource, namespace.as_deref())
                    .delete(&name, &DeleteParams::background())
                    .await
                    .map(|_| ())
                    .map_err(api_error)
            })
        })
    }
}

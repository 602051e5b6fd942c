//! Plugging the sim into a real Kubernetes cluster (the `local` target): the platform
//! installs its deployments there through kube-rs ([`writer`]), the pod-identity webhook is
//! the cluster's admission webhook ([`admission`]), and STS verifies the tokens the real API
//! server signs against its real OIDC discovery and JWKS ([`keys`]).
//!
//! The sim's own Kubernetes API keeps running (it costs nothing), but nothing of the
//! platform goes there when a cluster is attached.

pub mod admission;
pub mod keys;
pub mod writer;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::{Container, Namespace, Pod, PodSpec};
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::platform::apply::{ObjectWriter, PostRendered, WorkloadSettings};
use crate::sts::StaticKeys;

pub use admission::ServingCert;

/// How long the API server may take to start calling a freshly registered webhook.
const WEBHOOK_EFFECTIVE_WITHIN: Duration = Duration::from_secs(20);

/// A real cluster to attach the sim to.
#[derive(Clone)]
pub struct ClusterConfig {
    /// How to reach the API server as an administrator.
    pub kube: kube::Config,
    /// The API server's `--service-account-issuer` (`https://...`).
    pub issuer: String,
    /// The cluster CA (PEM), to verify the issuer's discovery and JWKS.
    pub ca_pem: Vec<u8>,
    /// The admission webhook's serving certificate, and the CA bundle to register.
    pub webhook_cert: ServingCert,
    /// The label (key, value) that selects the namespaces the webhook acts on, which the
    /// platform puts on the namespaces it creates: the run's id, so the webhook of one run
    /// never touches another's pods, and a webhook left behind by a killed run only blocks
    /// namespaces that its own clean-up removes.
    pub run_label: (String, String),
    /// The platform's workload settings for this cluster (images, host network, ...).
    pub workloads: WorkloadSettings,
    /// Bound of every request to the cluster.
    pub request_timeout: Duration,
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("api_server", &self.kube.cluster_url.to_string())
            .field("issuer", &self.issuer)
            .field("run_label", &self.run_label)
            .field("workloads", &self.workloads)
            .finish_non_exhaustive()
    }
}

/// The sim attached to a cluster: what to undo when it stops.
pub struct Attached {
    /// Where the platform writes.
    pub writer: Arc<dyn ObjectWriter>,
    /// The cluster issuer's keys.
    pub keys: StaticKeys,
    /// The webhook's URL (`https://127.0.0.1:<port>/mutate`).
    pub webhook_url: String,
    /// The name of the MutatingWebhookConfiguration.
    pub webhook_configuration: String,
    client: kube::Client,
}

impl Attached {
    /// Removes the webhook's registration (bounded); the listener stops with the sim.
    pub async fn detach(self) {
        if let Err(err) = admission::unregister(&self.client, &self.webhook_configuration).await {
            tracing::warn!(%err, name = %self.webhook_configuration, "could not remove the webhook registration");
        }
    }
}

/// Attaches to the cluster: fetches the issuer's keys, starts the platform's writer and the
/// webhook (on a task in `tasks`, stopped by `cancel`), registers the webhook and waits
/// until the API server calls it.
pub async fn attach(
    config: &ClusterConfig,
    webhook: admission::OptionsSource,
    tasks: &mut JoinSet<()>,
    cancel: CancellationToken,
) -> anyhow::Result<Attached> {
    let keys = keys::fetch(&config.issuer, &config.ca_pem, config.request_timeout)
        .await
        .with_context(|| format!("fetching the keys of issuer {}", config.issuer))?;
    let client = kube::Client::try_from(config.kube.clone()).context("building a client")?;
    let writer = writer::ClusterWriter::start(config.kube.clone(), config.request_timeout)?;
    let writer: Arc<dyn ObjectWriter> = Arc::new(PostRendered::new(
        Arc::new(writer),
        config.workloads.clone(),
    ));

    let listener = admission::TlsListener::bind(&config.webhook_cert).await?;
    let addr = axum::serve::Listener::local_addr(&listener)?;
    let webhook_url = format!("https://{addr}{}", admission::MUTATE_PATH);
    let handler = admission::Handler::new(client.clone(), webhook);
    let router = admission::router(Arc::clone(&handler));
    tasks.spawn(async move {
        let result = axum::serve(listener, router)
            .with_graceful_shutdown(cancel.cancelled_owned())
            .await;
        if let Err(err) = result {
            tracing::error!(%err, "webhook listener stopped");
        }
    });

    let (label_key, label_value) = (&config.run_label.0, &config.run_label.1);
    let name = format!("rolecheck-pod-identity-{label_value}");
    let registration = admission::configuration(
        &name,
        &webhook_url,
        &config.webhook_cert.ca_bundle_pem,
        (label_key, label_value),
    );
    admission::register(&client, &registration).await?;
    let attached = Attached {
        writer,
        keys,
        webhook_url,
        webhook_configuration: name,
        client: client.clone(),
    };
    if let Err(err) = wait_until_called(&client, &handler, &config.run_label).await {
        attached.detach().await;
        return Err(err);
    }
    Ok(attached)
}

/// Dry-run creates a pod in a probe namespace the webhook selects until the API server has
/// called the webhook (a registration takes the API server a moment to pick up).
async fn wait_until_called(
    client: &kube::Client,
    handler: &admission::Handler,
    label: &(String, String),
) -> anyhow::Result<()> {
    let ns_name = format!("rolecheck-webhook-probe-{}", label.1);
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(ns_name.clone()),
            labels: Some([(label.0.clone(), label.1.clone())].into()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    match namespaces.create(&PostParams::default(), &namespace).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(err) => return Err(err).context("creating the webhook probe namespace"),
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns_name);
    let probe = Pod {
        metadata: ObjectMeta {
            name: Some("probe".to_owned()),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "probe".to_owned(),
                image: Some("probe".to_owned()),
                ..Container::default()
            }],
            automount_service_account_token: Some(false),
            ..PodSpec::default()
        }),
        ..Pod::default()
    };
    let dry_run = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let before = handler.reviews();
    let deadline = tokio::time::Instant::now() + WEBHOOK_EFFECTIVE_WITHIN;
    let outcome = loop {
        let last = match pods.create(&dry_run, &probe).await {
            Ok(_) => "a pod was admitted without calling the webhook".to_owned(),
            Err(err) => err.to_string(),
        };
        if handler.reviews() > before {
            break Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            break Err(anyhow::anyhow!(
                "the API server did not call the webhook within {WEBHOOK_EFFECTIVE_WITHIN:?} (last: {last})"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    if let Err(err) = namespaces
        .delete(&ns_name, &DeleteParams::background())
        .await
    {
        tracing::warn!(%err, namespace = %ns_name, "could not remove the webhook probe namespace");
    }
    outcome
}

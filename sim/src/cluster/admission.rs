//! The pod-identity webhook as a real admission webhook: AdmissionReview v1 over HTTPS on
//! loopback, registered with the cluster by a MutatingWebhookConfiguration.
//!
//! The API server sends every pod CREATE in the namespaces the configuration selects; the
//! handler looks the pod's ServiceAccount up in the cluster, runs [`crate::webhook::mutate`]
//! (the same function the sim's own admission path calls) and answers with a JSONPatch.
//! `failurePolicy: Fail`: when the webhook cannot be called, or cannot read the
//! ServiceAccount, the pod is refused with the reason, so a broken webhook is never silent.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhook, MutatingWebhookConfiguration, RuleWithOperations, WebhookClientConfig,
};
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::webhook::{WebhookOptions, mutate};

/// The path the API server posts AdmissionReviews to.
pub const MUTATE_PATH: &str = "/mutate";

/// How long the API server waits for the webhook (`timeoutSeconds`).
const CALL_TIMEOUT_SECONDS: i32 = 10;

/// How long one ServiceAccount lookup may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// The serving certificate of the webhook and the CA the API server verifies it with (PEM).
#[derive(Debug, Clone)]
pub struct ServingCert {
    /// Certificate chain (PEM), valid for `127.0.0.1`.
    pub cert_pem: Vec<u8>,
    /// Private key (PEM).
    pub key_pem: Vec<u8>,
    /// The CA bundle registered in the configuration's `caBundle` (PEM).
    pub ca_bundle_pem: Vec<u8>,
}

/// The webhook's settings at the time of a review (its flags, and the cluster's EKS Pod
/// Identity associations, which change while the sim runs).
pub type OptionsSource = Arc<dyn Fn() -> WebhookOptions + Send + Sync>;

/// What the handler needs.
pub struct Handler {
    client: kube::Client,
    options: OptionsSource,
    reviews: AtomicU64,
}

impl Handler {
    /// A handler looking ServiceAccounts up through `client`.
    pub fn new(client: kube::Client, options: OptionsSource) -> Arc<Self> {
        Arc::new(Self {
            client,
            options,
            reviews: AtomicU64::new(0),
        })
    }

    /// How many AdmissionReviews the handler answered.
    pub fn reviews(&self) -> u64 {
        self.reviews.load(Ordering::Relaxed)
    }
}

/// The webhook's HTTP routes.
pub fn router(handler: Arc<Handler>) -> Router {
    Router::new()
        .route(MUTATE_PATH, post(review))
        .with_state(handler)
}

async fn review(State(handler): State<Arc<Handler>>, Json(body): Json<Value>) -> Json<Value> {
    let request = body.get("request").cloned().unwrap_or(Value::Null);
    let uid = request.get("uid").cloned().unwrap_or(Value::from(""));
    let response = match answer(&handler, &request).await {
        Ok(patch) => {
            let mut response = json!({"uid": uid, "allowed": true});
            if let Some(patch) = patch {
                response["patchType"] = json!("JSONPatch");
                response["patch"] = json!(STANDARD.encode(patch.to_string()));
            }
            response
        }
        Err(message) => {
            tracing::warn!(%message, "pod-identity webhook refused a pod");
            json!({"uid": uid, "allowed": false, "status": {"code": 500, "message": message}})
        }
    };
    handler.reviews.fetch_add(1, Ordering::Relaxed);
    Json(json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": response,
    }))
}

/// The JSONPatch for one request (`None`: nothing to change), or why it failed.
async fn answer(handler: &Handler, request: &Value) -> Result<Option<Value>, String> {
    let kind = request.pointer("/kind/kind").and_then(Value::as_str);
    let operation = request.get("operation").and_then(Value::as_str);
    if kind != Some("Pod") || operation != Some("CREATE") {
        return Ok(None);
    }
    let object = request.get("object").cloned().unwrap_or(Value::Null);
    let mut pod: Pod =
        serde_json::from_value(object.clone()).map_err(|e| format!("not a pod: {e}"))?;
    let namespace = request
        .get("namespace")
        .and_then(Value::as_str)
        .or(pod.metadata.namespace.as_deref())
        .unwrap_or("default")
        .to_owned();
    let sa_name = pod
        .spec
        .as_ref()
        .and_then(|s| s.service_account_name.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".to_owned());
    let api: Api<ServiceAccount> = Api::namespaced(handler.client.clone(), &namespace);
    let sa = match tokio::time::timeout(LOOKUP_TIMEOUT, api.get_opt(&sa_name)).await {
        Ok(Ok(sa)) => sa,
        Ok(Err(err)) => {
            return Err(format!(
                "pod-identity webhook: reading ServiceAccount {namespace}/{sa_name}: {err}"
            ));
        }
        Err(_) => {
            return Err(format!(
                "pod-identity webhook: reading ServiceAccount {namespace}/{sa_name} took over {LOOKUP_TIMEOUT:?}"
            ));
        }
    };
    if !mutate(&mut pod, sa.as_ref(), &(handler.options)()) {
        return Ok(None);
    }
    json_patch(&object, &pod).map(Some)
}

/// A JSONPatch turning the pod as sent into the mutated pod: the webhook only changes the
/// containers, the init containers and the volumes, so those lists are replaced (or added).
fn json_patch(original: &Value, mutated: &Pod) -> Result<Value, String> {
    let spec = mutated.spec.as_ref().ok_or("the pod has no spec")?;
    let mut ops = Vec::new();
    let mut put = |field: &str, value: Value| {
        let exists = original.pointer(&format!("/spec/{field}")).is_some();
        let op = if exists { "replace" } else { "add" };
        ops.push(json!({"op": op, "path": format!("/spec/{field}"), "value": value}));
    };
    put("containers", encode(&spec.containers)?);
    if let Some(init) = &spec.init_containers {
        put("initContainers", encode(init)?);
    }
    if let Some(volumes) = &spec.volumes {
        put("volumes", encode(volumes)?);
    }
    Ok(Value::Array(ops))
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Value, String> {
    serde_json::to_value(value).map_err(|e| format!("encoding the patch: {e}"))
}

/// A TCP listener that completes a TLS handshake before handing a connection to axum.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl TlsListener {
    /// Binds `127.0.0.1:0` with `cert`.
    pub async fn bind(cert: &ServingCert) -> anyhow::Result<Self> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert.cert_pem)
            .collect::<Result<_, _>>()
            .context("reading the webhook certificate")?;
        let key =
            PrivateKeyDer::from_pem_slice(&cert.key_pem).context("reading the webhook key")?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS versions")?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .context("the webhook's certificate and key")?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let tcp = TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("binding the webhook's port")?;
        Ok(Self {
            tcp,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = match self.tcp.accept().await {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::debug!(%err, "webhook accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            };
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(stream)).await {
                Ok(Ok(tls)) => return (tls, addr),
                Ok(Err(err)) => tracing::debug!(%err, "webhook TLS handshake failed"),
                Err(_) => tracing::debug!("webhook TLS handshake timed out"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// The MutatingWebhookConfiguration that sends pod CREATEs in namespaces labelled
/// `label` to `url`.
pub fn configuration(
    name: &str,
    url: &str,
    ca_bundle_pem: &[u8],
    label: (&str, &str),
) -> MutatingWebhookConfiguration {
    MutatingWebhookConfiguration {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some([(label.0.to_owned(), label.1.to_owned())].into()),
            ..ObjectMeta::default()
        },
        webhooks: Some(vec![MutatingWebhook {
            name: "pod-identity-webhook.rolecheck.io".to_owned(),
            admission_review_versions: vec!["v1".to_owned()],
            client_config: WebhookClientConfig {
                url: Some(url.to_owned()),
                ca_bundle: Some(ByteString(ca_bundle_pem.to_vec())),
                service: None,
            },
            failure_policy: Some("Fail".to_owned()),
            side_effects: "None".to_owned(),
            timeout_seconds: Some(CALL_TIMEOUT_SECONDS),
            namespace_selector: Some(LabelSelector {
                match_labels: Some([(label.0.to_owned(), label.1.to_owned())].into()),
                match_expressions: None,
            }),
            rules: Some(vec![RuleWithOperations {
                api_groups: Some(vec![String::new()]),
                api_versions: Some(vec!["v1".to_owned()]),
                operations: Some(vec!["CREATE".to_owned()]),
                resources: Some(vec!["pods".to_owned()]),
                scope: Some("Namespaced".to_owned()),
            }]),
            ..MutatingWebhook::default()
        }]),
    }
}

/// Registers `config` (replacing one of the same name that a killed run of the same id
/// left behind is not needed: names carry the run id).
pub async fn register(
    client: &kube::Client,
    config: &MutatingWebhookConfiguration,
) -> anyhow::Result<()> {
    let api: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    tokio::time::timeout(LOOKUP_TIMEOUT, api.create(&PostParams::default(), config))
        .await
        .context("registering the webhook timed out")?
        .context("registering the MutatingWebhookConfiguration")?;
    Ok(())
}

/// Removes the configuration `name` (gone already is fine).
pub async fn unregister(client: &kube::Client, name: &str) -> anyhow::Result<()> {
    let api: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    match tokio::time::timeout(LOOKUP_TIMEOUT, api.delete(name, &DeleteParams::default())).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(kube::Error::Api(status))) if status.code == 404 => Ok(()),
        Ok(Err(err)) => Err(err).context("removing the MutatingWebhookConfiguration"),
        Err(_) => Err(anyhow::anyhow!(
            "removing the webhook configuration timed out"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};

    #[test]
    fn patch_replaces_existing_lists_and_adds_missing_ones() {
        let original = json!({"spec": {"containers": [{"name": "c"}]}});
        let pod = Pod {
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".to_owned(),
                    ..Container::default()
                }],
                volumes: Some(vec![]),
                ..PodSpec::default()
            }),
            ..Pod::default()
        };
        let patch = json_patch(&original, &pod).unwrap();
        assert_eq!(patch[0]["op"], "replace");
        assert_eq!(patch[0]["path"], "/spec/containers");
        assert_eq!(patch[1]["op"], "add");
        assert_eq!(patch[1]["path"], "/spec/volumes");
    }

    #[test]
    fn configuration_fails_closed_and_selects_the_run() {
        let c = configuration("n", "https://127.0.0.1:1/mutate", b"pem", ("k", "v"));
        let hook = &c.webhooks.unwrap()[0];
        assert_eq!(hook.failure_policy.as_deref(), Some("Fail"));
        assert_eq!(
            hook.namespace_selector.as_ref().unwrap().match_labels,
            Some([("k".to_owned(), "v".to_owned())].into())
        );
    }
}

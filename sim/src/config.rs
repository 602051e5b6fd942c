//! How one sim instance is set up: the environment a platform team would have built by
//! following the documents (account, region, OIDC provider, roles, platform config).

use std::time::Duration;

use crate::faults::FaultSet;
use crate::kube::KubeOptions;
use crate::platform::PlatformOptions;

/// A role to create in the sim's IAM at start-up, as an administrator would have done by
/// following the documents.
#[derive(Debug, Clone)]
pub struct RoleSeed {
    /// Role name (the last part of `arn:aws:iam::<account>:role/<name>`).
    pub name: String,
    /// The trust policy document (JSON text).
    pub trust_policy: String,
    /// Permission policy documents (JSON text) attached to the role.
    pub permission_policies: Vec<String>,
}

/// Everything that shapes one sim instance.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Switches that break documented behaviour on purpose.
    pub faults: FaultSet,
    /// AWS account id (12 digits).
    pub account_id: String,
    /// AWS region of the "cluster".
    pub region: String,
    /// The id part of the EKS-style OIDC issuer `https://oidc.eks.<region>.amazonaws.com/id/<id>`.
    pub oidc_id: String,
    /// Platform config `astronomer.houston.config.deployments.serviceAccountAnnotationKey`;
    /// `None` means the key is not set (the feature is off).
    pub service_account_annotation_key: Option<String>,
    /// Houston's `deployments.manualReleaseNames`: off (Houston's default), the platform
    /// names every release itself (`<adjective>-<noun>-<4 digits>`) and ignores a requested
    /// `releaseName`; on, it honours it.
    pub manual_release_names: bool,
    /// The Airflow chart's `workers.persistence.enabled` as the platform installs it: on (the
    /// chart's default), Celery workers are a StatefulSet; off, a Deployment.
    pub worker_persistence: bool,
    /// The namespace the platform itself is installed in; each deployment's namespace is
    /// `<platform namespace>-<release>` (the documents show `astronomer-...`).
    pub platform_namespace: String,
    /// How long a pod stays Pending before it turns Running.
    pub pod_start_delay: Duration,
    /// The webhook's informer lag (issue 4 §3), off when zero (the default).
    ///
    /// The real amazon-eks-pod-identity-webhook looks ServiceAccounts up in an informer
    /// cache, which lags behind the API server: a pod created in the same instant as its
    /// ServiceAccount's `eks.amazonaws.com/role-arn` annotation can be admitted without the
    /// env vars and token volume. With a non-zero delay the sim's webhook sees each
    /// ServiceAccount as it was `webhook_lookup_delay` ago on the sim clock (which
    /// `/_sim/clock` advances): a pod created right after the annotation is not mutated,
    /// one created once the delay has passed is.
    pub webhook_lookup_delay: Duration,
    /// The webhook's `--service-account-lookup-grace-period` (off when zero, its default):
    /// a pod whose ServiceAccount is not in the webhook's cache yet (created right before
    /// the pod) waits for it, and the webhook fetches it from the API server. A
    /// ServiceAccount the cache holds in an older version is not waited for.
    pub webhook_lookup_grace: Duration,
    /// Region the webhook injects as `AWS_REGION`/`AWS_DEFAULT_REGION`, if any.
    pub webhook_default_region: Option<String>,
    /// Whether the webhook injects `AWS_STS_REGIONAL_ENDPOINTS=regional` by default.
    pub webhook_sts_regional_endpoints: bool,
    /// Roles created in IAM at start-up.
    pub roles: Vec<RoleSeed>,
    /// S3 buckets that exist from the start (empty), in `region`: the documents'
    /// `astronomer-bucket` and `other-bucket`, which the documented policy does not grant.
    pub s3_buckets: Vec<String>,
    /// Base port: when set, the APIs listen on `base`, `base+1`, `base+2` (and the platform
    /// without an annotation key on `base+3`); otherwise on
    /// random free loopback ports.
    pub port_base: Option<u16>,
    /// A real cluster to attach to (the `local` target): the platform installs there, the
    /// webhook is its admission webhook, STS trusts its issuer. `None`: the sim's own.
    pub cluster: Option<crate::cluster::ClusterConfig>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            faults: FaultSet::none(),
            account_id: "123456789012".to_owned(),
            region: "us-west-2".to_owned(),
            oidc_id: random_oidc_id(),
            service_account_annotation_key: Some("eks.amazonaws.com/role-arn".to_owned()),
            manual_release_names: false,
            worker_persistence: true,
            platform_namespace: "astronomer".to_owned(),
            pod_start_delay: Duration::from_millis(20),
            webhook_lookup_delay: Duration::ZERO,
            webhook_lookup_grace: Duration::ZERO,
            webhook_default_region: None,
            webhook_sts_regional_endpoints: false,
            roles: Vec::new(),
            s3_buckets: vec!["astronomer-bucket".to_owned(), "other-bucket".to_owned()],
            port_base: None,
            cluster: None,
        }
    }
}

impl SimConfig {
    /// The OIDC issuer host and path, as it appears in provider ARNs and condition keys
    /// (`oidc.eks.<region>.amazonaws.com/id/<id>`).
    pub fn oidc_provider(&self) -> String {
        format!("oidc.eks.{}.amazonaws.com/id/{}", self.region, self.oidc_id)
    }

    /// The issuer URL that tokens carry in `iss`.
    pub fn oidc_issuer_url(&self) -> String {
        format!("https://{}", self.oidc_provider())
    }

    /// The IAM OIDC provider ARN.
    pub fn oidc_provider_arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:oidc-provider/{}",
            self.account_id,
            self.oidc_provider()
        )
    }
}

/// 32 upper-case hex characters, like an EKS OIDC id.
fn random_oidc_id() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

// Each component's options, resolved once from the sim's settings (the components never
// read `SimConfig` themselves).

impl KubeOptions {
    /// Derives the options from the sim config.
    pub fn from_config(config: &SimConfig) -> Self {
        Self {
            faults: config.faults.clone(),
            pod_start_delay: config.pod_start_delay,
            webhook_lookup_delay: config.webhook_lookup_delay,
            webhook_lookup_grace: config.webhook_lookup_grace,
            account_id: config.account_id.clone(),
            region: config.region.clone(),
            webhook_default_region: config.webhook_default_region.clone(),
            webhook_sts_regional_endpoints: config.webhook_sts_regional_endpoints,
        }
    }
}

impl PlatformOptions {
    /// Derives the options from the sim config.
    pub fn from_config(config: &SimConfig) -> Self {
        Self {
            annotation_key: config.service_account_annotation_key.clone(),
            faults: config.faults.clone(),
            base_domain: "rolecheck.invalid".to_owned(),
            version: crate::platform::PLATFORM_VERSION.to_owned(),
            manual_release_names: config.manual_release_names,
            worker_persistence: config.worker_persistence,
            platform_namespace: config.platform_namespace.clone(),
        }
    }
}

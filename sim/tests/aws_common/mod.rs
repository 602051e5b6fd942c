//! Shared plumbing of the AWS client tests: a sim with the documented role created through
//! IAM, ServiceAccount tokens from the Kubernetes TokenRequest API, and SDK clients.

#![allow(dead_code)]

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use rolecheck_sim::{Endpoints, Sim, SimConfig};
use serde_json::{Value, json};

/// The role name the tests create (the documents call theirs `example-role`).
pub const ROLE: &str = "example-role";

/// The documents' permission policy, with the bucket as `{{bucket}}` (the tests fill in
/// `astronomer-bucket`).
pub const S3_POLICY: &str = include_str!("../../../fixtures/policies/s3-policy.json");

/// The documents' trust policy, with `{{account}}`, `{{oidc_provider}}` and
/// `{{release_namespaces}}` (the default platform namespace's `astronomer-*`) to fill.
const TRUST_POLICY: &str = include_str!("../../../fixtures/policies/trust-policy.json");

/// A running sim with the documented role.
pub struct Env {
    /// The sim.
    pub sim: Sim,
    /// The documented role's ARN.
    pub role_arn: String,
    http: reqwest::Client,
}

impl Env {
    /// Starts a default sim and creates the documented role through aws-sdk-iam.
    pub async fn start() -> Self {
        let sim = Sim::start(SimConfig::default()).await.expect("sim starts");
        let ep = sim.endpoints().clone();
        let provider = ep.oidc_issuer.trim_start_matches("https://");
        let trust = TRUST_POLICY
            .replace("{{account}}", &ep.account_id)
            .replace("{{oidc_provider}}", provider)
            .replace("{{release_namespaces}}", "astronomer-*");
        let iam = aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::Config::builder()
                .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
                .region(aws_sdk_iam::config::Region::new(ep.region.clone()))
                .endpoint_url(&ep.aws_url)
                .credentials_provider(aws_sdk_iam::config::Credentials::new(
                    &ep.aws_access_key_id,
                    &ep.aws_secret_access_key,
                    None,
                    None,
                    "test",
                ))
                .build(),
        );
        let role = iam
            .create_role()
            .role_name(ROLE)
            .assume_role_policy_document(trust)
            .send()
            .await
            .expect("CreateRole");
        let role_arn = role.role().expect("a role").arn().to_owned();
        iam.put_role_policy()
            .role_name(ROLE)
            .policy_name("astronomer-bucket")
            .policy_document(S3_POLICY.replace("{{bucket}}", "astronomer-bucket"))
            .send()
            .await
            .expect("PutRolePolicy");
        Self {
            sim,
            role_arn,
            http: reqwest::Client::new(),
        }
    }

    /// The sim's endpoints.
    pub fn endpoints(&self) -> &Endpoints {
        self.sim.endpoints()
    }

    async fn kube_post(&self, path: &str, body: Value) -> Value {
        let ep = self.endpoints();
        let response = self
            .http
            .post(format!("{}{path}", ep.kube_url))
            .bearer_auth(&ep.kube_token)
            .json(&body)
            .send()
            .await
            .expect("Kubernetes API answers");
        let status = response.status();
        let body: Value = response.json().await.expect("JSON body");
        assert!(
            status.is_success() || status.as_u16() == 409,
            "{path}: {status} {body}"
        );
        body
    }

    /// Creates namespace `namespace` and ServiceAccount `name` in it, and returns a token
    /// for it with audience `sts.amazonaws.com` (what the projected volume holds).
    pub async fn service_account_token(&self, namespace: &str, name: &str) -> String {
        self.kube_post(
            "/api/v1/namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
        )
        .await;
        self.kube_post(
            &format!("/api/v1/namespaces/{namespace}/serviceaccounts"),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}),
        )
        .await;
        let issued = self
            .kube_post(
                &format!("/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"),
                json!({
                    "apiVersion": "authentication.k8s.io/v1",
                    "kind": "TokenRequest",
                    "spec": {"audiences": ["sts.amazonaws.com"], "expirationSeconds": 3600}
                }),
            )
            .await;
        issued["status"]["token"]
            .as_str()
            .expect("a token in the TokenRequest status")
            .to_owned()
    }

    /// Assumes the documented role with a token of `astronomer-x/worker`; returns the
    /// temporary credentials.
    pub async fn assume(&self) -> Credentials {
        self.assume_with_policy(None)
            .await
            .expect("AssumeRoleWithWebIdentity")
    }

    /// Assumes the documented role with an optional `Policy` session parameter; returns the
    /// credentials or STS's error code.
    pub async fn assume_with_policy(&self, policy: Option<&str>) -> Result<Credentials, String> {
        use aws_sdk_sts::error::ProvideErrorMetadata as _;
        let token = self.service_account_token("astronomer-x", "worker").await;
        let ep = self.endpoints();
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::Config::builder()
                .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
                .region(aws_sdk_sts::config::Region::new(ep.region.clone()))
                .endpoint_url(&ep.aws_url)
                .allow_no_auth()
                .build(),
        );
        let out = sts
            .assume_role_with_web_identity()
            .role_arn(&self.role_arn)
            .role_session_name("s3-test")
            .web_identity_token(token)
            .set_policy(policy.map(str::to_owned))
            .send()
            .await
            .map_err(|e| e.code().unwrap_or("<no code>").to_owned())?;
        let c = out.credentials().expect("credentials");
        Ok(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            None,
            "assumed-role",
        ))
    }

    /// An S3 client for the sim (path style) with `credentials`.
    pub fn s3(&self, credentials: Credentials) -> aws_sdk_s3::Client {
        let ep = self.endpoints();
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new(ep.region.clone()))
                .endpoint_url(&ep.s3_url)
                .force_path_style(true)
                .credentials_provider(credentials)
                .build(),
        )
    }
}

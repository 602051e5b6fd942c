//! STS over the wire, driven by aws-sdk-sts: the documented IRSA trust policy, every error
//! code of `AssumeRoleWithWebIdentity` and `GetCallerIdentity`, and the four STS faults.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use aws_sdk_sts::Client;
use aws_sdk_sts::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sts::error::ProvideErrorMetadata as _;
use chrono::{TimeDelta, Utc};
use rolecheck_sim::aws_endpoint::{self, AwsEndpoint};
use rolecheck_sim::iam::Iam;
use rolecheck_sim::oidc::Issuer;
use rolecheck_sim::sts::{self, AwsState};
use rolecheck_sim::{Fault, FaultSet};
use rstest::rstest;
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";
const PROVIDER: &str = "oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF";
const ROLE: &str = "astronomer-role";
const SUB: &str =
    "system:serviceaccount:astronomer-arithmetic-radiation-6756:arithmetic-radiation-6756-worker";

fn provider_arn() -> String {
    format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{PROVIDER}")
}

fn role_arn() -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{ROLE}")
}

/// The trust policy the platform guide documents.
fn documented_trust_policy() -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn()},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {format!("{PROVIDER}:sub"): "system:serviceaccount:astronomer-*:*"}}
        }]
    })
    .to_string()
}

/// A running AWS endpoint with one OIDC provider and the documented role.
struct Env {
    url: String,
    issuer: Arc<Issuer>,
    /// Seconds added to the wall clock STS reads.
    skew: Arc<AtomicI64>,
    /// The administrator's long-term key.
    admin: sts::AdminKey,
    _server: tokio::task::JoinHandle<()>,
}

impl Env {
    async fn start(faults: FaultSet) -> Self {
        let issuer = Arc::new(Issuer::new(format!("https://{PROVIDER}")).unwrap());
        let iam = Arc::new(Iam::new(ACCOUNT.to_owned()));
        iam.create_open_id_connect_provider(issuer.url(), &["sts.amazonaws.com".to_owned()])
            .unwrap();
        iam.create_role(ROLE, &documented_trust_policy()).unwrap();
        let skew = Arc::new(AtomicI64::new(0));
        let clock_skew = Arc::clone(&skew);
        let state =
            AwsState::with_keys(faults, iam, Arc::clone(&issuer) as Arc<dyn sts::KeySource>)
                .with_clock(Arc::new(move || {
                    Utc::now() + TimeDelta::seconds(clock_skew.load(Ordering::SeqCst))
                }));
        let admin = state.admin_key().clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, aws_endpoint::router(AwsEndpoint::new(state)))
                .await
                .unwrap();
        });
        Self {
            url,
            issuer,
            skew,
            admin,
            _server: server,
        }
    }

    fn client(&self, credentials: Credentials) -> Client {
        let config = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-west-2"))
            .endpoint_url(&self.url)
            .credentials_provider(credentials)
            .build();
        Client::from_conf(config)
    }

    fn anonymous(&self) -> Client {
        self.client(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
    }

    fn token(&self, overrides: Value) -> String {
        let now = Utc::now().timestamp();
        let mut claims = json!({
            "iss": self.issuer.url(),
            "sub": SUB,
            "aud": ["sts.amazonaws.com"],
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "kubernetes.io": {"namespace": "astronomer-arithmetic-radiation-6756"}
        });
        if let (Some(target), Some(changes)) = (claims.as_object_mut(), overrides.as_object()) {
            for (k, v) in changes {
                if v.is_null() {
                    target.remove(k);
                } else {
                    target.insert(k.clone(), v.clone());
                }
            }
        }
        self.issuer.sign(&claims).unwrap()
    }

    async fn assume(
        &self,
        role: &str,
        token: String,
    ) -> Result<
        aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityOutput,
        (String, u16, String),
    > {
        self.anonymous()
            .assume_role_with_web_identity()
            .role_arn(role)
            .role_session_name("botocore-session-1")
            .web_identity_token(token)
            .send()
            .await
            .map_err(|e| {
                let status = e.raw_response().map_or(0, |r| r.status().as_u16());
                let service = e.into_service_error();
                (
                    service.code().unwrap_or_default().to_owned(),
                    status,
                    service.message().unwrap_or_default().to_owned(),
                )
            })
    }
}

/// Signs a token with a key STS does not trust but the same `kid` and issuer.
fn forge(token: &str, claims: Value) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    )
}

#[tokio::test]
async fn documented_role_is_assumed_and_credentials_identify_the_role() {
    let env = Env::start(FaultSet::none()).await;
    let out = env.assume(&role_arn(), env.token(json!({}))).await.unwrap();
    let creds = out.credentials().unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"));
    assert_eq!(out.subject_from_web_identity_token(), Some(SUB));
    assert_eq!(out.audience(), Some("sts.amazonaws.com"));
    assert_eq!(out.provider(), Some(provider_arn().as_str()));
    let user = out.assumed_role_user().unwrap();
    let expected_arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/botocore-session-1");
    assert_eq!(user.arn(), expected_arn);
    assert!(user.assumed_role_id().starts_with("AROA"));
    assert!(user.assumed_role_id().ends_with(":botocore-session-1"));

    let signed = env.client(Credentials::new(
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(creds.session_token().to_owned()),
        None,
        "assumed",
    ));
    let me = signed.get_caller_identity().send().await.unwrap();
    assert_eq!(me.arn(), Some(expected_arn.as_str()));
    assert_eq!(me.account(), Some(ACCOUNT));
    assert_eq!(me.user_id(), Some(user.assumed_role_id()));
}

#[derive(Debug, Clone, Copy)]
enum Case {
    TamperedSignature,
    ForeignKey,
    UnknownIssuer,
    Expired,
    NotYetValid,
    WrongAudience,
    SubOutsideAstronomer,
    MissingRole,
    NotAJwt,
}

#[rstest]
#[case::tampered_signature(Case::TamperedSignature, "InvalidIdentityToken", 400)]
#[case::foreign_key(Case::ForeignKey, "InvalidIdentityToken", 400)]
#[case::unknown_issuer(Case::UnknownIssuer, "InvalidIdentityToken", 400)]
#[case::expired(Case::Expired, "ExpiredTokenException", 400)]
#[case::not_yet_valid(Case::NotYetValid, "InvalidIdentityToken", 400)]
#[case::wrong_audience(Case::WrongAudience, "InvalidIdentityToken", 400)]
#[case::sub_outside_astronomer(Case::SubOutsideAstronomer, "AccessDenied", 403)]
#[case::missing_role(Case::MissingRole, "AccessDenied", 403)]
#[case::not_a_jwt(Case::NotAJwt, "InvalidIdentityToken", 400)]
#[tokio::test]
async fn refused_tokens_get_the_aws_error(
    #[case] case: Case,
    #[case] code: &str,
    #[case] status: u16,
) {
    let env = Env::start(FaultSet::none()).await;
    let (role, token) = bad_request(&env, case);
    let (got_code, got_status, message) = env.assume(&role, token).await.unwrap_err();
    assert_eq!((got_code.as_str(), got_status), (code, status), "{message}");
    match case {
        Case::UnknownIssuer => assert!(
            message.starts_with("No OpenIDConnect provider found in your account for https://"),
            "{message}"
        ),
        Case::Expired => assert!(
            message.starts_with("Token expired: current date/time"),
            "{message}"
        ),
        Case::WrongAudience => assert_eq!(message, "Incorrect token audience"),
        Case::SubOutsideAstronomer | Case::MissingRole => {
            assert_eq!(
                message,
                "Not authorized to perform sts:AssumeRoleWithWebIdentity"
            );
        }
        _ => {}
    }
}

fn bad_request(env: &Env, case: Case) -> (String, String) {
    let now = Utc::now().timestamp();
    let token = match case {
        Case::TamperedSignature => {
            let good = env.token(json!({}));
            forge(
                &good,
                json!({"iss": env.issuer.url(), "sub": "system:serviceaccount:astronomer-other:x", "aud": "sts.amazonaws.com", "exp": now + 3600}),
            )
        }
        Case::ForeignKey => {
            let other = Issuer::new(env.issuer.url().to_owned()).unwrap();
            other.sign(&json!({"iss": env.issuer.url(), "sub": SUB, "aud": "sts.amazonaws.com", "exp": now + 3600})).unwrap()
        }
        Case::UnknownIssuer => {
            env.token(json!({"iss": "https://oidc.eks.us-east-1.amazonaws.com/id/NOPE"}))
        }
        Case::Expired => env.token(json!({"exp": now - 600, "iat": now - 4200, "nbf": now - 4200})),
        Case::NotYetValid => env.token(json!({"nbf": now + 600})),
        Case::WrongAudience => env.token(json!({"aud": ["https://kubernetes.default.svc"]})),
        Case::SubOutsideAstronomer => env.token(json!({"sub": "system:serviceaccount:default:x"})),
        Case::MissingRole => env.token(json!({})),
        Case::NotAJwt => "not-a-jwt".to_owned(),
    };
    let role = match case {
        Case::MissingRole => format!("arn:aws:iam::{ACCOUNT}:role/no-such-role"),
        _ => role_arn(),
    };
    (role, token)
}

#[rstest]
#[case::any_signature(Fault::StsAcceptsAnySignature, Case::TamperedSignature)]
#[case::any_signature_foreign_key(Fault::StsAcceptsAnySignature, Case::ForeignKey)]
#[case::ignores_sub(Fault::StsIgnoresSubCondition, Case::SubOutsideAstronomer)]
#[case::ignores_expiry(Fault::StsIgnoresExpiry, Case::Expired)]
#[case::ignores_audience(Fault::StsIgnoresAudience, Case::WrongAudience)]
#[tokio::test]
async fn each_fault_lets_its_bad_token_through(#[case] fault: Fault, #[case] case: Case) {
    let healthy = Env::start(FaultSet::none()).await;
    let (role, token) = bad_request(&healthy, case);
    assert!(healthy.assume(&role, token).await.is_err());

    let broken = Env::start(FaultSet::only(fault)).await;
    let (role, token) = bad_request(&broken, case);
    let out = broken.assume(&role, token).await.unwrap();
    assert!(
        out.credentials()
            .unwrap()
            .access_key_id()
            .starts_with("ASIA")
    );
}

#[rstest]
#[case::ignores_sub_but_checks_expiry(
    Fault::StsIgnoresSubCondition,
    Case::Expired,
    "ExpiredTokenException"
)]
#[case::ignores_expiry_but_checks_audience(
    Fault::StsIgnoresExpiry,
    Case::WrongAudience,
    "InvalidIdentityToken"
)]
#[case::ignores_audience_but_checks_signature(
    Fault::StsIgnoresAudience,
    Case::TamperedSignature,
    "InvalidIdentityToken"
)]
#[case::any_signature_but_checks_sub(
    Fault::StsAcceptsAnySignature,
    Case::SubOutsideAstronomer,
    "AccessDenied"
)]
#[tokio::test]
async fn each_fault_breaks_only_its_own_check(
    #[case] fault: Fault,
    #[case] case: Case,
    #[case] code: &str,
) {
    let env = Env::start(FaultSet::only(fault)).await;
    let (role, token) = bad_request(&env, case);
    assert_eq!(env.assume(&role, token).await.unwrap_err().0, code);
}

#[tokio::test]
async fn parameter_errors_are_validation_errors() {
    let env = Env::start(FaultSet::none()).await;
    let err = env
        .anonymous()
        .assume_role_with_web_identity()
        .role_arn(role_arn())
        .role_session_name("x")
        .web_identity_token(env.token(json!({})))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.into_service_error().code(), Some("ValidationError"));
    let err = env
        .anonymous()
        .assume_role_with_web_identity()
        .role_arn(role_arn())
        .role_session_name("session")
        .web_identity_token(env.token(json!({})))
        .duration_seconds(60)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.into_service_error().code(), Some("ValidationError"));
}

async fn caller_error(client: &Client) -> (String, u16) {
    let err = client.get_caller_identity().send().await.unwrap_err();
    let status = err.raw_response().map_or(0, |r| r.status().as_u16());
    (
        err.into_service_error()
            .code()
            .unwrap_or_default()
            .to_owned(),
        status,
    )
}

#[tokio::test]
async fn get_caller_identity_checks_key_signature_token_and_expiry() {
    let env = Env::start(FaultSet::none()).await;
    let out = env.assume(&role_arn(), env.token(json!({}))).await.unwrap();
    let creds = out.credentials().unwrap();
    let with = |key: &str, secret: &str, token: &str| {
        env.client(Credentials::new(
            key,
            secret,
            Some(token.to_owned()),
            None,
            "t",
        ))
    };
    let (key, secret, token) = (
        creds.access_key_id(),
        creds.secret_access_key(),
        creds.session_token(),
    );

    assert_eq!(
        caller_error(&env.anonymous()).await,
        ("InvalidClientTokenId".to_owned(), 403)
    );
    assert_eq!(
        caller_error(&with(key, "wrong-secret", token)).await,
        ("SignatureDoesNotMatch".to_owned(), 403)
    );
    assert_eq!(
        caller_error(&with(key, secret, "other-token")).await,
        ("InvalidClientTokenId".to_owned(), 403)
    );
    assert!(
        with(key, secret, token)
            .get_caller_identity()
            .send()
            .await
            .is_ok()
    );

    // Move STS's clock past the session's end (default duration: one hour).
    env.skew.store(3601, Ordering::SeqCst);
    assert_eq!(
        caller_error(&with(key, secret, token)).await,
        ("ExpiredToken".to_owned(), 403)
    );
}

/// The operator's long-term key is the account's root user, as real STS answers
/// `GetCallerIdentity` for an account's access key; a wrong secret is refused.
#[tokio::test]
async fn get_caller_identity_answers_the_administrators_key_as_the_account_root() {
    let env = Env::start(FaultSet::none()).await;
    let admin = |secret: &str| {
        env.client(Credentials::new(
            env.admin.access_key_id.clone(),
            secret.to_owned(),
            None,
            None,
            "t",
        ))
    };
    let me = admin(&env.admin.secret_access_key)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(me.account(), Some(ACCOUNT));
    assert_eq!(me.user_id(), Some(ACCOUNT));
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:iam::{ACCOUNT}:root").as_str())
    );
    assert_eq!(
        caller_error(&admin("wrong-secret")).await,
        ("SignatureDoesNotMatch".to_owned(), 403)
    );
}

/// Creates a namespace and ServiceAccount in the sim's Kubernetes API and asks it for a
/// projected-style token with the given audience.
async fn service_account_token(
    endpoints: &rolecheck_sim::Endpoints,
    namespace: &str,
    name: &str,
) -> String {
    let http = reqwest::Client::new();
    let post = |path: String, body: Value| {
        http.post(format!("{}{path}", endpoints.kube_url))
            .bearer_auth(&endpoints.kube_token)
            .json(&body)
            .send()
    };
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
    let created = post("/api/v1/namespaces".to_owned(), ns).await.unwrap();
    assert!(created.status().is_success(), "{:?}", created.text().await);
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}});
    let created = post(
        format!("/api/v1/namespaces/{namespace}/serviceaccounts"),
        sa,
    )
    .await
    .unwrap();
    assert!(created.status().is_success(), "{:?}", created.text().await);
    let request = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"audiences": ["sts.amazonaws.com"], "expirationSeconds": 3600}});
    let issued: Value = post(
        format!("/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"),
        request,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    issued["status"]["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_started_sim_trusts_its_own_cluster_tokens() {
    let mut config = rolecheck_sim::SimConfig::default();
    let provider = config.oidc_provider();
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": config.oidc_provider_arn()},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {format!("{provider}:sub"): "system:serviceaccount:astronomer-*:*"}}
        }]
    });
    config.roles.push(rolecheck_sim::RoleSeed {
        name: "airflow".to_owned(),
        trust_policy: trust.to_string(),
        permission_policies: Vec::new(),
    });
    let sim = rolecheck_sim::Sim::start(config).await.unwrap();
    let endpoints = sim.endpoints().clone();
    let role = format!("arn:aws:iam::{}:role/airflow", endpoints.account_id);
    let sts = Client::from_conf(
        aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-west-2"))
            .endpoint_url(&endpoints.aws_url)
            .credentials_provider(Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            ))
            .build(),
    );
    let assume = |token: String| {
        sts.assume_role_with_web_identity()
            .role_arn(&role)
            .role_session_name("e2e")
            .web_identity_token(token)
            .send()
    };

    let token = service_account_token(&endpoints, "astronomer-e2e-1234", "e2e-1234-worker").await;
    let out = assume(token).await.unwrap();
    assert_eq!(
        out.subject_from_web_identity_token(),
        Some("system:serviceaccount:astronomer-e2e-1234:e2e-1234-worker")
    );
    let creds = out.credentials().unwrap();
    let signed = Client::from_conf(
        aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-west-2"))
            .endpoint_url(&endpoints.aws_url)
            .credentials_provider(Credentials::new(
                creds.access_key_id(),
                creds.secret_access_key(),
                Some(creds.session_token().to_owned()),
                None,
                "assumed",
            ))
            .build(),
    );
    let me = signed.get_caller_identity().send().await.unwrap();
    assert_eq!(
        me.arn(),
        Some(
            format!(
                "arn:aws:sts::{}:assumed-role/airflow/e2e",
                endpoints.account_id
            )
            .as_str()
        )
    );

    let outside = service_account_token(&endpoints, "team-b", "worker").await;
    let err = assume(outside).await.unwrap_err();
    assert_eq!(err.into_service_error().code(), Some("AccessDenied"));
    sim.shutdown().await;
}

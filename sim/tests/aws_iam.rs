//! IAM over the wire (aws-sdk-iam against a started sim) and the query protocol's error
//! handling (raw HTTP: missing or unknown action, malformed bodies, GET requests).

use aws_sdk_iam::Client;
use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
use rolecheck_sim::{Endpoints, RoleSeed, Sim, SimConfig};
use rstest::rstest;
use serde_json::json;

/// An IAM client signing with the sim's administrator key.
fn client(ep: &Endpoints) -> Client {
    client_with(ep, &ep.aws_access_key_id, &ep.aws_secret_access_key)
}

fn client_with(ep: &Endpoints, key: &str, secret: &str) -> Client {
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-west-2"))
        .endpoint_url(&ep.aws_url)
        .credentials_provider(Credentials::new(key, secret, None, None, "test"))
        .build();
    Client::from_conf(config)
}

fn trust_policy(provider_arn: &str, provider: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {format!("{provider}:sub"): "system:serviceaccount:astronomer-*:*"}}
        }]
    })
    .to_string()
}

const S3_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListBucket","s3:GetObject"],"Resource":["arn:aws:s3:::astronomer-bucket","arn:aws:s3:::astronomer-bucket/*"]}]}"#;

fn code<E: aws_sdk_iam::error::ProvideErrorMetadata>(err: E) -> String {
    err.code().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_sim_registers_its_oidc_provider_and_seeded_roles() {
    let mut config = SimConfig::default();
    let provider = config.oidc_provider();
    config.roles.push(RoleSeed {
        name: "seeded".to_owned(),
        trust_policy: trust_policy(&config.oidc_provider_arn(), &provider),
        permission_policies: vec![S3_POLICY.to_owned()],
    });
    let sim = Sim::start(config).await.unwrap();
    let endpoints = sim.endpoints().clone();
    let iam = client(&endpoints);

    let providers = iam.list_open_id_connect_providers().send().await.unwrap();
    let arns: Vec<&str> = providers
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn())
        .collect();
    assert_eq!(arns, [endpoints.oidc_provider_arn.as_str()]);
    let got = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&endpoints.oidc_provider_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(got.url(), Some(provider.as_str()));
    assert_eq!(got.client_id_list(), ["sts.amazonaws.com"]);

    let role = iam.get_role().role_name("seeded").send().await.unwrap();
    let role = role.role().unwrap();
    assert_eq!(
        role.arn(),
        format!("arn:aws:iam::{}:role/seeded", endpoints.account_id)
    );
    let policies = iam
        .list_role_policies()
        .role_name("seeded")
        .send()
        .await
        .unwrap();
    assert_eq!(policies.policy_names().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn role_lifecycle_through_the_sdk() {
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    let endpoints = sim.endpoints().clone();
    let iam = client(&endpoints);
    let provider = endpoints
        .oidc_issuer
        .trim_start_matches("https://")
        .to_owned();
    let trust = trust_policy(&endpoints.oidc_provider_arn, &provider);

    let created = iam
        .create_role()
        .role_name("airflow")
        .path("/astronomer/")
        .description("IRSA role")
        .assume_role_policy_document(&trust)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("team")
                .value("data")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let role = created.role().unwrap();
    assert_eq!(
        role.arn(),
        format!(
            "arn:aws:iam::{}:role/astronomer/airflow",
            endpoints.account_id
        )
    );
    assert!(role.role_id().starts_with("AROA"));

    // GetRole returns the trust policy URL-encoded, as AWS does.
    let got = iam.get_role().role_name("airflow").send().await.unwrap();
    let encoded = got
        .role()
        .unwrap()
        .assume_role_policy_document()
        .unwrap()
        .to_owned();
    assert!(encoded.starts_with("%7B"), "{encoded}");
    let decoded: serde_json::Value = serde_json::from_str(&percent_decode(&encoded)).unwrap();
    assert_eq!(
        decoded,
        serde_json::from_str::<serde_json::Value>(&trust).unwrap()
    );

    let err = iam
        .create_role()
        .role_name("airflow")
        .assume_role_policy_document(&trust)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err.into_service_error()), "EntityAlreadyExists");

    iam.put_role_policy()
        .role_name("airflow")
        .policy_name("s3")
        .policy_document(S3_POLICY)
        .send()
        .await
        .unwrap();
    let policy = iam
        .get_role_policy()
        .role_name("airflow")
        .policy_name("s3")
        .send()
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&percent_decode(policy.policy_document()))
            .unwrap(),
        serde_json::from_str::<serde_json::Value>(S3_POLICY).unwrap()
    );
    let err = iam
        .delete_role()
        .role_name("airflow")
        .send()
        .await
        .unwrap_err();
    let status = err.raw_response().map_or(0, |r| r.status().as_u16());
    assert_eq!(
        (code(err.into_service_error()), status),
        ("DeleteConflict".to_owned(), 409)
    );

    iam.tag_role()
        .role_name("airflow")
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("env")
                .value("prod")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let tags = iam
        .list_role_tags()
        .role_name("airflow")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = tags.tags().iter().map(|t| t.key()).collect();
    assert_eq!(keys, ["team", "env"]);

    iam.update_assume_role_policy()
        .role_name("airflow")
        .policy_document(&trust)
        .send()
        .await
        .unwrap();
    let roles = iam.list_roles().send().await.unwrap();
    assert_eq!(roles.roles().len(), 1);

    iam.delete_role_policy()
        .role_name("airflow")
        .policy_name("s3")
        .send()
        .await
        .unwrap();
    iam.delete_role().role_name("airflow").send().await.unwrap();
    let err = iam
        .get_role()
        .role_name("airflow")
        .send()
        .await
        .unwrap_err();
    let status = err.raw_response().map_or(0, |r| r.status().as_u16());
    assert_eq!(
        (code(err.into_service_error()), status),
        ("NoSuchEntity".to_owned(), 404)
    );
    sim.shutdown().await;
}

#[rstest]
#[case::not_json("{\"Statement\": [")]
#[case::no_statement(r#"{"Version":"2012-10-17"}"#)]
#[case::bad_effect(r#"{"Statement":[{"Effect":"Perhaps","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity"}]}"#)]
#[case::no_principal(
    r#"{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRoleWithWebIdentity"}]}"#
)]
#[tokio::test]
async fn malformed_trust_policies_are_refused(#[case] document: &str) {
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    let iam = client(sim.endpoints());
    let err = iam
        .create_role()
        .role_name("r")
        .assume_role_policy_document(document)
        .send()
        .await
        .unwrap_err();
    let status = err.raw_response().map_or(0, |r| r.status().as_u16());
    assert_eq!(
        (code(err.into_service_error()), status),
        ("MalformedPolicyDocument".to_owned(), 400)
    );
    sim.shutdown().await;
}

/// Sends a raw request and returns the status and body.
async fn raw(url: &str, body: &'static str, content_type: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[rstest]
#[case::unknown_action("Action=LaunchRockets&Version=2011-06-15", "InvalidAction")]
#[case::wrong_version("Action=GetRole&Version=2011-06-15&RoleName=x", "InvalidAction")]
#[case::missing_action("Version=2011-06-15", "MissingAction")]
#[case::garbage_body("%%%\u{0}\u{1}=&&==", "MissingAction")]
#[case::empty_body("", "MissingAction")]
#[case::missing_parameter(
    "Action=AssumeRoleWithWebIdentity&Version=2011-06-15",
    "ValidationError"
)]
#[tokio::test]
async fn protocol_errors_have_the_error_response_shape(
    #[case] body: &'static str,
    #[case] expected: &str,
) {
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    let (status, text) = raw(
        &sim.endpoints().aws_url,
        body,
        "application/x-www-form-urlencoded",
    )
    .await;
    assert_eq!(status, 400, "{text}");
    assert!(
        text.starts_with("<ErrorResponse xmlns=\"https://"),
        "{text}"
    );
    assert!(text.contains(&format!("<Code>{expected}</Code>")), "{text}");
    assert!(
        text.contains("<Type>Sender</Type>") && text.contains("<RequestId>"),
        "{text}"
    );
    sim.shutdown().await;
}

/// IAM requests are signature-checked like STS's: unsigned, unknown keys, wrong secrets and
/// STS session credentials are refused with AWS's codes; the administrator's key works.
#[tokio::test]
async fn iam_requests_are_signature_checked() {
    use aws_sdk_iam::error::ProvideErrorMetadata as _;
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    let ep = sim.endpoints().clone();
    let url = format!(
        "{}/?Action=ListOpenIDConnectProviders&Version=2010-05-08",
        ep.aws_url
    );
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("<Code>MissingAuthenticationToken</Code>"),
        "{text}"
    );
    assert!(
        text.starts_with("<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"),
        "{text}"
    );

    let code = |e: aws_sdk_iam::error::SdkError<_, _>| {
        let e: aws_sdk_iam::operation::list_roles::ListRolesError = e.into_service_error();
        e.code().unwrap_or_default().to_owned()
    };
    let unknown = client_with(&ep, "AKIAUNKNOWNKEY000000", "whatever");
    assert_eq!(
        code(unknown.list_roles().send().await.unwrap_err()),
        "InvalidClientTokenId"
    );
    let wrong = client_with(&ep, &ep.aws_access_key_id, "not-the-secret");
    assert_eq!(
        code(wrong.list_roles().send().await.unwrap_err()),
        "SignatureDoesNotMatch"
    );
    let admin = client(&ep);
    let providers = admin.list_open_id_connect_providers().send().await.unwrap();
    assert!(
        providers
            .open_id_connect_provider_list()
            .iter()
            .any(|p| p.arn() == Some(ep.oidc_provider_arn.as_str()))
    );
    sim.shutdown().await;
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

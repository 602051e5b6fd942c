//! The sim survives its clients: a GraphQL document cannot make it do unbounded work, and a
//! body over a listener's limit is answered in the error shape of the API it was sent to
//! (Kubernetes `Status`, STS/IAM `ErrorResponse`, S3 `Error`, GraphQL `errors`), never as
//! plain text.

use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use rolecheck_sim::{Sim, SimConfig};
use rstest::rstest;
use serde_json::{Value, json};

/// Bounds every request of these tests: an unresponsive sim fails the test, not hangs it.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(ANSWER_WITHIN)
        .build()
        .unwrap()
}

fn admin_token(sim: &Sim) -> String {
    sim.endpoints()
        .platform_users
        .iter()
        .find(|u| u.workspace_role == "WORKSPACE_ADMIN")
        .unwrap()
        .token
        .clone()
}

async fn graphql(sim: &Sim, query: &str) -> (u16, Value) {
    let response = client()
        .post(&sim.endpoints().platform_url)
        .header("authorization", admin_token(sim))
        .json(&json!({"query": query}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn deployment_count(sim: &Sim) -> usize {
    let query = format!(
        "{{ workspaceDeployments(workspaceUuid: \"{}\") {{ id }} }}",
        sim.endpoints().workspace_id
    );
    let (status, answer) = graphql(sim, &query).await;
    assert_eq!(status, 200, "{answer}");
    answer["data"]["workspaceDeployments"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .len()
}

/// 1000 aliased `createDeployment`s in one document: refused as a whole before any runs,
/// and the sim answers the next request at once.
#[tokio::test]
async fn a_document_of_many_aliased_mutations_is_refused_before_it_runs() {
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    let ws = sim.endpoints().workspace_id.clone();
    let fields: String = (0..1000)
        .map(|i| {
            format!(
                "m{i}: createDeployment(label: \"d{i}\", workspaceUuid: \"{ws}\", releaseName: \"alias-{i:04}\") {{ id }}\n"
            )
        })
        .collect();
    let (status, answer) = graphql(&sim, &format!("mutation {{\n{fields}}}")).await;
    assert_eq!(status, 200, "{answer}");
    let error = &answer["errors"][0];
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("too complex"),
        "{answer}"
    );
    assert_eq!(error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    assert_eq!(deployment_count(&sim).await, 0);
    sim.shutdown().await;
}

/// A few mutations in one document still run (the limit is on cost, not on aliases).
#[tokio::test]
async fn a_document_of_a_few_mutations_runs() {
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    let ws = sim.endpoints().workspace_id.clone();
    let fields: String = (0..3)
        .map(|i| {
            format!(
                "m{i}: createDeployment(label: \"d{i}\", workspaceUuid: \"{ws}\", releaseName: \"few-{i:04}\") {{ id releaseName }}\n"
            )
        })
        .collect();
    let (status, answer) = graphql(&sim, &format!("mutation {{\n{fields}}}")).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.get("errors").is_none(), "{answer}");
    assert_eq!(deployment_count(&sim).await, 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_document_nested_too_deep_is_refused() {
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    let mut selection = "name".to_owned();
    for _ in 0..20 {
        selection = format!("ofType {{ {selection} }}");
    }
    let query = format!("{{ __schema {{ types {{ fields {{ type {{ {selection} }} }} }} }} }}");
    let (status, answer) = graphql(&sim, &query).await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("nested too deep"),
        "{answer}"
    );
    sim.shutdown().await;
}

/// Which listener a too-large body goes to.
#[derive(Debug, Clone, Copy)]
enum Api {
    Kubernetes,
    Clock,
    Sts,
    Iam,
    S3,
    Platform,
}

#[rstest]
#[case::kubernetes(Api::Kubernetes, 3 * 1024 * 1024)]
#[case::clock(Api::Clock, 2 * 1024 * 1024)]
#[case::sts(Api::Sts, 16 * 1024 * 1024)]
#[case::iam(Api::Iam, 16 * 1024 * 1024)]
#[case::s3(Api::S3, 16 * 1024 * 1024)]
#[case::platform(Api::Platform, 2 * 1024 * 1024)]
#[tokio::test]
async fn a_body_over_the_limit_gets_the_apis_own_error_shape(
    #[case] api: Api,
    #[case] limit: usize,
) {
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    let e = sim.endpoints().clone();
    let padding = "a".repeat(limit + 1);
    let http = client();
    let request = match api {
        Api::Kubernetes => http
            .post(format!(
                "{}/api/v1/namespaces/default/configmaps",
                e.kube_url
            ))
            .bearer_auth(&e.kube_token)
            .header(CONTENT_TYPE, "application/json")
            .body(padding),
        Api::Clock => http
            .post(&e.clock_url)
            .bearer_auth(&e.kube_token)
            .header(CONTENT_TYPE, "application/json")
            .body(padding),
        Api::Sts => http
            .post(format!("{}/", e.aws_url))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!(
                "Action=GetCallerIdentity&Version=2011-06-15&Pad={padding}"
            )),
        Api::Iam => http
            .post(format!(
                "{}/?Action=ListRoles&Version=2010-05-08",
                e.aws_url
            ))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("Pad={padding}")),
        Api::S3 => http
            .put(format!("{}/some-bucket/some-key", e.s3_url))
            .body(padding),
        Api::Platform => http
            .post(&e.platform_url)
            .header(CONTENT_TYPE, "application/json")
            .body(padding),
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().await.unwrap();
    let context = format!("{api:?}: {status} {content_type}: {body}");
    match api {
        Api::Kubernetes | Api::Clock => {
            assert_eq!(status, 413, "{context}");
            assert!(content_type.starts_with("application/json"), "{context}");
            let status: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(status["kind"], "Status", "{context}");
            assert_eq!(status["reason"], "RequestEntityTooLarge", "{context}");
            assert_eq!(status["code"], 413, "{context}");
        }
        Api::Sts | Api::Iam => {
            assert_eq!(status, 413, "{context}");
            assert!(content_type.starts_with("text/xml"), "{context}");
            let namespace = match api {
                Api::Iam => "https://iam.amazonaws.com/doc/2010-05-08/",
                _ => "https://sts.amazonaws.com/doc/2011-06-15/",
            };
            assert!(
                body.starts_with(&format!("<ErrorResponse xmlns=\"{namespace}\"><Error><Type>Sender</Type><Code>RequestEntityTooLarge</Code>")),
                "{context}"
            );
        }
        Api::S3 => {
            assert_eq!(status, 400, "{context}");
            assert!(content_type.starts_with("application/xml"), "{context}");
            assert!(
                body.contains("<Error><Code>EntityTooLarge</Code>"),
                "{context}"
            );
        }
        Api::Platform => {
            assert_eq!(status, 413, "{context}");
            assert!(content_type.starts_with("application/json"), "{context}");
            let answer: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(
                answer["errors"][0]["extensions"]["code"], "PAYLOAD_TOO_LARGE",
                "{context}"
            );
        }
    }
    sim.shutdown().await;
}

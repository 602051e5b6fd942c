//! The sim's own administration surfaces, over HTTP: the clock endpoint that the token issuer
//! and STS share, and the second platform installation without `serviceAccountAnnotationKey`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rolecheck_sim::{Sim, SimConfig};
use rstest::rstest;
use serde_json::{Value, json};

async fn post_clock(sim: &Sim, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(&sim.endpoints().clock_url)
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// The `iat` claim of a token the cluster issues for `default/default` now.
async fn issued_at(sim: &Sim) -> i64 {
    let e = sim.endpoints();
    let url = format!(
        "{}/api/v1/namespaces/default/serviceaccounts/default/token",
        e.kube_url
    );
    let answer: Value = reqwest::Client::new()
        .post(url)
        .bearer_auth(&e.kube_token)
        .json(
            &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                      "spec": {"audiences": ["sts.amazonaws.com"]}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = answer["status"]["token"].as_str().unwrap();
    let claims = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
    claims["iat"].as_i64().unwrap()
}

#[tokio::test]
async fn advancing_the_clock_moves_token_issuance() {
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    let token = sim.endpoints().kube_token.clone();
    let before = issued_at(&sim).await;
    let (status, body) = post_clock(&sim, Some(&token), json!({"advance_seconds": 7200})).await;
    assert_eq!((status, &body), (200, &json!({"offsetSeconds": 7200})));
    let after = issued_at(&sim).await;
    assert!(after - before >= 7200, "iat {before} -> {after}");
    sim.shutdown().await;
}

/// A client cannot move the clock so far that "now" stops being a time: advances past the
/// cap are refused with a `Status`, and tokens are still issued afterwards.
#[tokio::test]
async fn the_clock_stops_at_its_cap_and_the_sim_keeps_answering() {
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    let token = sim.endpoints().kube_token.clone();
    let century = json!({"advance_seconds": 100_i64 * 365 * 24 * 3600});
    let mut refusal = None;
    // Without a cap, some 2,700 centuries make every later token request panic; with it the
    // third is refused.
    for _ in 0..3000 {
        let (status, body) = post_clock(&sim, Some(&token), century.clone()).await;
        if status != 200 {
            refusal = Some((status, body));
            break;
        }
    }
    let (status, body) = refusal.expect("the clock accepted 3000 centuries");
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["kind"], "Status");
    assert!(
        body["message"].as_str().unwrap().contains("was not moved"),
        "{body}"
    );
    let (_, offset) = post_clock(&sim, Some(&token), json!({"advance_seconds": 0})).await;
    let offset = offset["offsetSeconds"].as_i64().unwrap();
    assert_eq!(offset, 200 * 365 * 24 * 3600);
    let iat = issued_at(&sim).await;
    assert!(iat > offset, "iat {iat}");
    sim.shutdown().await;
}

#[rstest]
#[case::no_token(None, json!({"advance_seconds": 60}), 401)]
#[case::wrong_token(Some("nope"), json!({"advance_seconds": 60}), 401)]
#[case::backwards(Some("admin"), json!({"advance_seconds": -60}), 400)]
#[case::no_field(Some("admin"), json!({"seconds": 60}), 400)]
#[tokio::test]
async fn clock_refuses_bad_requests(
    #[case] token: Option<&str>,
    #[case] body: Value,
    #[case] code: u16,
) {
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    let admin = sim.endpoints().kube_token.clone();
    let token = token.map(|t| if t == "admin" { admin.as_str() } else { t });
    let (status, answer) = post_clock(&sim, token, body).await;
    assert_eq!(status, code, "{answer}");
    assert_eq!(answer["kind"], "Status");
    let (_, offset) = post_clock(&sim, Some(&admin), json!({"advance_seconds": 0})).await;
    assert_eq!(
        offset,
        json!({"offsetSeconds": 0}),
        "a refused request moved the clock"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn platform_without_annotation_key_stores_no_role() {
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    let keyless = &sim.endpoints().platform_without_annotation_key;
    let admin = keyless
        .users
        .iter()
        .find(|u| u.workspace_role == "WORKSPACE_ADMIN")
        .unwrap();
    let query = r#"mutation($ws: Uuid!, $role: String) {
        createDeployment(label: "keyless", workspaceUuid: $ws, releaseName: "keyless-0001",
                         config: {executor: "CeleryExecutor"}, cloudRole: $role) { id config } }"#;
    let answer: Value = reqwest::Client::new()
        .post(&keyless.url)
        .header("authorization", &admin.token)
        .json(&json!({"query": query, "variables": {
            "ws": keyless.workspace_id,
            "role": "arn:aws:iam::123456789:role/example-role",
        }}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(answer.get("errors").is_none(), "{answer}");
    assert_eq!(
        answer["data"]["createDeployment"]["config"],
        json!({"executor": "CeleryExecutor"})
    );
    // The documented platform's users are strangers to this installation.
    let other = &sim.endpoints().platform_users[0];
    let refused: Value = reqwest::Client::new()
        .post(&keyless.url)
        .header("authorization", &other.token)
        .json(&json!({"query": "{ workspaceDeployments(workspaceUuid: \"00000000-0000-0000-0000-000000000000\") { id } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(refused.get("errors").is_some(), "{refused}");
    sim.shutdown().await;
}

//! The webhook's informer-cache race (issue 4 §3), as a client creating objects over the
//! Kubernetes API sees it: with `webhook_lookup_delay` on, a pod created in the same instant
//! as its ServiceAccount's role annotation is admitted unmutated; once the delay has passed
//! on the sim clock (moved through `/_sim/clock`, no sleeping) new pods are mutated.
//! With the webhook's `--service-account-lookup-grace-period`, a pod whose ServiceAccount is
//! not in the cache yet (created right before the pod) is mutated after all, while a stale
//! cached version of an existing ServiceAccount is not waited for.

use std::time::Duration;

use rolecheck_sim::{Sim, SimConfig};
use rstest::rstest;
use serde_json::{Value, json};

const ARN: &str = "arn:aws:iam::123456789012:role/astronomer-race";

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if method == reqwest::Method::PATCH {
            request = request
                .header("content-type", "application/merge-patch+json")
                .body(body.to_string());
        } else {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{method} {path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// Moves the sim clock forward.
    async fn advance(&self, clock_url: &str, seconds: u64) {
        let advanced: Value = self
            .http
            .post(clock_url)
            .bearer_auth(&self.token)
            .json(&json!({"advance_seconds": seconds}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            advanced["offsetSeconds"].as_u64().unwrap() >= seconds,
            "{advanced}"
        );
    }

    /// Creates a pod under `race-sa` and returns its env var names.
    async fn pod_env(&self, name: &str) -> Vec<String> {
        let pod = self
            .send(
                reqwest::Method::POST,
                "/api/v1/namespaces/astronomer-race/pods",
                json!({"metadata": {"name": name}, "spec": {"serviceAccountName": "race-sa",
                    "containers": [{"name": "c", "image": "busybox"}]}}),
            )
            .await;
        pod["spec"]["containers"][0]["env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["name"].as_str().map(str::to_owned))
            .collect()
    }
}

#[rstest]
#[case::race_on(Duration::from_secs(60), false)]
#[case::race_off(Duration::ZERO, true)]
#[tokio::test]
async fn a_pod_created_with_the_annotation_races_the_webhook_cache(
    #[case] delay: Duration,
    #[case] same_instant_mutated: bool,
) {
    let sim = Sim::start(SimConfig {
        webhook_lookup_delay: delay,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let ep = sim.endpoints();
    let api = Api {
        http: reqwest::Client::new(),
        base: ep.kube_url.clone(),
        token: ep.kube_token.clone(),
    };
    api.send(
        reqwest::Method::POST,
        "/api/v1/namespaces",
        json!({"metadata": {"name": "astronomer-race"}}),
    )
    .await;
    api.send(
        reqwest::Method::POST,
        "/api/v1/namespaces/astronomer-race/serviceaccounts",
        json!({"metadata": {"name": "race-sa"}}),
    )
    .await;
    api.send(
        reqwest::Method::PATCH,
        "/api/v1/namespaces/astronomer-race/serviceaccounts/race-sa",
        json!({"metadata": {"annotations": {"eks.amazonaws.com/role-arn": ARN}}}),
    )
    .await;

    let first = api.pod_env("same-instant").await;
    assert_eq!(
        first.contains(&"AWS_ROLE_ARN".to_owned()),
        same_instant_mutated,
        "{first:?}"
    );

    // Let the informer lag pass on the sim clock.
    let advanced: Value = api
        .http
        .post(&ep.clock_url)
        .bearer_auth(&ep.kube_token)
        .json(&json!({"advance_seconds": delay.as_secs() + 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        advanced["offsetSeconds"],
        json!(delay.as_secs() + 1),
        "{advanced}"
    );
    let later = api.pod_env("after-the-delay").await;
    assert_eq!(
        later,
        ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"],
        "a pod created after the lag is mutated"
    );
    sim.shutdown().await;
}

#[rstest]
#[case::new_account_without_grace(false, Duration::ZERO, false)]
#[case::new_account_with_grace(false, Duration::from_secs(2), true)]
#[case::stale_cached_account_with_grace(true, Duration::from_secs(2), false)]
#[tokio::test]
async fn the_lookup_grace_period_waits_only_for_accounts_missing_from_the_cache(
    #[case] cached_before_annotation: bool,
    #[case] grace: Duration,
    #[case] mutated: bool,
) {
    let lag = Duration::from_secs(60);
    let sim = Sim::start(SimConfig {
        webhook_lookup_delay: lag,
        webhook_lookup_grace: grace,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let ep = sim.endpoints();
    let api = Api {
        http: reqwest::Client::new(),
        base: ep.kube_url.clone(),
        token: ep.kube_token.clone(),
    };
    api.send(
        reqwest::Method::POST,
        "/api/v1/namespaces",
        json!({"metadata": {"name": "astronomer-race"}}),
    )
    .await;
    if cached_before_annotation {
        // The cache holds the account without the annotation; then it is annotated.
        api.send(
            reqwest::Method::POST,
            "/api/v1/namespaces/astronomer-race/serviceaccounts",
            json!({"metadata": {"name": "race-sa"}}),
        )
        .await;
        api.advance(&ep.clock_url, lag.as_secs() + 1).await;
        api.send(
            reqwest::Method::PATCH,
            "/api/v1/namespaces/astronomer-race/serviceaccounts/race-sa",
            json!({"metadata": {"annotations": {"eks.amazonaws.com/role-arn": ARN}}}),
        )
        .await;
    } else {
        api.send(
            reqwest::Method::POST,
            "/api/v1/namespaces/astronomer-race/serviceaccounts",
            json!({"metadata": {"name": "race-sa", "annotations": {"eks.amazonaws.com/role-arn": ARN}}}),
        )
        .await;
    }
    let env = api.pod_env("right-after").await;
    assert_eq!(env.contains(&"AWS_ROLE_ARN".to_owned()), mutated, "{env:?}");
    sim.shutdown().await;
}

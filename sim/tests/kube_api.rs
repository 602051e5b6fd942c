//! The sim's Kubernetes API as kube-rs (and raw HTTP) sees it: CRUD, selectors, Status
//! errors, watches, discovery, OIDC discovery and TokenRequest.

use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, ResourceExt as _};
use rolecheck_sim::{Fault, FaultSet, Sim, SimConfig};
use serde_json::{Value, json};

mod kube_common;

use kube_common::client;

async fn start() -> (Sim, Client) {
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    let client = client(&sim).await;
    (sim, client)
}

fn typed<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

async fn namespace(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    api.create(
        &PostParams::default(),
        &typed(json!({"metadata": {"name": name}})),
    )
    .await
    .unwrap();
}

/// Bounds a wait so a broken sim fails the test instead of hanging it.
async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("the sim did not reach the expected state")
}

fn api_status(err: kube::Error) -> kube::core::Status {
    match err {
        kube::Error::Api(status) => *status,
        other => panic!("expected an API Status, got {other:?}"),
    }
}

#[tokio::test]
async fn crud_with_real_status_errors() {
    let (sim, client) = start().await;
    namespace(&client, "astronomer-a").await;
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "astronomer-a");

    let created = sas
        .create(
            &PostParams::default(),
            &typed(json!({"metadata": {"name": "worker", "labels": {"component": "worker"}}})),
        )
        .await
        .unwrap();
    assert_eq!(created.namespace().as_deref(), Some("astronomer-a"));
    assert!(created.uid().is_some());
    assert!(created.metadata.creation_timestamp.is_some());
    let rv: u64 = created.resource_version().unwrap().parse().unwrap();
    assert!(rv > 0);

    let dup = sas
        .create(
            &PostParams::default(),
            &typed(json!({"metadata": {"name": "worker"}})),
        )
        .await
        .unwrap_err();
    let status = api_status(dup);
    assert_eq!(status.code, 409);
    assert_eq!(status.reason, "AlreadyExists");
    assert_eq!(status.message, "serviceaccounts \"worker\" already exists");

    let missing = api_status(sas.get("nope").await.unwrap_err());
    assert_eq!(missing.code, 404);
    assert_eq!(missing.reason, "NotFound");
    assert_eq!(missing.message, "serviceaccounts \"nope\" not found");
    let details = missing.details.unwrap();
    assert_eq!(details.name, "nope");
    assert_eq!(details.kind, "serviceaccounts");

    let patched = sas
        .patch(
            "worker",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/a"}}})),
        )
        .await
        .unwrap();
    assert_eq!(
        patched.annotations()["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::123456789012:role/a"
    );
    assert!(patched.resource_version().unwrap().parse::<u64>().unwrap() > rv);

    // A stale resourceVersion on replace is a Conflict.
    let conflict = sas
        .replace("worker", &PostParams::default(), &created)
        .await
        .unwrap_err();
    let status = api_status(conflict);
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));

    // JSON patch.
    let patched = sas
        .patch(
            "worker",
            &PatchParams::default(),
            &Patch::Json::<()>(
                serde_json::from_value(json!([{"op": "remove", "path": "/metadata/annotations/eks.amazonaws.com~1role-arn"}]))
                    .unwrap(),
            ),
        )
        .await
        .unwrap();
    assert!(
        !patched
            .annotations()
            .contains_key("eks.amazonaws.com/role-arn")
    );

    let deleted = sas
        .delete("worker", &DeleteParams::default())
        .await
        .unwrap();
    assert!(deleted.is_left());
    assert_eq!(api_status(sas.get("worker").await.unwrap_err()).code, 404);

    // Creating in a namespace that does not exist.
    let elsewhere: Api<ServiceAccount> = Api::namespaced(client.clone(), "ghost");
    let err = api_status(
        elsewhere
            .create(
                &PostParams::default(),
                &typed(json!({"metadata": {"name": "x"}})),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 404);
    assert_eq!(err.message, "namespaces \"ghost\" not found");
    sim.shutdown().await;
}

#[tokio::test]
async fn lists_filter_by_label_and_field_selectors() {
    let (sim, client) = start().await;
    for ns in ["astronomer-a", "astronomer-b"] {
        namespace(&client, ns).await;
        let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
        for (name, component) in [("a-worker", "worker"), ("a-scheduler", "scheduler")] {
            sas.create(
                &PostParams::default(),
                &typed(json!({"metadata": {"name": name, "labels": {"component": component, "release": ns}}})),
            )
            .await
            .unwrap();
        }
    }
    let names = |list: kube::core::ObjectList<ServiceAccount>| {
        let mut v: Vec<String> = list
            .items
            .iter()
            .map(|s| format!("{}/{}", s.namespace().unwrap(), s.name_any()))
            .collect();
        v.sort();
        v
    };
    let all: Api<ServiceAccount> = Api::all(client.clone());
    let workers = all
        .list(&ListParams::default().labels("component=worker"))
        .await
        .unwrap();
    assert!(workers.metadata.resource_version.is_some());
    assert!(workers.metadata.continue_.is_none());
    assert_eq!(
        names(workers),
        ["astronomer-a/a-worker", "astronomer-b/a-worker"]
    );
    let not_workers = all
        .list(&ListParams::default().labels("component,component!=worker"))
        .await
        .unwrap();
    assert_eq!(
        names(not_workers),
        ["astronomer-a/a-scheduler", "astronomer-b/a-scheduler"]
    );
    let set = all
        .list(&ListParams::default().labels("release in (astronomer-b),!missing"))
        .await
        .unwrap();
    assert_eq!(
        names(set),
        ["astronomer-b/a-scheduler", "astronomer-b/a-worker"]
    );
    let by_field = all
        .list(
            &ListParams::default().fields("metadata.name=a-worker,metadata.namespace=astronomer-a"),
        )
        .await
        .unwrap();
    assert_eq!(names(by_field), ["astronomer-a/a-worker"]);
    let in_ns: Api<ServiceAccount> = Api::namespaced(client.clone(), "astronomer-a");
    // Every namespace gets a `default` ServiceAccount.
    assert_eq!(
        names(in_ns.list(&ListParams::default()).await.unwrap()),
        [
            "astronomer-a/a-scheduler",
            "astronomer-a/a-worker",
            "astronomer-a/default"
        ]
    );
    let bad = api_status(
        all.list(&ListParams::default().labels("a in (b"))
            .await
            .unwrap_err(),
    );
    assert_eq!((bad.code, bad.reason.as_str()), (400, "BadRequest"));
    sim.shutdown().await;
}

#[tokio::test]
async fn pods_start_and_namespace_deletion_cascades_through_watches() {
    let (sim, client) = start().await;
    namespace(&client, "astronomer-w").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "astronomer-w");
    let pod = pods
        .create(
            &PostParams::default(),
            &typed(json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}})),
        )
        .await
        .unwrap();
    assert_eq!(
        pod.status.as_ref().unwrap().phase.as_deref(),
        Some("Pending")
    );
    assert_eq!(
        pod.spec.as_ref().unwrap().service_account_name.as_deref(),
        Some("default")
    );

    let running = within(await_condition(
        pods.clone(),
        "p",
        conditions::is_pod_running(),
    ))
    .await
    .unwrap()
    .unwrap();
    let status = running.status.unwrap();
    assert!(status.pod_ip.is_some());
    assert!(status.container_statuses.unwrap()[0].ready);

    let uid = running.metadata.uid.unwrap();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .delete("astronomer-w", &DeleteParams::default())
        .await
        .unwrap();
    within(await_condition(
        pods.clone(),
        "p",
        conditions::is_deleted(&uid),
    ))
    .await
    .unwrap();
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "astronomer-w");
    assert_eq!(api_status(sas.get("default").await.unwrap_err()).code, 404);

    // A pod under a ServiceAccount that does not exist is refused by admission.
    namespace(&client, "astronomer-x").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "astronomer-x");
    let refused = api_status(
        pods.create(
            &PostParams::default(),
            &typed(json!({"metadata": {"name": "p"}, "spec": {"serviceAccountName": "ghost", "containers": [{"name": "c", "image": "busybox"}]}})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!((refused.code, refused.reason.as_str()), (403, "Forbidden"));
    sim.shutdown().await;
}

#[tokio::test]
async fn discovery_and_version() {
    let (sim, client) = start().await;
    let version = client.apiserver_version().await.unwrap();
    assert_eq!(
        (version.major.as_str(), version.minor.as_str()),
        ("1", "29")
    );
    assert!(version.git_version.starts_with("v1.29."));
    let groups = client.list_api_groups().await.unwrap();
    assert!(groups.groups.iter().any(|g| g.name == "apps"));
    let core = client.list_core_api_versions().await.unwrap();
    assert_eq!(core.versions, ["v1"]);
    let v1 = client.list_core_api_resources("v1").await.unwrap();
    let find = |name: &str| v1.resources.iter().find(|r| r.name == name).cloned();
    assert!(!find("namespaces").unwrap().namespaced);
    assert!(find("pods").unwrap().namespaced);
    assert!(find("pods/status").is_some());
    assert!(find("serviceaccounts/token").is_some());
    let apps = client.list_api_group_resources("apps/v1").await.unwrap();
    assert!(
        apps.resources
            .iter()
            .any(|r| r.name == "deployments" && r.kind == "Deployment")
    );
    sim.shutdown().await;

    let old = Sim::start(SimConfig {
        faults: FaultSet::only(Fault::OldServerVersion),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let version = client_of(&old).await.apiserver_version().await.unwrap();
    assert_eq!(version.minor, "13");
    old.shutdown().await;
}

async fn client_of(sim: &Sim) -> Client {
    client(sim).await
}

#[tokio::test]
async fn raw_http_errors_are_status_objects() {
    let (sim, _client) = start().await;
    let ep = sim.endpoints().clone();
    let http = reqwest::Client::new();

    let bad = http
        .post(format!("{}/api/v1/namespaces", ep.kube_url))
        .bearer_auth(&ep.kube_token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["kind"], "Status");
    assert_eq!(body["status"], "Failure");
    assert_eq!(body["reason"], "BadRequest");
    assert_eq!(body["code"], 400);

    // No credentials at all is the cluster admin (the former insecure port's semantics,
    // which kubectl over http needs); a wrong bearer token is refused.
    let anonymous = http
        .get(format!("{}/api/v1/namespaces", ep.kube_url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 200);

    let wrong = http
        .get(format!("{}/api/v1/namespaces", ep.kube_url))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["reason"], "Unauthorized");

    let unknown = http
        .get(format!("{}/apis/batch/v1/jobs", ep.kube_url))
        .bearer_auth(&ep.kube_token)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["reason"], "NotFound");

    let media = http
        .patch(format!("{}/api/v1/namespaces/default", ep.kube_url))
        .bearer_auth(&ep.kube_token)
        .header("content-type", "application/apply-patch+yaml")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(media.status(), 415);
    sim.shutdown().await;
}

#[tokio::test]
async fn watch_replays_changes_after_a_resource_version() {
    let (sim, client) = start().await;
    let ep = sim.endpoints().clone();
    namespace(&client, "astronomer-r").await;
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "astronomer-r");
    let created = sas
        .create(
            &PostParams::default(),
            &typed(json!({"metadata": {"name": "s"}})),
        )
        .await
        .unwrap();
    let rv = created.resource_version().unwrap();
    sas.patch(
        "s",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"x": "1"}}})),
    )
    .await
    .unwrap();
    sas.delete("s", &DeleteParams::default()).await.unwrap();

    let http = reqwest::Client::new();
    let watch = |rv: String, name: &str| {
        http.get(format!(
            "{}/api/v1/namespaces/astronomer-r/serviceaccounts?watch=1&resourceVersion={rv}&timeoutSeconds=1&fieldSelector=metadata.name%3D{name}",
            ep.kube_url
        ))
        .bearer_auth(&ep.kube_token)
        .send()
    };
    let text = watch(rv.clone(), "s").await.unwrap().text().await.unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["MODIFIED", "DELETED"]);
    assert_eq!(events[0]["object"]["metadata"]["labels"]["x"], "1");

    // Without a resourceVersion the watch starts with the current objects.
    let text = watch(String::new(), "default")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["metadata"]["name"], "default");
    sim.shutdown().await;
}

#[tokio::test]
async fn token_requests_are_verifiable_with_the_served_jwks() {
    let (sim, client) = start().await;
    let ep = sim.endpoints().clone();
    namespace(&client, "astronomer-t").await;
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "astronomer-t");
    let sa = sas
        .create(
            &PostParams::default(),
            &typed(json!({"metadata": {"name": "worker"}})),
        )
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "astronomer-t");
    let pod = pods
        .create(
            &PostParams::default(),
            &typed(json!({"metadata": {"name": "w"}, "spec": {"serviceAccountName": "worker", "containers": [{"name": "c", "image": "i"}]}})),
        )
        .await
        .unwrap();

    let pod_uid = pod.metadata.uid.clone().unwrap();
    let request = |expiration: Option<i64>, bound: bool| -> TokenRequest {
        let mut spec = json!({"audiences": ["sts.amazonaws.com"]});
        if let Some(e) = expiration {
            spec["expirationSeconds"] = json!(e);
        }
        if bound {
            spec["boundObjectRef"] =
                json!({"apiVersion": "v1", "kind": "Pod", "name": "w", "uid": pod_uid});
        }
        typed(json!({"spec": spec}))
    };
    let issued = sas
        .create_token_request("worker", &PostParams::default(), &request(Some(3600), true))
        .await
        .unwrap();
    let token = issued.status.unwrap().token.unwrap();

    let http = reqwest::Client::new();
    let discovery: Value = http
        .get(format!("{}/.well-known/openid-configuration", ep.kube_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], ep.oidc_issuer);
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"][0],
        "RS256"
    );
    let jwks: JwkSet = http
        .get(format!("{}/openid/v1/jwks", ep.kube_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let key = DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["sts.amazonaws.com"]);
    validation.set_issuer(&[ep.oidc_issuer.as_str()]);
    let claims = jsonwebtoken::decode::<Value>(&token, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], "system:serviceaccount:astronomer-t:worker");
    assert_eq!(claims["aud"], json!(["sts.amazonaws.com"]));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert_eq!(claims["kubernetes.io"]["namespace"], "astronomer-t");
    assert_eq!(
        claims["kubernetes.io"]["serviceaccount"]["uid"],
        json!(sa.metadata.uid)
    );
    assert_eq!(claims["kubernetes.io"]["pod"]["name"], "w");
    assert_eq!(
        claims["kubernetes.io"]["pod"]["uid"],
        json!(pod.metadata.uid)
    );

    let unbound = sas
        .create_token_request("worker", &PostParams::default(), &request(None, false))
        .await
        .unwrap();
    let claims: Value =
        jsonwebtoken::decode(unbound.status.unwrap().token.unwrap(), &key, &validation)
            .unwrap()
            .claims;
    assert!(claims["kubernetes.io"].get("pod").is_none());

    let short = api_status(
        sas.create_token_request("worker", &PostParams::default(), &request(Some(60), false))
            .await
            .unwrap_err(),
    );
    assert_eq!((short.code, short.reason.as_str()), (422, "Invalid"));
    let missing = api_status(
        sas.create_token_request("ghost", &PostParams::default(), &request(None, false))
            .await
            .unwrap_err(),
    );
    assert_eq!(missing.code, 404);
    sim.shutdown().await;
}

/// The pod-identity webhook's registration is listed as EKS shows it, and a list with a
/// label selector its (label-less) registration does not satisfy is empty, as the API
/// server filters (`rolecheck gc` lists registrations by the run-id label).
#[tokio::test]
async fn the_webhook_registration_is_listed_and_label_selectors_filter_it() {
    use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
    let (_sim, client) = start().await;
    let api: Api<MutatingWebhookConfiguration> = Api::all(client);
    let all = api.list(&ListParams::default()).await.unwrap();
    let names: Vec<String> = all.items.iter().map(|c| c.name_any()).collect();
    assert_eq!(names, ["pod-identity-webhook"]);
    let hooks = all.items[0].webhooks.clone().unwrap_or_default();
    assert_eq!(hooks[0].name, "pod-identity-webhook.amazonaws.com");
    assert_eq!(hooks[0].failure_policy.as_deref(), Some("Ignore"));
    let labelled = api
        .list(&ListParams::default().labels("rolecheck.io/run-id"))
        .await
        .unwrap();
    assert!(labelled.items.is_empty(), "{:?}", labelled.items);
    let not_labelled = api
        .list(&ListParams::default().labels("!rolecheck.io/run-id"))
        .await
        .unwrap();
    assert_eq!(not_labelled.items.len(), 1);
}

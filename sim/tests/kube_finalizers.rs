//! Finalizers hold a deletion back, as on a real API server: DELETE only marks the object
//! (`deletionTimestamp`, "Terminating") and it goes when its last finalizer is removed.

use rolecheck_sim::{Sim, SimConfig};
use serde_json::{Value, json};

#[tokio::test]
async fn a_finalizer_holds_deletion_until_it_is_removed() {
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    let e = sim.endpoints().clone();
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/namespaces", e.kube_url);
    let created = http
        .post(&url)
        .bearer_auth(&e.kube_token)
        .json(&json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    let deleted: Value = http
        .delete(format!("{url}/held"))
        .bearer_auth(&e.kube_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        deleted.pointer("/metadata/deletionTimestamp").is_some(),
        "{deleted}"
    );
    let still: Value = http
        .get(format!("{url}/held"))
        .bearer_auth(&e.kube_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        still.pointer("/metadata/name"),
        Some(&json!("held")),
        "{still}"
    );

    let patched = http
        .patch(format!("{url}/held"))
        .bearer_auth(&e.kube_token)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"metadata":{"finalizers":null}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let gone = http
        .get(format!("{url}/held"))
        .bearer_auth(&e.kube_token)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    sim.shutdown().await;
}

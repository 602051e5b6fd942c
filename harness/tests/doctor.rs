//! `rolecheck doctor` on the embedded sim (every check holds), and the preflight's Kubernetes
//! checks against a cluster that denies some of what a run does,
//! publishes no discovery document and has no pod-identity webhook registered: each check
//! fails with its fix. (The happy path and the other checks run against `rolecheck sim
//! serve` and moto in `target_eks_rehearsal.rs`.) The cluster here is a small local stand-in
//! answering only those requests, on a random loopback port.

use std::path::Path;

use axum::Json;
use axum::routing::{get, post};
use serde_json::{Value, json};

use rolecheck::drivers::iam::IamDriver;
use rolecheck::drivers::kube::{KubeAccess, KubeDriver};
use rolecheck::drivers::sts::{AwsEndpoint, StsDriver};
use rolecheck::target::doctor::{self, Subject, Verdict};
use rolecheck::target::profile::Profile;

/// An API server that allows everything but `pods/exec`, has no MutatingWebhookConfiguration
/// and no OIDC discovery document.
async fn restrictive_cluster() -> String {
    let app = axum::Router::new()
        .route(
            "/version",
            get(|| async { Json(json!({"major": "1", "minor": "29", "gitVersion": "v1.29.0"})) }),
        )
        .route(
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            post(|Json(review): Json<Value>| async move {
                let attrs = &review["spec"]["resourceAttributes"];
                let allowed = !(attrs["resource"] == "pods" && attrs["subresource"] == "exec");
                let mut answer = review.clone();
                answer["status"] = json!({"allowed": allowed});
                (axum::http::StatusCode::CREATED, Json(answer))
            }),
        )
        .route(
            "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
            get(|| async {
                Json(json!({
                    "apiVersion": "admissionregistration.k8s.io/v1",
                    "kind": "MutatingWebhookConfigurationList",
                    "metadata": {"resourceVersion": "1"},
                    "items": [],
                }))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn kubernetes_checks_fail_with_their_fix() {
    let url = restrictive_cluster().await;
    let kube = KubeDriver::connect(&KubeAccess::Token {
        url,
        token: "t".to_owned(),
    })
    .await
    .unwrap();
    let profile = Profile::parse(
        "name: restrictive\nkubernetes: {source: kubeconfig}\naws: {service: endpoint, endpoint: 'http://127.0.0.1:9', region: us-east-1}\nplatform: {driver: none}\noidc: {issuer: cluster}\nrole: {create: 'rolecheck-r-{run_id}'}\ncapabilities: [webhook]\n",
        Path::new("restrictive.yaml"),
    )
    .unwrap();
    // Nothing listens on port 9 (discard): AWS checks fail, which this test does not judge.
    let endpoint = AwsEndpoint::local("http://127.0.0.1:9", "us-east-1");
    let sts = StsDriver::new(endpoint.clone());
    let iam = IamDriver::with_static_credentials(&endpoint, "AKIATEST", "secret");
    let subject = Subject {
        profile: &profile,
        allow_real_aws: false,
        kube: Ok(&kube),
        cluster: "the stand-in".to_owned(),
        sts: &sts,
        iam: &iam,
        operator_credentials: None,
        sim_aws: None,
        houston: None,
    };
    let (report, _) = doctor::check(&subject).await;
    let table = report.render();
    assert!(!report.passed());
    assert_eq!(
        report.get("kubernetes").unwrap().verdict,
        Verdict::Ok,
        "{table}"
    );

    let permissions = report.get("kubernetes permissions").unwrap();
    assert_eq!(permissions.verdict, Verdict::Failed, "{table}");
    assert_eq!(permissions.detail, "not allowed: create pods/exec");
    assert!(permissions.fix.contains("ClusterRole"), "{table}");

    let issuer = report.get("oidc issuer").unwrap();
    assert_eq!(issuer.verdict, Verdict::Failed, "{table}");
    assert!(issuer.fix.contains("set `oidc.issuer`"), "{table}");

    let webhook = report.get("pod-identity webhook").unwrap();
    assert_eq!(webhook.verdict, Verdict::Failed, "{table}");
    assert!(webhook.detail.contains("found: none"), "{table}");
    assert!(
        webhook.fix.contains("amazon-eks-pod-identity-webhook"),
        "{table}"
    );
    // The table shows each failure with its fix on the row.
    let line = table
        .lines()
        .find(|l| l.starts_with("kubernetes permissions"))
        .unwrap();
    assert!(
        line.contains("FAILED: not allowed: create pods/exec"),
        "{line}"
    );
    assert!(line.contains("ClusterRole"), "{line}");
}

#[test]
fn the_embedded_sim_passes_every_check() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .args(["doctor", "--target", "sim"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("preflight: every check holds"), "{stdout}");
    for check in [
        "kubernetes",
        "kubernetes permissions",
        "aws identity",
        "oidc issuer",
        "iam oidc provider",
        "platform",
        "platform token (admin)",
        "platform token (editor)",
        "platform token (viewer)",
        "platform workspace",
        "pod-identity webhook",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{check}  ")))
            .unwrap_or_else(|| panic!("no row {check}:\n{stdout}"));
        assert!(line.contains("  ok: "), "{line}");
    }
}

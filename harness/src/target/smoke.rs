//! The end of `rolecheck env up`: a smoke test of the pod-identity wiring. A ServiceAccount
//! annotated with a role and a pod under it, in a namespace of its own: the pod the API
//! server stores must carry the web-identity variables and the projected token volume. With
//! the webhook's `failurePolicy: Ignore`, a mis-wired webhook (wrong certificate, not
//! serving) silently leaves pods unmutated; this turns that into a set-up error instead of
//! rule failures in every later run.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Namespace, Pod, PodSpec, ServiceAccount};
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams};

use crate::drivers::kube::{KubeDriver, RUN_ID_LABEL};

/// The run-id label value of the smoke test's objects (so `rolecheck gc` finds leftovers).
pub const SMOKE_RUN_ID: &str = "env-up-smoke";

/// The role the smoke test's ServiceAccount is annotated with (never assumed).
const SMOKE_ROLE: &str = "arn:aws:iam::000000000000:role/rolecheck-smoke";

/// Creates the namespace, annotated ServiceAccount and pod, checks the stored pod, removes
/// the namespace. Returns one line on success, what is missing on failure.
pub async fn webhook_smoke_test(kube: &KubeDriver, suffix: &str) -> Result<String, String> {
    let namespace = format!("rolecheck-smoke-{suffix}");
    let client = kube.client().clone();
    let labels = BTreeMap::from([(RUN_ID_LABEL.to_owned(), SMOKE_RUN_ID.to_owned())]);
    let meta = |name: &str, annotations: Option<BTreeMap<String, String>>| ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(namespace.clone()),
        labels: Some(labels.clone()),
        annotations,
        ..ObjectMeta::default()
    };
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(namespace.clone()),
            labels: Some(labels.clone()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .map_err(|e| format!("smoke test: creating namespace {namespace}: {e}"))?;
    let checked = async {
        let sa = ServiceAccount {
            metadata: meta(
                "smoke",
                Some(BTreeMap::from([(
                    crate::chart::ROLE_ANNOTATION_KEY.to_owned(),
                    SMOKE_ROLE.to_owned(),
                )])),
            ),
            ..ServiceAccount::default()
        };
        Api::<ServiceAccount>::namespaced(client.clone(), &namespace)
            .create(&PostParams::default(), &sa)
            .await
            .map_err(|e| format!("smoke test: creating the ServiceAccount: {e}"))?;
        let pod = Pod {
            metadata: meta("smoke", None),
            spec: Some(PodSpec {
                service_account_name: Some("smoke".to_owned()),
                containers: vec![Container {
                    name: "smoke".to_owned(),
                    image: Some("registry.k8s.io/pause:3.10".to_owned()),
                    ..Container::default()
                }],
                ..PodSpec::default()
            }),
            ..Pod::default()
        };
        let stored = Api::<Pod>::namespaced(client.clone(), &namespace)
            .create(&PostParams::default(), &pod)
            .await
            .map_err(|e| format!("smoke test: creating the pod: {e}"))?;
        judge(&stored)
    }
    .await;
    let removed = Api::<Namespace>::all(client)
        .delete(&namespace, &DeleteParams::background())
        .await
        .map(drop)
        .map_err(|e| format!("smoke test: removing namespace {namespace}: {e}"));
    let line = checked?;
    removed?;
    Ok(line)
}

/// What the stored pod must carry.
fn judge(pod: &Pod) -> Result<String, String> {
    let spec = pod.spec.as_ref().ok_or("the stored pod has no spec")?;
    let env: BTreeMap<&str, Option<&str>> = spec
        .containers
        .iter()
        .flat_map(|c| c.env.iter().flatten())
        .map(|e| (e.name.as_str(), e.value.as_deref()))
        .collect();
    let mut missing = Vec::new();
    if env.get("AWS_ROLE_ARN").copied().flatten() != Some(SMOKE_ROLE) {
        missing.push(format!("AWS_ROLE_ARN={SMOKE_ROLE}"));
    }
    if !env.contains_key("AWS_WEB_IDENTITY_TOKEN_FILE") {
        missing.push("AWS_WEB_IDENTITY_TOKEN_FILE".to_owned());
    }
    let token_volume = spec.volumes.iter().flatten().any(|v| {
        v.projected.as_ref().is_some_and(|p| {
            p.sources
                .iter()
                .flatten()
                .any(|s| s.service_account_token.is_some())
        })
    });
    if !token_volume {
        missing.push("a projected serviceAccountToken volume".to_owned());
    }
    if missing.is_empty() {
        Ok("smoke test: a pod under an annotated ServiceAccount got the web-identity variables and token volume".to_owned())
    } else {
        Err(format!(
            "smoke test: the pod-identity webhook did not mutate a pod under an annotated ServiceAccount (missing: {}); check that the webhook pod serves the certificate its MutatingWebhookConfiguration trusts",
            missing.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::kube::KubeAccess;

    async fn sim_with(faults: &[&str]) -> (rolecheck_sim::Sim, KubeDriver) {
        let faults = faults.iter().map(|f| f.parse().unwrap()).collect();
        let sim = rolecheck_sim::Sim::start(rolecheck_sim::SimConfig {
            faults,
            ..rolecheck_sim::SimConfig::default()
        })
        .await
        .unwrap();
        let e = sim.endpoints().clone();
        let kube = KubeDriver::connect(&KubeAccess::Token {
            url: e.kube_url,
            token: e.kube_token,
        })
        .await
        .unwrap();
        (sim, kube)
    }

    #[tokio::test]
    async fn the_smoke_test_passes_where_the_webhook_mutates_and_removes_its_namespace() {
        let (sim, kube) = sim_with(&[]).await;
        let line = webhook_smoke_test(&kube, "t1").await.unwrap();
        assert!(line.contains("got the web-identity variables"), "{line}");
        let left = kube.labelled_namespaces(Some(SMOKE_RUN_ID)).await.unwrap();
        // Deleting may still be in progress, but nothing new is left labelled and live.
        assert!(left.len() <= 1, "{left:?}");
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn the_smoke_test_fails_at_set_up_when_the_webhook_does_not_mutate() {
        let (sim, kube) = sim_with(&["webhook-disabled"]).await;
        let err = webhook_smoke_test(&kube, "t2").await.unwrap_err();
        assert!(err.contains("did not mutate"), "{err}");
        assert!(err.contains("AWS_ROLE_ARN"), "{err}");
        sim.shutdown().await;
    }
}

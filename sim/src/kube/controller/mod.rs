//! The controllers, one module each, driven by the store's change broadcast (no polling):
//! - [`deployment`]: Deployment -> ReplicaSets, and the Deployment's status;
//! - [`replicaset`]: ReplicaSet -> pods (through admission, so the webhook runs);
//! - [`statefulset`]: StatefulSet -> `<set>-<ordinal>` pods, revisions, status;
//! - [`garbage_collector`]: ReplicaSets and pods whose controlling owner is gone;
//! - [`kubelet`]: a new pod turns Running/Ready `pod_start_delay` after it was created.
//!
//! Shared pieces (owner references, template hash, status writes) are in [`workload`].

mod deployment;
mod garbage_collector;
mod kubelet;
mod replicaset;
mod statefulset;
mod workload;

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::kube::meta::{name_of, namespace_of};
use crate::kube::store::Change;
use crate::kube::{ApiServer, Resource};

/// Spawns the controllers; they stop when `cancel` fires.
pub(super) fn spawn(api: &Arc<ApiServer>, tasks: &mut JoinSet<()>, cancel: CancellationToken) {
    let workloads = Arc::clone(api);
    let stop = cancel.clone();
    tasks.spawn(async move { run_workloads(workloads, stop).await });
    let kubelet = Arc::clone(api);
    tasks.spawn(async move { kubelet::run(kubelet, cancel).await });
}

/// Deployment, ReplicaSet and garbage-collection loop: reconcile everything, then wait for
/// the next change.
async fn run_workloads(api: Arc<ApiServer>, cancel: CancellationToken) {
    use tokio::sync::broadcast::error::TryRecvError;

    let mut changes = api.store.subscribe();
    // What the next pass covers: `None` is every namespace, `Some(set)` only those.
    let mut scope: Option<BTreeSet<String>> = None;
    loop {
        match &scope {
            None => reconcile_all(&api),
            Some(namespaces) => {
                for namespace in namespaces {
                    reconcile_namespace(&api, Some(namespace));
                }
            }
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            received = changes.recv() => {
                // Coalesce a burst of changes into one pass over the namespaces it touched
                // (ownership never crosses a namespace). Events, which the controllers write
                // themselves and never act on, touch nothing.
                let mut touched = Some(BTreeSet::new());
                let note = |touched: &mut Option<BTreeSet<String>>, change: Option<&Change>| {
                    match (touched.as_mut(), change) {
                        (Some(set), Some(change)) => {
                            if change.resource == Resource::Event {
                                return;
                            }
                            let ns = if change.resource == Resource::Namespace {
                                name_of(&change.object)
                            } else {
                                namespace_of(&change.object)
                            };
                            set.insert(ns.to_owned());
                        }
                        // Missed changes: look at everything.
                        _ => *touched = None,
                    }
                };
                match received {
                    Ok(change) => note(&mut touched, Some(&change)),
                    Err(RecvError::Lagged(_)) => note(&mut touched, None),
                    Err(RecvError::Closed) => return,
                }
                loop {
                    match changes.try_recv() {
                        Ok(change) => note(&mut touched, Some(&change)),
                        Err(TryRecvError::Lagged(_)) => note(&mut touched, None),
                        Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                    }
                }
                scope = touched;
            }
        }
    }
}

/// One pass over every workload.
pub(super) fn reconcile_all(api: &ApiServer) {
    reconcile_namespace(api, None);
}

/// One pass over the workloads of one namespace (`None`: all of them).
fn reconcile_namespace(api: &ApiServer, namespace: Option<&str>) {
    garbage_collector::collect(api, namespace);
    for deployment in api.list(Resource::Deployment, namespace) {
        deployment::reconcile(api, &deployment);
    }
    for rs in api.list(Resource::ReplicaSet, namespace) {
        replicaset::reconcile(api, &rs);
    }
    for deployment in api.list(Resource::Deployment, namespace) {
        deployment::update_status(api, &deployment);
    }
    for set in api.list(Resource::StatefulSet, namespace) {
        statefulset::reconcile(api, &set);
    }
    for set in api.list(Resource::StatefulSet, namespace) {
        statefulset::update_status(api, &set);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::deployment::REVISION;
    use super::kubelet::start_pod;
    use super::workload::template_hash;
    use super::*;
    use crate::SimConfig;
    use crate::kube::KubeOptions;
    use crate::kube::meta::uid_of;
    use crate::oidc::Issuer;

    fn api() -> Arc<ApiServer> {
        let issuer = Arc::new(Issuer::new("https://issuer.example".to_owned()).unwrap());
        ApiServer::new(KubeOptions::from_config(&SimConfig::default()), issuer)
    }

    fn start_all(api: &ApiServer) {
        for (i, pod) in api.list(Resource::Pod, None).iter().enumerate() {
            start_pod(
                api,
                namespace_of(pod),
                name_of(pod),
                uid_of(pod),
                u32::try_from(i).unwrap(),
            );
        }
    }

    #[test]
    fn reconciling_converges_and_then_writes_nothing() {
        let api = api();
        api.create(
            Resource::Namespace,
            None,
            json!({"metadata": {"name": "n"}}),
        )
        .unwrap();
        let template = |image: &str| {
            json!({
                "metadata": {"labels": {"app": "a"}},
                "spec": {"containers": [{"name": "c", "image": image}]}
            })
        };
        api.create(
            Resource::Deployment,
            Some("n"),
            json!({"metadata": {"name": "d"}, "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "a"}}, "template": template("i:1")}}),
        )
        .unwrap();
        reconcile_all(&api);
        assert_eq!(api.list(Resource::ReplicaSet, Some("n")).len(), 1);
        assert_eq!(api.list(Resource::Pod, Some("n")).len(), 2);
        start_all(&api);
        reconcile_all(&api);
        let d = api.get(Resource::Deployment, Some("n"), "d").unwrap();
        assert_eq!(d["status"]["readyReplicas"], 2);
        assert_eq!(d["status"]["updatedReplicas"], 2);
        let rv = api.list_at(Resource::Pod, None).1;
        reconcile_all(&api);
        assert_eq!(
            api.list_at(Resource::Pod, None).1,
            rv,
            "a converged reconcile must not write"
        );

        // A template change: a second ReplicaSet, old pods kept until the new ones are ready.
        api.merge_patch(
            Resource::Deployment,
            Some("n"),
            "d",
            &json!({"spec": {"template": template("i:2")}}),
        )
        .unwrap();
        reconcile_all(&api);
        assert_eq!(api.list(Resource::ReplicaSet, Some("n")).len(), 2);
        assert_eq!(api.list(Resource::Pod, Some("n")).len(), 4);
        start_all(&api);
        reconcile_all(&api);
        reconcile_all(&api);
        let pods = api.list(Resource::Pod, Some("n"));
        assert_eq!(pods.len(), 2);
        assert!(
            pods.iter()
                .all(|p| p["spec"]["containers"][0]["image"] == "i:2")
        );
        let d = api.get(Resource::Deployment, Some("n"), "d").unwrap();
        assert_eq!(d["status"]["observedGeneration"], 2);
        assert_eq!(d["status"]["replicas"], 2);
        assert_eq!(d["metadata"]["annotations"][REVISION], "2");

        // Deleting the Deployment collects its ReplicaSets and pods.
        api.delete(Resource::Deployment, Some("n"), "d").unwrap();
        reconcile_all(&api);
        reconcile_all(&api);
        assert!(api.list(Resource::ReplicaSet, Some("n")).is_empty());
        assert!(api.list(Resource::Pod, Some("n")).is_empty());
    }

    #[test]
    fn template_hash_is_stable_and_sensitive() {
        let a = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}});
        let b = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i:2"}]}});
        assert_eq!(template_hash(&a), template_hash(&a.clone()));
        assert_ne!(template_hash(&a), template_hash(&b));
        assert!(
            template_hash(&a)
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }
}

//! What the Airflow Helm chart renders for a deployment, and installing/upgrading/uninstalling
//! it through the sim's Kubernetes API.
//!
//! Objects: the namespace `astronomer-<release>`; one ServiceAccount per component
//! (`<release>-webserver`, `<release>-scheduler`, `<release>-worker`) carrying the
//! deployment's `serviceAccountAnnotations` (R4); one apps/v1 Deployment per component that
//! runs (no worker without Celery), each pod running under its component's ServiceAccount.
//! An upgrade that changes the role bumps a pod-template annotation, so the Deployment rolls
//! its pods as a `helm upgrade` would (R16).

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value, json};

use super::apply::ObjectWriter;
use super::binding::Annotations;
use super::names::ReleaseName;
use super::values::Executor;
use crate::faults::{Fault, FaultSet};
use crate::kube::{ApiError, Resource};

/// The Airflow image of the documents' era.
pub const AIRFLOW_IMAGE: &str = "quay.io/astronomer/ap-airflow:1.10.5-alpine3.10-onbuild";

/// The pod-template annotation bumped on every upgrade that must roll the pods.
pub const REVISION_ANNOTATION: &str = "rolecheck.sim/revision";

/// The version of the Airflow chart the platform deploys.
pub const CHART_VERSION: &str = "0.10.3";

/// An Airflow component that gets its own ServiceAccount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// The Airflow webserver.
    Webserver,
    /// The Airflow scheduler.
    Scheduler,
    /// A Celery worker.
    Worker,
}

impl Component {
    /// Every component, in chart order.
    pub const ALL: [Component; 3] = [Self::Webserver, Self::Scheduler, Self::Worker];

    /// The component's name, as in labels and object names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webserver => "webserver",
            Self::Scheduler => "scheduler",
            Self::Worker => "worker",
        }
    }

    /// Whether the chart renders a Deployment for this component with `executor`.
    pub fn runs_with(self, executor: Executor) -> bool {
        self != Self::Worker || executor.has_workers()
    }

    /// The name of this component's objects in a release.
    pub fn object_name(self, release: &ReleaseName) -> String {
        format!("{release}-{}", self.as_str())
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The annotations the chart puts on one component's ServiceAccount, given the stored
/// annotations and the faults ([`Fault::AnnotationNeverWritten`]: none at all;
/// [`Fault::PartialComponents`]: the scheduler's only).
pub fn service_account_annotations(
    component: Component,
    stored: &Annotations,
    faults: &FaultSet,
) -> Annotations {
    let skipped = faults.has(Fault::AnnotationNeverWritten)
        || (faults.has(Fault::PartialComponents) && component != Component::Scheduler);
    if skipped {
        Annotations::new()
    } else {
        stored.clone()
    }
}

fn labels(release: &ReleaseName, component: Component) -> Value {
    json!({"tier": "airflow", "component": component.as_str(), "release": release.as_str()})
}

fn string_map(map: &Annotations) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect(),
    )
}

/// The namespace of a release.
pub fn namespace(release: &ReleaseName) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": release.namespace(),
            "labels": {"platform": "astronomer", "release": release.as_str()},
        },
    })
}

/// A component's ServiceAccount with its annotations.
pub fn service_account(
    release: &ReleaseName,
    component: Component,
    annotations: &Annotations,
) -> Value {
    let mut metadata = json!({
        "name": component.object_name(release),
        "namespace": release.namespace(),
        "labels": labels(release, component),
    });
    if !annotations.is_empty()
        && let Some(object) = metadata.as_object_mut()
    {
        object.insert("annotations".to_owned(), string_map(annotations));
    }
    json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata})
}

/// A component's apps/v1 Deployment at pod-template `revision`.
pub fn deployment(release: &ReleaseName, component: Component, revision: u64) -> Value {
    let name = component.object_name(release);
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": release.namespace(),
            "labels": labels(release, component),
            "annotations": {"meta.helm.sh/release-name": release.as_str()},
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels(release, component)},
            "template": {
                "metadata": {
                    "labels": labels(release, component),
                    "annotations": {REVISION_ANNOTATION: revision.to_string()},
                },
                "spec": {
                    "serviceAccountName": name,
                    "containers": [{
                        "name": component.as_str(),
                        "image": AIRFLOW_IMAGE,
                        "args": ["airflow", component.as_str()],
                    }],
                },
            },
        },
    })
}

/// A merge patch that turns annotations `before` into `after` on an object's metadata:
/// keys of `after` are set, keys only in `before` are removed.
pub fn annotations_patch(before: &Annotations, after: &Annotations) -> Value {
    let mut patch = Map::new();
    for key in before.keys().filter(|k| !after.contains_key(*k)) {
        patch.insert(key.clone(), Value::Null);
    }
    for (key, value) in after {
        patch.insert(key.clone(), Value::from(value.as_str()));
    }
    json!({"metadata": {"annotations": patch}})
}

/// The patch a Helm 3 upgrade sends for a ServiceAccount's annotations: a three-way merge of
/// the previous render (`before`), the new render (`after`) and the live object, so that an
/// annotation edited by hand is put back to what the chart renders (the platform is the
/// source of truth, R8) and one the chart dropped is removed. `None` when live already
/// matches.
pub fn three_way_annotations_patch(
    before: &Annotations,
    after: &Annotations,
    live: &Value,
) -> Option<Value> {
    let live_value = |key: &str| {
        live.pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
    };
    let mut patch = Map::new();
    for key in before.keys().filter(|k| !after.contains_key(*k)) {
        if live_value(key).is_some() {
            patch.insert(key.clone(), Value::Null);
        }
    }
    for (key, value) in after {
        if live_value(key) != Some(value.as_str()) {
            patch.insert(key.clone(), Value::from(value.as_str()));
        }
    }
    (!patch.is_empty()).then(|| json!({"metadata": {"annotations": patch}}))
}

/// What one release looks like, to install or upgrade to.
#[derive(Debug, Clone)]
pub struct Release<'a> {
    /// The release name.
    pub name: &'a ReleaseName,
    /// The executor (decides whether workers run).
    pub executor: Executor,
    /// The stored `serviceAccountAnnotations`.
    pub annotations: &'a Annotations,
    /// The pod-template revision.
    pub revision: u64,
}

/// Applies rendered releases through an [`ObjectWriter`] (the sim's API server or a real
/// cluster).
pub struct Chart<'a> {
    api: &'a dyn ObjectWriter,
    faults: &'a FaultSet,
}

impl<'a> Chart<'a> {
    /// A chart writing to `api`, rendering annotations under `faults`.
    pub fn new(api: &'a dyn ObjectWriter, faults: &'a FaultSet) -> Self {
        Self { api, faults }
    }

    /// Creates every object of a new release. When a later object fails, the namespace this
    /// call created is deleted again; a namespace that already existed is left alone.
    pub fn install(&self, release: &Release<'_>) -> Result<(), ApiError> {
        self.api
            .create(Resource::Namespace, None, namespace(release.name))?;
        let result = self.install_objects(release);
        if result.is_err()
            && let Err(cleanup) = self.uninstall(release.name)
        {
            tracing::warn!(%cleanup, "could not remove a half-installed release");
        }
        result
    }

    fn install_objects(&self, release: &Release<'_>) -> Result<(), ApiError> {
        let ns = release.name.namespace();
        for component in Component::ALL {
            let annotations =
                service_account_annotations(component, release.annotations, self.faults);
            let sa = service_account(release.name, component, &annotations);
            self.api.create(Resource::ServiceAccount, Some(&ns), sa)?;
        }
        for component in Component::ALL
            .into_iter()
            .filter(|c| c.runs_with(release.executor))
        {
            let object = deployment(release.name, component, release.revision);
            self.api.create(Resource::Deployment, Some(&ns), object)?;
        }
        Ok(())
    }

    /// Brings an installed release from `before` (stored annotations and revision) to `after`:
    /// patches ServiceAccount annotations, creates/removes the worker Deployment when the
    /// executor changed, and bumps the pod template when the revision changed.
    pub fn upgrade(&self, before: &Release<'_>, after: &Release<'_>) -> Result<(), ApiError> {
        let ns = after.name.namespace();
        for component in Component::ALL {
            let old = service_account_annotations(component, before.annotations, self.faults);
            let new = service_account_annotations(component, after.annotations, self.faults);
            let name = component.object_name(after.name);
            match self.api.get(Resource::ServiceAccount, Some(&ns), &name) {
                Ok(live) => {
                    if let Some(patch) = three_way_annotations_patch(&old, &new, &live) {
                        self.api
                            .merge_patch(Resource::ServiceAccount, Some(&ns), &name, &patch)?;
                    }
                }
                Err(err) if err.code == 404 => {
                    let sa = service_account(after.name, component, &new);
                    self.api.create(Resource::ServiceAccount, Some(&ns), sa)?;
                }
                Err(err) => return Err(err),
            }
        }
        for component in Component::ALL {
            let name = component.object_name(after.name);
            let exists = match self.api.get(Resource::Deployment, Some(&ns), &name) {
                Ok(_) => true,
                Err(err) if err.code == 404 => false,
                Err(err) => return Err(err),
            };
            match (component.runs_with(after.executor), exists) {
                (true, false) => {
                    let object = deployment(after.name, component, after.revision);
                    self.api.create(Resource::Deployment, Some(&ns), object)?;
                }
                (true, true) if before.revision != after.revision => {
                    let patch = json!({"spec": {"template": {"metadata": {"annotations": {
                        REVISION_ANNOTATION: after.revision.to_string(),
                    }}}}});
                    self.api
                        .merge_patch(Resource::Deployment, Some(&ns), &name, &patch)?;
                }
                (false, true) => {
                    self.api.delete(Resource::Deployment, Some(&ns), &name)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Removes a release: deleting its namespace deletes everything in it. A namespace that
    /// is already gone is not an error.
    pub fn uninstall(&self, release: &ReleaseName) -> Result<(), ApiError> {
        match self
            .api
            .delete(Resource::Namespace, None, &release.namespace())
        {
            Err(err) if err.code != 404 => Err(err),
            _ => Ok(()),
        }
    }

    /// [`Fault::CrossDeploymentLeak`]: writes `annotations` onto every ServiceAccount of
    /// another release, without touching that release's stored config.
    pub fn leak_into(
        &self,
        other: &ReleaseName,
        annotations: &Annotations,
    ) -> Result<(), ApiError> {
        let ns = other.namespace();
        let patch = annotations_patch(&BTreeMap::new(), annotations);
        for component in Component::ALL {
            let name = component.object_name(other);
            match self
                .api
                .merge_patch(Resource::ServiceAccount, Some(&ns), &name, &patch)
            {
                Err(err) if err.code != 404 => return Err(err),
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn release() -> ReleaseName {
        ReleaseName::parse("arithmetic-radiation-6756").unwrap()
    }

    fn ann() -> Annotations {
        Annotations::from([(
            "eks.amazonaws.com/role-arn".to_owned(),
            "arn:aws:iam::1:role/r".to_owned(),
        )])
    }

    #[rstest]
    #[case(&[], Component::Webserver, true)]
    #[case(&[], Component::Worker, true)]
    #[case(&[Fault::AnnotationNeverWritten], Component::Scheduler, false)]
    #[case(&[Fault::PartialComponents], Component::Scheduler, true)]
    #[case(&[Fault::PartialComponents], Component::Webserver, false)]
    #[case(&[Fault::PartialComponents], Component::Worker, false)]
    fn which_service_accounts_get_annotations(
        #[case] on: &[Fault],
        #[case] component: Component,
        #[case] annotated: bool,
    ) {
        let faults: FaultSet = on.iter().copied().collect();
        let got = service_account_annotations(component, &ann(), &faults);
        assert_eq!(got, if annotated { ann() } else { Annotations::new() });
    }

    #[rstest]
    #[case(Executor::Celery, Component::Worker, true)]
    #[case(Executor::Local, Component::Worker, false)]
    #[case(Executor::Kubernetes, Component::Worker, false)]
    #[case(Executor::Local, Component::Scheduler, true)]
    fn components_per_executor(
        #[case] executor: Executor,
        #[case] component: Component,
        #[case] runs: bool,
    ) {
        assert_eq!(component.runs_with(executor), runs);
    }

    #[test]
    fn namespace_and_service_account_shape() {
        let ns = namespace(&release());
        assert_eq!(
            ns["metadata"]["name"],
            "astronomer-arithmetic-radiation-6756"
        );
        assert_eq!(ns["metadata"]["labels"]["platform"], "astronomer");

        let sa = service_account(&release(), Component::Worker, &ann());
        assert_eq!(sa["metadata"]["name"], "arithmetic-radiation-6756-worker");
        assert_eq!(sa["metadata"]["labels"]["component"], "worker");
        assert_eq!(
            sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
            "arn:aws:iam::1:role/r"
        );
        let bare = service_account(&release(), Component::Worker, &Annotations::new());
        assert!(bare["metadata"].get("annotations").is_none());
    }

    #[test]
    fn deployment_runs_under_its_service_account() {
        let d = deployment(&release(), Component::Scheduler, 4);
        let spec = &d["spec"]["template"]["spec"];
        assert_eq!(
            spec["serviceAccountName"],
            "arithmetic-radiation-6756-scheduler"
        );
        assert_eq!(spec["containers"][0]["name"], "scheduler");
        assert_eq!(spec["containers"][0]["image"], AIRFLOW_IMAGE);
        assert_eq!(
            d["spec"]["selector"]["matchLabels"],
            d["spec"]["template"]["metadata"]["labels"]
        );
        assert_eq!(
            d["spec"]["template"]["metadata"]["annotations"][REVISION_ANNOTATION],
            "4"
        );
        assert_eq!(d["spec"]["replicas"], 1);
    }

    #[test]
    fn three_way_patch_restores_hand_edits_and_drops_removed_keys() {
        let role = || Annotations::from([("k".to_owned(), "chart".to_owned())]);
        let edited = json!({"metadata": {"annotations": {"k": "by-hand", "other": "x"}}});
        assert_eq!(
            three_way_annotations_patch(&role(), &role(), &edited),
            Some(json!({"metadata": {"annotations": {"k": "chart"}}}))
        );
        let in_sync = json!({"metadata": {"annotations": {"k": "chart"}}});
        assert_eq!(
            three_way_annotations_patch(&role(), &role(), &in_sync),
            None
        );
        assert_eq!(
            three_way_annotations_patch(&role(), &Annotations::new(), &in_sync),
            Some(json!({"metadata": {"annotations": {"k": null}}}))
        );
    }

    #[test]
    fn annotations_patch_sets_and_removes() {
        let before = Annotations::from([
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ]);
        let after = Annotations::from([("b".to_owned(), "3".to_owned())]);
        assert_eq!(
            annotations_patch(&before, &after),
            json!({"metadata": {"annotations": {"a": null, "b": "3"}}})
        );
    }
}

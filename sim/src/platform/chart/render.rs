//! The pure half of the chart: chart values in, Kubernetes objects (JSON) out.
//!
//! Nothing here talks to an API server or knows about the sim, so the same render can be
//! installed into the sim's API server or a real cluster.
//!
//! What it renders follows the Airflow chart the v0.16 platform deploys (astronomer/
//! airflow-chart v0.15.x/v0.16.x), for the objects the contract is about:
//! - the release's namespace (Houston creates it before Helm runs, with the platform's
//!   `namespaceLabels`);
//! - one ServiceAccount per component, `<release>-<component>-serviceaccount`, labelled
//!   `tier`, `release`, `chart`, `heritage` and carrying `serviceAccountAnnotations` (R4);
//! - the webserver Deployment; the scheduler Deployment (a StatefulSet with the local
//!   executors when worker persistence is on); with Celery, the worker: a StatefulSet
//!   (`serviceName`, a `logs` volume claim template) when `workers.persistence.enabled`
//!   (the chart's default), else a Deployment with an `emptyDir` for logs. Workloads are
//!   labelled `tier`, `component`, `release`, `chart`, `heritage`, select and label their pods
//!   with `tier`, `component`, `release`, and their pods run under the component's
//!   ServiceAccount with the chart's init containers (`run-airflow-migrations`,
//!   `wait-for-airflow-migrations`) and sidecars (the log garbage-collectors `scheduler-gc`
//!   and, with persistence, `worker-gc`); the main container is named after the component.
//!
//! Left out: what the contract does not touch and the sim does not serve (Services,
//! ConfigMaps, Secrets, RBAC, network policies, quotas, pgbouncer, redis, statsd, flower), and
//! so the container settings that only point at those (config volumes, secret env, probes).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::Component;
use crate::platform::binding::Annotations;
use crate::platform::names::ReleaseName;
use crate::platform::values::Executor;

/// The chart's `uid` value (the user Airflow runs as).
const UID: u32 = 100;
/// The chart's `gid` value.
const GID: u32 = 101;
/// `airflowHome` plus `/logs`.
const LOGS_PATH: &str = "/usr/local/airflow/logs";
/// `ports.airflowUI`.
const WEBSERVER_PORT: u16 = 8080;
/// `ports.workerLogs`.
const WORKER_LOGS_PORT: u16 = 8793;
/// `workers.persistence.size`.
const WORKER_VOLUME_SIZE: &str = "100Gi";

/// The images the chart's containers run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Images {
    /// `images.airflow` (the deployment's image: main containers and sidecars).
    pub airflow: String,
    /// `defaultAirflowRepository:defaultAirflowTag` (init containers).
    pub default_airflow: String,
    /// `images.airflow.pullPolicy`.
    pub pull_policy: String,
}

/// The values one release is rendered from (what Houston passes `helm install/upgrade`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartValues {
    /// The Helm release name.
    pub release: ReleaseName,
    /// The namespace the release is installed into.
    pub namespace: String,
    /// Labels Houston puts on the namespace (`deployments.namespaceLabels`).
    pub namespace_labels: BTreeMap<String, String>,
    /// The chart's version (the `chart` label is `airflow-<version>`).
    pub chart_version: String,
    /// The executor (decides whether workers run).
    pub executor: Executor,
    /// `serviceAccountAnnotations`, per component (the chart puts the same map on every
    /// ServiceAccount; a component missing here gets none).
    pub service_account_annotations: BTreeMap<Component, Annotations>,
    /// `airflowPodAnnotations`: extra annotations on every Airflow pod template.
    pub airflow_pod_annotations: Annotations,
    /// `workers.persistence.enabled`.
    pub worker_persistence: bool,
    /// `elasticsearch.enabled` (task logs go to Elasticsearch, so no log-serving sidecar).
    pub elasticsearch: bool,
    /// The images.
    pub images: Images,
}

/// `(kind, name)` of a rendered object: what identifies it within its release.
pub type ObjectKey = (String, String);

/// The key of a rendered object.
pub fn object_key(object: &Value) -> ObjectKey {
    let text = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    (text("/kind"), text("/metadata/name"))
}

/// Every namespaced object of a release, in install order (ServiceAccounts before the
/// workloads whose pods use them).
pub fn render(values: &ChartValues) -> Vec<Value> {
    let mut objects: Vec<Value> = Component::ALL
        .into_iter()
        .map(|component| service_account(values, component))
        .collect();
    objects.extend(
        Component::ALL
            .into_iter()
            .filter(|c| c.runs_with(values.executor))
            .map(|component| workload(values, component)),
    );
    objects
}

/// The release's namespace, as Houston creates it before installing the chart.
pub fn namespace(values: &ChartValues) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": values.namespace, "labels": string_map(&values.namespace_labels)},
    })
}

/// The name of a component's ServiceAccount in a release.
pub fn service_account_name(release: &ReleaseName, component: Component) -> String {
    format!("{release}-{component}-serviceaccount")
}

/// The name of a component's workload in a release.
pub fn workload_name(release: &ReleaseName, component: Component) -> String {
    format!("{release}-{component}")
}

/// The kind of a component's workload: the worker with persistence is a StatefulSet, and so
/// is the scheduler with the local executors and persistence (it then keeps the task logs).
pub fn workload_kind(values: &ChartValues, component: Component) -> &'static str {
    if stateful(values, component) {
        "StatefulSet"
    } else {
        "Deployment"
    }
}

fn stateful(values: &ChartValues, component: Component) -> bool {
    let local = values.executor == Executor::Local;
    match component {
        Component::Worker => values.worker_persistence,
        Component::Scheduler => local && values.worker_persistence,
        Component::Webserver => false,
    }
}

fn string_map(map: &BTreeMap<String, String>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect(),
    )
}

fn pod_labels(release: &ReleaseName, component: Component) -> Value {
    json!({"tier": "airflow", "component": component.as_str(), "release": release.as_str()})
}

fn chart_label(values: &ChartValues) -> String {
    format!("airflow-{}", values.chart_version)
}

/// A component's ServiceAccount with its annotations.
pub fn service_account(values: &ChartValues, component: Component) -> Value {
    let release = &values.release;
    let mut metadata = json!({
        "name": service_account_name(release, component),
        "namespace": values.namespace,
        "labels": {
            "tier": "airflow",
            "release": release.as_str(),
            "chart": chart_label(values),
            "heritage": "Helm",
        },
    });
    if let Some(annotations) = values
        .service_account_annotations
        .get(&component)
        .filter(|a| !a.is_empty())
        && let Some(object) = metadata.as_object_mut()
    {
        object.insert("annotations".to_owned(), string_map(annotations));
    }
    json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata})
}

fn container(values: &ChartValues, name: &str, image: &str, args: &[&str]) -> Map<String, Value> {
    let mut c = Map::new();
    c.insert("name".to_owned(), json!(name));
    c.insert("image".to_owned(), json!(image));
    c.insert(
        "imagePullPolicy".to_owned(),
        json!(values.images.pull_policy),
    );
    c.insert("args".to_owned(), json!(args));
    c
}

/// Containers as JSON maps, in pod-spec order.
type Containers = Vec<Map<String, Value>>;

fn logs_mount() -> Value {
    json!([{"name": "logs", "mountPath": LOGS_PATH}])
}

/// The pod spec of a component: init containers, the main container, sidecars, volumes.
fn pod_spec(values: &ChartValues, component: Component) -> Value {
    let airflow = values.images.airflow.as_str();
    let default = values.images.default_airflow.as_str();
    let local = matches!(values.executor, Executor::Local);
    let persistence = stateful(values, component);

    let mut main = container(
        values,
        component.as_str(),
        airflow,
        &["airflow", component.as_str()],
    );
    let (init, sidecars, grace): (Containers, Containers, Option<u32>) = match component {
        Component::Webserver => {
            main.insert(
                "ports".to_owned(),
                json!([{"name": "webserver-ui", "containerPort": WEBSERVER_PORT}]),
            );
            let wait = container(
                values,
                "wait-for-airflow-migrations",
                default,
                &["airflow-migration-spinner", "--timeout=60"],
            );
            (vec![wait], Vec::new(), None)
        }
        Component::Scheduler => {
            main.insert("volumeMounts".to_owned(), logs_mount());
            let migrate = container(
                values,
                "run-airflow-migrations",
                default,
                &["airflow", "upgradedb"],
            );
            let mut gc = container(
                values,
                "scheduler-gc",
                airflow,
                &["/usr/local/bin/clean-airflow-logs"],
            );
            gc.insert("volumeMounts".to_owned(), logs_mount());
            let mut sidecars = vec![gc];
            if local && !values.elasticsearch {
                let mut logs = container(
                    values,
                    "scheduler-logs",
                    airflow,
                    &["airflow", "serve_logs"],
                );
                logs.remove("imagePullPolicy");
                logs.insert(
                    "ports".to_owned(),
                    json!([{"name": "worker-logs", "containerPort": WORKER_LOGS_PORT}]),
                );
                logs.insert("volumeMounts".to_owned(), logs_mount());
                sidecars.push(logs);
            }
            (vec![migrate], sidecars, Some(10))
        }
        Component::Worker => {
            main.insert(
                "ports".to_owned(),
                json!([{"name": "worker-logs", "containerPort": WORKER_LOGS_PORT}]),
            );
            main.insert("volumeMounts".to_owned(), logs_mount());
            let wait = container(
                values,
                "wait-for-airflow-migrations",
                default,
                &["airflow-migration-spinner", "--timeout=60"],
            );
            let mut sidecars = Vec::new();
            if persistence {
                let mut gc = container(
                    values,
                    "worker-gc",
                    airflow,
                    &["/usr/local/bin/clean-airflow-logs"],
                );
                gc.remove("imagePullPolicy");
                gc.insert("volumeMounts".to_owned(), logs_mount());
                sidecars.push(gc);
            }
            (vec![wait], sidecars, Some(600))
        }
    };

    let mut containers = vec![Value::Object(main)];
    containers.extend(sidecars.into_iter().map(Value::Object));
    let mut security = json!({"runAsUser": UID});
    if component != Component::Webserver {
        security["fsGroup"] = json!(GID);
    }
    let mut spec = json!({
        "restartPolicy": "Always",
        "serviceAccountName": service_account_name(&values.release, component),
        "securityContext": security,
        "initContainers": init.into_iter().map(Value::Object).collect::<Vec<_>>(),
        "containers": containers,
    });
    if let Some(grace) = grace {
        spec["terminationGracePeriodSeconds"] = json!(grace);
    }
    // The logs volume: a claim per pod for a StatefulSet, else an emptyDir.
    if component != Component::Webserver && !persistence {
        spec["volumes"] = json!([{"name": "logs", "emptyDir": {}}]);
    }
    spec
}

/// A component's apps/v1 workload (Deployment or StatefulSet, see [`workload_kind`]).
pub fn workload(values: &ChartValues, component: Component) -> Value {
    let release = &values.release;
    let kind = workload_kind(values, component);
    let mut template_metadata = json!({"labels": pod_labels(release, component)});
    if !values.airflow_pod_annotations.is_empty() {
        template_metadata["annotations"] = string_map(&values.airflow_pod_annotations);
    }
    let mut spec = json!({
        "replicas": 1,
        "selector": {"matchLabels": pod_labels(release, component)},
        "template": {"metadata": template_metadata, "spec": pod_spec(values, component)},
    });
    if kind == "StatefulSet" {
        spec["serviceName"] = json!(workload_name(release, component));
        spec["volumeClaimTemplates"] = json!([{
            "metadata": {"name": "logs"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": WORKER_VOLUME_SIZE}},
            },
        }]);
    } else {
        spec["strategy"] = match component {
            Component::Webserver => {
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}})
            }
            Component::Scheduler => json!({"type": "Recreate"}),
            Component::Worker => Value::Null,
        };
        if let Some(map) = spec.as_object_mut() {
            map.retain(|_, v| !v.is_null());
        }
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {
            "name": workload_name(release, component),
            "namespace": values.namespace,
            "labels": {
                "tier": "airflow",
                "component": component.as_str(),
                "release": release.as_str(),
                "chart": chart_label(values),
                "heritage": "Helm",
            },
        },
        "spec": spec,
    })
}

/// The JSON merge patch a Helm 3 upgrade sends for one object: a three-way merge of the
/// previous render (`before`, `None` when the object is new to the release), the new render
/// (`after`) and the live object. A field edited by hand is put back to what the chart
/// renders (the platform is the source of truth, R8); a map key the chart dropped is removed
/// when it is still live. A list the chart renders unchanged is left as it is live, so that
/// fields the API server defaulted inside it (container defaults) do not roll the pods.
/// `None` when live already matches.
pub fn three_way_patch(before: Option<&Value>, after: &Value, live: &Value) -> Option<Value> {
    let after_map = after.as_object()?;
    let before_map = before.and_then(Value::as_object);
    let live_map = live.as_object();
    let live_at = |key: &str| live_map.and_then(|m| m.get(key));
    let before_at = |key: &str| before_map.and_then(|m| m.get(key));
    let mut patch = Map::new();
    if let Some(before_map) = before_map {
        for key in before_map.keys().filter(|k| !after_map.contains_key(*k)) {
            if live_at(key).is_some_and(|v| !v.is_null()) {
                patch.insert(key.clone(), Value::Null);
            }
        }
    }
    for (key, value) in after_map {
        let live_value = live_at(key);
        match (value, live_value) {
            (Value::Object(_), Some(live_value @ Value::Object(_))) => {
                if let Some(sub) = three_way_patch(before_at(key), value, live_value) {
                    patch.insert(key.clone(), sub);
                }
            }
            (Value::Array(_), Some(Value::Array(_))) if before_at(key) == Some(value) => {}
            _ if live_value == Some(value) => {}
            _ => {
                patch.insert(key.clone(), value.clone());
            }
        }
    }
    (!patch.is_empty()).then_some(Value::Object(patch))
}

/// A merge patch that sets `annotations` on an object's metadata (keys not named are kept).
pub fn annotations_patch(annotations: &Annotations) -> Value {
    json!({"metadata": {"annotations": string_map(annotations)}})
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    const RELEASE: &str = "arithmetic-radiation-6756";

    fn ann() -> Annotations {
        Annotations::from([(
            "eks.amazonaws.com/role-arn".to_owned(),
            "arn:aws:iam::1:role/r".to_owned(),
        )])
    }

    fn values(executor: Executor, persistence: bool) -> ChartValues {
        ChartValues {
            release: ReleaseName::parse(RELEASE).unwrap(),
            namespace: format!("astronomer-{RELEASE}"),
            namespace_labels: BTreeMap::from([(
                "platform-release".to_owned(),
                "astronomer".to_owned(),
            )]),
            chart_version: "0.15.4".to_owned(),
            executor,
            service_account_annotations: Component::ALL.into_iter().map(|c| (c, ann())).collect(),
            airflow_pod_annotations: Annotations::from([("rev".to_owned(), "4".to_owned())]),
            worker_persistence: persistence,
            elasticsearch: true,
            images: Images {
                airflow: "registry/airflow:deploy-1".to_owned(),
                default_airflow: "registry/airflow:default".to_owned(),
                pull_policy: "IfNotPresent".to_owned(),
            },
        }
    }

    fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
        objects
            .iter()
            .find(|o| object_key(o) == (kind.to_owned(), name.to_owned()))
    }

    fn container_names(workload: &Value, list: &str) -> Vec<String> {
        workload["spec"]["template"]["spec"][list]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    #[rstest]
    #[case::celery_persistent(Executor::Celery, true, Some("StatefulSet"), "Deployment")]
    #[case::celery_ephemeral(Executor::Celery, false, Some("Deployment"), "Deployment")]
    #[case::local_persistent(Executor::Local, true, None, "StatefulSet")]
    #[case::local_ephemeral(Executor::Local, false, None, "Deployment")]
    #[case::kubernetes(Executor::Kubernetes, true, None, "Deployment")]
    fn workload_kinds_follow_executor_and_persistence(
        #[case] executor: Executor,
        #[case] persistence: bool,
        #[case] worker: Option<&str>,
        #[case] scheduler: &str,
    ) {
        let objects = render(&values(executor, persistence));
        let kind_of = |component: &str| {
            objects
                .iter()
                .find(|o| {
                    o["metadata"]["name"] == format!("{RELEASE}-{component}")
                        && o["kind"] != "ServiceAccount"
                })
                .map(|o| o["kind"].as_str().unwrap_or_default().to_owned())
        };
        assert_eq!(kind_of("worker").as_deref(), worker);
        assert_eq!(kind_of("scheduler").as_deref(), Some(scheduler));
        assert_eq!(kind_of("webserver").as_deref(), Some("Deployment"));
    }

    #[test]
    fn persistent_worker_is_a_statefulset_with_its_log_claim_and_gc_sidecar() {
        let objects = render(&values(Executor::Celery, true));
        let worker = find(&objects, "StatefulSet", &format!("{RELEASE}-worker")).unwrap();
        assert_eq!(worker["spec"]["serviceName"], format!("{RELEASE}-worker"));
        assert_eq!(
            worker["spec"]["volumeClaimTemplates"][0]["metadata"]["name"],
            "logs"
        );
        assert!(worker["spec"].get("strategy").is_none());
        assert_eq!(
            container_names(worker, "containers"),
            ["worker", "worker-gc"]
        );
        assert_eq!(
            container_names(worker, "initContainers"),
            ["wait-for-airflow-migrations"]
        );
        let spec = &worker["spec"]["template"]["spec"];
        assert!(
            spec.get("volumes").is_none(),
            "the claim template provides logs"
        );
        assert_eq!(spec["terminationGracePeriodSeconds"], 600);
        assert_eq!(spec["containers"][0]["args"], json!(["airflow", "worker"]));
        assert_eq!(spec["containers"][0]["image"], "registry/airflow:deploy-1");
        assert_eq!(
            spec["initContainers"][0]["image"],
            "registry/airflow:default"
        );

        let ephemeral = render(&values(Executor::Celery, false));
        let worker = find(&ephemeral, "Deployment", &format!("{RELEASE}-worker")).unwrap();
        assert_eq!(container_names(worker, "containers"), ["worker"]);
        assert_eq!(
            worker["spec"]["template"]["spec"]["volumes"],
            json!([{"name": "logs", "emptyDir": {}}])
        );
    }

    #[test]
    fn scheduler_and_webserver_carry_the_charts_sidecars_and_init_containers() {
        let objects = render(&values(Executor::Celery, true));
        let scheduler = find(&objects, "Deployment", &format!("{RELEASE}-scheduler")).unwrap();
        assert_eq!(
            container_names(scheduler, "containers"),
            ["scheduler", "scheduler-gc"]
        );
        assert_eq!(
            container_names(scheduler, "initContainers"),
            ["run-airflow-migrations"]
        );
        assert_eq!(scheduler["spec"]["strategy"]["type"], "Recreate");
        let webserver = find(&objects, "Deployment", &format!("{RELEASE}-webserver")).unwrap();
        assert_eq!(container_names(webserver, "containers"), ["webserver"]);
        assert_eq!(
            container_names(webserver, "initContainers"),
            ["wait-for-airflow-migrations"]
        );
        assert_eq!(webserver["spec"]["strategy"]["type"], "RollingUpdate");
        // Without Elasticsearch, the local executors serve task logs from a sidecar.
        let mut local = values(Executor::Local, false);
        local.elasticsearch = false;
        let objects = render(&local);
        let scheduler = find(&objects, "Deployment", &format!("{RELEASE}-scheduler")).unwrap();
        assert_eq!(
            container_names(scheduler, "containers"),
            ["scheduler", "scheduler-gc", "scheduler-logs"]
        );
    }

    #[rstest]
    #[case(Component::Webserver)]
    #[case(Component::Scheduler)]
    #[case(Component::Worker)]
    fn names_labels_and_service_accounts_follow_the_chart(#[case] component: Component) {
        let v = values(Executor::Celery, true);
        let objects = render(&v);
        let sa_name = format!("{RELEASE}-{component}-serviceaccount");
        let sa = find(&objects, "ServiceAccount", &sa_name).unwrap();
        assert_eq!(sa["metadata"]["namespace"], format!("astronomer-{RELEASE}"));
        assert_eq!(
            sa["metadata"]["labels"],
            json!({"tier": "airflow", "release": RELEASE, "chart": "airflow-0.15.4", "heritage": "Helm"})
        );
        assert_eq!(
            sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
            "arn:aws:iam::1:role/r"
        );
        let workload = objects
            .iter()
            .find(|o| {
                o["kind"] != "ServiceAccount"
                    && o["metadata"]["name"] == format!("{RELEASE}-{component}")
            })
            .unwrap();
        let pod_labels =
            json!({"tier": "airflow", "component": component.as_str(), "release": RELEASE});
        assert_eq!(workload["spec"]["selector"]["matchLabels"], pod_labels);
        assert_eq!(
            workload["spec"]["template"]["metadata"]["labels"],
            pod_labels
        );
        assert_eq!(workload["metadata"]["labels"]["chart"], "airflow-0.15.4");
        assert_eq!(
            workload["metadata"]["labels"]["component"],
            component.as_str()
        );
        let spec = &workload["spec"]["template"]["spec"];
        assert_eq!(spec["serviceAccountName"], sa_name);
        assert_eq!(spec["containers"][0]["name"], component.as_str());
        assert_eq!(
            workload["spec"]["template"]["metadata"]["annotations"]["rev"],
            "4"
        );
    }

    #[test]
    fn namespace_carries_the_platform_labels_and_bare_service_accounts_no_annotations() {
        let mut v = values(Executor::Celery, true);
        let ns = namespace(&v);
        assert_eq!(ns["metadata"]["name"], format!("astronomer-{RELEASE}"));
        assert_eq!(
            ns["metadata"]["labels"],
            json!({"platform-release": "astronomer"})
        );
        v.service_account_annotations.clear();
        let sa = service_account(&v, Component::Worker);
        assert!(sa["metadata"].get("annotations").is_none());
    }

    #[test]
    fn three_way_patch_restores_hand_edits_and_drops_removed_keys() {
        let obj = |ann: Value| json!({"metadata": {"name": "n", "annotations": ann}});
        let chart = obj(json!({"k": "chart"}));
        let edited = obj(json!({"k": "by-hand", "other": "x"}));
        assert_eq!(
            three_way_patch(Some(&chart), &chart, &edited),
            Some(json!({"metadata": {"annotations": {"k": "chart"}}}))
        );
        assert_eq!(three_way_patch(Some(&chart), &chart, &chart), None);
        let dropped = json!({"metadata": {"name": "n"}});
        assert_eq!(
            three_way_patch(Some(&chart), &dropped, &chart),
            Some(json!({"metadata": {"annotations": null}}))
        );
        let emptied = obj(json!({}));
        assert_eq!(
            three_way_patch(Some(&chart), &emptied, &chart),
            Some(json!({"metadata": {"annotations": {"k": null}}}))
        );
    }

    #[test]
    fn three_way_patch_leaves_defaulted_lists_alone_unless_the_render_changed() {
        let render = json!({"spec": {"containers": [{"name": "c", "image": "i"}]}});
        let live = json!({"spec": {"containers": [
            {"name": "c", "image": "i", "imagePullPolicy": "IfNotPresent"}
        ]}});
        assert_eq!(three_way_patch(Some(&render), &render, &live), None);
        let next = json!({"spec": {"containers": [{"name": "c", "image": "j"}]}});
        assert_eq!(
            three_way_patch(Some(&render), &next, &live),
            Some(next.clone())
        );
    }
}

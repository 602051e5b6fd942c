//! Where the platform writes what the chart renders: the sim's own API server, or a real
//! cluster (see [`crate::cluster`]). The chart's render functions build objects as JSON
//! values; [`ObjectWriter`] is the apply step, with the four calls a Helm install, upgrade
//! and uninstall need.

use serde_json::Value;

use crate::kube::{ApiError, ApiServer, Resource};

/// The apply step of the chart: create, read, merge-patch and delete objects.
///
/// Errors are in the API server's shape (`code`, `reason`, `message`), whichever server
/// answered, so the platform maps a 409 on install to "release name in use" on both.
pub trait ObjectWriter: Send + Sync {
    /// Creates an object; returns it as stored.
    fn create(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        object: Value,
    ) -> Result<Value, ApiError>;

    /// Reads one object.
    fn get(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError>;

    /// Applies a JSON merge patch (RFC 7386).
    fn merge_patch(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        name: &str,
        patch: &Value,
    ) -> Result<Value, ApiError>;

    /// Deletes an object (a namespace deletes what is in it).
    fn delete(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<(), ApiError>;
}

impl ObjectWriter for ApiServer {
    fn create(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        object: Value,
    ) -> Result<Value, ApiError> {
        ApiServer::create(self, resource, namespace, object)
    }

    fn get(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        ApiServer::get(self, resource, namespace, name)
    }

    fn merge_patch(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        name: &str,
        patch: &Value,
    ) -> Result<Value, ApiError> {
        ApiServer::merge_patch(self, resource, namespace, name, patch)
    }

    fn delete(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<(), ApiError> {
        ApiServer::delete(self, resource, namespace, name).map(|_| ())
    }
}

/// How the platform fits the pods it renders to the cluster it installs into: a setting of
/// the platform, applied to every rendered object after the chart (as Helm's
/// `--post-renderer` does), never a change of what the chart renders. The default changes
/// nothing. A real cluster without a registry or service network (the `local` target) needs
/// local images that are never pulled, the host's network, a command that keeps the
/// container running, and the API server's loopback address in place of the service IP the
/// kubelet injects; in the host's network, containers declare no ports (each would be a host
/// port, one pod per node).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkloadSettings {
    /// Image of every container (`None`: as rendered).
    pub image: Option<String>,
    /// `imagePullPolicy` of every container (`None`: as rendered).
    pub image_pull_policy: Option<String>,
    /// `command` of the containers and sidecars (their `args` are dropped); `None`: as rendered.
    pub command: Option<Vec<String>>,
    /// `command` of init containers, which must exit (`None`: as rendered).
    pub init_command: Option<Vec<String>>,
    /// Run pods in the host's network namespace.
    pub host_network: bool,
    /// `terminationGracePeriodSeconds` of every pod (`None`: as rendered). The chart gives
    /// workers 600 s; Kubernetes 1.20's namespace controller waits out that estimate before
    /// it looks again, even when the pod exited at once, so deleting a release's namespace
    /// took minutes on a cluster whose containers exit on SIGTERM right away.
    pub termination_grace_period_seconds: Option<i64>,
    /// Environment variables added to every container that does not define them already.
    pub env: Vec<(String, String)>,
    /// Labels added to the namespaces the platform creates.
    pub namespace_labels: Vec<(String, String)>,
}

impl WorkloadSettings {
    /// Whether these settings change anything.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Applies the settings to one rendered object of kind `resource`.
    pub fn apply(&self, resource: Resource, object: &mut Value) {
        match resource {
            Resource::Namespace => {
                if self.namespace_labels.is_empty() {
                    return;
                }
                if let Some(labels) = object_at(object, &["metadata", "labels"]) {
                    for (key, value) in &self.namespace_labels {
                        labels.insert(key.clone(), Value::from(value.as_str()));
                    }
                }
            }
            Resource::Pod => {
                if let Some(spec) = object_at(object, &["spec"]) {
                    self.apply_pod_spec(spec);
                }
            }
            _ => {
                if object.pointer("/spec/template/spec").is_some()
                    && let Some(spec) = object_at(object, &["spec", "template", "spec"])
                {
                    self.apply_pod_spec(spec);
                }
            }
        }
    }

    /// Applies the settings to a JSON merge patch of an object of kind `resource` (an
    /// upgrade's three-way patch puts back what the chart renders, so what the settings
    /// change must be changed in the patch too).
    pub fn apply_to_patch(&self, resource: Resource, patch: &mut Value) {
        if resource != Resource::Namespace
            && let Some(spec) = patch
                .pointer_mut("/spec/template/spec")
                .and_then(Value::as_object_mut)
        {
            self.apply_pod_spec(spec);
        }
    }

    fn apply_pod_spec(&self, spec: &mut serde_json::Map<String, Value>) {
        if self.host_network {
            spec.insert("hostNetwork".to_owned(), Value::Bool(true));
        }
        if let Some(grace) = self.termination_grace_period_seconds {
            spec.insert(
                "terminationGracePeriodSeconds".to_owned(),
                Value::from(grace),
            );
        }
        for (field, command) in [
            ("containers", &self.command),
            ("initContainers", &self.init_command),
        ] {
            let Some(Value::Array(containers)) = spec.get_mut(field) else {
                continue;
            };
            for container in containers.iter_mut().filter_map(Value::as_object_mut) {
                self.apply_container(container, command.as_deref());
            }
        }
    }

    fn apply_container(
        &self,
        container: &mut serde_json::Map<String, Value>,
        command: Option<&[String]>,
    ) {
        // In the host's network a container port is a host port (the API server defaults
        // `hostPort` to it), so the chart's ports (webserver 8080, worker logs 8793) would let
        // the scheduler place only one such pod per node: nothing listens on them here.
        if self.host_network {
            container.remove("ports");
        }
        if let Some(image) = &self.image {
            container.insert("image".to_owned(), Value::from(image.as_str()));
        }
        if let Some(policy) = &self.image_pull_policy {
            container.insert("imagePullPolicy".to_owned(), Value::from(policy.as_str()));
        }
        if let Some(command) = command {
            container.insert("command".to_owned(), Value::from(command.to_vec()));
            container.remove("args");
        }
        if self.env.is_empty() {
            return;
        }
        let env = container
            .entry("env")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(env) = env {
            for (name, value) in &self.env {
                let defined = env
                    .iter()
                    .any(|e| e.get("name").and_then(Value::as_str) == Some(name.as_str()));
                if !defined {
                    env.push(serde_json::json!({"name": name, "value": value}));
                }
            }
        }
    }
}

/// The object at `path` inside `value`, created (as `{}`) where missing; `None` when
/// something on the way is not an object.
fn object_at<'v>(
    value: &'v mut Value,
    path: &[&str],
) -> Option<&'v mut serde_json::Map<String, Value>> {
    let mut current = value.as_object_mut()?;
    for key in path {
        current = current
            .entry((*key).to_owned())
            .or_insert_with(|| Value::Object(serde_json::Map::new()))
            .as_object_mut()?;
    }
    Some(current)
}

/// An [`ObjectWriter`] that applies [`WorkloadSettings`] to what it creates.
pub struct PostRendered {
    inner: std::sync::Arc<dyn ObjectWriter>,
    settings: WorkloadSettings,
}

impl PostRendered {
    /// `inner`, with `settings` applied to created objects.
    pub fn new(inner: std::sync::Arc<dyn ObjectWriter>, settings: WorkloadSettings) -> Self {
        Self { inner, settings }
    }
}

impl ObjectWriter for PostRendered {
    fn create(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        mut object: Value,
    ) -> Result<Value, ApiError> {
        self.settings.apply(resource, &mut object);
        self.inner.create(resource, namespace, object)
    }

    fn get(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        self.inner.get(resource, namespace, name)
    }

    fn merge_patch(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        name: &str,
        patch: &Value,
    ) -> Result<Value, ApiError> {
        let mut patch = patch.clone();
        self.settings.apply_to_patch(resource, &mut patch);
        self.inner.merge_patch(resource, namespace, name, &patch)
    }

    fn delete(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<(), ApiError> {
        self.inner.delete(resource, namespace, name)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn local() -> WorkloadSettings {
        WorkloadSettings {
            image: Some("docker.io/rolecheck/airflow-like:bookworm".to_owned()),
            image_pull_policy: Some("Never".to_owned()),
            command: Some(vec!["sleep".to_owned(), "infinity".to_owned()]),
            init_command: Some(vec!["true".to_owned()]),
            host_network: true,
            termination_grace_period_seconds: Some(5),
            env: vec![("KUBERNETES_SERVICE_HOST".to_owned(), "127.0.0.1".to_owned())],
            namespace_labels: vec![("rolecheck.io/run-id".to_owned(), "r1".to_owned())],
        }
    }

    #[test]
    fn pod_templates_get_local_images_host_network_and_env() {
        let mut d = json!({"kind": "Deployment", "spec": {"template": {"spec": {
            "containers": [{"name": "a", "image": "quay.io/x", "args": ["airflow"],
                            "ports": [{"name": "webserver-ui", "containerPort": 8080}],
                            "env": [{"name": "KUBERNETES_SERVICE_HOST", "value": "keep"}]}],
            "initContainers": [{"name": "i", "image": "quay.io/y"}],
        }}}});
        local().apply(Resource::Deployment, &mut d);
        let spec = &d["spec"]["template"]["spec"];
        assert_eq!(spec["hostNetwork"], true);
        assert_eq!(spec["terminationGracePeriodSeconds"], 5);
        let c = &spec["containers"][0];
        assert_eq!(c["image"], "docker.io/rolecheck/airflow-like:bookworm");
        assert_eq!(c["imagePullPolicy"], "Never");
        assert_eq!(c["command"], json!(["sleep", "infinity"]));
        assert!(c.get("args").is_none());
        assert!(c.get("ports").is_none(), "a host port per container port");
        assert_eq!(
            c["env"],
            json!([{"name": "KUBERNETES_SERVICE_HOST", "value": "keep"}])
        );
        assert_eq!(spec["initContainers"][0]["command"], json!(["true"]));
    }

    #[test]
    fn upgrade_patches_keep_the_settings_and_leave_the_rest() {
        let mut patch = json!({"spec": {"template": {
            "metadata": {"annotations": {"rolecheck.sim/revision": "2"}},
            "spec": {"terminationGracePeriodSeconds": 600,
                     "containers": [{"name": "worker", "image": "quay.io/x"}]},
        }}});
        local().apply_to_patch(Resource::StatefulSet, &mut patch);
        let spec = &patch["spec"]["template"]["spec"];
        assert_eq!(spec["terminationGracePeriodSeconds"], 5);
        assert_eq!(
            spec["containers"][0]["image"],
            "docker.io/rolecheck/airflow-like:bookworm"
        );
        assert_eq!(
            patch["spec"]["template"]["metadata"]["annotations"]["rolecheck.sim/revision"],
            "2"
        );

        let mut metadata_only = json!({"metadata": {"annotations": {"a": "b"}}});
        let before = metadata_only.clone();
        local().apply_to_patch(Resource::ServiceAccount, &mut metadata_only);
        assert_eq!(metadata_only, before);
    }

    #[test]
    fn namespaces_get_labels_and_defaults_change_nothing() {
        let mut ns = json!({"kind": "Namespace", "metadata": {"name": "n"}});
        local().apply(Resource::Namespace, &mut ns);
        assert_eq!(ns["metadata"]["labels"]["rolecheck.io/run-id"], "r1");

        let before = json!({"spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}});
        let mut after = before.clone();
        WorkloadSettings::default().apply(Resource::Deployment, &mut after);
        assert_eq!(after, before);
    }
}

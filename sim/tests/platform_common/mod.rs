//! Shared plumbing of the platform integration tests: a GraphQL client speaking to the sim
//! as the `astro` CLI of the v0.16 era does, and reads of the Kubernetes objects it rendered.

#![allow(dead_code)]

use reqwest::StatusCode;
use rolecheck_sim::{Endpoints, Sim, SimConfig};
use serde_json::{Value, json};

/// The CLI's `CreateDeployment` mutation (v0.15.0..v0.17.0 field set).
pub const CREATE: &str = rolecheck_wire::houston::CREATE_DEPLOYMENT;

/// The CLI's `UpdateDeployment` mutation (v0.15/v0.16 shape, with `sync`).
pub const UPDATE: &str = rolecheck_wire::houston::UPDATE_DEPLOYMENT;

/// The later update shape: `executor` instead of `sync`.
pub const UPDATE_WITH_EXECUTOR: &str = rolecheck_wire::houston::UPDATE_DEPLOYMENT_WITH_EXECUTOR;

/// Reads one deployment with its config column.
pub const GET_CONFIG: &str = r#"
query GetDeployment($workspaceId: Uuid!, $releaseName: String) {
  deployments(workspaceUuid: $workspaceId, releaseName: $releaseName) { id releaseName config }
}"#;

/// The CLI's `DeleteDeployment` mutation.
pub const DELETE: &str = rolecheck_wire::houston::DELETE_DEPLOYMENT;

/// The annotation key the default sim config sets.
pub const KEY: &str = "eks.amazonaws.com/role-arn";
/// A role.
pub const ROLE_A: &str = "arn:aws:iam::123456789012:role/role-a";
/// Another role.
pub const ROLE_B: &str = "arn:aws:iam::123456789012:role/role-b";

/// A running sim plus HTTP clients for its platform and Kubernetes APIs.
pub struct Env {
    /// The sim (kept alive for the test).
    pub sim: Sim,
    http: reqwest::Client,
}

impl Env {
    /// Starts a sim with `config`.
    pub async fn start(config: SimConfig) -> Self {
        let sim = Sim::start(config).await.expect("sim starts");
        Self {
            sim,
            http: reqwest::Client::new(),
        }
    }

    /// The sim's endpoints.
    pub fn endpoints(&self) -> &Endpoints {
        self.sim.endpoints()
    }

    /// The token of the user holding `WORKSPACE_<role>`.
    pub fn token(&self, role: &str) -> String {
        let wanted = format!("WORKSPACE_{role}");
        self.endpoints()
            .platform_users
            .iter()
            .find(|u| u.workspace_role == wanted)
            .map(|u| u.token.clone())
            .unwrap_or_else(|| panic!("no user with role {wanted}"))
    }

    /// Posts a GraphQL request; returns the HTTP status and the JSON body.
    pub async fn post(&self, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut request = self.http.post(&self.endpoints().platform_url).json(&body);
        if let Some(token) = token {
            request = request.header("authorization", token);
        }
        let response = request.send().await.expect("platform answers");
        let status = response.status();
        (status, response.json().await.expect("JSON body"))
    }

    /// Runs `query` with `variables` as `role` (ADMIN, EDITOR, VIEWER); expects HTTP 200.
    pub async fn gql(&self, role: &str, query: &str, variables: Value) -> Value {
        let token = self.token(role);
        let (status, body) = self
            .post(
                Some(&token),
                json!({"query": query, "variables": variables}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Creates a Celery deployment as `role` with `cloud_role` ("" = none), as the CLI does.
    pub async fn create(&self, role: &str, release: Option<&str>, cloud_role: &str) -> Value {
        let mut vars = json!({
            "label": "test deployment",
            "workspaceId": self.endpoints().workspace_id,
            "config": {"executor": "CeleryExecutor"},
            "cloudRole": cloud_role,
        });
        if let Some(release) = release {
            vars["releaseName"] = json!(release);
        }
        self.gql(role, CREATE, vars).await
    }

    /// Creates as admin and returns `(id, releaseName)`; panics on error.
    pub async fn create_ok(&self, release: &str, cloud_role: &str) -> (String, String) {
        let body = self.create("ADMIN", Some(release), cloud_role).await;
        assert!(body.get("errors").is_none(), "{body}");
        let d = &body["data"]["createDeployment"];
        (as_string(&d["id"]), as_string(&d["releaseName"]))
    }

    /// Updates as `role` with the v0.16 shape; `cloud_role` None omits the variable.
    pub async fn update(&self, role: &str, id: &str, cloud_role: Option<Value>) -> Value {
        let mut vars = json!({"deploymentId": id, "payload": {"label": "renamed"}, "sync": false});
        if let Some(cloud_role) = cloud_role {
            vars["sync"] = json!(true);
            vars["cloudRole"] = cloud_role;
        }
        self.gql(role, UPDATE, vars).await
    }

    /// The config column of a release, read as admin.
    pub async fn config_of(&self, release: &str) -> Value {
        let vars = json!({"workspaceId": self.endpoints().workspace_id, "releaseName": release});
        let body = self.gql("ADMIN", GET_CONFIG, vars).await;
        let list = body["data"]["deployments"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(list.len(), 1, "{body}");
        list[0]["config"].clone()
    }

    /// Number of deployments in the workspace.
    pub async fn deployment_count(&self) -> usize {
        let vars = json!({"workspaceId": self.endpoints().workspace_id});
        let body = self.gql("ADMIN", GET_CONFIG, vars).await;
        body["data"]["deployments"].as_array().map_or(0, Vec::len)
    }

    /// GETs a Kubernetes API path with the admin token; returns status and body.
    pub async fn kube_get(&self, path: &str) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.endpoints().kube_url);
        let response = self
            .http
            .get(url)
            .bearer_auth(&self.endpoints().kube_token)
            .send()
            .await
            .expect("kube answers");
        let status = response.status();
        (status, response.json().await.expect("JSON body"))
    }

    /// A component's ServiceAccount; panics unless it exists.
    pub async fn service_account(&self, release: &str, component: &str) -> Value {
        let path = format!(
            "/api/v1/namespaces/astronomer-{release}/serviceaccounts/{release}-{component}-serviceaccount"
        );
        let (status, body) = self.kube_get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }

    /// The annotations of a component's ServiceAccount (empty object when none).
    pub async fn sa_annotations(&self, release: &str, component: &str) -> Value {
        let sa = self.service_account(release, component).await;
        sa["metadata"]
            .get("annotations")
            .cloned()
            .unwrap_or_else(|| json!({}))
    }

    /// A component's apps/v1 workload (Deployment or StatefulSet), if it exists.
    pub async fn workload(&self, release: &str, component: &str) -> Option<Value> {
        for kind in ["deployments", "statefulsets"] {
            let path = format!(
                "/apis/apps/v1/namespaces/astronomer-{release}/{kind}/{release}-{component}"
            );
            let (status, body) = self.kube_get(&path).await;
            match status {
                StatusCode::OK => return Some(body),
                StatusCode::NOT_FOUND => {}
                other => panic!("{path}: {other} {body}"),
            }
        }
        None
    }
}

/// A JSON string value as a Rust string; panics otherwise.
pub fn as_string(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_owned()
}

/// The `extensions.code` of the first error; panics when there is none.
pub fn error_code(body: &Value) -> String {
    as_string(&body["errors"][0]["extensions"]["code"])
}

/// A kube-rs client for the sim's Kubernetes API, authenticated with the admin token.
pub async fn kube_client(env: &Env) -> kube::Client {
    let ep = env.endpoints();
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&format!(
        r#"
apiVersion: v1
kind: Config
clusters: [{{name: sim, cluster: {{server: "{}"}}}}]
users: [{{name: admin, user: {{token: "{}"}}}}]
contexts: [{{name: sim, context: {{cluster: sim, user: admin}}}}]
current-context: sim
"#,
        ep.kube_url, ep.kube_token
    ))
    .expect("kubeconfig parses");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("kubeconfig loads");
    kube::Client::try_from(config).expect("client builds")
}

/// Bounds a wait so a broken sim fails the test instead of hanging it (a guard, not an
/// assertion on time).
pub async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(std::time::Duration::from_secs(30), f)
        .await
        .expect("the sim did not reach the expected state")
}

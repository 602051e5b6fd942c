//! The platform driver for Houston's GraphQL API, sending the queries the documents' CLI
//! (`astro deployment create|update --cloud-role`) sends.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Value, json};

use rolecheck_wire::houston::{CREATE_DEPLOYMENT, DELETE_DEPLOYMENT, UPDATE_DEPLOYMENT};

use super::DriverError;
use crate::scenario::model::{Actor, Executor};

/// The CLI's `GetDeployment` query, asking for the stored `config` column.
const DEPLOYMENT_CONFIG: &str = r#"
query GetDeployment($workspaceId: Uuid!, $releaseName: String) {
  workspaceDeployments(workspaceUuid: $workspaceId, releaseName: $releaseName) {
    id
    releaseName
    config
  }
}"#;

/// How a cloud role goes into a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleArg {
    /// Left out of the variables.
    Omitted,
    /// Sent as `null`.
    Null,
    /// Sent as this string (possibly empty).
    Value(String),
}

/// The platform refused a call (a GraphQL error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformRefusal {
    /// `extensions.code` of the first error (`FORBIDDEN`, `BAD_USER_INPUT`, ...), if any.
    pub code: Option<String>,
    /// `message` of the first error.
    pub message: String,
}

/// Credentials and workspace for talking to Houston.
#[derive(Debug, Clone)]
pub struct HoustonAccess {
    /// GraphQL URL (`https://houston.<baseDomain>/v1`).
    pub url: String,
    /// Workspace the deployments go into.
    pub workspace_id: String,
    /// API token per workspace role.
    pub tokens: HashMap<Actor, String>,
}

/// A Houston GraphQL client.
pub struct HoustonDriver {
    access: HoustonAccess,
    http: reqwest::Client,
    /// Deployment ids by release name, for the deployments this driver created.
    ids: Mutex<HashMap<String, String>>,
}

impl HoustonDriver {
    /// Builds the client (no network traffic).
    pub fn new(access: HoustonAccess) -> Result<Self, DriverError> {
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(|e| DriverError::Protocol(format!("HTTP client: {e}")))?;
        Ok(Self {
            access,
            http,
            ids: Mutex::new(HashMap::new()),
        })
    }

    /// `createDeployment` with `releaseName` set; remembers the deployment id.
    pub async fn create_deployment(
        &self,
        actor: Actor,
        release: &str,
        executor: Executor,
        cloud_role: &RoleArg,
    ) -> Result<Result<(), PlatformRefusal>, DriverError> {
        let mut variables = json!({
            "label": release,
            "type": "airflow",
            "releaseName": release,
            "workspaceId": self.access.workspace_id,
            "config": {"executor": executor_name(executor)},
        });
        put_role(&mut variables, cloud_role);
        let data = match self.call(actor, CREATE_DEPLOYMENT, variables).await? {
            Ok(data) => data,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let id = data
            .pointer("/createDeployment/id")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                DriverError::Protocol("createDeployment answered without an id".to_owned())
            })?;
        self.remember(release, id);
        Ok(Ok(()))
    }

    /// `updateDeployment` of a deployment this driver created.
    pub async fn update_deployment(
        &self,
        actor: Actor,
        release: &str,
        cloud_role: &RoleArg,
    ) -> Result<Result<(), PlatformRefusal>, DriverError> {
        let id = self.id_of(release)?;
        let sync = matches!(cloud_role, RoleArg::Value(v) if !v.is_empty());
        let mut variables = json!({"deploymentId": id, "payload": {}, "sync": sync});
        put_role(&mut variables, cloud_role);
        Ok(self
            .call(actor, UPDATE_DEPLOYMENT, variables)
            .await?
            .map(|_| ()))
    }

    /// `deleteDeployment` of a deployment this driver created.
    pub async fn delete_deployment(
        &self,
        actor: Actor,
        release: &str,
    ) -> Result<Result<(), PlatformRefusal>, DriverError> {
        let id = self.id_of(release)?;
        let answer = self
            .call(actor, DELETE_DEPLOYMENT, json!({"deploymentId": id}))
            .await?;
        if answer.is_ok() {
            self.forget(release);
        }
        Ok(answer.map(|_| ()))
    }

    /// The stored `config` of the deployment with `release` (what Houston keeps in the
    /// `Deployment` table's `config` column), read as a Workspace Admin.
    pub async fn deployment_config(
        &self,
        release: &str,
    ) -> Result<Result<Value, PlatformRefusal>, DriverError> {
        let variables = json!({"workspaceId": self.access.workspace_id, "releaseName": release});
        let data = match self
            .call(Actor::Admin, DEPLOYMENT_CONFIG, variables)
            .await?
        {
            Ok(data) => data,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let found = data
            .get("workspaceDeployments")
            .and_then(Value::as_array)
            .and_then(|list| {
                list.iter()
                    .find(|d| d.get("releaseName").and_then(Value::as_str) == Some(release))
            })
            .ok_or_else(|| {
                DriverError::Protocol(format!(
                    "workspaceDeployments has no deployment with release `{release}`"
                ))
            })?;
        Ok(Ok(found.get("config").cloned().unwrap_or(Value::Null)))
    }

    /// Whether this driver created a deployment with that release name and has not deleted it.
    pub fn knows(&self, release: &str) -> bool {
        self.ids
            .lock()
            .map(|ids| ids.contains_key(release))
            .unwrap_or(false)
    }

    async fn call(
        &self,
        actor: Actor,
        query: &str,
        variables: Value,
    ) -> Result<Result<Value, PlatformRefusal>, DriverError> {
        let token = self.access.tokens.get(&actor).ok_or_else(|| {
            DriverError::Protocol(format!(
                "the target has no platform user with role {}",
                actor.name()
            ))
        })?;
        let response = self
            .http
            .post(&self.access.url)
            .header("authorization", token)
            .header("accept", "application/json")
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() || e.is_timeout() {
                    DriverError::Unreachable(format!("platform API {}: {e}", self.access.url))
                } else {
                    DriverError::Protocol(format!("platform API: {e}"))
                }
            })?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| {
            DriverError::Protocol(format!(
                "platform API answered {status} with a body that is not JSON: {e}"
            ))
        })?;
        if let Some(first) = body
            .get("errors")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
        {
            return Ok(Err(PlatformRefusal {
                code: first
                    .pointer("/extensions/code")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                message: first
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            }));
        }
        if !status.is_success() {
            return Err(DriverError::Protocol(format!(
                "platform API answered {status}: {body}"
            )));
        }
        body.get("data").cloned().map(Ok).ok_or_else(|| {
            DriverError::Protocol("platform API answered without data or errors".to_owned())
        })
    }

    fn remember(&self, release: &str, id: &str) {
        if let Ok(mut ids) = self.ids.lock() {
            ids.insert(release.to_owned(), id.to_owned());
        }
    }

    fn forget(&self, release: &str) {
        if let Ok(mut ids) = self.ids.lock() {
            ids.remove(release);
        }
    }

    fn id_of(&self, release: &str) -> Result<String, DriverError> {
        self.ids
            .lock()
            .ok()
            .and_then(|ids| ids.get(release).cloned())
            .ok_or_else(|| {
                DriverError::Protocol(format!(
                    "no deployment with release `{release}` was created in this run"
                ))
            })
    }
}

fn put_role(variables: &mut Value, role: &RoleArg) {
    if let Some(map) = variables.as_object_mut() {
        match role {
            RoleArg::Omitted => {}
            RoleArg::Null => {
                map.insert("cloudRole".to_owned(), Value::Null);
            }
            RoleArg::Value(v) => {
                map.insert("cloudRole".to_owned(), Value::String(v.clone()));
            }
        }
    }
}

fn executor_name(executor: Executor) -> &'static str {
    match executor {
        Executor::Celery => "CeleryExecutor",
        Executor::Local => "LocalExecutor",
        Executor::Kubernetes => "KubernetesExecutor",
    }
}

//! The platform driver for Houston's GraphQL API, sending the queries the documents' CLI
//! (`astro deployment create|update --cloud-role`) sends.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Value, json};

use rolecheck_wire::houston::{
    APP_CONFIG, CREATE_DEPLOYMENT, DELETE_DEPLOYMENT, SELF, UPDATE_DEPLOYMENT,
};

use super::DriverError;
use super::kube::RUN_ID_LABEL;
use super::timeouts::RequestTimeouts;
use crate::platform::{Actor, Executor, PlatformRefusal, RefusalKind, RoleArg};

/// The CLI's `GetDeployment` query, asking for the stored `config` column.
const DEPLOYMENT_CONFIG: &str = r#"
query GetDeployment($workspaceId: Uuid!, $releaseName: String) {
  workspaceDeployments(workspaceUuid: $workspaceId, releaseName: $releaseName) {
    id
    releaseName
    config
  }
}"#;

/// The CLI's `GetDeployment` query narrowed to what clean-up needs: is there a deployment
/// of that release, and whose is it (its label carries the run id of the run that made it).
const FIND_DEPLOYMENTS: &str = r#"
query GetDeployment($workspaceId: Uuid!, $releaseName: String) {
  workspaceDeployments(workspaceUuid: $workspaceId, releaseName: $releaseName) {
    id
    releaseName
    label
    createdAt
  }
}"#;

/// A deployment as the platform lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentRecord {
    /// Its id.
    pub id: String,
    /// Its release name.
    pub release: String,
    /// Its label (a run's deployments: `<release asked for> rolecheck.io/run-id=<id>`).
    pub label: Option<String>,
    /// The run id its label carries, when it has one.
    pub run_id: Option<String>,
    /// When it was created (RFC 3339), when the platform said.
    pub created_at: Option<String>,
}

/// The label of a deployment a run creates: the release name and the run id, so that
/// clean-up and `rolecheck gc` recognise the platform's record as the run's own.
pub fn deployment_label(release: &str, run_id: &str) -> String {
    format!("{release} {RUN_ID_LABEL}={run_id}")
}

/// The run id a deployment label carries, if any.
pub fn run_id_of_label(label: &str) -> Option<&str> {
    label
        .split_whitespace()
        .find_map(|word| word.strip_prefix(RUN_ID_LABEL)?.strip_prefix('='))
        .filter(|id| !id.is_empty())
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
    /// The run whose deployments this driver creates (written into their labels); `None`
    /// for a client that creates nothing (`rolecheck gc`).
    pub run_id: Option<String>,
}

/// What `appConfig` says about the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfig {
    /// Platform version.
    pub version: String,
    /// Base domain.
    pub base_domain: String,
    /// Whether clients choose release names (off: the platform generates them).
    pub manual_release_names: bool,
}

/// The user a token belongs to, as `self` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUser {
    /// Username.
    pub username: String,
    /// Role per workspace id (`WORKSPACE_ADMIN`, ...).
    pub roles: Vec<(String, String)>,
}

impl TokenUser {
    /// The user's role in `workspace`, if a member.
    pub fn role_in(&self, workspace: &str) -> Option<&str> {
        self.roles
            .iter()
            .find(|(w, _)| w == workspace)
            .map(|(_, r)| r.as_str())
    }
}

/// A Houston GraphQL client.
pub struct HoustonDriver {
    access: HoustonAccess,
    http: reqwest::Client,
    /// Deployment ids by release name, for the deployments this driver created.
    ids: Mutex<HashMap<String, String>>,
    /// `appConfig.manualReleaseNames`, once asked.
    manual_release_names: tokio::sync::OnceCell<bool>,
}

impl HoustonDriver {
    /// Builds the client (no network traffic).
    pub fn new(access: HoustonAccess) -> Result<Self, DriverError> {
        let http = RequestTimeouts::current()
            .http()
            .build()
            .map_err(|e| DriverError::Protocol(format!("HTTP client: {e}")))?;
        Ok(Self {
            access,
            http,
            ids: Mutex::new(HashMap::new()),
            manual_release_names: tokio::sync::OnceCell::new(),
        })
    }

    /// `appConfig.manualReleaseNames`: whether the platform honours a requested release name
    /// (asked once, like the CLI does before `createDeployment`).
    pub async fn manual_release_names(&self) -> Result<bool, DriverError> {
        self.manual_release_names
            .get_or_try_init(|| async {
                match self.call(Actor::Admin, APP_CONFIG, json!({})).await? {
                    Ok(data) => data
                        .pointer("/appConfig/manualReleaseNames")
                        .and_then(Value::as_bool)
                        .ok_or_else(|| {
                            DriverError::Protocol(
                                "appConfig answered without manualReleaseNames".to_owned(),
                            )
                        }),
                    Err(refusal) => Err(DriverError::Protocol(format!(
                        "appConfig was refused: {}",
                        refusal.message
                    ))),
                }
            })
            .await
            .copied()
    }

    /// `createDeployment` labelled `release`, asking for that release name only when the
    /// platform's `manualReleaseNames` is on (as the CLI does); returns the release name the
    /// platform answers with and remembers the deployment id under it.
    pub async fn create_deployment(
        &self,
        actor: Actor,
        release: &str,
        executor: Executor,
        cloud_role: &RoleArg,
    ) -> Result<Result<String, PlatformRefusal>, DriverError> {
        let label = match &self.access.run_id {
            Some(run_id) => deployment_label(release, run_id),
            None => release.to_owned(),
        };
        let mut variables = json!({
            "label": label,
            "type": "airflow",
            "workspaceId": self.access.workspace_id,
            "config": {"executor": executor_name(executor)},
        });
        if self.manual_release_names().await?
            && let Some(map) = variables.as_object_mut()
        {
            map.insert("releaseName".to_owned(), json!(release));
        }
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
        let Some(actual) = data
            .pointer("/createDeployment/releaseName")
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
        else {
            // Still tracked (under the name asked for), so clean-up can delete it.
            self.remember(release, id);
            return Err(DriverError::Protocol(format!(
                "createDeployment answered without a releaseName (deployment {id})"
            )));
        };
        self.remember(actual, id);
        Ok(Ok(actual.to_owned()))
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
        self.delete_by_id(actor, release, &id).await
    }

    /// `deleteDeployment` of the deployment `id` (of `release`).
    pub async fn delete_by_id(
        &self,
        actor: Actor,
        release: &str,
        id: &str,
    ) -> Result<Result<(), PlatformRefusal>, DriverError> {
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

    /// The workspace's deployments (of one release, when given).
    pub async fn deployments(
        &self,
        release: Option<&str>,
    ) -> Result<Result<Vec<DeploymentRecord>, PlatformRefusal>, DriverError> {
        let variables = json!({"workspaceId": self.access.workspace_id, "releaseName": release});
        let data = match self.call(Actor::Admin, FIND_DEPLOYMENTS, variables).await? {
            Ok(data) => data,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let list = data
            .get("workspaceDeployments")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                DriverError::Protocol("workspaceDeployments answered without a list".to_owned())
            })?;
        let text = |d: &Value, key: &str| d.get(key).and_then(Value::as_str).map(str::to_owned);
        Ok(Ok(list
            .iter()
            .filter_map(|d| {
                Some(DeploymentRecord {
                    id: text(d, "id")?,
                    release: text(d, "releaseName")?,
                    label: text(d, "label"),
                    run_id: text(d, "label")
                        .as_deref()
                        .and_then(run_id_of_label)
                        .map(str::to_owned),
                    created_at: text(d, "createdAt"),
                })
            })
            .collect()))
    }

    /// Deletes the deployment asked for as `release` whose create was sent but not answered:
    /// found by its release name, or, since the platform names releases itself unless
    /// `manualReleaseNames` is on, by the label the create sent; deleted only when its label
    /// carries this run's id. `Ok(false)`: the platform has no such deployment (the create
    /// never arrived).
    pub async fn delete_unanswered(
        &self,
        release: &str,
    ) -> Result<Result<bool, PlatformRefusal>, DriverError> {
        let sent_label = self
            .access
            .run_id
            .as_deref()
            .map(|run_id| deployment_label(release, run_id));
        let found = match self.deployments(None).await? {
            Ok(list) => list
                .into_iter()
                .find(|d| d.release == release || (sent_label.is_some() && d.label == sent_label)),
            Err(refusal) => return Ok(Err(refusal)),
        };
        let Some(found) = found else {
            return Ok(Ok(false));
        };
        if found.run_id.is_none() || found.run_id != self.access.run_id {
            return Ok(Err(PlatformRefusal::new(
                RefusalKind::Other,
                None,
                format!(
                    "deployment {release} exists but its label does not carry this run's id: left alone"
                ),
            )));
        }
        self.delete_by_id(Actor::Admin, release, &found.id)
            .await
            .map(|answer| answer.map(|()| true))
    }

    /// The GraphQL URL.
    pub fn url(&self) -> &str {
        &self.access.url
    }

    /// The workspace id deployments go into.
    pub fn workspace_id(&self) -> &str {
        &self.access.workspace_id
    }

    /// Whether the driver has a token for `actor`.
    pub fn has_token(&self, actor: Actor) -> bool {
        self.access.tokens.contains_key(&actor)
    }

    /// `appConfig` (sent without a token, as the CLI does).
    pub async fn app_config(&self) -> Result<Result<AppConfig, PlatformRefusal>, DriverError> {
        let data = match self.post(None, APP_CONFIG, json!({})).await? {
            Ok(data) => data,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let config = data
            .get("appConfig")
            .ok_or_else(|| DriverError::Protocol("appConfig missing in the answer".to_owned()))?;
        let text = |key: &str| {
            config
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Ok(Ok(AppConfig {
            version: text("version"),
            base_domain: text("baseDomain"),
            manual_release_names: config
                .get("manualReleaseNames")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }))
    }

    /// `self` with `actor`'s token: who it is and its workspace roles.
    pub async fn token_user(
        &self,
        actor: Actor,
    ) -> Result<Result<TokenUser, PlatformRefusal>, DriverError> {
        let data = match self.call(actor, SELF, json!({})).await? {
            Ok(data) => data,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let user = data
            .pointer("/self/user")
            .ok_or_else(|| DriverError::Protocol("self.user missing in the answer".to_owned()))?;
        let roles = user
            .get("roleBindings")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|b| {
                        Some((
                            b.pointer("/workspace/id")?.as_str()?.to_owned(),
                            b.get("role")?.as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Ok(TokenUser {
            username: user
                .get("username")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            roles,
        }))
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
        self.post(Some(token), query, variables).await
    }

    async fn post(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Result<Result<Value, PlatformRefusal>, DriverError> {
        let mut request = self.http.post(&self.access.url);
        if let Some(token) = token {
            request = request.header("authorization", token);
        }
        let response = request
            .header("accept", "application/json")
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .map_err(|e| http_error("platform API", &self.access.url, &e))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| {
            if e.is_timeout() || e.is_body() && !e.is_decode() {
                http_error("platform API", &self.access.url, &e)
            } else {
                DriverError::Protocol(format!(
                    "platform API at {} answered {status} with a body that is not JSON: {e}",
                    self.access.url
                ))
            }
        })?;
        if let Some(first) = body
            .get("errors")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
        {
            let code = first.pointer("/extensions/code").and_then(Value::as_str);
            let message = first
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default();
            return Ok(Err(PlatformRefusal::new(
                refusal_kind(code, message),
                code.map(str::to_owned),
                message,
            )));
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

/// A reqwest error of a request to `what` at `url`: not reaching it, or no answer within
/// the [`RequestTimeouts`], is unreachable (an infrastructure error); anything else is a
/// protocol error. Both name the endpoint and what happened.
pub(crate) fn http_error(what: &str, url: &str, err: &reqwest::Error) -> DriverError {
    let chain = super::error_chain(err);
    if err.is_timeout() {
        DriverError::Unreachable(format!(
            "{what} at {url}: no answer within {} (it does not answer): {chain}",
            humantime::format_duration(RequestTimeouts::current().read)
        ))
    } else if err.is_connect() || err.is_request() || err.is_body() {
        DriverError::Unreachable(format!("{what} at {url}: {chain}"))
    } else {
        DriverError::Protocol(format!("{what} at {url}: {chain}"))
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

/// How Houston says why it refused: Apollo's `FORBIDDEN`/`UNAUTHORIZED` (or a message about
/// permissions, as its older resolvers answer) for a caller without the right, its input
/// and validation codes for a bad request.
fn refusal_kind(code: Option<&str>, message: &str) -> RefusalKind {
    match code.unwrap_or_default() {
        "FORBIDDEN" | "UNAUTHORIZED" => RefusalKind::PermissionDenied,
        "BAD_USER_INPUT" | "GRAPHQL_VALIDATION_FAILED" | "BAD_REQUEST" => {
            RefusalKind::InvalidRequest
        }
        _ if message.to_lowercase().contains("permission") => RefusalKind::PermissionDenied,
        _ => RefusalKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::forbidden(Some("FORBIDDEN"), "nope", RefusalKind::PermissionDenied)]
    #[case::unauthorized(Some("UNAUTHORIZED"), "", RefusalKind::PermissionDenied)]
    #[case::message_only(
        None,
        "You do not have the appropriate permissions",
        RefusalKind::PermissionDenied
    )]
    #[case::bad_input(Some("BAD_USER_INPUT"), "invalid arn", RefusalKind::InvalidRequest)]
    #[case::validation(
        Some("GRAPHQL_VALIDATION_FAILED"),
        "unknown field",
        RefusalKind::InvalidRequest
    )]
    #[case::bad_request(Some("BAD_REQUEST"), "", RefusalKind::InvalidRequest)]
    #[case::internal(Some("INTERNAL_SERVER_ERROR"), "boom", RefusalKind::Other)]
    #[case::unauthenticated(
        Some("UNAUTHENTICATED"),
        "You must be authenticated",
        RefusalKind::Other
    )]
    #[case::none(None, "something else", RefusalKind::Other)]
    fn houston_errors_are_classified_once(
        #[case] code: Option<&str>,
        #[case] message: &str,
        #[case] kind: RefusalKind,
    ) {
        assert_eq!(refusal_kind(code, message), kind);
    }
}

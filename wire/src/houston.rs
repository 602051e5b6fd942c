//! The GraphQL documents the platform's CLI (`astro`, v0.15..v0.17) sends to Houston, as
//! recorded in the platform API facts the project was given (`shared/platform-api.md`). The
//! harness's Houston driver sends them; the sim's tests send them to prove the sim accepts
//! what the CLI sends.

/// `createDeployment` (v0.15.0 to v0.17.0 share it).
pub const CREATE_DEPLOYMENT: &str = r#"
mutation CreateDeployment(
  $label: String!
  $type: String = "airflow"
  $releaseName: String
  $workspaceId: Uuid!
  $config: JSON!
  $cloudRole: String
) {
  createDeployment(
    label: $label
    type: $type
    workspaceUuid: $workspaceId
    releaseName: $releaseName
    config: $config
    cloudRole: $cloudRole
  ) {
    id
    type
    label
    releaseName
    version
    urls { type url }
    createdAt
    updatedAt
  }
}"#;

/// `updateDeployment` as v0.15/v0.16 send it (`payload` + `cloudRole` + `sync`).
pub const UPDATE_DEPLOYMENT: &str = r#"
mutation UpdateDeployment($deploymentId: Uuid!, $payload: JSON!, $cloudRole: String, $sync: Boolean) {
  updateDeployment(deploymentUuid: $deploymentId, payload: $payload, cloudRole: $cloudRole, sync: $sync) {
    id
    type
    label
    description
    releaseName
    version
    workspace { id }
    createdAt
    updatedAt
  }
}"#;

/// `updateDeployment` as later CLIs send it (`executor` instead of `sync`).
pub const UPDATE_DEPLOYMENT_WITH_EXECUTOR: &str = r#"
mutation UpdateDeployment($deploymentId: Uuid!, $payload: JSON!, $executor: ExecutorType, $cloudRole: String) {
  updateDeployment(deploymentUuid: $deploymentId, payload: $payload, executor: $executor, cloudRole: $cloudRole) {
    id
    releaseName
  }
}"#;

/// `deleteDeployment`.
pub const DELETE_DEPLOYMENT: &str = r#"
mutation DeleteDeployment($deploymentId: Uuid!) {
  deleteDeployment(deploymentUuid: $deploymentId) {
    id
    releaseName
    workspace { id }
  }
}"#;

/// `appConfig`, as every CLI command sends it first (no token needed).
pub const APP_CONFIG: &str = r#"
query AppConfig {
  appConfig {
    version
    baseDomain
    smtpConfigured
    manualReleaseNames
  }
}"#;

/// `self`: the user a token belongs to and its role in each workspace (the preflight's
/// token and role check).
pub const SELF: &str = r#"
query Self {
  self {
    user {
      id
      username
      roleBindings {
        role
        workspace { id }
      }
    }
  }
}"#;

/// `GetAuthConfig`: the first request of `astro auth login` (v0.15 to v0.16).
pub const AUTH_CONFIG: &str = r#"
query GetAuthConfig($redirect: String) {
  authConfig(redirect: $redirect) {
    localEnabled
    publicSignup
    initialSignup
    providers {
      name
      displayName
      url
    }
  }
}"#;

/// `createBasicToken`: `astro auth login` with a username and password (v0.15 to v0.16).
pub const CREATE_BASIC_TOKEN: &str = r#"
mutation createBasicToken($identity: String, $password: String!) {
  createToken(identity: $identity, password: $password) {
    user {
      id
      fullName
      username
      status
      createdAt
      updatedAt
    }
    token {
      value
    }
  }
}"#;

/// `GetWorkspaces`: `astro auth login` lists the user's workspaces to pick one (v0.15 to
/// v0.16).
pub const WORKSPACES: &str = r#"
query GetWorkspaces {
  workspaces {
    id
    label
    description
    createdAt
    updatedAt
    roleBindings {
      role
      user {
        id
        username
      }
    }
  }
}"#;

/// `GetDeployment`: `astro deployment list` (v0.15 to v0.16); `--all` sends it without
/// `workspaceId`.
pub const LIST_DEPLOYMENTS: &str = r#"
query GetDeployment($workspaceId: Uuid!, $releaseName: String) {
  workspaceDeployments(workspaceUuid: $workspaceId, releaseName: $releaseName) {
    id
    type
    label
    releaseName
    workspace {
      id
    }
    deployInfo {
      nextCli
      current
    }
    version
    createdAt
    updatedAt
  }
}"#;

/// `createDeployment` as CLI v0.16.4 sends it (`executor: ExecutorType!`, optional `config`).
pub const CREATE_DEPLOYMENT_WITH_EXECUTOR: &str = r#"
mutation CreateDeployment(
  $label: String!
  $type: String = "airflow"
  $releaseName: String
  $workspaceId: Uuid!
  $executor: ExecutorType!
  $config: JSON
  $cloudRole: String
) {
  createDeployment(
    label: $label
    type: $type
    workspaceUuid: $workspaceId
    releaseName: $releaseName
    executor: $executor
    config: $config
    cloudRole: $cloudRole
  ) {
    id
    releaseName
  }
}"#;

/// `upsertDeployment`: what the newest CLI sends to a Software platform it cannot match to
/// a known version (it falls back to its latest document); a v0.16 Houston has no such
/// mutation.
pub const NEWEST_UPSERT_DEPLOYMENT: &str = r#"
mutation upsertDeployment(
  $label: String,
  $workspaceId: Uuid,
  $clusterId: Uuid,
  $releaseName: String,
  $executor: ExecutorType,
  $runtimeVersion: String,
  $namespace: String,
  $cloudRole: String,
  $dagDeployment: DagDeployment,
  $triggererReplicas: Int,
  $mode: AllowedDeploymentModeValues,
) {
  upsertDeployment(
    workspaceUuid: $workspaceId,
    clusterId: $clusterId,
    label: $label,
    releaseName: $releaseName,
    namespace: $namespace,
    runtimeVersion: $runtimeVersion,
    executor: $executor,
    triggerer: {replicas: $triggererReplicas}
    dagDeployment: $dagDeployment,
    cloudRole: $cloudRole,
    mode: $mode,
  ) {
    id
    releaseName
  }
}"#;

//! The GraphQL documents the platform's CLI (`astro`, v0.15..v0.17) sends to Houston, as
//! recorded in /work/shared/platform-api.md. The harness's Houston driver sends them; the
//! sim's tests send them to prove the sim accepts what the CLI sends.

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

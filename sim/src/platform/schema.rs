//! GraphQL types and resolvers, spelled as Houston's schema of the v0.15/v0.16 era spells
//! them (the `astro` CLI's queries name these types, arguments and fields).
//!
//! `appConfig` answers without a token (the CLI asks it before anything else); every other
//! field needs one.

use std::sync::Arc;

use async_graphql::{
    ComplexObject, Context, EmptySubscription, InputObject, InputValueError, InputValueResult,
    MaybeUndefined, Object, Scalar, ScalarType, Schema, SimpleObject, Value as GqlValue,
    types::Json,
};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::Platform;
use super::binding::RoleArg;
use super::error::PlatformError;
use super::ops::{Caller, CreateInput, UpdateInput};
use super::store::DeploymentRecord;
use super::values::Executor;
use crate::faults::Fault;

/// The schema served at `/v1`.
pub type PlatformSchema = Schema<Query, Mutation, EmptySubscription>;

/// The most a document may cost: every selected field costs 1, a mutation field
/// [`MUTATION_COST`] more. A document over it is refused before anything runs.
pub const MAX_COMPLEXITY: usize = 1000;

/// What a mutation field costs on top of its selection: each one renders a chart and writes
/// Kubernetes objects, so one document carries at most a handful (the CLI sends one).
pub const MUTATION_COST: usize = 100;

/// The deepest selection a document may have (the CLI's deepest is 3 or 4 levels).
pub const MAX_DEPTH: usize = 16;

/// Builds the schema over a platform, with the complexity and depth limits.
pub fn build(platform: Arc<Platform>) -> PlatformSchema {
    Schema::build(Query, Mutation, EmptySubscription)
        .data(platform)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_depth(MAX_DEPTH)
        .finish()
}

/// The token a request carried (already stripped of `Bearer `), put into the request data
/// by the HTTP layer.
#[derive(Debug, Clone, Default)]
pub struct RequestToken(pub Option<String>);

/// Houston's `Uuid` scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uuid(pub uuid::Uuid);

#[Scalar(name = "Uuid")]
impl ScalarType for Uuid {
    fn parse(value: GqlValue) -> InputValueResult<Self> {
        match &value {
            GqlValue::String(text) => uuid::Uuid::parse_str(text)
                .map(Uuid)
                .map_err(|_| InputValueError::custom(format!("`{text}` is not a valid Uuid"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> GqlValue {
        GqlValue::String(self.0.to_string())
    }
}

fn platform<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Arc<Platform>> {
    ctx.data::<Arc<Platform>>()
}

fn caller<'a>(ctx: &Context<'a>) -> async_graphql::Result<(&'a Arc<Platform>, Caller)> {
    let platform = platform(ctx)?;
    let token = ctx.data_opt::<RequestToken>().and_then(|t| t.0.as_deref());
    let caller = platform
        .authenticate(token)
        .map_err(PlatformError::into_graphql)?;
    Ok((platform, caller))
}

fn timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn role_arg(value: MaybeUndefined<String>) -> RoleArg {
    match value {
        MaybeUndefined::Undefined => RoleArg::Omitted,
        MaybeUndefined::Null => RoleArg::Null,
        MaybeUndefined::Value(role) => RoleArg::Value(role),
    }
}

/// `appConfig`.
#[derive(Debug, Clone, SimpleObject)]
pub struct AppConfig {
    /// Platform version.
    pub version: String,
    /// Base domain.
    pub base_domain: String,
    /// Whether SMTP is configured (never, in the sim).
    pub smtp_configured: bool,
    /// Whether clients may choose release names.
    pub manual_release_names: bool,
}

/// A deployment URL (`airflow`, `flower`).
#[derive(Debug, Clone, SimpleObject)]
pub struct DeploymentUrl {
    /// URL kind.
    #[graphql(name = "type")]
    pub kind: String,
    /// The URL.
    pub url: String,
}

/// A workspace reference (what a deployment's `workspace { id }` selects).
#[derive(Debug, Clone, SimpleObject)]
pub struct Workspace {
    /// Workspace id.
    pub id: Uuid,
}

/// An authentication provider (`authConfig.providers`); the sim offers none.
#[derive(Debug, Clone, SimpleObject)]
pub struct AuthProvider {
    /// Provider name.
    pub name: String,
    /// Name shown to users.
    pub display_name: String,
    /// Where the provider's login starts.
    pub url: String,
}

/// `authConfig`: how users may log in. The sim has local (email and password) login only.
#[derive(Debug, Clone, SimpleObject)]
pub struct AuthConfig {
    /// Whether local (email and password) login is enabled.
    pub local_enabled: bool,
    /// Whether anyone may sign up.
    pub public_signup: bool,
    /// Whether no user exists yet (the first sign-up becomes the admin).
    pub initial_signup: bool,
    /// OAuth providers.
    pub providers: Vec<AuthProvider>,
}

/// A platform user as the API shows it.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "User", complex)]
pub struct UserView {
    /// User id.
    pub id: Uuid,
    /// Full name (none in the sim).
    pub full_name: Option<String>,
    /// Username (the email).
    pub username: String,
    /// Account status.
    pub status: String,
    /// Creation time.
    pub created_at: String,
    /// Last update time.
    pub updated_at: String,
    /// The user's role in each workspace (resolved where the query asks for them, so a user
    /// nested in a role binding has them too, as Houston's relations resolve).
    #[graphql(skip)]
    memberships: Vec<(Uuid, String)>,
}

impl UserView {
    fn of(user: &super::store::User, at: &str) -> Self {
        Self {
            id: Uuid(user.id),
            full_name: None,
            username: user.email.clone(),
            status: "active".to_owned(),
            created_at: at.to_owned(),
            updated_at: at.to_owned(),
            memberships: user
                .memberships
                .iter()
                .map(|(workspace, role)| (Uuid(*workspace), role.as_str().to_owned()))
                .collect(),
        }
    }
}

#[ComplexObject]
impl UserView {
    /// Role bindings, one per workspace the user belongs to.
    async fn role_bindings(&self) -> Vec<RoleBinding> {
        self.memberships
            .iter()
            .map(|(workspace, role)| RoleBinding {
                role: role.clone(),
                user: self.clone(),
                workspace: Workspace { id: *workspace },
            })
            .collect()
    }
}

/// An API token.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "Token")]
pub struct TokenView {
    /// The token to send in `authorization`.
    pub value: String,
}

/// `createToken`'s and `self`'s answer (`AuthUser`).
#[derive(Debug, Clone, SimpleObject)]
pub struct AuthUser {
    /// The user.
    pub user: UserView,
    /// Their token: the one `createToken` issued, or the one the `self` request carried.
    pub token: Option<TokenView>,
}

/// A user's role in one workspace (`RoleBinding`).
#[derive(Debug, Clone, SimpleObject)]
pub struct RoleBinding {
    /// `WORKSPACE_ADMIN`, `WORKSPACE_EDITOR` or `WORKSPACE_VIEWER`.
    pub role: String,
    /// The user.
    pub user: UserView,
    /// The workspace.
    pub workspace: Workspace,
}

/// A workspace with its members (`workspaces`, what `astro auth login` lists).
#[derive(Debug, Clone, SimpleObject)]
#[graphql(name = "WorkspaceDetails")]
pub struct WorkspaceDetails {
    /// Workspace id.
    pub id: Uuid,
    /// Label.
    pub label: String,
    /// Description.
    pub description: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last update time.
    pub updated_at: String,
    /// Members and their roles.
    pub role_bindings: Vec<RoleBinding>,
    /// Members.
    pub users: Vec<UserView>,
}

/// Image tags of the deployment (`astro deploy` reads them).
#[derive(Debug, Clone, SimpleObject)]
pub struct DeployInfo {
    /// The tag the next `astro deploy` pushes.
    pub next_cli: String,
    /// The tag currently deployed, if any.
    pub current: Option<String>,
}

/// A deployment as the API shows it.
pub struct Deployment {
    record: DeploymentRecord,
    base_domain: String,
    config: Value,
}

impl Deployment {
    fn new(platform: &Platform, record: DeploymentRecord) -> Self {
        let record_annotations = !platform.options().faults.has(Fault::ConfigNotStored);
        let config = record.config.view(&record.annotations, record_annotations);
        Self {
            base_domain: platform.options().base_domain.clone(),
            config,
            record,
        }
    }
}

#[Object]
impl Deployment {
    /// Deployment id.
    async fn id(&self) -> Uuid {
        Uuid(self.record.id)
    }

    /// Deployment type (`airflow`).
    #[graphql(name = "type")]
    async fn kind(&self) -> &str {
        &self.record.kind
    }

    /// Display label.
    async fn label(&self) -> &str {
        &self.record.label
    }

    /// Description.
    async fn description(&self) -> Option<&str> {
        self.record.description.as_deref()
    }

    /// Release name.
    async fn release_name(&self) -> &str {
        self.record.release.as_str()
    }

    /// Chart version.
    async fn version(&self) -> &str {
        &self.record.version
    }

    /// Dashboard URLs.
    async fn urls(&self) -> Vec<DeploymentUrl> {
        let base = format!(
            "https://deployments.{}/{}",
            self.base_domain, self.record.release
        );
        let mut urls = vec![DeploymentUrl {
            kind: "airflow".to_owned(),
            url: format!("{base}/airflow"),
        }];
        if self.record.config.executor() == Executor::Celery {
            urls.push(DeploymentUrl {
                kind: "flower".to_owned(),
                url: format!("{base}/flower"),
            });
        }
        urls
    }

    /// The config column, with `serviceAccountAnnotations` when a role is bound.
    async fn config(&self) -> Json<Value> {
        Json(self.config.clone())
    }

    /// The workspace.
    async fn workspace(&self) -> Workspace {
        Workspace {
            id: Uuid(self.record.workspace_id),
        }
    }

    /// Deploy tags.
    async fn deploy_info(&self) -> DeployInfo {
        DeployInfo {
            next_cli: "deploy-1".to_owned(),
            current: None,
        }
    }

    /// Creation time (ISO 8601).
    async fn created_at(&self) -> String {
        timestamp(&self.record.created_at)
    }

    /// Last update time (ISO 8601).
    async fn updated_at(&self) -> String {
        timestamp(&self.record.updated_at)
    }
}

/// Selects one deployment.
#[derive(Debug, Clone, InputObject)]
#[graphql(name = "DeploymentWhereUniqueInput")]
pub struct DeploymentWhere {
    /// Deployment id.
    pub id: Option<String>,
    /// Release name.
    pub release_name: Option<String>,
}

/// Queries.
pub struct Query;

#[Object]
impl Query {
    /// Platform settings the CLI checks first; needs no token.
    async fn app_config(&self, ctx: &Context<'_>) -> async_graphql::Result<AppConfig> {
        let options = platform(ctx)?.options();
        Ok(AppConfig {
            version: options.version.clone(),
            base_domain: options.base_domain.clone(),
            smtp_configured: false,
            manual_release_names: options.manual_release_names,
        })
    }

    /// The user the request's token belongs to, with a role binding per workspace.
    #[graphql(name = "self")]
    async fn self_(&self, ctx: &Context<'_>) -> async_graphql::Result<AuthUser> {
        let (_, caller) = caller(ctx)?;
        let at = timestamp(&Utc::now());
        let token = ctx
            .data_opt::<RequestToken>()
            .and_then(|t| t.0.clone())
            .map(|value| TokenView { value });
        Ok(AuthUser {
            user: UserView::of(caller.user(), &at),
            token,
        })
    }

    /// How users may log in (`astro auth login` asks first); needs no token.
    async fn auth_config(&self, redirect: Option<String>) -> AuthConfig {
        tracing::debug!(?redirect, "authConfig");
        AuthConfig {
            local_enabled: true,
            public_signup: false,
            initial_signup: false,
            providers: Vec::new(),
        }
    }

    /// The workspaces the caller belongs to.
    async fn workspaces(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<WorkspaceDetails>> {
        let (platform, caller) = caller(ctx)?;
        Ok(platform
            .workspaces_of(&caller)
            .into_iter()
            .map(|(workspace, members)| {
                let at = timestamp(&workspace.created_at);
                let users: Vec<UserView> =
                    members.iter().map(|(u, _)| UserView::of(u, &at)).collect();
                WorkspaceDetails {
                    id: Uuid(workspace.id),
                    label: workspace.label.clone(),
                    description: None,
                    created_at: at.clone(),
                    updated_at: at.clone(),
                    role_bindings: members
                        .iter()
                        .map(|(u, role)| RoleBinding {
                            role: role.as_str().to_owned(),
                            user: UserView::of(u, &at),
                            workspace: Workspace {
                                id: Uuid(workspace.id),
                            },
                        })
                        .collect(),
                    users,
                }
            })
            .collect())
    }

    /// One deployment, by `id` or `where: {id}` / `where: {releaseName}`.
    async fn deployment(
        &self,
        ctx: &Context<'_>,
        id: Option<Uuid>,
        #[graphql(name = "where")] filter: Option<DeploymentWhere>,
    ) -> async_graphql::Result<Deployment> {
        let (platform, caller) = caller(ctx)?;
        let bad = |m: String| PlatformError::BadUserInput(m).into_graphql();
        let record = match (id, filter) {
            (Some(id), _) => platform.deployment(&caller, id.0),
            (None, Some(DeploymentWhere { id: Some(id), .. })) => {
                let id = uuid::Uuid::parse_str(&id)
                    .map_err(|_| bad(format!("`{id}` is not a valid Uuid")))?;
                platform.deployment(&caller, id)
            }
            (
                None,
                Some(DeploymentWhere {
                    release_name: Some(name),
                    ..
                }),
            ) => platform
                .deployments(&caller, None, Some(&name))
                .and_then(|found| {
                    found.into_iter().next().ok_or_else(|| {
                        PlatformError::NotFound(format!("Deployment {name} not found"))
                    })
                }),
            _ => return Err(bad("deployment needs an id or a release name".to_owned())),
        }
        .map_err(PlatformError::into_graphql)?;
        Ok(Deployment::new(platform, record))
    }

    /// Deployments of a workspace (or of all the caller's workspaces).
    async fn deployments(
        &self,
        ctx: &Context<'_>,
        workspace_uuid: Option<Uuid>,
        release_name: Option<String>,
    ) -> async_graphql::Result<Vec<Deployment>> {
        list(ctx, workspace_uuid, release_name.as_deref())
    }

    /// Deployments of a workspace (the CLI's `GetDeployment` query).
    async fn workspace_deployments(
        &self,
        ctx: &Context<'_>,
        workspace_uuid: Uuid,
        release_name: Option<String>,
    ) -> async_graphql::Result<Vec<Deployment>> {
        list(ctx, Some(workspace_uuid), release_name.as_deref())
    }
}

fn list(
    ctx: &Context<'_>,
    workspace: Option<Uuid>,
    release: Option<&str>,
) -> async_graphql::Result<Vec<Deployment>> {
    let (platform, caller) = caller(ctx)?;
    let records = platform
        .deployments(&caller, workspace.map(|w| w.0), release)
        .map_err(PlatformError::into_graphql)?;
    Ok(records
        .into_iter()
        .map(|r| Deployment::new(platform, r))
        .collect())
}

/// Mutations.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Local login (`astro auth login` with a username): email and password for a token.
    async fn create_token(
        &self,
        ctx: &Context<'_>,
        identity: Option<String>,
        password: String,
    ) -> async_graphql::Result<AuthUser> {
        let platform = platform(ctx)?;
        let (user, token) = platform
            .create_token(identity.as_deref(), &password)
            .map_err(PlatformError::into_graphql)?;
        let at = timestamp(&chrono::Utc::now());
        Ok(AuthUser {
            user: UserView::of(&user, &at),
            token: Some(TokenView { value: token }),
        })
    }

    /// Creates a deployment; a non-empty `cloudRole` (Workspace Admins only) binds an IAM role.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "MUTATION_COST + child_complexity")]
    async fn create_deployment(
        &self,
        ctx: &Context<'_>,
        label: String,
        #[graphql(name = "type", default_with = "Some(\"airflow\".to_owned())")] kind: Option<
            String,
        >,
        workspace_uuid: Uuid,
        release_name: Option<String>,
        config: Option<Json<Value>>,
        executor: Option<Executor>,
        cloud_role: MaybeUndefined<String>,
    ) -> async_graphql::Result<Deployment> {
        let (platform, caller) = caller(ctx)?;
        let input = CreateInput {
            label,
            kind,
            workspace_id: workspace_uuid.0,
            release_name,
            config: config.map(|c| c.0),
            executor,
            cloud_role: role_arg(cloud_role),
        };
        let record = platform
            .create_deployment(&caller, input)
            .map_err(PlatformError::into_graphql)?;
        Ok(Deployment::new(platform, record))
    }

    /// Updates a deployment. Accepts the v0.15/v0.16 shape (`payload`, `cloudRole`, `sync`)
    /// and the later one (`executor`, `config`). `sync` only asked Houston to wait for the
    /// Helm upgrade; the sim always applies synchronously.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "MUTATION_COST + child_complexity")]
    async fn update_deployment(
        &self,
        ctx: &Context<'_>,
        deployment_uuid: Uuid,
        payload: Option<Json<Value>>,
        cloud_role: MaybeUndefined<String>,
        sync: Option<bool>,
        executor: Option<Executor>,
        config: Option<Json<Value>>,
    ) -> async_graphql::Result<Deployment> {
        let (platform, caller) = caller(ctx)?;
        tracing::debug!(?sync, user = caller.email(), "updateDeployment");
        let input = UpdateInput {
            payload: payload.map(|p| p.0),
            cloud_role: role_arg(cloud_role),
            executor,
            config: config.map(|c| c.0),
        };
        let record = platform
            .update_deployment(&caller, deployment_uuid.0, input)
            .map_err(PlatformError::into_graphql)?;
        Ok(Deployment::new(platform, record))
    }

    /// Deletes a deployment and its namespace.
    #[graphql(complexity = "MUTATION_COST + child_complexity")]
    async fn delete_deployment(
        &self,
        ctx: &Context<'_>,
        deployment_uuid: Uuid,
    ) -> async_graphql::Result<Deployment> {
        let (platform, caller) = caller(ctx)?;
        let record = platform
            .delete_deployment(&caller, deployment_uuid.0)
            .map_err(PlatformError::into_graphql)?;
        Ok(Deployment::new(platform, record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdl_matches_the_cli_spelling() {
        let sdl = Schema::build(Query, Mutation, EmptySubscription)
            .finish()
            .sdl();
        for needle in [
            "scalar Uuid",
            "scalar JSON",
            "createDeployment(label: String!, type: String = \"airflow\", workspaceUuid: Uuid!, releaseName: String, config: JSON, executor: ExecutorType, cloudRole: String): Deployment!",
            "updateDeployment(deploymentUuid: Uuid!, payload: JSON, cloudRole: String, sync: Boolean, executor: ExecutorType, config: JSON): Deployment!",
            "deleteDeployment(deploymentUuid: Uuid!): Deployment!",
            "workspaceDeployments(workspaceUuid: Uuid!, releaseName: String): [Deployment!]!",
            "deployment(id: Uuid, where: DeploymentWhereUniqueInput): Deployment!",
            "CeleryExecutor",
            "KubernetesExecutor",
            "manualReleaseNames: Boolean!",
            "releaseName: String!",
            "deployInfo: DeployInfo!",
            "self: AuthUser!",
            "roleBindings: [RoleBinding!]!",
        ] {
            assert!(sdl.contains(needle), "SDL lacks `{needle}`:\n{sdl}");
        }
    }

    #[test]
    fn uuid_scalar_round_trips_and_refuses_garbage() {
        let id = uuid::Uuid::new_v4();
        let parsed = <Uuid as ScalarType>::parse(GqlValue::String(id.to_string())).unwrap();
        assert_eq!(parsed.0, id);
        assert_eq!(parsed.to_value(), GqlValue::String(id.to_string()));
        assert!(<Uuid as ScalarType>::parse(GqlValue::String("nope".into())).is_err());
        assert!(<Uuid as ScalarType>::parse(GqlValue::Number(1.into())).is_err());
    }
}

//! The typed scenario model: what a scenario file means once it has been loaded and checked.
//!
//! Every string a step sends to a target is a [`Template`]: it may contain `{{name}}`
//! placeholders that are filled in per run (see [`super::template`]). The loader has already
//! checked that every placeholder names a built-in or one of the scenario's `vars`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Where something was written: a file, line and column (1-based).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The scenario file, as it was given on the command line or found in the directory.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// A rule of the documented contract, `R1`..`R16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(u8);

impl RuleId {
    /// The highest rule number of the contract.
    pub const MAX: u8 = 16;

    /// A rule id from its number, if the contract has that rule.
    pub fn new(number: u8) -> Option<Self> {
        (1..=Self::MAX).contains(&number).then_some(Self(number))
    }

    /// Every rule of the contract, in order.
    pub fn all() -> impl Iterator<Item = RuleId> {
        (1..=Self::MAX).map(RuleId)
    }

    /// The rule's number.
    pub fn number(self) -> u8 {
        self.0
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "R{}", self.0)
    }
}

impl std::str::FromStr for RuleId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.strip_prefix('R')
            .and_then(|n| n.parse::<u8>().ok())
            .and_then(RuleId::new)
            .ok_or_else(|| {
                format!(
                    "unknown rule id `{s}` (the contract has R1..R{})",
                    Self::MAX
                )
            })
    }
}

/// A capability a target may have; a scenario that requires one the target lacks is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// The platform's GraphQL API (Houston) is reachable.
    PlatformApi,
    /// The platform knows workspace roles (admin/editor/viewer users exist).
    AdminRoles,
    /// The platform exposes the stored deployment config.
    PlatformDb,
    /// The pod-identity webhook mutates pods.
    Webhook,
    /// STS evaluates role trust policies.
    StsValidatesTrustPolicy,
    /// STS verifies token signatures, audience and expiry.
    StsValidatesSignature,
    /// S3 is reachable with the assumed-role credentials.
    S3,
    /// Pods run the real Airflow images.
    RealImages,
}

impl Capability {
    /// Every capability, in a stable order.
    pub const ALL: &'static [Capability] = &[
        Capability::PlatformApi,
        Capability::AdminRoles,
        Capability::PlatformDb,
        Capability::Webhook,
        Capability::StsValidatesTrustPolicy,
        Capability::StsValidatesSignature,
        Capability::S3,
        Capability::RealImages,
    ];

    /// The kebab-case name used in scenario files and profiles.
    pub fn name(self) -> &'static str {
        match self {
            Capability::PlatformApi => "platform-api",
            Capability::AdminRoles => "admin-roles",
            Capability::PlatformDb => "platform-db",
            Capability::Webhook => "webhook",
            Capability::StsValidatesTrustPolicy => "sts-validates-trust-policy",
            Capability::StsValidatesSignature => "sts-validates-signature",
            Capability::S3 => "s3",
            Capability::RealImages => "real-images",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Capability {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .iter()
            .copied()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("unknown capability `{s}`"))
    }
}

/// A string that may hold `{{name}}` placeholders, filled in per run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Template(pub String);

impl Template {
    /// The raw text, placeholders included.
    pub fn raw(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One scenario file, loaded and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Unique name across the suite.
    pub name: String,
    /// What the scenario shows, in one or two sentences.
    pub description: String,
    /// The contract rules this scenario checks.
    pub rules: Vec<RuleId>,
    /// Free-form tags for filtering.
    pub tags: Vec<String>,
    /// Capabilities the target must have.
    pub requires: Vec<Capability>,
    /// Scenario variables, themselves templates (they may use built-ins such as `{{account}}`).
    pub vars: BTreeMap<String, Template>,
    /// The steps, run in order until one fails.
    pub steps: Vec<Step>,
    /// Steps that always run after `steps`, whatever happened.
    pub finally: Vec<Step>,
    /// Where the scenario starts (its file, line 1 column 1 for a whole file).
    pub location: Location,
}

/// One step: what to do, how long it may take, and what outcome is expected.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// What the step does.
    pub action: Action,
    /// How long the step may take; `None` means the runner's default.
    pub timeout: Option<Duration>,
    /// The outcome the step expects.
    pub expect: Expect,
    /// Where the step was written.
    pub location: Location,
}

/// The outcome a step expects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Expect {
    /// The action succeeds (and its checks hold).
    #[default]
    Success,
    /// The platform refuses the action with this kind of error.
    PlatformError(PlatformErrorKind),
    /// STS refuses with this error code (e.g. `InvalidIdentityToken`, `AccessDenied`).
    StsError(String),
    /// The platform may accept or refuse (`accepted_or_refused`); the documents allow both and
    /// later steps check the effect (R10: removing the role is refused or leaves it in place).
    AcceptedOrRefused,
}

/// Kinds of refusal a platform API can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlatformErrorKind {
    /// The caller may not do this (GraphQL error with a permission / forbidden code).
    PermissionDenied,
    /// The request was refused as invalid (GraphQL error with a bad-input code).
    InvalidRequest,
    /// Any refusal at all.
    Any,
}

impl PlatformErrorKind {
    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            PlatformErrorKind::PermissionDenied => "permission_denied",
            PlatformErrorKind::InvalidRequest => "invalid_request",
            PlatformErrorKind::Any => "any",
        }
    }
}

/// A component of an Airflow deployment.
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
    /// All components, in the documents' order.
    pub const ALL: &'static [Component] = &[
        Component::Webserver,
        Component::Scheduler,
        Component::Worker,
    ];

    /// The lower-case name (`webserver`, `scheduler`, `worker`).
    pub fn name(self) -> &'static str {
        match self {
            Component::Webserver => "webserver",
            Component::Scheduler => "scheduler",
            Component::Worker => "worker",
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Airflow executors the platform knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Executor {
    /// `CeleryExecutor` (the documents' `--executor=celery`).
    Celery,
    /// `LocalExecutor`.
    Local,
    /// `KubernetesExecutor`.
    Kubernetes,
}

impl Executor {
    /// The scenario-file name (`celery`, `local`, `kubernetes`).
    pub fn name(self) -> &'static str {
        match self {
            Executor::Celery => "celery",
            Executor::Local => "local",
            Executor::Kubernetes => "kubernetes",
        }
    }
}

/// A platform user, by workspace role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Actor {
    /// A Workspace Admin (the documents' only role allowed to pass a cloud role).
    #[default]
    Admin,
    /// A Workspace Editor.
    Editor,
    /// A Workspace Viewer.
    Viewer,
}

impl Actor {
    /// The scenario-file name (`admin`, `editor`, `viewer`).
    pub fn name(self) -> &'static str {
        match self {
            Actor::Admin => "admin",
            Actor::Editor => "editor",
            Actor::Viewer => "viewer",
        }
    }
}

/// How a step's cloud role is given: a value, explicitly empty, or left out of the request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RoleInput {
    /// The field is not sent at all.
    #[default]
    Omitted,
    /// The field is sent as JSON `null`.
    Null,
    /// The field is sent with this value (which may render to the empty string).
    Value(Template),
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `create_deployment`: create a deployment through the platform, optionally with a role.
    CreateDeployment(CreateDeployment),
    /// `update_deployment`: update a deployment through the platform (bind, re-bind, remove).
    UpdateDeployment(UpdateDeployment),
    /// `expect_service_accounts`: the components' ServiceAccounts carry (or lack) annotations.
    ExpectServiceAccounts(ExpectServiceAccounts),
    /// `expect_pods`: the components' pods carry (or lack) env vars, volume and mount.
    ExpectPods(ExpectPods),
    /// `assume_role`: get a token for a ServiceAccount and call STS with it.
    AssumeRole(AssumeRole),
    /// `create_service_account`: a plain ServiceAccount outside the platform (e.g. for R12's
    /// negative cases), labelled with the run id.
    CreateServiceAccount(CreateServiceAccount),
    /// `delete_deployment`: delete the deployment through the platform.
    DeleteDeployment(DeleteDeployment),
}

impl Action {
    /// The step kind as written in scenario files.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::CreateDeployment(_) => "create_deployment",
            Action::UpdateDeployment(_) => "update_deployment",
            Action::ExpectServiceAccounts(_) => "expect_service_accounts",
            Action::ExpectPods(_) => "expect_pods",
            Action::AssumeRole(_) => "assume_role",
            Action::CreateServiceAccount(_) => "create_service_account",
            Action::DeleteDeployment(_) => "delete_deployment",
        }
    }
}

/// Fields of `create_deployment`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateDeployment {
    /// Release name (usually `{{release}}`).
    pub release: Template,
    /// Executor; the documents use `celery`.
    pub executor: Executor,
    /// The role to bind, if any.
    pub cloud_role: RoleInput,
    /// Who makes the call.
    pub actor: Actor,
}

/// Fields of `update_deployment`.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateDeployment {
    /// Release name of the deployment to update.
    pub release: Template,
    /// The role to bind; `Value("")`, `Null` and `Omitted` are the three ways to try removal.
    pub cloud_role: RoleInput,
    /// Who makes the call.
    pub actor: Actor,
}

/// Fields of `delete_deployment`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteDeployment {
    /// Release name of the deployment to delete.
    pub release: Template,
    /// Who makes the call.
    pub actor: Actor,
}

/// Fields of `expect_service_accounts`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectServiceAccounts {
    /// Release name.
    pub release: Template,
    /// Components whose ServiceAccounts are checked.
    pub components: Vec<Component>,
    /// Annotations that must be present with exactly these values.
    pub annotations: BTreeMap<Template, Template>,
    /// Annotation keys that must be absent.
    pub absent: Vec<Template>,
}

/// Fields of `expect_pods`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectPods {
    /// Release name.
    pub release: Template,
    /// Components whose pods are checked (every pod of each component).
    pub components: Vec<Component>,
    /// Env vars every container must carry with exactly these values.
    pub env: BTreeMap<Template, Template>,
    /// Env vars no container may carry.
    pub env_absent: Vec<Template>,
    /// The projected token volume every pod must (or must not) have.
    pub token_volume: Option<TokenVolumeExpectation>,
}

/// What the projected service-account token volume must look like.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenVolumeExpectation {
    /// A projected volume with this name, audience, path and mount.
    Present {
        /// Volume name (`aws-iam-token`).
        name: Template,
        /// Token audience (`sts.amazonaws.com`).
        audience: Template,
        /// Directory it is mounted at in every container.
        mount_path: Template,
    },
    /// No volume with this name.
    Absent {
        /// Volume name.
        name: Template,
    },
}

/// Whose token `assume_role` presents.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenSource {
    /// The projected token of a running pod of a deployment's component: requested through
    /// TokenRequest for the pod's ServiceAccount with the audience of the pod's projected volume.
    Pod {
        /// Release name.
        release: Template,
        /// Component whose pod is used.
        component: Component,
    },
    /// A token of a ServiceAccount named directly.
    ServiceAccount {
        /// Namespace.
        namespace: Template,
        /// ServiceAccount name.
        name: Template,
    },
}

/// How the token handed to STS is altered before the call (R12 negative cases).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TokenTamper {
    /// Send the token as issued.
    #[default]
    None,
    /// Re-sign the token's claims with a key the cluster never published.
    ResignWithForeignKey,
}

/// Fields of `assume_role`.
#[derive(Debug, Clone, PartialEq)]
pub struct AssumeRole {
    /// Whose token is presented.
    pub token: TokenSource,
    /// The role to assume.
    pub role: Template,
    /// Audience to request the token for; `None` uses the pod's projected volume audience
    /// (or `sts.amazonaws.com` for a ServiceAccount source).
    pub audience: Option<Template>,
    /// Token lifetime to request, in seconds (TokenRequest `expirationSeconds`).
    pub expiration_seconds: Option<i64>,
    /// Alteration of the token before it is sent.
    pub tamper: TokenTamper,
    /// Session name; defaults to `rolecheck-{{run_id}}`.
    pub session_name: Option<Template>,
}

/// Fields of `create_service_account`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateServiceAccount {
    /// Namespace (created if missing, labelled with the run id).
    pub namespace: Template,
    /// ServiceAccount name.
    pub name: Template,
}

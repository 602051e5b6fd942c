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

    /// Exactly `R` and the rule's number as written in the contract: `R5`, not `R05`,
    /// `R+5`, `r5` or `R 5`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.strip_prefix('R')
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()) && !n.starts_with('0'))
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
    /// The harness can exec into real component pods whose image has an AWS SDK (boto3),
    /// and those pods reach the target's STS: the SDK's own credential chain can be run.
    SdkInPods,
    /// The target's token issuer and STS share a clock the harness can move forward (the sim
    /// only): an expired, cluster-signed token without waiting for it to expire.
    ClockControl,
    /// The target also has a platform installation whose config does not set
    /// `serviceAccountAnnotationKey` (R1: the feature is off there).
    PlatformWithoutAnnotationKey,
    /// The target can create, update and delete Airflow deployments: through the platform
    /// API, or through a stand-in that applies what the chart would (the `manifest` driver).
    Deployments,
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
        Capability::SdkInPods,
        Capability::ClockControl,
        Capability::PlatformWithoutAnnotationKey,
        Capability::Deployments,
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
            Capability::SdkInPods => "sdk-in-pods",
            Capability::ClockControl => "clock-control",
            Capability::PlatformWithoutAnnotationKey => "platform-without-annotation-key",
            Capability::Deployments => "deployments",
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
    /// The contract rules this step's assertion checks (its `rules:`, or the default for its
    /// kind and the scenario, see [`super::attribution`]); empty for a set-up step.
    pub rules: Vec<RuleId>,
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
    /// `expect_credentials`: the credentials the AWS SDK in each component's pods would use
    /// come from IRSA with the documented role (not EKS Pod Identity, not static keys) (R5).
    ExpectCredentials(ExpectCredentials),
    /// `assume_role`: get a token for a ServiceAccount and call STS with it.
    AssumeRole(AssumeRole),
    /// `create_service_account`: a plain ServiceAccount outside the platform (e.g. for R12's
    /// negative cases), labelled with the run id.
    CreateServiceAccount(CreateServiceAccount),
    /// `delete_deployment`: delete the deployment through the platform.
    DeleteDeployment(DeleteDeployment),
    /// `expect_server_version`: the Kubernetes API server is at least a version (R14).
    ExpectServerVersion(ExpectServerVersion),
    /// `expect_deployment_config`: the platform's stored deployment `config` holds (or
    /// lacks) `serviceAccountAnnotations` entries (R11).
    ExpectDeploymentConfig(ExpectDeploymentConfig),
    /// `create_pod`: a bare pod (no controller) under a component's ServiceAccount (R16).
    CreatePod(CreatePod),
    /// `expect_pod`: one pod, by name, carries (or lacks) env vars (R16).
    ExpectPod(ExpectPod),
    /// `annotate_service_account`: a hand edit of a component's ServiceAccount through the
    /// Kubernetes API, as a user would do with kubectl (R8).
    AnnotateServiceAccount(AnnotateServiceAccount),
    /// `advance_clock`: moves the target's token/STS clock forward (R12 expiry).
    AdvanceClock(AdvanceClock),
    /// `expect_packages`: Python packages installed in a component's image (R15).
    ExpectPackages(ExpectPackages),
    /// `s3_access`: assume a role with a ServiceAccount's token, then try S3 operations with
    /// the credentials, each expected allowed or denied (R13).
    S3Access(S3Access),
    /// `expect_sdk_credentials`: inside a component's pod, the AWS SDK's default credential
    /// chain assumes the role from the injected variables by itself (R5, R12, R13, R15).
    ExpectSdkCredentials(ExpectSdkCredentials),
}

impl Action {
    /// The step kind as written in scenario files.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::CreateDeployment(_) => "create_deployment",
            Action::UpdateDeployment(_) => "update_deployment",
            Action::ExpectServiceAccounts(_) => "expect_service_accounts",
            Action::ExpectPods(_) => "expect_pods",
            Action::ExpectCredentials(_) => "expect_credentials",
            Action::AssumeRole(_) => "assume_role",
            Action::CreateServiceAccount(_) => "create_service_account",
            Action::DeleteDeployment(_) => "delete_deployment",
            Action::ExpectServerVersion(_) => "expect_server_version",
            Action::ExpectDeploymentConfig(_) => "expect_deployment_config",
            Action::CreatePod(_) => "create_pod",
            Action::ExpectPod(_) => "expect_pod",
            Action::AnnotateServiceAccount(_) => "annotate_service_account",
            Action::AdvanceClock(_) => "advance_clock",
            Action::ExpectPackages(_) => "expect_packages",
            Action::S3Access(_) => "s3_access",
            Action::ExpectSdkCredentials(_) => "expect_sdk_credentials",
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

/// Fields of `expect_credentials`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectCredentials {
    /// Release name.
    pub release: Template,
    /// Components whose rolled-out pods are checked.
    pub components: Vec<Component>,
    /// The role IRSA must give them.
    pub role: Template,
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
    /// The very token the scenario's previous `assume_role` step presented (`token:
    /// previous`), e.g. again after `advance_clock`.
    Previous,
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

/// A Kubernetes version, `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubeVersion {
    /// Major version (1).
    pub major: u32,
    /// Minor version (14).
    pub minor: u32,
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl std::str::FromStr for KubeVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!("invalid Kubernetes version `{s}`: expected `<major>.<minor>` such as `1.14`")
        };
        let (major, minor) = s.split_once('.').ok_or_else(bad)?;
        Ok(KubeVersion {
            major: major.parse().map_err(|_| bad())?,
            minor: minor.parse().map_err(|_| bad())?,
        })
    }
}

/// Fields of `expect_server_version`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectServerVersion {
    /// The lowest acceptable version.
    pub min: KubeVersion,
}

/// Fields of `expect_deployment_config`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectDeploymentConfig {
    /// Release name.
    pub release: Template,
    /// Entries `config.serviceAccountAnnotations` must hold with exactly these values.
    pub annotations: BTreeMap<Template, Template>,
    /// Keys `config.serviceAccountAnnotations` must not hold.
    pub absent: Vec<Template>,
}

/// Fields of `create_pod`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatePod {
    /// Release whose namespace the pod goes into.
    pub release: Template,
    /// Component whose ServiceAccount the pod runs under.
    pub component: Component,
    /// Pod name.
    pub name: Template,
}

/// Fields of `expect_pod`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectPod {
    /// Namespace.
    pub namespace: Template,
    /// Pod name.
    pub name: Template,
    /// Env vars every container must carry with exactly these values.
    pub env: BTreeMap<Template, Template>,
    /// Env vars no container may carry.
    pub env_absent: Vec<Template>,
}

/// Fields of `annotate_service_account`.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnotateServiceAccount {
    /// Release name.
    pub release: Template,
    /// Component whose ServiceAccount is edited.
    pub component: Component,
    /// Annotations to set (merge patch).
    pub annotations: BTreeMap<Template, Template>,
}

/// Fields of `advance_clock`.
#[derive(Debug, Clone, PartialEq)]
pub struct AdvanceClock {
    /// How far to move the clock forward.
    pub by: Duration,
}

/// A version requirement on a Python package: `>=1.9` style, the documents' only form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinVersion {
    /// The dotted numeric components of the lowest acceptable version.
    pub parts: Vec<u64>,
}

impl fmt::Display for MinVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.parts.iter().map(ToString::to_string).collect();
        write!(f, ">={}", parts.join("."))
    }
}

impl MinVersion {
    /// Whether an installed version (e.g. `1.9.253`, `1.12.0rc1`) satisfies the requirement:
    /// its leading numeric components compare at least equal.
    pub fn admits(&self, installed: &str) -> bool {
        let got: Vec<u64> = installed
            .trim()
            .split('.')
            .map_while(|part| {
                let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
            .collect();
        if got.is_empty() {
            return false;
        }
        let len = got.len().max(self.parts.len());
        let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
        (0..len)
            .map(|i| at(&got, i).cmp(&at(&self.parts, i)))
            .find(|o| o.is_ne())
            .is_none_or(|o| o.is_gt())
    }
}

impl std::str::FromStr for MinVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            || format!("invalid version requirement `{s}`: expected `>=<version>` such as `>=1.9`");
        let version = s.trim().strip_prefix(">=").ok_or_else(bad)?.trim();
        let parts = version
            .split('.')
            .map(|p| p.parse::<u64>().map_err(|_| bad()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MinVersion { parts })
    }
}

/// Fields of `expect_packages`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectPackages {
    /// Release name.
    pub release: Template,
    /// Component whose running pod is inspected.
    pub component: Component,
    /// Package name to requirement.
    pub packages: BTreeMap<String, MinVersion>,
}

/// Fields of `expect_sdk_credentials`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectSdkCredentials {
    /// Release name.
    pub release: Template,
    /// Component whose running pod runs the SDK.
    pub component: Component,
    /// The role whose assumed-role ARN `GetCallerIdentity` must return.
    pub role: Template,
}

#[cfg(test)]
mod version_tests {
    use rstest::rstest;

    use super::{KubeVersion, MinVersion};

    #[rstest]
    #[case(">=1.9", "1.9.0", true)]
    #[case(">=1.9", "1.9", true)]
    #[case(">=1.9", "1.10.2", true)]
    #[case(">=1.9", "1.8.99", false)]
    #[case(">=1.12", "1.12.253", true)]
    #[case(">=1.12", "1.2.0", false)]
    #[case(">=1.12", "2.0rc1", true)]
    #[case(">=1.9", "garbage", false)]
    fn min_version_admits(#[case] req: &str, #[case] installed: &str, #[case] ok: bool) {
        let req: MinVersion = req.parse().unwrap();
        assert_eq!(req.admits(installed), ok, "{req} vs {installed}");
    }

    #[rstest]
    #[case("1.9")]
    #[case(">= x")]
    #[case(">=")]
    fn bad_min_versions_are_refused(#[case] text: &str) {
        assert!(text.parse::<MinVersion>().is_err());
    }

    #[test]
    fn kube_versions_parse_and_order() {
        let v: KubeVersion = "1.14".parse().unwrap();
        assert_eq!(
            v,
            KubeVersion {
                major: 1,
                minor: 14
            }
        );
        assert!(
            KubeVersion {
                major: 1,
                minor: 13
            } < v
        );
        assert!("1".parse::<KubeVersion>().is_err());
        assert!("1.x".parse::<KubeVersion>().is_err());
    }
}

/// Fields of `s3_access`.
#[derive(Debug, Clone, PartialEq)]
pub struct S3Access {
    /// Whose token assumes the role (a pod of a component, or a named ServiceAccount).
    pub token: TokenSource,
    /// The role to assume.
    pub role: Template,
    /// Session name; defaults to `rolecheck-{{run_id}}`.
    pub session_name: Option<Template>,
    /// The operations to try, in order.
    pub operations: Vec<S3Operation>,
}

/// One S3 operation of `s3_access` and the outcome the documents' policy promises.
#[derive(Debug, Clone, PartialEq)]
pub struct S3Operation {
    /// What to do.
    pub action: S3Action,
    /// The bucket.
    pub bucket: Template,
    /// The object key: present exactly for object actions. A `put_object` key names the run
    /// id, and the step removes every object it wrote.
    pub key: Option<Template>,
    /// Allowed or denied.
    pub expect: S3Expect,
    /// Where the operation was written.
    pub location: Location,
}

/// The S3 operations `s3_access` can try, by the IAM action they need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum S3Action {
    /// `PutObject` (`s3:PutObject`).
    PutObject,
    /// `GetObject` (`s3:GetObject`).
    GetObject,
    /// `HeadObject` (`s3:GetObject`).
    HeadObject,
    /// `DeleteObject` (`s3:DeleteObject`).
    DeleteObject,
    /// `ListObjectsV2` (`s3:ListBucket`).
    ListBucket,
    /// `GetBucketLocation` (`s3:GetBucketLocation`).
    GetBucketLocation,
}

impl S3Action {
    /// Every action, in a stable order.
    pub const ALL: &'static [S3Action] = &[
        S3Action::PutObject,
        S3Action::GetObject,
        S3Action::HeadObject,
        S3Action::DeleteObject,
        S3Action::ListBucket,
        S3Action::GetBucketLocation,
    ];

    /// The scenario-file name (`put_object`, `list_bucket`, ...).
    pub fn name(self) -> &'static str {
        match self {
            S3Action::PutObject => "put_object",
            S3Action::GetObject => "get_object",
            S3Action::HeadObject => "head_object",
            S3Action::DeleteObject => "delete_object",
            S3Action::ListBucket => "list_bucket",
            S3Action::GetBucketLocation => "get_bucket_location",
        }
    }

    /// Whether the action writes or removes an object (so its key must be the run's own).
    pub fn changes_object(self) -> bool {
        matches!(self, S3Action::PutObject | S3Action::DeleteObject)
    }

    /// Whether the action is on an object (and so takes a `key`).
    pub fn on_object(self) -> bool {
        matches!(
            self,
            S3Action::PutObject
                | S3Action::GetObject
                | S3Action::HeadObject
                | S3Action::DeleteObject
        )
    }
}

impl fmt::Display for S3Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The outcome an S3 operation must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum S3Expect {
    /// S3 serves the request.
    Allowed,
    /// S3 refuses it with `AccessDenied` (403).
    Denied,
}

//! The values scenario fields take, shared by the step kinds and the drivers: positions,
//! templates, expectations, components, executors, platform users, role inputs and token
//! sources. A step kind's own field types live in its module (`steps/<kind>.rs`); the loaded
//! scenario is [`super::loaded::Scenario`].
//!
//! Every string a step sends to a target is a [`Template`]: it may contain `{{name}}`
//! placeholders that are filled in per run (see [`super::template`]). The loader has already
//! checked that every placeholder names a built-in or one of the scenario's `vars`.

use std::fmt;
use std::path::PathBuf;

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

pub use crate::capability::Capability;
pub use crate::rules::RuleId;

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

impl TokenSource {
    /// The capabilities presenting this token needs: a pod's projected token is the
    /// pod-identity webhook's doing.
    pub fn needs(&self) -> Vec<Capability> {
        match self {
            TokenSource::Pod { .. } => vec![Capability::Webhook],
            TokenSource::ServiceAccount { .. } | TokenSource::Previous => Vec::new(),
        }
    }
}

impl RoleInput {
    /// Whether the input sends a role (a value that is not written as empty).
    pub fn sends_a_role(&self) -> bool {
        matches!(self, RoleInput::Value(t) if !t.raw().trim().is_empty())
    }
}

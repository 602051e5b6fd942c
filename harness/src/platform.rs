//! The platform's vocabulary, shared by the scenario format, the steps, the clean-up and every
//! platform driver (Houston's GraphQL API, the astro CLI, chart manifests): who makes a call
//! ([`Actor`]), the executors, which installation a scenario uses, how a cloud role is passed
//! ([`RoleArg`]) and a typed refusal ([`PlatformRefusal`]). Each driver classifies its own
//! protocol's errors here once; steps judge the [`RefusalKind`] against what a scenario
//! expects ([`PlatformErrorKind`]) and never read protocol error codes.

use std::fmt;

use crate::capability::Capability;

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

/// Why the platform refused a call, as the driver that made it understood its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The caller may not do this (a workspace role too low, a missing permission).
    PermissionDenied,
    /// The request itself was refused as invalid (bad input, a failed validation, a name
    /// that exists already or does not exist).
    InvalidRequest,
    /// Any other refusal.
    Other,
}

/// The platform refused a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformRefusal {
    /// What kind of refusal the driver read from the answer.
    pub kind: RefusalKind,
    /// The protocol's own code for it, shown in reports (GraphQL `extensions.code`, a
    /// Kubernetes status reason), if the answer carried one.
    pub code: Option<String>,
    /// The answer's message.
    pub message: String,
}

impl PlatformRefusal {
    /// A refusal of `kind` with the protocol's `code` and `message`.
    pub fn new(kind: RefusalKind, code: Option<String>, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
        }
    }
}

impl PlatformRefusal {
    /// The refusal in one line for reports: `error <code>: <message>`, or the kind when the
    /// answer carried no code.
    pub fn describe(&self) -> String {
        match &self.code {
            Some(code) => format!("error {code}: {}", self.message),
            None => format!("error ({}): {}", self.kind, self.message),
        }
    }

    /// The code the answer carried, or the kind in words.
    pub fn code_or_kind(&self) -> String {
        self.code.clone().unwrap_or_else(|| self.kind.to_string())
    }

    /// Whether the refusal is of the kind a scenario names.
    pub fn is(&self, kind: PlatformErrorKind) -> bool {
        match kind {
            PlatformErrorKind::Any => true,
            PlatformErrorKind::PermissionDenied => self.kind == RefusalKind::PermissionDenied,
            PlatformErrorKind::InvalidRequest => self.kind == RefusalKind::InvalidRequest,
        }
    }
}

impl fmt::Display for RefusalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RefusalKind::PermissionDenied => "permission denied",
            RefusalKind::InvalidRequest => "invalid request",
            RefusalKind::Other => "no code",
        })
    }
}

/// Kinds of refusal a scenario may expect from a platform API (`expect: {error: ...}`).
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

/// Which of a target's platform installations a scenario talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Installation {
    /// The target's platform, configured as the documents say.
    #[default]
    Documented,
    /// The installation without `serviceAccountAnnotationKey` (capability
    /// `platform-without-annotation-key`).
    WithoutAnnotationKey,
}

impl Installation {
    /// The installation used by a scenario needing `requires`: the one without the
    /// annotation key when it asks for it.
    pub fn for_requires<'a>(requires: impl IntoIterator<Item = &'a Capability>) -> Self {
        if requires
            .into_iter()
            .any(|c| *c == Capability::PlatformWithoutAnnotationKey)
        {
            Installation::WithoutAnnotationKey
        } else {
            Installation::Documented
        }
    }
}

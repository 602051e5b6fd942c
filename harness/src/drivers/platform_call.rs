//! What every platform driver (Houston's GraphQL API, the astro CLI, chart manifests) takes
//! and answers: how a cloud role is passed, and a typed refusal. Each driver classifies its
//! own protocol's errors here once; steps judge the [`RefusalKind`] and never read protocol
//! error codes.

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

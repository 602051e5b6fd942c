//! Platform errors and their GraphQL shape: Apollo-style `extensions.code` values with
//! Houston's wording.

use async_graphql::ErrorExtensions as _;

/// Houston's message for a refused permission.
pub const FORBIDDEN_MESSAGE: &str = "You do not have the appropriate permissions for that";

/// Houston's message for a request without a valid token.
pub const UNAUTHENTICATED_MESSAGE: &str = "You must be authenticated";

/// Why a platform operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// No token, or a token no user holds.
    #[error("{UNAUTHENTICATED_MESSAGE}")]
    Unauthenticated,
    /// The caller lacks a permission (`what` names it, for logs only).
    #[error("{FORBIDDEN_MESSAGE}")]
    Forbidden {
        /// The missing permission or membership, for logs.
        what: String,
    },
    /// The request's arguments are refused.
    #[error("{0}")]
    BadUserInput(String),
    /// The named object does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The platform failed to render the deployment into Kubernetes.
    #[error("{0}")]
    Internal(String),
}

impl PlatformError {
    /// The Apollo error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden { .. } => "FORBIDDEN",
            Self::BadUserInput(_) => "BAD_USER_INPUT",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// A refusal for a missing permission or membership.
    pub fn forbidden(what: impl Into<String>) -> Self {
        Self::Forbidden { what: what.into() }
    }
}

impl async_graphql::ErrorExtensions for PlatformError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string())
            .extend_with(|_, ext| ext.set("code", self.code()))
    }
}

impl PlatformError {
    /// The GraphQL error a resolver returns: the message plus `extensions.code`.
    pub fn into_graphql(self) -> async_graphql::Error {
        if let Self::Forbidden { what } = &self {
            tracing::debug!(%what, "platform request refused");
        }
        self.extend()
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case(
        PlatformError::Unauthenticated,
        "UNAUTHENTICATED",
        UNAUTHENTICATED_MESSAGE
    )]
    #[case(
        PlatformError::forbidden("workspace.iam.update"),
        "FORBIDDEN",
        FORBIDDEN_MESSAGE
    )]
    #[case(PlatformError::BadUserInput("bad".into()), "BAD_USER_INPUT", "bad")]
    #[case(PlatformError::NotFound("gone".into()), "NOT_FOUND", "gone")]
    fn graphql_error_carries_code(
        #[case] err: PlatformError,
        #[case] code: &str,
        #[case] message: &str,
    ) {
        let gql = err.into_graphql();
        assert_eq!(gql.message, message);
        let ext = gql.extensions.unwrap();
        assert_eq!(ext.get("code"), Some(&async_graphql::Value::from(code)));
    }
}

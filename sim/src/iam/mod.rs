//! The sim's IAM: OIDC identity providers and roles with trust and inline policies,
//! served over the AWS query protocol (API version 2010-05-08) by [`crate::aws_endpoint::router`].

pub mod api;
pub mod policy;
pub mod store;

pub use policy::{
    Decision, EvalOptions, PolicyDocument, PolicyKind, RequestContext, arn_match, evaluate_all,
};
pub use store::{Iam, IamError, OidcProvider, Role, RoleOptions};

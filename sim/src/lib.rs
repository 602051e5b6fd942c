//! `rolecheck-sim`: an embedded reference environment for rolecheck.
//!
//! It implements, on its own, what EKS, the amazon-eks-pod-identity-webhook, STS/IAM and a
//! Houston-style platform API do, and serves them on loopback sockets so that the harness
//! (and stock clients such as kubectl or boto3) reach it exactly as they reach a real
//! target. It never imports the harness's expected values.
//!
//! Surfaces, one module each:
//! - [`kube`]: the Kubernetes API (store, watch, discovery, TokenRequest, controllers),
//! - [`webhook`]: the pod-identity webhook's mutation of pods on CREATE,
//! - [`eks`]: EKS Pod Identity associations (the webhook's container-credentials mode),
//! - [`oidc`]: the cluster's service-account token issuer (signing key, discovery, JWKS),
//! - [`iam`] and [`sts`]: IAM roles/OIDC providers and STS, speaking the AWS query protocol,
//! - [`s3`]: path-style S3 on the same listener, authorised by the assumed role's policies,
//! - [`platform`]: the Houston-style GraphQL API that turns deployments into Kubernetes objects,
//! - [`faults`]: switches that break one documented behaviour each,
//! - [`clock`]: the clock the issuer and STS share, movable through an admin endpoint,
//! - [`cluster`]: the platform, webhook and STS plugged into a real Kubernetes cluster.

pub mod aws_endpoint;
pub mod aws_protocol;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod eks;
pub mod faults;
pub mod iam;
pub mod kube;
pub mod oidc;
pub mod platform;
pub mod s3;
pub mod sts;
pub mod webhook;

mod secret;
mod server;

pub use config::{RoleSeed, SimConfig};
pub use faults::{Fault, FaultSet};
pub use platform::PlatformUser;
pub use server::{Endpoints, PlatformInstallation, Sim};

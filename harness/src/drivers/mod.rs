//! Drivers: real clients of the protocols a target speaks. They return what they saw and never
//! decide pass or fail.
//!
//! - [`kube`]: the Kubernetes API through kube-rs,
//! - [`sts`]: STS through aws-sdk-sts, [`iam`]: IAM through aws-sdk-iam, [`eks`]: EKS Pod
//!   Identity associations through aws-sdk-eks (read-only, for the preflight),
//! - [`s3`]: S3 through aws-sdk-s3 with assumed-role credentials,
//! - [`houston`]: the platform's GraphQL API over HTTP, [`astro`]: the Astro CLI,
//!   [`manifest`]: chart objects on a bare cluster; [`platform`] is whichever of them a
//!   target has, [`crate::platform`] what they all take and answer (role argument, refusal),
//! - [`sim_clock`]: the embedded sim's clock endpoint (capability `clock-control`).

pub mod astro;
mod aws_error;
pub mod deadline;
pub mod eks;
#[cfg(test)]
pub(crate) mod fake_api;
pub mod houston;
pub mod iam;
pub mod kube;
pub mod kube_pods;
pub mod manifest;
pub mod platform;
pub mod probe;
#[cfg(test)]
mod recorded;
pub mod s3;
pub mod sim_clock;
pub mod sts;
pub mod timeouts;
pub mod watch;

use std::time::Duration;

/// What can go wrong talking to a target, apart from an answer the caller has to judge.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The endpoint could not be reached at all (an infrastructure error, not a verdict).
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// A wait ran out of time.
    #[error("timed out after {}; last seen: {last_seen}", humantime::format_duration(*waited))]
    Timeout {
        /// How long it waited.
        waited: Duration,
        /// What the wait last observed.
        last_seen: String,
    },
    /// The server answered with an API error.
    #[error("{0}")]
    Api(String),
    /// The server's answer could not be understood.
    #[error("unexpected answer: {0}")]
    Protocol(String),
}

/// An error and its sources as one line (`a: b: c`), repeated texts once: what happened,
/// not only the outermost layer's summary (the AWS SDK's is a bare "dispatch failure").
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::DriverError;
    use super::kube::{KubeAccess, KubeDriver};
    use super::sts::{AwsEndpoint, StsDriver};

    /// A loopback port nothing listens on.
    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn unreachable_kubernetes_api_is_an_infrastructure_error() {
        let driver = KubeDriver::connect(&KubeAccess::Token {
            url: format!("http://127.0.0.1:{}", closed_port()),
            token: "t".to_owned(),
        })
        .await
        .unwrap();
        let err = driver.server_version().await.unwrap_err();
        assert!(matches!(err, DriverError::Unreachable(_)), "{err:?}");
    }

    #[tokio::test]
    async fn unreachable_sts_is_an_infrastructure_error_naming_call_and_endpoint() {
        let url = format!("http://127.0.0.1:{}", closed_port());
        let sts = StsDriver::new(AwsEndpoint::local(url.clone(), "us-west-2"));
        let err = sts
            .assume_role_with_web_identity("arn:aws:iam::123456789012:role/r", "s", "t")
            .await
            .unwrap_err();
        assert!(matches!(err, DriverError::Unreachable(_)), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains(&format!("STS AssumeRoleWithWebIdentity at {url}: ")),
            "{text}"
        );
        assert!(text.to_lowercase().contains("connection refused"), "{text}");
        assert!(!text.contains("dispatch failure"), "{text}");
    }

    #[tokio::test]
    async fn unreachable_iam_names_call_endpoint_and_what_happened() {
        let url = format!("http://127.0.0.1:{}", closed_port());
        let iam = super::iam::IamDriver::with_static_credentials(
            &AwsEndpoint::local(url.clone(), "us-east-1"),
            "AKIAEXAMPLE",
            "secret",
        );
        let err = iam
            .create_role("rolecheck-x", "{}", &[], "run1")
            .await
            .unwrap_err();
        assert!(matches!(err, DriverError::Unreachable(_)), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains(&format!("IAM CreateRole at {url}: ")),
            "{text}"
        );
        assert!(text.to_lowercase().contains("connection refused"), "{text}");
        assert!(!text.contains("dispatch failure"), "{text}");
    }
}

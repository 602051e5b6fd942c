//! Drivers: real clients of the protocols a target speaks. They return what they saw and never
//! decide pass or fail.
//!
//! - [`kube`]: the Kubernetes API through kube-rs,
//! - [`sts`]: STS through aws-sdk-sts, [`iam`]: IAM through aws-sdk-iam,
//! - [`s3`]: S3 through aws-sdk-s3 with assumed-role credentials,
//! - [`houston`]: the platform's GraphQL API over HTTP, [`astro`]: the Astro CLI,
//!   [`manifest`]: chart objects on a bare cluster; [`platform`] is whichever of them a
//!   target has,
//! - [`sim_clock`]: the embedded sim's clock endpoint (capability `clock-control`).

pub mod astro;
pub mod houston;
pub mod iam;
pub mod kube;
pub mod kube_pods;
pub mod manifest;
pub mod platform;
#[cfg(test)]
mod recorded;
pub mod s3;
pub mod sim_clock;
pub mod sts;
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
    async fn unreachable_sts_is_an_infrastructure_error() {
        let sts = StsDriver::new(AwsEndpoint {
            url: Some(format!("http://127.0.0.1:{}", closed_port())),
            region: "us-west-2".to_owned(),
        });
        let err = sts
            .assume_role_with_web_identity("arn:aws:iam::123456789012:role/r", "s", "t")
            .await
            .unwrap_err();
        assert!(matches!(err, DriverError::Unreachable(_)), "{err:?}");
    }
}

//! `expect_server_version`: the Kubernetes API server is at least the version the documents
//! require (R14: "Kubernetes 1.14+", for TokenRequest and projected tokens).

use super::{ScenarioContext, StepError};
use crate::scenario::model::{ExpectServerVersion, KubeVersion};

/// Reads `/version` and compares it with the minimum.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &ExpectServerVersion,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let (major, minor) = ctx.target.kube.server_version().await?;
    let got = KubeVersion { major, minor };
    log.push(format!("Kubernetes API server version {got}"));
    if got >= step.min {
        Ok(())
    } else {
        Err(StepError::failed(
            "the Kubernetes API server is older than the documents require",
            format!("version >= {}", step.min),
            format!("version {got}"),
        ))
    }
}

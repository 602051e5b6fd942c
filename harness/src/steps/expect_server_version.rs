//! `expect_server_version`: the Kubernetes API server is at least the version the documents
//! require (R14: "Kubernetes 1.14+", for TokenRequest and projected tokens).

use super::{ScenarioContext, StepError};
use std::fmt;

use super::fields::Expect;
use super::kind::{Key, Refusals, Shape, StepKind};
use crate::source::decode::{Ctx, Fields};

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

impl StepKind for ExpectServerVersion {
    const ABOUT: &'static str = "The Kubernetes API server is at least this version.";
    const KEYS: &'static [Key] = &[Key::required(
        "min",
        Shape::KubeVersion,
        "the lowest acceptable version, such as `\"1.14\"`",
    )];
    const REFUSALS: Refusals = Refusals::None;
    const ONLY_OBSERVES: bool = true;

    fn decode(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Self> {
        let node = fields.required(ctx, "min")?;
        let text = ctx.string(node, "min")?;
        match text.parse::<KubeVersion>() {
            Ok(min) => Some(ExpectServerVersion { min }),
            Err(message) => {
                ctx.error(node.pos, format!("min: {message}"));
                None
            }
        }
    }

    fn evidence(&self, _expect: &Expect) -> &'static [u8] {
        &[14]
    }
}

//! Targets: what rolecheck runs against, the capabilities each has, the drivers that reach
//! it, and the preflight ([`doctor`]) that checks, before anything is created, that it has
//! what a run needs.

pub mod assemble;
pub mod attach;
pub mod doctor;
pub mod env;
pub mod gc;
pub mod interlock;
pub mod local;
pub mod process;
pub mod profile;
pub mod sim;
pub mod smoke;

use std::collections::{BTreeMap, BTreeSet};

use crate::capability::Capability;
use crate::drivers::DriverError;
use crate::drivers::iam::IamDriver;
use crate::drivers::kube::KubeDriver;
use crate::drivers::platform::PlatformDriver;
use crate::drivers::sim_clock::SimClockDriver;
use crate::drivers::sts::StsDriver;
use crate::ledger::{Ledger, Owned, TARGET_SCOPE};
use crate::platform::Installation;
use crate::template::TargetFacts;

/// The trust policy the documents print, with `{{account}}`, `{{oidc_provider}}` and
/// `{{release_namespaces}}` (the documents: `astronomer-*`) to fill.
pub const DOCUMENTED_TRUST_POLICY: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/policies/trust-policy.json"
));

/// The permission policy the documents print (S3 access to `astronomer-bucket`), with the
/// bucket as `{{bucket}}` to fill in from the profile (bucket names are global).
pub const DOCUMENTED_S3_POLICY: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/policies/s3-policy.json"
));

/// IAM's eventual consistency for what the run created: right after `CreateRole` or
/// `CreateOpenIDConnectProvider`, real STS may refuse a valid token for several seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Propagation {
    /// When the run last created the role or provider (`None`: it created neither).
    pub since: Option<tokio::time::Instant>,
    /// How long IAM may take to honour them (the profile's `role.propagation`).
    pub window: std::time::Duration,
}

impl Propagation {
    /// None: nothing created, or nothing to wait for.
    pub const NONE: Propagation = Propagation {
        since: None,
        window: std::time::Duration::ZERO,
    };

    /// When the window closes, if the run created something and the window is not over.
    pub fn until(&self) -> Option<tokio::time::Instant> {
        let end = self.since? + self.window;
        (end > tokio::time::Instant::now()).then_some(end)
    }
}

/// Something that must be undone when the run ends.
enum Teardown {
    /// Delete this IAM role.
    Role { iam: IamDriver, name: String },
    /// Delete this IAM OIDC provider.
    OidcProvider { iam: IamDriver, arn: String },
}

/// A target ready to run scenarios against.
pub struct Target {
    /// Its name (`sim`, `kind`, ...).
    pub name: String,
    /// What it can show.
    pub capabilities: BTreeSet<Capability>,
    /// Why it lacks some capabilities (from its profile), added to the skips they cause.
    pub why_not: BTreeMap<Capability, String>,
    /// Kubernetes.
    pub kube: KubeDriver,
    /// STS.
    pub sts: StsDriver,
    /// The platform, when the target has one.
    pub platform: Option<PlatformDriver>,
    /// A platform installation whose config does not set `serviceAccountAnnotationKey`
    /// (capability `platform-without-annotation-key`), when the target has one.
    pub platform_without_annotation_key: Option<PlatformDriver>,
    /// The clock of the token issuer and STS (capability `clock-control`), when movable.
    pub clock: Option<SimClockDriver>,
    /// Built-in template values.
    pub facts: TargetFacts,
    /// Where the platform puts each release (the profile's platform namespace).
    pub namespaces: crate::namespaces::ReleaseNamespaces,
    /// IAM's eventual consistency for the role the run created.
    pub propagation: Propagation,
    teardown: Vec<Teardown>,
    /// Where the set-up's creations are recorded until the teardown removes them.
    ledger: Ledger,
    sim: Option<rolecheck_sim::Sim>,
    /// STS/IAM stand-ins run as child processes (killed on teardown, or when dropped).
    children: Vec<process::ChildService>,
}

/// Why a target could not be brought up or torn down: an infrastructure error (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// An unknown target name.
    #[error("unknown target `{0}` (known: sim)")]
    Unknown(String),
    /// The target's profile is missing or broken.
    #[error("{0}")]
    Profile(#[from] profile::ProfileError),
    /// An STS/IAM stand-in could not be started (or is not installed).
    #[error("{0}")]
    Process(#[from] process::ProcessError),
    /// A real-AWS target without the interlock.
    #[error(
        "target `{target}` uses real AWS: refusing to start without --allow-real-aws or ROLECHECK_ALLOW_REAL_AWS=1"
    )]
    RealAwsRefused {
        /// The target's name.
        target: String,
    },
    /// The profile asks for something this build or machine cannot provide.
    #[error("target `{target}`: {message}")]
    Unsupported {
        /// The target's name.
        target: String,
        /// What is missing.
        message: String,
    },
    /// A fault was asked for on a target that is not the sim.
    #[error("--fault only applies to the embedded sim")]
    FaultsNeedSim,
    /// A driver failed while setting up.
    #[error("{what}: {source}")]
    Driver {
        /// What was being done.
        what: String,
        /// The driver's error.
        source: DriverError,
    },
    /// The embedded sim did not start.
    #[error("starting the embedded sim: {0:#}")]
    Sim(anyhow::Error),
    /// A preflight check failed: nothing was created.
    #[error("the preflight failed, nothing was created:\n{}", .0.render())]
    Preflight(doctor::Report),
}

impl Target {
    /// The platform driver of an installation, when the target has it.
    pub fn platform_of(&self, installation: Installation) -> Option<&PlatformDriver> {
        match installation {
            Installation::Documented => self.platform.as_ref(),
            Installation::WithoutAnnotationKey => self.platform_without_annotation_key.as_ref(),
        }
    }

    /// Undoes what setting up the target did (roles, the embedded sim). Returns what could
    /// not be removed, as `kind name` lines.
    pub async fn teardown(mut self) -> Vec<String> {
        let mut leftovers = Vec::new();
        for step in self.teardown.drain(..).rev() {
            match step {
                Teardown::Role { iam, name } => match iam.delete_role(&name).await {
                    Ok(()) => self.ledger.forget(TARGET_SCOPE, &Owned::IamRole(name)),
                    Err(err) => {
                        tracing::warn!(%err, role = %name, "could not delete role");
                        leftovers.push(format!("iam-role {name}"));
                    }
                },
                Teardown::OidcProvider { iam, arn } => match iam.delete_oidc_provider(&arn).await {
                    Ok(()) => self.ledger.forget(TARGET_SCOPE, &Owned::OidcProvider(arn)),
                    Err(err) => {
                        tracing::warn!(%err, provider = %arn, "could not delete OIDC provider");
                        leftovers.push(format!("iam-oidc-provider {arn}"));
                    }
                },
            }
        }
        if let Some(sim) = self.sim.take() {
            sim.shutdown().await;
        }
        for child in self.children.drain(..) {
            child.stop().await;
        }
        leftovers
    }
}

fn driver(what: &str) -> impl FnOnce(DriverError) -> TargetError + '_ {
    move |source| TargetError::Driver {
        what: what.to_owned(),
        source,
    }
}

//! Capabilities a target may have: a scenario needing one its target lacks is skipped with
//! the reason, never passed.

use std::fmt;

/// A capability a target may have; a scenario that requires one the target lacks is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// The platform's GraphQL API (Houston) is reachable.
    PlatformApi,
    /// The platform knows workspace roles (admin/editor/viewer users exist).
    AdminRoles,
    /// The platform exposes the stored deployment config.
    PlatformDb,
    /// The pod-identity webhook mutates pods.
    Webhook,
    /// STS evaluates role trust policies.
    StsValidatesTrustPolicy,
    /// STS verifies token signatures, audience and expiry.
    StsValidatesSignature,
    /// S3 is reachable with the assumed-role credentials.
    S3,
    /// Pods run the real Airflow images.
    RealImages,
    /// The harness can exec into real component pods whose image has an AWS SDK (boto3),
    /// and those pods reach the target's STS: the SDK's own credential chain can be run.
    SdkInPods,
    /// The target's token issuer and STS share a clock the harness can move forward (the sim
    /// only): an expired, cluster-signed token without waiting for it to expire.
    ClockControl,
    /// The target also has a platform installation whose config does not set
    /// `serviceAccountAnnotationKey` (R1: the feature is off there).
    PlatformWithoutAnnotationKey,
    /// The target can create, update and delete Airflow deployments: through the platform
    /// API, or through a stand-in that applies what the chart would (the `manifest` driver).
    Deployments,
}

impl Capability {
    /// Every capability, in a stable order.
    pub const ALL: &'static [Capability] = &[
        Capability::PlatformApi,
        Capability::AdminRoles,
        Capability::PlatformDb,
        Capability::Webhook,
        Capability::StsValidatesTrustPolicy,
        Capability::StsValidatesSignature,
        Capability::S3,
        Capability::RealImages,
        Capability::SdkInPods,
        Capability::ClockControl,
        Capability::PlatformWithoutAnnotationKey,
        Capability::Deployments,
    ];

    /// The kebab-case name used in scenario files and profiles.
    pub fn name(self) -> &'static str {
        match self {
            Capability::PlatformApi => "platform-api",
            Capability::AdminRoles => "admin-roles",
            Capability::PlatformDb => "platform-db",
            Capability::Webhook => "webhook",
            Capability::StsValidatesTrustPolicy => "sts-validates-trust-policy",
            Capability::StsValidatesSignature => "sts-validates-signature",
            Capability::S3 => "s3",
            Capability::RealImages => "real-images",
            Capability::SdkInPods => "sdk-in-pods",
            Capability::ClockControl => "clock-control",
            Capability::PlatformWithoutAnnotationKey => "platform-without-annotation-key",
            Capability::Deployments => "deployments",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Capability {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .iter()
            .copied()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("unknown capability `{s}`"))
    }
}

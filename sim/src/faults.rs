//! Fault switches: each one breaks exactly one documented behaviour on purpose, so the
//! harness can prove that it notices. The sim names the rule each switch breaks; the
//! harness never reads that mapping to decide a verdict (it is for `sim faults` and tests).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// One way the environment can break a documented rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// The platform accepts `cloudRole` but never writes the ServiceAccount annotation.
    AnnotationNeverWritten,
    /// The platform ignores `cloudRole` on create (update still works).
    CreateIgnoresRole,
    /// The platform ignores `cloudRole` on update (create still works).
    UpdateIgnoresRole,
    /// The platform writes the role under a wrong annotation key.
    WrongAnnotationKey,
    /// Only the scheduler's ServiceAccount is annotated; webserver and worker are not.
    PartialComponents,
    /// An update with an empty role removes the annotation (R10 broken).
    AnnotationRemovable,
    /// A non-admin workspace member may pass a cloud role (R9 broken).
    NonAdminAccepted,
    /// Setting a role on one deployment also annotates the other deployments (R7 broken).
    CrossDeploymentLeak,
    /// A second role is appended to the first instead of replacing it (R6 broken).
    RoleAppended,
    /// The deployment config does not record `serviceAccountAnnotations` (R11 broken).
    ConfigNotStored,
    /// The annotation is written although the platform config key is unset (R1 broken).
    IgnoreAnnotationKeyConfig,
    /// The pod-identity webhook does not mutate pods at all (R5 broken).
    WebhookDisabled,
    /// The webhook omits `AWS_ROLE_ARN` (R5 broken).
    EnvVarMissing,
    /// The webhook points `AWS_WEB_IDENTITY_TOKEN_FILE` at a wrong path (R5 broken).
    WrongTokenPath,
    /// The webhook adds the env vars but no projected token volume (R5 broken).
    TokenVolumeMissing,
    /// The projected token volume asks for a wrong audience (R5 broken).
    WrongTokenAudience,
    /// Every ServiceAccount given the role annotation also gets an EKS Pod Identity
    /// association, whose container credentials the webhook injects instead (R5 broken).
    PodIdentityShadowsRole,
    /// Annotating a ServiceAccount also mutates pods that already run under it (R16 broken).
    MutateExistingPods,
    /// STS accepts tokens whatever their signature (R12 broken).
    StsAcceptsAnySignature,
    /// STS ignores the trust policy's `sub` condition (R12 broken).
    StsIgnoresSubCondition,
    /// STS accepts expired tokens (R12 broken).
    StsIgnoresExpiry,
    /// STS ignores the token audience (R12 broken).
    StsIgnoresAudience,
    /// The Kubernetes API reports a server version below 1.14 (R14 broken).
    OldServerVersion,
}

impl Fault {
    /// Every fault switch, in a stable order.
    pub const ALL: &'static [Fault] = &[
        Fault::AnnotationNeverWritten,
        Fault::CreateIgnoresRole,
        Fault::UpdateIgnoresRole,
        Fault::WrongAnnotationKey,
        Fault::PartialComponents,
        Fault::AnnotationRemovable,
        Fault::NonAdminAccepted,
        Fault::CrossDeploymentLeak,
        Fault::RoleAppended,
        Fault::ConfigNotStored,
        Fault::IgnoreAnnotationKeyConfig,
        Fault::WebhookDisabled,
        Fault::EnvVarMissing,
        Fault::WrongTokenPath,
        Fault::TokenVolumeMissing,
        Fault::WrongTokenAudience,
        Fault::PodIdentityShadowsRole,
        Fault::MutateExistingPods,
        Fault::StsAcceptsAnySignature,
        Fault::StsIgnoresSubCondition,
        Fault::StsIgnoresExpiry,
        Fault::StsIgnoresAudience,
        Fault::OldServerVersion,
    ];

    /// The kebab-case name used by `--fault`.
    pub fn name(self) -> &'static str {
        match self {
            Fault::AnnotationNeverWritten => "annotation-never-written",
            Fault::CreateIgnoresRole => "create-ignores-role",
            Fault::UpdateIgnoresRole => "update-ignores-role",
            Fault::WrongAnnotationKey => "wrong-annotation-key",
            Fault::PartialComponents => "partial-components",
            Fault::AnnotationRemovable => "annotation-removable",
            Fault::NonAdminAccepted => "non-admin-accepted",
            Fault::CrossDeploymentLeak => "cross-deployment-leak",
            Fault::RoleAppended => "role-appended",
            Fault::ConfigNotStored => "config-not-stored",
            Fault::IgnoreAnnotationKeyConfig => "ignore-annotation-key-config",
            Fault::WebhookDisabled => "webhook-disabled",
            Fault::EnvVarMissing => "env-var-missing",
            Fault::WrongTokenPath => "wrong-token-path",
            Fault::TokenVolumeMissing => "token-volume-missing",
            Fault::WrongTokenAudience => "wrong-token-audience",
            Fault::PodIdentityShadowsRole => "pod-identity-shadows-role",
            Fault::MutateExistingPods => "mutate-existing-pods",
            Fault::StsAcceptsAnySignature => "sts-accepts-any-signature",
            Fault::StsIgnoresSubCondition => "sts-ignores-sub-condition",
            Fault::StsIgnoresExpiry => "sts-ignores-expiry",
            Fault::StsIgnoresAudience => "sts-ignores-audience",
            Fault::OldServerVersion => "old-server-version",
        }
    }

    /// The contract rule this switch breaks.
    pub fn rule(self) -> &'static str {
        match self {
            Fault::AnnotationNeverWritten => "R4",
            Fault::CreateIgnoresRole => "R2",
            Fault::UpdateIgnoresRole => "R3",
            Fault::WrongAnnotationKey => "R4",
            Fault::PartialComponents => "R4",
            Fault::AnnotationRemovable => "R10",
            Fault::NonAdminAccepted => "R9",
            Fault::CrossDeploymentLeak => "R7",
            Fault::RoleAppended => "R6",
            Fault::ConfigNotStored => "R11",
            Fault::IgnoreAnnotationKeyConfig => "R1",
            Fault::WebhookDisabled => "R5",
            Fault::EnvVarMissing => "R5",
            Fault::WrongTokenPath => "R5",
            Fault::TokenVolumeMissing => "R5",
            Fault::WrongTokenAudience => "R5",
            Fault::PodIdentityShadowsRole => "R5",
            Fault::MutateExistingPods => "R16",
            Fault::StsAcceptsAnySignature => "R12",
            Fault::StsIgnoresSubCondition => "R12",
            Fault::StsIgnoresExpiry => "R12",
            Fault::StsIgnoresAudience => "R12",
            Fault::OldServerVersion => "R14",
        }
    }

    /// One line saying what the switch does.
    pub fn description(self) -> &'static str {
        match self {
            Fault::AnnotationNeverWritten => {
                "the platform accepts a cloud role but never annotates the ServiceAccounts"
            }
            Fault::CreateIgnoresRole => "createDeployment ignores cloudRole",
            Fault::UpdateIgnoresRole => "updateDeployment ignores cloudRole",
            Fault::WrongAnnotationKey => "the role is written under a wrong annotation key",
            Fault::PartialComponents => "only the scheduler ServiceAccount is annotated",
            Fault::AnnotationRemovable => "an update with an empty role removes the annotation",
            Fault::NonAdminAccepted => "workspace editors and viewers may pass a cloud role",
            Fault::CrossDeploymentLeak => {
                "a role set on one deployment is written to every deployment"
            }
            Fault::RoleAppended => "a second role is appended to the first instead of replacing it",
            Fault::ConfigNotStored => {
                "the deployment config does not record serviceAccountAnnotations"
            }
            Fault::IgnoreAnnotationKeyConfig => {
                "the annotation is written although serviceAccountAnnotationKey is unset"
            }
            Fault::WebhookDisabled => "the pod-identity webhook does not mutate pods",
            Fault::EnvVarMissing => "the webhook omits AWS_ROLE_ARN",
            Fault::WrongTokenPath => "the webhook sets a wrong AWS_WEB_IDENTITY_TOKEN_FILE path",
            Fault::TokenVolumeMissing => "the webhook adds no projected token volume",
            Fault::WrongTokenAudience => "the projected token asks for a wrong audience",
            Fault::PodIdentityShadowsRole => {
                "an EKS Pod Identity association shadows each annotated ServiceAccount's role"
            }
            Fault::MutateExistingPods => {
                "annotating a ServiceAccount mutates pods that already exist"
            }
            Fault::StsAcceptsAnySignature => "STS does not verify token signatures",
            Fault::StsIgnoresSubCondition => "STS ignores the trust policy's sub condition",
            Fault::StsIgnoresExpiry => "STS accepts expired tokens",
            Fault::StsIgnoresAudience => "STS ignores the token audience",
            Fault::OldServerVersion => "the Kubernetes API reports version 1.13",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fault name that is not a known switch.
#[derive(Debug, thiserror::Error)]
#[error("unknown fault `{0}` (see `rolecheck sim faults`)")]
pub struct UnknownFault(pub String);

impl FromStr for Fault {
    type Err = UnknownFault;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fault::ALL
            .iter()
            .copied()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFault(s.to_owned()))
    }
}

/// The set of switches that are on for one sim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultSet(BTreeSet<Fault>);

impl FaultSet {
    /// No fault: the healthy sim.
    pub fn none() -> Self {
        Self::default()
    }

    /// A set holding exactly one fault.
    pub fn only(fault: Fault) -> Self {
        Self(BTreeSet::from([fault]))
    }

    /// Turns a switch on.
    pub fn insert(&mut self, fault: Fault) {
        self.0.insert(fault);
    }

    /// Whether a switch is on.
    pub fn has(&self, fault: Fault) -> bool {
        self.0.contains(&fault)
    }

    /// The switches that are on.
    pub fn iter(&self) -> impl Iterator<Item = Fault> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<Fault> for FaultSet {
    fn from_iter<T: IntoIterator<Item = Fault>>(iter: T) -> Self {
        Self(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = BTreeSet::new();
        for f in Fault::ALL {
            assert!(seen.insert(f.name()), "duplicate name {}", f.name());
            assert_eq!(f.name().parse::<Fault>().unwrap(), *f);
            assert!(f.rule().starts_with('R'));
        }
        assert!(Fault::ALL.len() >= 15);
        assert!("nope".parse::<Fault>().is_err());
    }
}

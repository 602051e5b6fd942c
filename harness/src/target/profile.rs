//! Target profiles: what a target is made of (Kubernetes, STS/IAM, the platform, the OIDC
//! issuer, the role) and what it can show (capabilities), read strictly from
//! `fixtures/targets/<name>.yaml` or `--profile PATH`.
//!
//! A broken profile is refused with every problem as `file:line:column: message` (exit 2),
//! with the same positioned YAML reader as scenario files.
//!
//! This module is the model (what a profile says) and where profiles are found (built in, or
//! a file); `decode` reads a profile's YAML into it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::capability::Capability;
use crate::namespaces::ReleaseNamespaces;
use crate::source::LoadErrors;

mod decode;

pub(crate) use decode::endpoint_url_problem;

/// The profiles that ship with rolecheck, by name, with the path they are shown under.
const BUILT_IN: &[(&str, &str)] = &[
    ("sim", include_str!("../../../fixtures/targets/sim.yaml")),
    ("moto", include_str!("../../../fixtures/targets/moto.yaml")),
    (
        "localstack",
        include_str!("../../../fixtures/targets/localstack.yaml"),
    ),
    ("kind", include_str!("../../../fixtures/targets/kind.yaml")),
    ("eks", include_str!("../../../fixtures/targets/eks.yaml")),
    (
        "local",
        include_str!("../../../fixtures/targets/local.yaml"),
    ),
    (
        "eks-rehearsal",
        include_str!("../../../fixtures/targets/eks-rehearsal.yaml"),
    ),
];

/// The names of the built-in profiles.
pub fn built_in_names() -> impl Iterator<Item = &'static str> {
    BUILT_IN.iter().map(|(name, _)| *name)
}

/// A target profile, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The target's name (`[a-z0-9-]`).
    pub name: String,
    /// One line on what the target is.
    pub description: String,
    /// The file the profile came from.
    pub file: PathBuf,
    /// Where the Kubernetes API is.
    pub kubernetes: KubeSource,
    /// Where STS and IAM are.
    pub aws: AwsSource,
    /// The platform, if any.
    pub platform: PlatformSource,
    /// Where the platform puts each release (`platform: {namespace: ...}`: the namespace
    /// the platform itself is installed in; default `astronomer`, as the documents show).
    pub namespaces: ReleaseNamespaces,
    /// The cluster's service-account token issuer.
    pub oidc: OidcSource,
    /// The AWS account id, when the profile fixes it (otherwise read from the role's ARN).
    pub account: Option<String>,
    /// The role scenarios assume.
    pub role: RoleSource,
    /// How long after the run created its role (or OIDC provider) IAM may still refuse it
    /// (eventual consistency): positive STS answers are retried within it, negative ones are
    /// only judged after it. Default: 60s on real AWS, none elsewhere.
    pub iam_propagation: Duration,
    /// The S3 buckets of the permission policy (capability `s3` needs them).
    pub s3: Option<S3Buckets>,
    /// The time budget of a step that names none, when the profile sets one (a real
    /// platform's first rollout pulls images and runs migrations: minutes). `--step-timeout`
    /// overrides it.
    pub step_timeout: Option<Duration>,
    /// How many scenarios run at once when `-j` does not say: the target's own limit (the
    /// sim and moto answer at once, a real cluster's kubelet starts pods one by one).
    pub jobs: Option<usize>,
    /// The time budget for removing each object the run created, when `--cleanup-timeout`
    /// does not say (a real namespace with running pods takes longer than the sim's).
    pub cleanup_timeout: Option<Duration>,
    /// What the target can show.
    pub capabilities: BTreeSet<Capability>,
    /// Why the target lacks some capabilities (shown with the skips they cause).
    pub why_not: BTreeMap<Capability, String>,
    /// Settings of the embedded sim's platform (`sim:`), for profiles that start it.
    pub sim: SimSettings,
}

/// Platform settings the embedded sim is started with (`sim:` in a profile); unset ones
/// keep the sim's defaults (Houston's and the Airflow chart's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimSettings {
    /// Houston's `manualReleaseNames` (default off: the platform names releases).
    pub manual_release_names: Option<bool>,
    /// The Airflow chart's `workers.persistence.enabled` (default on: StatefulSet workers).
    pub worker_persistence: Option<bool>,
}

/// The S3 buckets a target's S3 scenario uses: the one the role's permission policy grants
/// (`{{bucket}}`, substituted into the documented policy) and one it does not
/// (`{{other_bucket}}`). Bucket names are global: on real AWS both must be the operator's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Buckets {
    /// The bucket the policy grants.
    pub bucket: String,
    /// A bucket the policy does not grant.
    pub other_bucket: String,
}

/// Where the Kubernetes API is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeSource {
    /// The embedded sim's API server.
    Sim,
    /// The cluster `rolecheck env up local` runs (its `cluster.json`): the embedded sim's
    /// platform, webhook and STS attach to it.
    Local,
    /// A kubeconfig (default lookup when `path` is `None`) and context.
    Kubeconfig {
        /// Kubeconfig file.
        path: Option<PathBuf>,
        /// Context; the current one when `None`.
        context: Option<String>,
    },
}

/// How LocalStack is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalStackStart {
    /// LocalStack's runtime as a child process from its virtualenv (no Docker).
    Process,
    /// LocalStack's container through testcontainers (needs Docker and feature `kind`).
    Container,
    /// Already running at the profile's `endpoint`.
    External,
}

/// Where STS and IAM are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsSource {
    /// The embedded sim's STS/IAM.
    Sim,
    /// moto's server from a virtualenv, started on a random loopback port.
    Moto {
        /// The virtualenv (`make moto` creates `.venv-moto`).
        venv: PathBuf,
        /// Region to sign for.
        region: String,
    },
    /// LocalStack with STS and IAM.
    LocalStack {
        /// How it is started.
        start: LocalStackStart,
        /// The virtualenv for `start: process` (`make localstack` creates `.venv-localstack`).
        venv: PathBuf,
        /// Endpoint for `start: external`.
        endpoint: Option<String>,
        /// Region to sign for.
        region: String,
    },
    /// Any STS/IAM-compatible endpoint that is already running.
    Endpoint {
        /// Endpoint URL.
        url: String,
        /// Region to sign for.
        region: String,
    },
    /// Real AWS: the SDK's default endpoints and credential chain. Runs need the interlock
    /// (`--allow-real-aws` or `ROLECHECK_ALLOW_REAL_AWS=1`).
    RealAws {
        /// Region; the default chain's when `None`.
        region: Option<String>,
        /// A rehearsal of the real-AWS path: the SDK's standard endpoint settings
        /// (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`) must point at loopback, or the
        /// run refuses to start.
        rehearsal: bool,
    },
}

impl AwsSource {
    /// Whether this is real AWS (money, real identities): the interlock applies.
    pub fn is_real_aws(&self) -> bool {
        matches!(self, AwsSource::RealAws { .. })
    }
}

/// Environment variables holding the platform's API tokens, by workspace role.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TokenEnv {
    /// Workspace Admin.
    pub admin: Option<String>,
    /// Workspace Editor.
    pub editor: Option<String>,
    /// Workspace Viewer.
    pub viewer: Option<String>,
}

/// The platform a target has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformSource {
    /// The embedded sim's platform (and its installation without annotation key).
    Sim,
    /// A Houston GraphQL API.
    Houston {
        /// GraphQL URL (`https://houston.<baseDomain>/v1`), or the environment variable holding
        /// it (`env:NAME`).
        url: String,
        /// Workspace id, or the environment variable holding it (`env:NAME`).
        workspace: String,
        /// Token environment variables.
        tokens: TokenEnv,
    },
    /// The `astro` CLI, run exactly as the documents show.
    Astro {
        /// The CLI binary.
        cli: PathBuf,
        /// Workspace id, when the CLI's context does not fix it.
        workspace: Option<String>,
    },
    /// No platform: the harness applies what the chart would (namespace, annotated
    /// ServiceAccounts, Deployments) through the Kubernetes API.
    Manifest {
        /// The annotation key the platform config would set.
        annotation_key: String,
        /// The image of the component pods.
        image: String,
    },
    /// No platform at all.
    None,
}

/// The cluster's service-account token issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSource {
    /// Where the issuer URL comes from.
    pub issuer: IssuerSource,
    /// Whether the run registers it as an IAM OIDC provider (and removes it afterwards).
    pub register: bool,
}

/// Where the issuer URL comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerSource {
    /// The embedded sim's issuer.
    Sim,
    /// The cluster's `/.well-known/openid-configuration`.
    Cluster,
    /// This URL.
    Url(String),
}

/// The role scenarios assume (`{{role_arn}}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleSource {
    /// Create a role with this name (`{run_id}` is replaced by the run id) with the documented
    /// trust and permission policies, and delete it at the end.
    Create(String),
    /// Use this existing role.
    Use(String),
}

impl Profile {
    /// The built-in profile `name`, or `fixtures/targets/<name>.yaml` under the current
    /// directory when there is such a file (it takes precedence, so it can be edited).
    pub fn named(name: &str) -> Result<Profile, ProfileError> {
        let on_disk = Path::new("fixtures/targets").join(format!("{name}.yaml"));
        if on_disk.is_file() {
            return Profile::load(&on_disk);
        }
        match BUILT_IN.iter().find(|(n, _)| *n == name) {
            Some((_, text)) => Profile::parse(text, &on_disk).map_err(ProfileError::Invalid),
            None => Err(ProfileError::Unknown {
                name: name.to_owned(),
                hint: crate::suggest::did_you_mean(name, built_in_names()),
            }),
        }
    }

    /// Every built-in profile, in a stable order.
    pub fn built_in() -> Result<Vec<Profile>, ProfileError> {
        built_in_names().map(Profile::named).collect()
    }

    /// Reads a profile file.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = crate::source::read_source(path)
            .map_err(|e| ProfileError::Invalid(LoadErrors(vec![e])))?;
        Profile::parse(&text, path).map_err(ProfileError::Invalid)
    }
}

/// Why a profile could not be had (a usage error, exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// No built-in profile of that name and no such file.
    #[error(
        "unknown target `{name}`{hint}: no fixtures/targets/{name}.yaml and no built-in profile (known: sim, moto, localstack, kind, eks, eks-rehearsal, local; or pass --profile PATH)"
    )]
    Unknown {
        /// The name asked for.
        name: String,
        /// A did-you-mean, or empty.
        hint: String,
    },
    /// The profile is broken: each problem as `file:line:column: message`, then the lines
    /// around it with a caret (the same rendering as scenario files', [`LoadErrors`]).
    #[error("{0:#}")]
    Invalid(LoadErrors),
}

/// How long IAM may take to honour a new role on real AWS, when the profile does not say.
pub const REAL_AWS_IAM_PROPAGATION: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_profile_parses_and_is_named_after_its_file() {
        for name in built_in_names() {
            let profile = Profile::named(name).unwrap();
            assert_eq!(profile.name, name);
        }
    }

    /// How many scenarios run at once, and how long clean-up may take, fit each target.
    #[rstest::rstest]
    #[case::sim("sim", Some(8), None)]
    #[case::local("local", Some(4), Some(Duration::from_secs(180)))]
    #[case::kind("kind", Some(4), Some(Duration::from_secs(180)))]
    #[case::eks("eks", Some(4), Some(Duration::from_secs(300)))]
    #[case::moto("moto", None, None)]
    fn built_in_profiles_set_their_targets_defaults(
        #[case] name: &str,
        #[case] jobs: Option<usize>,
        #[case] cleanup: Option<Duration>,
    ) {
        let profile = Profile::named(name).unwrap();
        assert_eq!(profile.jobs, jobs);
        assert_eq!(profile.cleanup_timeout, cleanup);
    }

    #[test]
    fn the_sim_profile_lists_the_sims_capabilities() {
        let profile = Profile::named("sim").unwrap();
        assert_eq!(profile.capabilities, super::super::sim::capabilities());
    }

    #[test]
    fn the_bucket_is_a_profile_value_and_s3_needs_it() {
        let sim = Profile::named("sim").unwrap();
        assert_eq!(sim.s3.unwrap().bucket, "astronomer-bucket");
        let eks = Profile::named("eks").unwrap();
        assert!(eks.s3.is_none());
        assert!(!eks.capabilities.contains(&Capability::S3));
        assert_eq!(eks.step_timeout, Some(Duration::from_secs(600)));
        let policy = super::super::DOCUMENTED_S3_POLICY.replace("{{bucket}}", "my-bucket");
        assert!(policy.contains("arn:aws:s3:::my-bucket/*"), "{policy}");
        assert!(!policy.contains("astronomer-bucket"), "{policy}");
        let scenario =
            include_str!("../../../scenarios/assumed-role-reaches-astronomer-bucket.yaml");
        for line in scenario.lines().filter(|l| l.contains("bucket:")) {
            assert!(
                line.contains("bucket: \"{{bucket}}\"")
                    || line.contains("bucket: \"{{other_bucket}}\""),
                "{line}"
            );
        }
    }

    #[test]
    fn only_eks_is_real_aws() {
        let real: Vec<String> = Profile::built_in()
            .unwrap()
            .into_iter()
            .filter(|p| p.aws.is_real_aws())
            .map(|p| p.name)
            .collect();
        assert_eq!(real, ["eks", "eks-rehearsal"]);
    }
}

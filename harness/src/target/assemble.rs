//! Bringing a target up from its profile: the embedded sim where the profile says `sim`,
//! STS/IAM stand-ins as child processes, kubeconfig clusters and real AWS; then the OIDC
//! provider and the role the documents tell an administrator to set up.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_sts::config::Credentials;

use rolecheck_sim::{FaultSet, Sim, SimConfig};

use crate::ledger::{Ledger, Owned, TARGET_SCOPE};
use crate::template::TargetFacts;

use super::process::{ChildService, Service};
use super::profile::{
    AwsSource, IssuerSource, KubeSource, LocalStackStart, PlatformSource, Profile, RoleSource,
};
use super::{DOCUMENTED_S3_POLICY, DOCUMENTED_TRUST_POLICY, Target, TargetError, Teardown, driver};
use crate::drivers::astro::AstroDriver;
use crate::drivers::houston::{HoustonAccess, HoustonDriver};
use crate::drivers::iam::IamDriver;
use crate::drivers::kube::{KubeAccess, KubeDriver};
use crate::drivers::manifest::ManifestDriver;
use crate::drivers::platform::PlatformDriver;
use crate::drivers::sim_clock::SimClockDriver;
use crate::drivers::sts::{AwsEndpoint, StsDriver};
use crate::namespaces::ReleaseNamespaces;
use crate::platform::Actor;

/// How long a stand-in may take to print its startup line (LocalStack: ~1.5 s seen).
const READY_WITHIN: Duration = Duration::from_secs(60);

/// The thumbprint registered with the OIDC provider: the root CA of EKS's issuer endpoints,
/// as AWS documents it. IAM no longer checks it for those; local stand-ins never do.
pub const ISSUER_THUMBPRINT: &str = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";

/// Options of bringing a target up that do not come from its profile.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Fault switches of the embedded sim (only for profiles that use it).
    pub faults: FaultSet,
    /// Whether real AWS is allowed (the interlock).
    pub allow_real_aws: bool,
    /// Where the IAM role and OIDC provider the set-up creates are recorded until removed.
    pub ledger: Ledger,
}

/// Brings the target of `profile` up. The interlock is checked before anything else, so a
/// refused real-AWS run makes no network call; then the parts are reached and the preflight
/// ([`crate::target::doctor`]) runs before anything is created: a failed check stops the start with
/// [`TargetError::Preflight`].
pub async fn start(
    profile: &Profile,
    options: &StartOptions,
    run_id: &str,
) -> Result<Target, TargetError> {
    super::interlock::check(profile, options.allow_real_aws)?;
    super::interlock::rehearsal_guard(profile, &std::env::vars().collect::<Vec<_>>())?;
    let uses_sim = profile.kubernetes == KubeSource::Sim
        || profile.aws == AwsSource::Sim
        || profile.platform == PlatformSource::Sim;
    if options.faults.iter().next().is_some() && !uses_sim {
        return Err(TargetError::FaultsNeedSim);
    }
    let mut up = Assembly {
        profile,
        run_id,
        sim: None,
        children: Vec::new(),
        teardown: Vec::new(),
    };
    let result = match up.connect(options).await {
        Ok(parts) => {
            let (report, findings) = parts.preflight(profile, options.allow_real_aws).await;
            if !report.passed() {
                Err(TargetError::Preflight(report))
            } else {
                if let (true, Some(identity)) =
                    (profile.aws.is_real_aws(), findings.identity.as_ref())
                {
                    eprintln!(
                        "{}",
                        super::interlock::describe(identity, &profile.kubernetes)
                    );
                }
                up.finish(options, parts, findings).await
            }
        }
        Err(err) => Err(err),
    };
    match result {
        Ok(target) => Ok(target),
        Err(err) => {
            // Undo what was done before the error, in reverse.
            if let Some(partial) = up.into_partial_target() {
                let left = partial.teardown().await;
                for item in left {
                    tracing::warn!(leftover = %item, "could not remove after a failed start");
                }
            }
            Err(err)
        }
    }
}

/// `rolecheck doctor`: reaches the target's parts (starting the embedded sim or a stand-in
/// where the profile says so), runs the preflight, stops what it started. Creates nothing in
/// the cluster, IAM, S3 or the platform.
pub async fn preflight(
    profile: &Profile,
    options: &StartOptions,
) -> Result<crate::target::doctor::Report, TargetError> {
    super::interlock::rehearsal_guard(profile, &std::env::vars().collect::<Vec<_>>())?;
    let mut up = Assembly {
        profile,
        run_id: "preflight",
        sim: None,
        children: Vec::new(),
        teardown: Vec::new(),
    };
    let result = match up.connect(options).await {
        Ok(parts) => Ok(parts.preflight(profile, options.allow_real_aws).await.0),
        Err(err) => Err(err),
    };
    if let Some(partial) = up.into_partial_target() {
        for item in partial.teardown().await {
            tracing::warn!(leftover = %item, "could not remove after the preflight");
        }
    }
    result
}

struct Assembly<'a> {
    profile: &'a Profile,
    run_id: &'a str,
    sim: Option<Sim>,
    children: Vec<ChildService>,
    teardown: Vec<Teardown>,
}

/// The AWS side once it is up.
struct Aws {
    endpoint: AwsEndpoint,
    iam: IamDriver,
    /// The operator's credentials on a local endpoint (`None`: the default chain).
    operator_credentials: Option<Credentials>,
}

/// The target's parts, reached but with nothing created yet.
struct Parts {
    sim: Option<rolecheck_sim::Endpoints>,
    kube: Result<KubeDriver, String>,
    cluster: String,
    aws: Aws,
    sts: StsDriver,
    platform: Result<(Option<PlatformDriver>, Option<PlatformDriver>), String>,
}

impl Parts {
    /// The preflight over these parts.
    async fn preflight(
        &self,
        profile: &Profile,
        allow_real_aws: bool,
    ) -> (
        crate::target::doctor::Report,
        crate::target::doctor::Findings,
    ) {
        let houston = match (&self.platform, &profile.platform) {
            (Ok((Some(PlatformDriver::Houston(h)), _)), _) => Some(Ok(h)),
            (Ok(_), _) => None,
            (Err(why), _) => Some(Err(why.clone())),
        };
        let subject = crate::target::doctor::Subject {
            profile,
            allow_real_aws,
            kube: self.kube.as_ref().map_err(Clone::clone),
            cluster: self.cluster.clone(),
            sts: &self.sts,
            iam: &self.aws.iam,
            operator_credentials: self.aws.operator_credentials.clone(),
            sim_aws: match (&profile.aws, &self.sim) {
                (AwsSource::Sim, Some(e)) => {
                    Some((e.account_id.clone(), e.oidc_provider_arn.clone()))
                }
                _ => None,
            },
            houston,
        };
        crate::target::doctor::check(&subject).await
    }
}

impl Assembly<'_> {
    /// Starts what the profile runs in-process or as a child (the sim, a stand-in) and builds
    /// the clients of every part. A part that cannot be reached is left for the preflight to
    /// report; only what cannot even be tried is an error here.
    async fn connect(&mut self, options: &StartOptions) -> Result<Parts, TargetError> {
        let profile = self.profile;
        let local = match profile.kubernetes {
            KubeSource::Local => Some(super::local::LocalCluster::load()?),
            _ => None,
        };
        if needs_sim(profile) {
            let cluster = match &local {
                Some(cluster) => Some(super::attach::cluster_config(cluster, self.run_id).await?),
                None => None,
            };
            let defaults = SimConfig::default();
            let sim = Sim::start(SimConfig {
                faults: options.faults.clone(),
                cluster,
                platform_namespace: profile.namespaces.platform_namespace().to_owned(),
                manual_release_names: profile
                    .sim
                    .manual_release_names
                    .unwrap_or(defaults.manual_release_names),
                worker_persistence: profile
                    .sim
                    .worker_persistence
                    .unwrap_or(defaults.worker_persistence),
                ..defaults
            })
            .await
            .map_err(TargetError::Sim)?;
            self.sim = Some(sim);
        }
        let sim_endpoints = self.sim.as_ref().map(|s| s.endpoints().clone());

        let kube_access = match (&profile.kubernetes, &sim_endpoints) {
            (KubeSource::Sim, Some(e)) => KubeAccess::Token {
                url: e.kube_url.clone(),
                token: e.kube_token.clone(),
            },
            (KubeSource::Kubeconfig { path, context }, _) => KubeAccess::Kubeconfig {
                path: path.clone(),
                context: context.clone(),
            },
            (KubeSource::Local, _) => KubeAccess::Kubeconfig {
                path: local.as_ref().map(|c| c.kubeconfig.clone()),
                context: None,
            },
            (KubeSource::Sim, None) => return Err(self.unsupported("the sim is not running")),
        };
        // A kubeconfig naming the local cluster (the eks path rehearsed on it) gets the same
        // bare pods: its images are imported, never pulled.
        let behind_kubeconfig = match &profile.kubernetes {
            KubeSource::Kubeconfig { path, context } => {
                super::attach::local_cluster_behind(path.as_deref(), context.as_deref())
            }
            _ => None,
        };
        let kube = match KubeDriver::connect(&kube_access).await {
            Ok(kube) => match local.as_ref().or(behind_kubeconfig.as_ref()) {
                Some(cluster) => Ok(kube.with_bare_pods(super::attach::bare_pods(cluster)?)),
                None => Ok(kube),
            },
            Err(e) => Err(format!("connecting to the Kubernetes API: {e}")),
        };
        let cluster = super::interlock::cluster_description(&profile.kubernetes);

        // Whether every endpoint answers (start-up probes) is the preflight's first question
        // about each part, asked before anything is created.
        let aws = self.aws(sim_endpoints.as_ref()).await?;
        let sts = StsDriver::new(aws.endpoint.clone());
        let platform = match &kube {
            Ok(kube) => self
                .platform(sim_endpoints.as_ref(), kube)
                .map_err(|e| e.to_string()),
            Err(_) => Ok((None, None)),
        };
        Ok(Parts {
            sim: sim_endpoints,
            kube,
            cluster,
            aws,
            sts,
            platform,
        })
    }

    /// After the preflight: registers the OIDC provider and creates the role where the
    /// profile says so, and assembles the target.
    async fn finish(
        &mut self,
        options: &StartOptions,
        parts: Parts,
        findings: crate::target::doctor::Findings,
    ) -> Result<Target, TargetError> {
        let profile = self.profile;
        let Parts {
            sim: sim_endpoints,
            kube,
            aws,
            sts,
            platform,
            ..
        } = parts;
        let kube = kube.map_err(|why| self.unsupported(&why))?;
        let (platform, platform_without_annotation_key) =
            platform.map_err(|why| self.unsupported(&why))?;
        let issuer = match findings.issuer {
            Some(issuer) => issuer,
            None => kube
                .service_account_issuer()
                .await
                .map_err(driver("reading the cluster's service-account issuer"))?,
        };
        let provider_host = issuer
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .to_owned();
        // The account: the profile's, else who the operator's credentials are (defect: an
        // empty account made the trust principal `arn:aws:iam:::oidc-provider/...`).
        let account = resolve_account(profile.account.as_deref(), findings.identity.as_ref())
            .ok_or_else(|| {
                self.unsupported(
                    "the AWS account is unknown: set `account` in the profile (GetCallerIdentity did not say)",
                )
            })?;
        let mut oidc_provider_arn = match (&profile.aws, &sim_endpoints) {
            (AwsSource::Sim, Some(e)) => Some(e.oidc_provider_arn.clone()),
            _ => None,
        };
        let mut created_at = None;
        if profile.oidc.register {
            let provider = aws
                .iam
                .create_oidc_provider(&issuer, ISSUER_THUMBPRINT, self.run_id)
                .await
                .map_err(driver("registering the cluster's OIDC provider in IAM"))?;
            if provider.created {
                options
                    .ledger
                    .record(TARGET_SCOPE, Owned::OidcProvider(provider.arn.clone()));
                created_at = Some(tokio::time::Instant::now());
                self.teardown.push(Teardown::OidcProvider {
                    iam: aws.iam.clone(),
                    arn: provider.arn.clone(),
                });
            }
            oidc_provider_arn = Some(provider.arn);
        }

        let role_arn = match &profile.role {
            RoleSource::Use(arn) => arn.clone(),
            RoleSource::Create(name) => {
                let name = name.replace("{run_id}", self.run_id);
                let trust_policy = trust_policy(&account, &provider_host, &profile.namespaces);
                let permission = profile
                    .s3
                    .as_ref()
                    .map(|s3| DOCUMENTED_S3_POLICY.replace("{{bucket}}", &s3.bucket));
                let policies: Vec<(&str, &str)> = permission
                    .as_deref()
                    .map(|p| ("rolecheck-s3", p))
                    .into_iter()
                    .collect();
                let arn = aws
                    .iam
                    .create_role(&name, &trust_policy, &policies, self.run_id)
                    .await
                    .map_err(driver("creating the documented role"))?;
                options
                    .ledger
                    .record(TARGET_SCOPE, Owned::IamRole(name.clone()));
                created_at = Some(tokio::time::Instant::now());
                self.teardown.push(Teardown::Role {
                    iam: aws.iam.clone(),
                    name,
                });
                arn
            }
        };
        let oidc_provider_arn = oidc_provider_arn
            .unwrap_or_else(|| format!("arn:aws:iam::{account}:oidc-provider/{provider_host}"));

        let clock = match (&profile.kubernetes, &sim_endpoints) {
            (KubeSource::Sim, Some(e)) => Some(
                SimClockDriver::new(e.clock_url.clone(), e.kube_token.clone())
                    .map_err(driver("building the sim clock client"))?,
            ),
            _ => None,
        };
        let (bucket, other_bucket) = profile
            .s3
            .as_ref()
            .map(|s| (s.bucket.clone(), s.other_bucket.clone()))
            .unwrap_or_default();

        Ok(Target {
            name: profile.name.clone(),
            capabilities: profile.capabilities.clone(),
            why_not: profile.why_not.clone(),
            kube,
            sts,
            platform,
            platform_without_annotation_key,
            clock,
            facts: TargetFacts {
                account,
                region: aws.endpoint.region.clone(),
                role_arn,
                oidc_provider_arn,
                bucket,
                other_bucket,
            },
            namespaces: profile.namespaces.clone(),
            propagation: super::Propagation {
                since: created_at,
                window: profile.iam_propagation,
            },
            teardown: std::mem::take(&mut self.teardown),
            ledger: options.ledger.clone(),
            sim: self.sim.take(),
            children: std::mem::take(&mut self.children),
        })
    }

    /// STS/IAM of the profile, started if it runs as a child process.
    async fn aws(&mut self, sim: Option<&rolecheck_sim::Endpoints>) -> Result<Aws, TargetError> {
        let local_with = |url: String, region: String, key: &StaticKey| {
            let endpoint = AwsEndpoint::local(url, region);
            let iam = IamDriver::with_static_credentials(&endpoint, &key.id, &key.secret);
            Aws {
                endpoint,
                iam,
                operator_credentials: Some(Credentials::new(
                    key.id.clone(),
                    key.secret.clone(),
                    None,
                    None,
                    "rolecheck-setup",
                )),
            }
        };
        // The stand-ins accept any static credentials.
        let local = |url: String, region: String| local_with(url, region, &StaticKey::stand_in());
        match &self.profile.aws {
            AwsSource::Sim => match sim {
                // The sim checks IAM signatures against its administrator's key.
                Some(e) => Ok(local_with(
                    e.aws_url.clone(),
                    e.region.clone(),
                    &StaticKey {
                        id: e.aws_access_key_id.clone(),
                        secret: e.aws_secret_access_key.clone(),
                    },
                )),
                None => Err(self.unsupported("the sim is not running")),
            },
            AwsSource::Moto { venv, region } => {
                let child = ChildService::start(Service::Moto, venv, READY_WITHIN).await?;
                let url = child.url().to_owned();
                self.children.push(child);
                Ok(local(url, region.clone()))
            }
            AwsSource::LocalStack {
                start,
                venv,
                endpoint,
                region,
            } => match start {
                LocalStackStart::Process => {
                    let child =
                        ChildService::start(Service::LocalStack, venv, READY_WITHIN).await?;
                    let url = child.url().to_owned();
                    self.children.push(child);
                    Ok(local(url, region.clone()))
                }
                LocalStackStart::External => match endpoint {
                    Some(url) => Ok(local(url.clone(), region.clone())),
                    None => Err(self.unsupported("`start: external` needs `endpoint`")),
                },
                LocalStackStart::Container => Err(self.unsupported(
                    "`start: container` is brought up by `rolecheck env up kind` (Docker); \
                     point the profile at it with `start: external`",
                )),
            },
            AwsSource::Endpoint { url, region } => Ok(local_with(
                url.clone(),
                region.clone(),
                &StaticKey::from_env_or_stand_in(),
            )),
            AwsSource::RealAws { region, .. } => {
                let endpoint = AwsEndpoint::default_chain(region.as_deref()).await;
                if endpoint.region.is_empty() {
                    return Err(self.unsupported(
                        "the default credential chain has no AWS region: set `aws.region` in the profile or AWS_REGION",
                    ));
                }
                let stand_in = StaticKey::stand_in();
                let iam = IamDriver::for_endpoint(&endpoint, &stand_in.id, &stand_in.secret);
                Ok(Aws {
                    endpoint,
                    iam,
                    operator_credentials: None,
                })
            }
        }
    }

    /// The platform drivers of the profile.
    #[allow(clippy::type_complexity)]
    fn platform(
        &self,
        sim: Option<&rolecheck_sim::Endpoints>,
        kube: &KubeDriver,
    ) -> Result<(Option<PlatformDriver>, Option<PlatformDriver>), TargetError> {
        match (&self.profile.platform, sim) {
            (PlatformSource::Sim, Some(e)) => {
                let platform = HoustonDriver::new(HoustonAccess {
                    url: e.platform_url.clone(),
                    workspace_id: e.workspace_id.clone(),
                    tokens: super::sim::tokens(&e.platform_users),
                    run_id: Some(self.run_id.to_owned()),
                })
                .map_err(driver("building the platform client"))?;
                let keyless = &e.platform_without_annotation_key;
                let without = HoustonDriver::new(HoustonAccess {
                    url: keyless.url.clone(),
                    workspace_id: keyless.workspace_id.clone(),
                    tokens: super::sim::tokens(&keyless.users),
                    run_id: Some(self.run_id.to_owned()),
                })
                .map_err(driver(
                    "building the client of the platform without annotation key",
                ))?;
                Ok((
                    Some(PlatformDriver::Houston(platform)),
                    Some(PlatformDriver::Houston(without)),
                ))
            }
            (PlatformSource::Sim, None) => Err(self.unsupported("the sim is not running")),
            (
                PlatformSource::Houston {
                    url,
                    workspace,
                    tokens,
                },
                _,
            ) => {
                let workspace_id = match workspace.strip_prefix("env:") {
                    Some(var) => self.env(var)?,
                    None => workspace.clone(),
                };
                let url = match url.strip_prefix("env:") {
                    Some(var) => {
                        let url = self.env(var)?;
                        if let Some(why) = super::profile::endpoint_url_problem(&url) {
                            return Err(self.unsupported(&format!(
                                "environment variable {var} (the platform URL) is `{url}`, not an endpoint URL ({why})"
                            )));
                        }
                        url
                    }
                    None => url.clone(),
                };
                let mut by_actor = HashMap::new();
                for (actor, var) in [
                    (Actor::Admin, &tokens.admin),
                    (Actor::Editor, &tokens.editor),
                    (Actor::Viewer, &tokens.viewer),
                ] {
                    if let Some(var) = var {
                        by_actor.insert(actor, self.env(var)?);
                    }
                }
                let platform = HoustonDriver::new(HoustonAccess {
                    url,
                    workspace_id,
                    tokens: by_actor,
                    run_id: Some(self.run_id.to_owned()),
                })
                .map_err(driver("building the platform client"))?;
                Ok((Some(PlatformDriver::Houston(platform)), None))
            }
            (PlatformSource::None, _) => Ok((None, None)),
            (PlatformSource::Astro { cli, workspace }, _) => Ok((
                Some(PlatformDriver::Astro(AstroDriver::new(
                    cli.clone(),
                    workspace.clone(),
                ))),
                None,
            )),
            (
                PlatformSource::Manifest {
                    annotation_key,
                    image,
                },
                _,
            ) => Ok((
                Some(PlatformDriver::Manifest(ManifestDriver::new(
                    kube.clone(),
                    annotation_key,
                    image,
                    self.run_id,
                    self.profile.namespaces.clone(),
                ))),
                None,
            )),
        }
    }

    fn env(&self, var: &str) -> Result<String, TargetError> {
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| self.unsupported(&format!("environment variable {var} is not set")))
    }

    fn unsupported(&self, message: &str) -> TargetError {
        TargetError::Unsupported {
            target: self.profile.name.clone(),
            message: message.to_owned(),
        }
    }

    /// What was brought up before an error, as a target to tear down.
    fn into_partial_target(self) -> Option<PartialTarget> {
        if self.teardown.is_empty() && self.sim.is_none() && self.children.is_empty() {
            return None;
        }
        Some(PartialTarget {
            teardown: self.teardown,
            sim: self.sim,
            children: self.children,
        })
    }
}

/// What a failed start leaves to undo.
struct PartialTarget {
    teardown: Vec<Teardown>,
    sim: Option<Sim>,
    children: Vec<ChildService>,
}

impl PartialTarget {
    async fn teardown(self) -> Vec<String> {
        let mut leftovers = Vec::new();
        for step in self.teardown.into_iter().rev() {
            match step {
                Teardown::Role { iam, name } => {
                    if iam.delete_role(&name).await.is_err() {
                        leftovers.push(format!("iam-role {name}"));
                    }
                }
                Teardown::OidcProvider { iam, arn } => {
                    if iam.delete_oidc_provider(&arn).await.is_err() {
                        leftovers.push(format!("iam-oidc-provider {arn}"));
                    }
                }
            }
        }
        if let Some(sim) = self.sim {
            sim.shutdown().await;
        }
        for child in self.children {
            child.stop().await;
        }
        leftovers
    }
}

/// Whether any part of the profile is the embedded sim.
fn needs_sim(profile: &Profile) -> bool {
    profile.kubernetes == KubeSource::Sim
        || profile.aws == AwsSource::Sim
        || profile.platform == PlatformSource::Sim
        || profile.oidc.issuer == IssuerSource::Sim
}

/// The account id inside an IAM ARN (`arn:aws:iam::<account>:...`).
pub fn account_of(arn: &str) -> Option<String> {
    let account = arn.split(':').nth(4)?;
    (account.len() == 12 && account.chars().all(|c| c.is_ascii_digit())).then(|| account.to_owned())
}

/// The account of the role's trust principal: the profile's, else the operator's
/// (`GetCallerIdentity`); never empty.
pub fn resolve_account(
    profile: Option<&str>,
    identity: Option<&crate::drivers::sts::CallerIdentity>,
) -> Option<String> {
    profile
        .map(str::to_owned)
        .or_else(|| identity.map(|i| i.account.clone()))
        .filter(|a| !a.is_empty())
}

/// The documented trust policy for `account`, the issuer `provider_host` (the issuer URL
/// without its scheme) and the platform's release namespaces (`astronomer-*` in the
/// documents).
pub fn trust_policy(account: &str, provider_host: &str, namespaces: &ReleaseNamespaces) -> String {
    DOCUMENTED_TRUST_POLICY
        .replace("{{account}}", account)
        .replace("{{oidc_provider}}", provider_host)
        .replace("{{release_namespaces}}", &namespaces.pattern())
}

/// Static credentials for a local AWS endpoint.
pub(crate) struct StaticKey {
    /// Access key id.
    pub id: String,
    /// Secret access key.
    pub secret: String,
}

impl StaticKey {
    /// What moto and LocalStack accept (any key).
    pub(crate) fn stand_in() -> Self {
        Self {
            id: "AKIAROLECHECKSETUP".to_owned(),
            secret: "rolecheck-setup-secret".to_owned(),
        }
    }

    /// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` when both are set (e.g. from
    /// `rolecheck sim serve --env-file`, whose IAM checks signatures), else the stand-in key.
    pub(crate) fn from_env_or_stand_in() -> Self {
        match (
            std::env::var("AWS_ACCESS_KEY_ID"),
            std::env::var("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Ok(id), Ok(secret)) if !id.is_empty() && !secret.is_empty() => Self { id, secret },
            _ => Self::stand_in(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("arn:aws:iam::123456789012:role/x", Some("123456789012"))]
    #[case(
        "arn:aws:iam::000000000000:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/A",
        Some("000000000000")
    )]
    #[case("arn:aws:iam::12:role/x", None)]
    #[case("not-an-arn", None)]
    fn account_ids_come_from_arns(#[case] arn: &str, #[case] want: Option<&str>) {
        assert_eq!(account_of(arn).as_deref(), want);
    }

    #[test]
    fn the_trust_principal_names_the_callers_account_when_the_profile_sets_none() {
        // fixtures/targets/eks.yaml sets no account and does not register the provider.
        let eks = Profile::named("eks").unwrap();
        assert_eq!(eks.account, None);
        assert!(!eks.oidc.register);
        let identity = crate::drivers::sts::CallerIdentity {
            account: "123456789012".to_owned(),
            arn: "arn:aws:sts::123456789012:assumed-role/admin/me".to_owned(),
        };
        let account = resolve_account(eks.account.as_deref(), Some(&identity)).unwrap();
        let policy = trust_policy(
            &account,
            "oidc.eks.us-west-2.amazonaws.com/id/ABC",
            &ReleaseNamespaces::default(),
        );
        assert!(
            policy.contains(
                "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC"
            ),
            "{policy}"
        );
        assert!(!policy.contains("iam:::"), "{policy}");
        // The profile's account wins; no account at all is refused, never an empty one.
        assert_eq!(
            resolve_account(Some("210987654321"), Some(&identity)).as_deref(),
            Some("210987654321")
        );
        assert_eq!(resolve_account(None, None), None);
    }

    #[tokio::test]
    async fn a_refused_real_aws_start_makes_no_call() {
        // The eks profile points at real AWS; without the interlock the start fails at once,
        // before any credential lookup or request.
        let eks = Profile::named("eks").unwrap();
        let err = start(&eks, &StartOptions::default(), "abc12345")
            .await
            .err()
            .unwrap();
        assert!(matches!(err, TargetError::RealAwsRefused { .. }), "{err}");
    }
}

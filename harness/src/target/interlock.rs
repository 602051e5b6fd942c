//! The real-AWS interlock: a run (or `gc`) against real AWS refuses to start unless it was
//! explicitly allowed, and says which account and cluster it is about to touch.
//!
//! [`check`] makes no network call, so a refused run never reaches AWS; [`announce`] asks
//! STS who the default credential chain is only after the check passed.

use super::TargetError;
use super::profile::{AwsSource, KubeSource, Profile};
use crate::drivers::sts;

/// The environment variable that allows real AWS like `--allow-real-aws`.
pub const ALLOW_ENV: &str = "ROLECHECK_ALLOW_REAL_AWS";

/// Whether real AWS is allowed: the flag, or [`ALLOW_ENV`] set to `1` (or `true`).
pub fn allowed(flag: bool, env_value: Option<&str>) -> bool {
    flag || matches!(env_value.map(str::trim), Some("1" | "true" | "yes"))
}

/// Refuses a real-AWS profile unless allowed. No network traffic.
pub fn check(profile: &Profile, allow: bool) -> Result<(), TargetError> {
    if profile.aws.is_real_aws() && !allow {
        return Err(TargetError::RealAwsRefused {
            target: profile.name.clone(),
        });
    }
    Ok(())
}

/// The SDK's standard endpoint settings a rehearsal of the real-AWS path reads.
const ENDPOINT_VARS: &[&str] = &[
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_IAM",
    "AWS_ENDPOINT_URL_S3",
];

/// A rehearsal profile (`aws: {service: aws, rehearsal: true}`) runs the real-AWS code path
/// against local stand-ins: refuse unless the SDK's standard endpoint settings send STS and
/// IAM to loopback (and nothing anywhere else), and IMDS is off. No network traffic.
pub fn rehearsal_guard(profile: &Profile, env: &[(String, String)]) -> Result<(), TargetError> {
    let AwsSource::RealAws {
        rehearsal: true, ..
    } = &profile.aws
    else {
        return Ok(());
    };
    let refuse = |why: String| TargetError::Unsupported {
        target: profile.name.clone(),
        message: format!(
            "a rehearsal profile only runs against loopback stand-ins: {why} (set AWS_ENDPOINT_URL=http://127.0.0.1:<port>)"
        ),
    };
    let get = |name: &str| {
        env.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    if get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Err(refuse(
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true".to_owned(),
        ));
    }
    for name in ENDPOINT_VARS {
        if let Some(url) = get(name)
            && !is_loopback_url(url)
        {
            return Err(refuse(format!("{name}={url} is not a loopback URL")));
        }
    }
    if !get("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Err(refuse(
            "AWS_EC2_METADATA_DISABLED=true is not set (a credential chain falling back to IMDS would leave loopback)".to_owned(),
        ));
    }
    for service in ["STS", "IAM"] {
        if get("AWS_ENDPOINT_URL").is_none()
            && get(&format!("AWS_ENDPOINT_URL_{service}")).is_none()
        {
            return Err(refuse(format!(
                "neither AWS_ENDPOINT_URL nor AWS_ENDPOINT_URL_{service} is set"
            )));
        }
    }
    Ok(())
}

/// Whether `url` is `http(s)://` to 127.0.0.0/8, `[::1]` or `localhost`.
fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Who the run is: the AWS account and caller (STS `GetCallerIdentity` with the default
/// chain) and the cluster (kubeconfig context and server), as lines to print before anything
/// is created.
pub async fn announce(profile: &Profile) -> Result<String, TargetError> {
    let region = match &profile.aws {
        super::profile::AwsSource::RealAws { region, .. } => region.as_deref(),
        _ => None,
    };
    let identity = match sts::default_chain_identity(region).await {
        Ok(Ok(identity)) => identity,
        Ok(Err(refusal)) => {
            return Err(TargetError::Unsupported {
                target: profile.name.clone(),
                message: format!(
                    "STS GetCallerIdentity with the default credential chain was refused: {}: {}",
                    refusal.code, refusal.message
                ),
            });
        }
        Err(source) => {
            return Err(TargetError::Driver {
                what: "asking STS who the default credential chain is".to_owned(),
                source,
            });
        }
    };
    Ok(describe(&identity, &profile.kubernetes))
}

/// The lines a real-AWS run prints before it creates anything.
pub fn describe(identity: &sts::CallerIdentity, cluster: &KubeSource) -> String {
    format!(
        "real AWS: account {} as {}\ncluster: {}",
        identity.account,
        identity.arn,
        cluster_description(cluster)
    )
}

/// The kubeconfig context and API server a profile points at, read from the kubeconfig
/// without contacting the cluster.
pub fn cluster_description(source: &KubeSource) -> String {
    let (path, context) = match source {
        KubeSource::Kubeconfig { path, context } => (path, context),
        KubeSource::Local => {
            return "the local cluster of `rolecheck env up local` (its cluster.json)".to_owned();
        }
        KubeSource::Sim => return "the embedded sim".to_owned(),
    };
    match kubeconfig_names(path.as_deref(), context.as_deref()) {
        Some(names) => format!(
            "context {} (cluster {} at {})",
            names.context,
            names.cluster,
            names.server.as_deref().unwrap_or("(no server)")
        ),
        None => format!(
            "kubeconfig {} (unreadable)",
            path.as_ref()
                .map_or_else(|| "(default)".to_owned(), |p| p.display().to_string())
        ),
    }
}

/// What a kubeconfig's context points at, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeconfigNames {
    /// The context (the profile's, else the current one).
    pub context: String,
    /// The context's cluster entry (an EKS cluster ARN when `aws eks update-kubeconfig`
    /// wrote it).
    pub cluster: String,
    /// That cluster's server URL.
    pub server: Option<String>,
}

/// The names a kubeconfig (`path`, else the default lookup) gives `context` (else its
/// current context); `None` when the file cannot be read.
pub fn kubeconfig_names(
    path: Option<&std::path::Path>,
    context: Option<&str>,
) -> Option<KubeconfigNames> {
    let config = match path {
        Some(path) => kube::config::Kubeconfig::read_from(path),
        None => kube::config::Kubeconfig::read(),
    }
    .ok()?;
    let context_name = context
        .map(str::to_owned)
        .or_else(|| config.current_context.clone())
        .unwrap_or_default();
    let cluster_name = config
        .contexts
        .iter()
        .find(|c| c.name == context_name)
        .and_then(|c| c.context.as_ref())
        .map(|c| c.cluster.clone())
        .unwrap_or_default();
    let server = config
        .clusters
        .iter()
        .find(|c| c.name == cluster_name)
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.server.clone());
    Some(KubeconfigNames {
        context: context_name,
        cluster: cluster_name,
        server,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(false, None, false)]
    #[case(false, Some("0"), false)]
    #[case(false, Some(""), false)]
    #[case(false, Some("1"), true)]
    #[case(false, Some("true"), true)]
    #[case(true, None, true)]
    fn allowed_by_flag_or_environment(
        #[case] flag: bool,
        #[case] env: Option<&str>,
        #[case] want: bool,
    ) {
        assert_eq!(allowed(flag, env), want);
    }

    #[test]
    fn real_aws_is_refused_without_the_interlock_and_local_targets_are_not() {
        let eks = Profile::named("eks").unwrap();
        let err = check(&eks, false).unwrap_err();
        assert!(err.to_string().contains("--allow-real-aws"), "{err}");
        assert!(check(&eks, true).is_ok());
        assert!(check(&Profile::named("moto").unwrap(), false).is_ok());
    }

    const IMDS_OFF: (&str, &str) = ("AWS_EC2_METADATA_DISABLED", "true");

    #[rstest]
    #[case(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"), IMDS_OFF], None)]
    #[case(&[("AWS_ENDPOINT_URL_STS", "http://localhost:1"), ("AWS_ENDPOINT_URL_IAM", "http://[::1]:2"), IMDS_OFF], None)]
    #[case(&[IMDS_OFF], Some("neither AWS_ENDPOINT_URL nor AWS_ENDPOINT_URL_STS"))]
    #[case(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")], Some("AWS_EC2_METADATA_DISABLED=true is not set"))]
    #[case(&[("AWS_ENDPOINT_URL", "https://sts.amazonaws.com")], Some("is not a loopback URL"))]
    #[case(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"), ("AWS_ENDPOINT_URL_S3", "http://10.0.0.1:9000")], Some("AWS_ENDPOINT_URL_S3=http://10.0.0.1:9000"))]
    #[case(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"), ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")], Some("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))]
    fn a_rehearsal_only_runs_against_loopback(
        #[case] env: &[(&str, &str)],
        #[case] refused: Option<&str>,
    ) {
        let profile = Profile::named("eks-rehearsal").unwrap();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        match (rehearsal_guard(&profile, &env), refused) {
            (Ok(()), None) => {}
            (Err(err), Some(want)) => assert!(err.to_string().contains(want), "{err}"),
            (answer, want) => panic!("{answer:?} but wanted {want:?}"),
        }
        // The real eks profile is not a rehearsal: no endpoint is required.
        assert!(rehearsal_guard(&Profile::named("eks").unwrap(), &[]).is_ok());
    }

    #[test]
    fn the_cluster_is_described_from_the_kubeconfig() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster: {server: 'https://prod.example:443'}\ncontexts:\n- name: admin@prod\n  context: {cluster: prod, user: admin}\ncurrent-context: admin@prod\nusers:\n- name: admin\n  user: {token: t}\n",
        )
        .unwrap();
        let text = cluster_description(&KubeSource::Kubeconfig {
            path: Some(path),
            context: None,
        });
        assert_eq!(
            text,
            "context admin@prod (cluster prod at https://prod.example:443)"
        );
    }
}

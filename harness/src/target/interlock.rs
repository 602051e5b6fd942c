//! The real-AWS interlock: a run (or `gc`) against real AWS refuses to start unless it was
//! explicitly allowed, and says which account and cluster it is about to touch.
//!
//! [`check`] makes no network call, so a refused run never reaches AWS; [`announce`] asks
//! STS who the default credential chain is only after the check passed.

use super::TargetError;
use super::profile::{KubeSource, Profile};
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

/// Who the run is: the AWS account and caller (STS `GetCallerIdentity` with the default
/// chain) and the cluster (kubeconfig context and server), as lines to print before anything
/// is created.
pub async fn announce(profile: &Profile) -> Result<String, TargetError> {
    let region = match &profile.aws {
        super::profile::AwsSource::RealAws { region } => region.as_deref(),
        _ => None,
    };
    let (account, caller) = match sts::default_chain_identity(region).await {
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
    Ok(format!(
        "real AWS: account {account} as {caller}\ncluster: {}",
        cluster_description(&profile.kubernetes)
    ))
}

/// The kubeconfig context and API server a profile points at, read from the kubeconfig
/// without contacting the cluster.
pub fn cluster_description(source: &KubeSource) -> String {
    let KubeSource::Kubeconfig { path, context } = source else {
        return "the embedded sim".to_owned();
    };
    let config = match path {
        Some(path) => kube::config::Kubeconfig::read_from(path),
        None => kube::config::Kubeconfig::read(),
    };
    let Ok(config) = config else {
        return format!(
            "kubeconfig {} (unreadable)",
            path.as_ref()
                .map_or_else(|| "(default)".to_owned(), |p| p.display().to_string())
        );
    };
    let context_name = context
        .clone()
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
        .and_then(|c| c.server.clone())
        .unwrap_or_else(|| "(no server)".to_owned());
    format!("context {context_name} (cluster {cluster_name} at {server})")
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

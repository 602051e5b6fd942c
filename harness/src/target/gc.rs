//! `rolecheck gc`: removes what killed runs left behind on a target: namespaces labelled
//! `rolecheck.io/run-id`, platform deployments whose label carries it (a create cut off
//! before its answer leaves such a deployment with an unlabelled namespace; the platform
//! removes both), and IAM roles tagged with it, older than a given age. Roles merely named
//! `rolecheck-...` without the tag are listed, and removed only with `--include-untagged`:
//! a name proves nothing about who made them. It reaches the target through the same
//! drivers as a run, but starts nothing: the target must already be running (a kubeconfig
//! cluster, an STS/IAM endpoint, real AWS).

use std::time::Duration;

use super::profile::{AwsSource, KubeSource, LocalStackStart, PlatformSource, Profile, TokenEnv};
use super::{TargetError, driver};
use crate::drivers::deadline::Deadline;
use crate::drivers::houston::{HoustonAccess, HoustonDriver};
use crate::drivers::iam::IamDriver;
use crate::drivers::kube::{KubeAccess, KubeDriver, RUN_ID_LABEL};
use crate::drivers::sts::AwsEndpoint;

/// The prefix of every role name a run creates.
pub const ROLE_PREFIX: &str = "rolecheck-";

/// What `gc` does.
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// Only leftovers at least this old (by creation time); zero removes all.
    pub older_than: Duration,
    /// Whether real AWS is allowed (the interlock).
    pub allow_real_aws: bool,
    /// Time budget for removing one namespace.
    pub timeout: Duration,
    /// Whether roles named `rolecheck-...` without the run-id tag are removed too.
    pub include_untagged: bool,
}

/// What `gc` found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Removed, as `kind name` lines.
    pub removed: Vec<String>,
    /// Found but younger than the limit, as `kind name` lines.
    pub kept: Vec<String>,
    /// Found but could not be removed, as `kind name: why` lines.
    pub failed: Vec<String>,
    /// Found by name only, without the run-id label or tag: listed, not removed (unless
    /// `--include-untagged`), as `kind name` lines.
    pub untagged: Vec<String>,
}

impl GcReport {
    /// One line per object and a summary.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.removed {
            out.push_str(&format!("removed {line}\n"));
        }
        for line in &self.kept {
            out.push_str(&format!("kept    {line} (younger than --older-than)\n"));
        }
        for line in &self.untagged {
            out.push_str(&format!(
                "left    {line} (named like a run's, but no run-id tag; --include-untagged removes it)\n"
            ));
        }
        for line in &self.failed {
            out.push_str(&format!("FAILED  {line}\n"));
        }
        out.push_str(&format!(
            "{} removed, {} kept, {} untagged left, {} failed\n",
            self.removed.len(),
            self.kept.len(),
            self.untagged.len(),
            self.failed.len()
        ));
        out
    }
}

/// Removes the leftovers of killed runs from the target of `profile`.
pub async fn gc(profile: &Profile, options: &GcOptions) -> Result<GcReport, TargetError> {
    super::interlock::check(profile, options.allow_real_aws)?;
    super::interlock::rehearsal_guard(profile, &std::env::vars().collect::<Vec<_>>())?;
    let unsupported = |message: &str| TargetError::Unsupported {
        target: profile.name.clone(),
        message: message.to_owned(),
    };
    let (path, context) = match &profile.kubernetes {
        KubeSource::Kubeconfig { path, context } => (path.clone(), context.clone()),
        KubeSource::Local => (Some(super::local::LocalCluster::load()?.kubeconfig), None),
        KubeSource::Sim => {
            return Err(unsupported(
                "`gc` needs a running cluster: the embedded sim dies with its run (point --profile at `rolecheck sim serve`'s kubeconfig)",
            ));
        }
    };
    let iam = match &profile.aws {
        AwsSource::Endpoint { url, region }
        | AwsSource::LocalStack {
            start: LocalStackStart::External,
            endpoint: Some(url),
            region,
            ..
        } => {
            let key = super::assemble::StaticKey::from_env_or_stand_in();
            Some(IamDriver::with_static_credentials(
                &AwsEndpoint::local(url.clone(), region.clone()),
                &key.id,
                &key.secret,
            ))
        }
        AwsSource::RealAws { region, .. } => {
            let lines = super::interlock::announce(profile).await?;
            eprintln!("{lines}");
            Some(IamDriver::from_default_chain(region.as_deref()).await)
        }
        // Stand-ins started per run and the sim keep nothing between runs.
        AwsSource::Sim | AwsSource::Moto { .. } | AwsSource::LocalStack { .. } => None,
    };
    let kube = KubeDriver::connect(&KubeAccess::Kubeconfig { path, context })
        .await
        .map_err(driver("connecting to the Kubernetes API"))?;

    let now = chrono::Utc::now().timestamp();
    let old_enough = |created: Option<i64>| match created {
        Some(created) => now.saturating_sub(created) >= options.older_than.as_secs() as i64,
        // Unknown age: only when everything goes.
        None => options.older_than.is_zero(),
    };
    let mut report = GcReport::default();
    let namespaces = kube
        .labelled_namespaces(None)
        .await
        .map_err(driver("listing labelled namespaces"))?;
    let mut expired = Vec::new();
    for ns in namespaces {
        let name = ns.metadata.name.clone().unwrap_or_default();
        let run_id = ns
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(RUN_ID_LABEL))
            .cloned()
            .unwrap_or_default();
        let line = format!("namespace {name} (run {run_id})");
        let created = ns
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| t.0.as_second());
        if old_enough(created) {
            expired.push((name, line));
        } else {
            report.kept.push(line);
        }
    }
    let (names, lines): (Vec<String>, Vec<String>) = expired.into_iter().unzip();
    let removals = kube
        .delete_namespaces(names, &Deadline::after(options.timeout))
        .await;
    for ((_, removed), line) in removals.into_iter().zip(lines) {
        match removed {
            Ok(()) => report.removed.push(line),
            Err(err) => report.failed.push(format!("{line}: {err}")),
        }
    }
    // Admission webhooks a killed run of the `local` target left registered.
    let webhooks = kube
        .labelled_webhook_configurations()
        .await
        .map_err(driver("listing labelled webhook configurations"))?;
    for (name, run_id, created) in webhooks {
        let line = format!("mutatingwebhookconfiguration {name} (run {run_id})");
        if !old_enough(created) {
            report.kept.push(line);
            continue;
        }
        match kube.delete_webhook_configuration(&name).await {
            Ok(()) => report.removed.push(line),
            Err(err) => report.failed.push(format!("{line}: {err}")),
        }
    }
    if let PlatformSource::Houston {
        url,
        workspace,
        tokens,
    } = &profile.platform
    {
        let platform = houston(url, workspace, tokens).map_err(unsupported_owned(profile))?;
        gc_deployments(&platform, options, &old_enough, &mut report).await?;
    }
    if let Some(iam) = iam {
        let roles = iam
            .rolecheck_roles(ROLE_PREFIX)
            .await
            .map_err(driver("listing IAM roles"))?;
        for role in roles {
            let line = format!(
                "iam-role {} (run {})",
                role.name,
                role.run_id.as_deref().unwrap_or("unknown")
            );
            if !old_enough(role.created_epoch_seconds) {
                report.kept.push(line);
                continue;
            }
            if role.run_id.is_none() && !options.include_untagged {
                report.untagged.push(line);
                continue;
            }
            match iam.delete_role(&role.name).await {
                Ok(()) => report.removed.push(line),
                Err(err) => report.failed.push(format!("{line}: {err}")),
            }
        }
    }
    Ok(report)
}

/// A Houston client for `gc` (admin token from the profile's environment variable).
fn houston(url: &str, workspace: &str, tokens: &TokenEnv) -> Result<HoustonDriver, String> {
    let env = |var: &str| {
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("environment variable {var} is not set"))
    };
    let workspace_id = match workspace.strip_prefix("env:") {
        Some(var) => env(var)?,
        None => workspace.to_owned(),
    };
    let admin = tokens
        .admin
        .as_deref()
        .ok_or_else(|| "the profile names no admin token".to_owned())?;
    HoustonDriver::new(HoustonAccess {
        url: url.to_owned(),
        workspace_id,
        tokens: std::collections::HashMap::from([(crate::platform::Actor::Admin, env(admin)?)]),
        run_id: None,
    })
    .map_err(|e| e.to_string())
}

fn unsupported_owned(profile: &Profile) -> impl FnOnce(String) -> TargetError + '_ {
    move |message| TargetError::Unsupported {
        target: profile.name.clone(),
        message,
    }
}

/// Removes the platform deployments whose label carries a run id (and so were made by a
/// run), old enough; deployments without it are someone else's and not even listed.
async fn gc_deployments(
    platform: &HoustonDriver,
    options: &GcOptions,
    old_enough: &impl Fn(Option<i64>) -> bool,
    report: &mut GcReport,
) -> Result<(), TargetError> {
    let listed = platform
        .deployments(None)
        .await
        .map_err(driver("listing platform deployments"))?
        .map_err(|refusal| TargetError::Driver {
            what: "listing platform deployments".to_owned(),
            source: crate::drivers::DriverError::Api(refusal.message),
        })?;
    for deployment in listed {
        let Some(run_id) = &deployment.run_id else {
            continue;
        };
        let line = format!("deployment {} (run {run_id})", deployment.release);
        let created = deployment
            .created_at
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp());
        if !old_enough(created) {
            report.kept.push(line);
            continue;
        }
        let deleted = tokio::time::timeout(
            options.timeout,
            platform.delete_by_id(
                crate::platform::Actor::Admin,
                &deployment.release,
                &deployment.id,
            ),
        )
        .await;
        match deleted {
            Ok(Ok(Ok(()))) => report.removed.push(line),
            Ok(Ok(Err(refusal))) => report
                .failed
                .push(format!("{line}: refused: {}", refusal.message)),
            Ok(Err(err)) => report.failed.push(format!("{line}: {err}")),
            Err(_) => report.failed.push(format!(
                "{line}: not removed within {}",
                humantime::format_duration(options.timeout)
            )),
        }
    }
    Ok(())
}

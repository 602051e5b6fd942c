//! The preflight (`rolecheck doctor`, and the first thing `rolecheck run` does): everything a
//! run needs, checked without creating anything, as a table of check, result and how to fix
//! it. A run stops with exit 2 and the table when a check fails.
//!
//! One module per part of the target: [`kube`] (reachability and version, permissions, the
//! pod-identity webhook), [`aws`] (identity and the real-AWS interlock, the OIDC issuer and
//! its IAM provider, the S3 bucket), [`platform`] (URL and `appConfig`, tokens, workspace,
//! roles).

pub mod aws;
pub mod kube;
pub mod platform;

use std::fmt::Write as _;

use crate::drivers::houston::HoustonDriver;
use crate::drivers::iam::IamDriver;
use crate::drivers::kube::KubeDriver;
use crate::drivers::sts::{CallerIdentity, StsDriver};
use crate::target::profile::Profile;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It holds.
    Ok,
    /// It does not hold: a run would fail or must not start.
    Failed,
    /// It does not apply to this target (the reason is the detail).
    Skipped,
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked (`kubernetes`, `s3 bucket`, ...).
    pub name: String,
    /// How it came out.
    pub verdict: Verdict,
    /// What was found.
    pub detail: String,
    /// How to fix it (empty when it holds).
    pub fix: String,
}

impl Check {
    /// A check that holds.
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            verdict: Verdict::Ok,
            detail: detail.into(),
            fix: String::new(),
        }
    }

    /// A check that does not hold, with how to fix it.
    pub fn failed(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            verdict: Verdict::Failed,
            detail: detail.into(),
            fix: fix.into(),
        }
    }

    /// A check that does not apply, and why.
    pub fn skipped(name: impl Into<String>, why: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            verdict: Verdict::Skipped,
            detail: why.into(),
            fix: String::new(),
        }
    }
}

/// The preflight's result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// The rows, in the order checked.
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether no check failed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.verdict != Verdict::Failed)
    }

    /// The row named `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// The table: `CHECK  RESULT  HOW TO FIX`, one row per check.
    pub fn render(&self) -> String {
        let result = |c: &Check| {
            let word = match c.verdict {
                Verdict::Ok => "ok",
                Verdict::Failed => "FAILED",
                Verdict::Skipped => "skipped",
            };
            format!("{word}: {}", one_line(&c.detail))
        };
        let name_width = self
            .checks
            .iter()
            .map(|c| c.name.len())
            .chain(["CHECK".len()])
            .max()
            .unwrap_or(0);
        let result_width = self
            .checks
            .iter()
            .map(|c| result(c).len())
            .chain(["RESULT".len()])
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:name_width$}  {:result_width$}  HOW TO FIX",
            "CHECK", "RESULT"
        );
        for c in &self.checks {
            let line = format!(
                "{:name_width$}  {:result_width$}  {}",
                c.name,
                result(c),
                one_line(&c.fix)
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
        let failed = self
            .checks
            .iter()
            .filter(|c| c.verdict == Verdict::Failed)
            .count();
        let _ = if failed == 0 {
            writeln!(out, "preflight: every check holds")
        } else {
            writeln!(out, "preflight: {failed} check(s) failed")
        };
        out
    }
}

/// Text on one line (helpers' stderr and SDK errors carry newlines).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What the preflight looks at: the target's parts as far as they could be reached, and
/// nothing the run would create.
pub struct Subject<'a> {
    /// The profile.
    pub profile: &'a Profile,
    /// Whether real AWS is allowed (the interlock).
    pub allow_real_aws: bool,
    /// The Kubernetes API, or why no client could be built.
    pub kube: Result<&'a KubeDriver, String>,
    /// How the profile reaches Kubernetes, in words (context and server).
    pub cluster: String,
    /// STS as the operator reaches it.
    pub sts: &'a StsDriver,
    /// IAM as the operator reaches it.
    pub iam: &'a IamDriver,
    /// The operator's static credentials on local stand-ins (`None`: the default chain).
    pub operator_credentials: Option<aws_sdk_sts::config::Credentials>,
    /// The sim's account and OIDC provider, when AWS is the embedded sim.
    pub sim_aws: Option<(String, String)>,
    /// The platform's GraphQL client, when the target has a Houston platform, or why it
    /// could not be built (a token variable not set).
    pub houston: Option<Result<&'a HoustonDriver, String>>,
}

/// What the preflight learned that the run goes on with.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    /// The operator's AWS identity.
    pub identity: Option<CallerIdentity>,
    /// The cluster's OIDC issuer URL.
    pub issuer: Option<String>,
}

/// Runs every check. Never creates anything.
pub async fn check(subject: &Subject<'_>) -> (Report, Findings) {
    let mut report = Report::default();
    let mut findings = Findings::default();
    let kube_up = kube::reachable(subject, &mut report).await;
    if kube_up {
        kube::permissions(subject, &mut report).await;
    } else {
        report.checks.push(Check::skipped(
            kube::PERMISSIONS,
            "the Kubernetes API is not reachable",
        ));
    }
    findings.identity = aws::identity(subject, &mut report).await;
    aws::interlock(subject, &mut report);
    findings.issuer = aws::issuer(subject, kube_up, &mut report).await;
    aws::oidc_provider(
        subject,
        findings.identity.as_ref(),
        findings.issuer.as_deref(),
        &mut report,
    )
    .await;
    if findings.identity.is_some() {
        aws::bucket(subject, &mut report).await;
    } else {
        report.checks.push(Check::skipped(
            aws::BUCKET,
            "needs the operator's AWS identity (see above)",
        ));
    }
    platform::check(subject, &mut report).await;
    kube::webhook(subject, kube_up, &mut report).await;
    aws::pod_identity_associations(subject, &mut report).await;
    (report, findings)
}

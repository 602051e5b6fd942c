//! AWS checks: who the operator's credentials are and whether real AWS is allowed, the
//! cluster's OIDC issuer and its IAM OIDC provider, the S3 bucket, and (on EKS) Pod Identity.

use super::{Check, Report, Subject};
use crate::drivers::eks::{EksCluster, EksDriver};
use crate::drivers::probe;
use crate::drivers::sts::CallerIdentity;
use crate::target::interlock;
use crate::target::profile::{AwsSource, IssuerSource, KubeSource};

/// The identity row.
pub const IDENTITY: &str = "aws identity";
/// The interlock row.
pub const INTERLOCK: &str = "real-aws interlock";
/// The issuer row.
pub const ISSUER: &str = "oidc issuer";
/// The IAM OIDC provider row.
pub const OIDC_PROVIDER: &str = "iam oidc provider";
/// The bucket row.
pub const BUCKET: &str = "s3 bucket";
/// The Pod Identity row.
pub const POD_IDENTITY: &str = "pod identity associations";

/// `GetCallerIdentity` with the operator's credentials.
pub async fn identity(subject: &Subject<'_>, report: &mut Report) -> Option<CallerIdentity> {
    if let Some((account, _)) = &subject.sim_aws {
        report.checks.push(Check::ok(
            IDENTITY,
            format!("the embedded sim's account {account}"),
        ));
        return Some(CallerIdentity {
            account: account.clone(),
            arn: format!("arn:aws:iam::{account}:root"),
        });
    }
    let fix = match &subject.profile.aws {
        AwsSource::RealAws { .. } => {
            "give the default credential chain credentials: `aws sso login --profile P` and AWS_PROFILE=P, a credential_process profile, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; `aws sts get-caller-identity` must answer"
        }
        _ => {
            "start the STS/IAM endpoint the profile names (`make moto` / `make localstack` for the stand-ins)"
        }
    };
    // The start-up probe of a set endpoint (a stand-in, or the SDK's endpoint settings): a
    // silent one is named within seconds, and nothing else is asked of it.
    if let Some(url) = subject.sts.endpoint().url_text()
        && let Err(err) = probe::http("STS/IAM endpoint", url).await
    {
        report
            .checks
            .push(Check::failed(IDENTITY, err.to_string(), fix));
        return None;
    }
    match subject
        .sts
        .operator_identity(subject.operator_credentials.clone())
        .await
    {
        Ok(Ok(identity)) if identity.account.len() == 12 => {
            report.checks.push(Check::ok(
                IDENTITY,
                format!("account {} as {}", identity.account, identity.arn),
            ));
            Some(identity)
        }
        Ok(Ok(identity)) => {
            report.checks.push(Check::failed(
                IDENTITY,
                format!(
                    "GetCallerIdentity answered without a 12-digit account (`{}`)",
                    identity.account
                ),
                "set `account` in the profile",
            ));
            None
        }
        Ok(Err(refusal)) => match (&subject.profile.account, subject.profile.aws.is_real_aws()) {
            // A local endpoint whose STS only knows the credentials it issued (the sim's):
            // the profile names the account.
            (Some(account), false) => {
                report.checks.push(Check::skipped(
                    IDENTITY,
                    format!(
                        "the endpoint's STS does not identify the operator's static credentials ({}); the profile's account {account} is used",
                        refusal.code
                    ),
                ));
                Some(CallerIdentity {
                    account: account.clone(),
                    arn: format!("arn:aws:iam::{account}:root"),
                })
            }
            _ => {
                report.checks.push(Check::failed(
                    IDENTITY,
                    format!(
                        "GetCallerIdentity refused: {}: {}",
                        refusal.code, refusal.message
                    ),
                    fix,
                ));
                None
            }
        },
        Err(err) => {
            report.checks.push(Check::failed(
                IDENTITY,
                format!("GetCallerIdentity: {err}"),
                fix,
            ));
            None
        }
    }
}

/// The real-AWS interlock (only real-AWS profiles need it).
pub fn interlock(subject: &Subject<'_>, report: &mut Report) {
    if !subject.profile.aws.is_real_aws() {
        report.checks.push(Check::skipped(
            INTERLOCK,
            "the profile does not use real AWS",
        ));
    } else if subject.allow_real_aws {
        report.checks.push(Check::ok(
            INTERLOCK,
            "real AWS allowed (--allow-real-aws or ROLECHECK_ALLOW_REAL_AWS=1)",
        ));
    } else {
        report.checks.push(Check::failed(
            INTERLOCK,
            "real AWS is not allowed: a run would refuse to start",
            format!(
                "pass --allow-real-aws or set {}=1 once you have checked the account above",
                interlock::ALLOW_ENV
            ),
        ));
    }
}

/// The issuer URL: the profile's, or the cluster's discovery document.
pub async fn issuer(subject: &Subject<'_>, kube_up: bool, report: &mut Report) -> Option<String> {
    match &subject.profile.oidc.issuer {
        IssuerSource::Url(url) => {
            report
                .checks
                .push(Check::ok(ISSUER, format!("{url} (from the profile)")));
            Some(url.clone())
        }
        IssuerSource::Sim if subject.sim_aws.is_some() || subject.kube.is_ok() => {
            issuer_from_cluster(subject, kube_up, report).await
        }
        IssuerSource::Sim => {
            report
                .checks
                .push(Check::skipped(ISSUER, "the embedded sim is not running"));
            None
        }
        IssuerSource::Cluster => issuer_from_cluster(subject, kube_up, report).await,
    }
}

async fn issuer_from_cluster(
    subject: &Subject<'_>,
    kube_up: bool,
    report: &mut Report,
) -> Option<String> {
    let (Ok(kube), true) = (&subject.kube, kube_up) else {
        report.checks.push(Check::skipped(
            ISSUER,
            "the Kubernetes API is not reachable",
        ));
        return None;
    };
    match kube.service_account_issuer().await {
        Ok(url) => {
            report.checks.push(Check::ok(
                ISSUER,
                format!("{url} (the cluster's /.well-known/openid-configuration)"),
            ));
            Some(url)
        }
        Err(err) => {
            report.checks.push(Check::failed(
                ISSUER,
                format!("reading /.well-known/openid-configuration: {err}"),
                "set `oidc.issuer` in the profile to the cluster's issuer URL (EKS: `aws eks describe-cluster --name <cluster> --query cluster.identity.oidc.issuer`)",
            ));
            None
        }
    }
}

/// The issuer's IAM OIDC provider exists (`GetOpenIDConnectProvider`), unless the run
/// registers it itself.
pub async fn oidc_provider(
    subject: &Subject<'_>,
    identity: Option<&CallerIdentity>,
    issuer: Option<&str>,
    report: &mut Report,
) {
    if subject.profile.oidc.register {
        report.checks.push(Check::ok(
            OIDC_PROVIDER,
            "the run registers the issuer (CreateOpenIDConnectProvider) and removes it afterwards",
        ));
        return;
    }
    let arn = match (&subject.sim_aws, identity, issuer) {
        (Some((_, arn)), _, _) => arn.clone(),
        (None, Some(identity), Some(issuer)) => provider_arn(&identity.account, issuer),
        _ => {
            report.checks.push(Check::skipped(
                OIDC_PROVIDER,
                "needs the AWS account and the issuer (see above)",
            ));
            return;
        }
    };
    let fix = format!(
        "create the provider as the documents say (`eksctl utils associate-iam-oidc-provider --cluster <cluster> --approve`, or IAM CreateOpenIDConnectProvider for {} with client id sts.amazonaws.com), or set `oidc: {{register: true}}`",
        issuer.unwrap_or("the issuer")
    );
    match subject.iam.oidc_provider_exists(&arn).await {
        Ok(Ok(())) => report
            .checks
            .push(Check::ok(OIDC_PROVIDER, format!("{arn} exists"))),
        Ok(Err(answer)) => report.checks.push(Check::failed(
            OIDC_PROVIDER,
            format!("{arn}: {answer}"),
            fix,
        )),
        Err(err) => report.checks.push(Check::failed(
            OIDC_PROVIDER,
            format!("GetOpenIDConnectProvider {arn}: {err}"),
            fix,
        )),
    }
}

/// `arn:aws:iam::<account>:oidc-provider/<issuer without https://>`.
pub fn provider_arn(account: &str, issuer: &str) -> String {
    let host_path = issuer
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    format!("arn:aws:iam::{account}:oidc-provider/{host_path}")
}

/// `HeadBucket` on the profile's bucket with the operator's credentials.
pub async fn bucket(subject: &Subject<'_>, report: &mut Report) {
    let Some(buckets) = &subject.profile.s3 else {
        report.checks.push(Check::skipped(
            BUCKET,
            "no `s3.bucket` in the profile (capability `s3` off)",
        ));
        return;
    };
    if subject.sim_aws.is_some() {
        report.checks.push(Check::skipped(
            BUCKET,
            format!(
                "the embedded sim's S3 answers only STS-issued credentials; it creates {} at start",
                buckets.bucket
            ),
        ));
        return;
    }
    let fix = format!(
        "create the bucket (`aws s3 mb s3://{}`) or name one of yours in `s3.bucket`: names are global, so a bucket you do not own is someone else's",
        buckets.bucket
    );
    let answer = crate::drivers::s3::S3Driver::for_operator(
        subject.sts.endpoint(),
        subject.operator_credentials.clone(),
    )
    .head_bucket(&buckets.bucket)
    .await;
    match answer {
        Ok(Ok(())) => report.checks.push(Check::ok(
            BUCKET,
            format!("{} exists and answers HeadBucket", buckets.bucket),
        )),
        Ok(Err(refusal)) => report.checks.push(Check::failed(
            BUCKET,
            format!(
                "HeadBucket {}: {} ({})",
                buckets.bucket, refusal.code, refusal.status
            ),
            fix,
        )),
        Err(err) => report.checks.push(Check::failed(
            BUCKET,
            format!("HeadBucket {}: {err}", buckets.bucket),
            fix,
        )),
    }
}

/// EKS Pod Identity associations shadow the role annotation when present: on real AWS with
/// a kubeconfig whose cluster is an EKS cluster ARN, none may cover a deployment namespace.
pub async fn pod_identity_associations(subject: &Subject<'_>, report: &mut Report) {
    let manual = format!(
        "check by hand: `aws eks list-pod-identity-associations --cluster-name <cluster>` must list none for {} namespaces",
        subject.profile.namespaces.pattern()
    );
    let prefix = subject.profile.namespaces.prefix();
    let pattern = subject.profile.namespaces.pattern();
    let (path, context) = match (
        &subject.profile.kubernetes,
        subject.profile.aws.is_real_aws(),
    ) {
        (KubeSource::Kubeconfig { path, context }, true) => (path, context),
        _ => {
            report
                .checks
                .push(Check::skipped(POD_IDENTITY, "not an EKS cluster"));
            return;
        }
    };
    let names = interlock::kubeconfig_names(path.as_deref(), context.as_deref());
    let cluster = names.as_ref().and_then(|n| {
        EksCluster::from_arn(&n.cluster).or_else(|| EksCluster::from_arn(&n.context))
    });
    let Some(cluster) = cluster else {
        let named = names.map_or_else(|| "(unreadable)".to_owned(), |n| n.cluster);
        report.checks.push(Check::skipped(
            POD_IDENTITY,
            format!(
                "the kubeconfig's cluster `{named}` is not an EKS cluster ARN (as `aws eks update-kubeconfig` names it); {manual}"
            ),
        ));
        return;
    };
    let Some(eks) = EksDriver::for_endpoint(subject.sts.endpoint(), &cluster.region) else {
        report.checks.push(Check::skipped(
            POD_IDENTITY,
            format!("no EKS endpoint for a local STS/IAM stand-in; {manual}"),
        ));
        return;
    };
    let fix_access = "allow eks:ListPodIdentityAssociations on the cluster (fixtures/iam/rolecheck-operator-policy.json)";
    match eks.pod_identity_associations(&cluster.name).await {
        Ok(Ok(all)) => {
            let shadowing: Vec<_> = all
                .iter()
                .filter(|a| a.namespace.starts_with(&prefix))
                .collect();
            if shadowing.is_empty() {
                report.checks.push(Check::ok(
                    POD_IDENTITY,
                    format!(
                        "cluster {}: {} association(s), none for {pattern} namespaces",
                        cluster.name,
                        all.len()
                    ),
                ));
            } else {
                let listed: Vec<String> = shadowing
                    .iter()
                    .map(|a| format!("{}/{} ({})", a.namespace, a.service_account, a.id))
                    .collect();
                let first = &shadowing[0].id;
                report.checks.push(Check::failed(
                    POD_IDENTITY,
                    format!(
                        "cluster {}: Pod Identity association(s) for deployment namespaces take precedence over the role annotation: {}",
                        cluster.name,
                        listed.join(", ")
                    ),
                    format!(
                        "remove them (`aws eks delete-pod-identity-association --cluster-name {} --association-id {first}`), or run on a cluster without them",
                        cluster.name
                    ),
                ));
            }
        }
        Ok(Err(refusal)) => report.checks.push(Check::failed(
            POD_IDENTITY,
            format!("cluster {}: {refusal}", cluster.name),
            fix_access,
        )),
        Err(err) => report.checks.push(Check::failed(
            POD_IDENTITY,
            format!("cluster {}: {err}", cluster.name),
            fix_access,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_arns_name_the_issuer_without_scheme() {
        assert_eq!(
            provider_arn(
                "123456789012",
                "https://oidc.eks.us-west-2.amazonaws.com/id/ABC"
            ),
            "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC"
        );
    }
}

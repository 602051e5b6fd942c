//! Kubernetes checks: the API answers (server version), the run's identity may do what a
//! run does (`SelfSubjectAccessReview`), and the pod-identity webhook is registered.

use futures::future::join_all;

use super::{Check, Report, Subject};
use crate::capability::Capability;

/// The reachability row.
pub const REACHABLE: &str = "kubernetes";
/// The permissions row.
pub const PERMISSIONS: &str = "kubernetes permissions";
/// The webhook row.
pub const WEBHOOK: &str = "pod-identity webhook";

/// What a run does in the cluster: (verb, group, resource, subresource).
pub const RUN_NEEDS: &[(&str, &str, &str, Option<&str>)] = &[
    ("get", "", "namespaces", None),
    ("list", "", "namespaces", None),
    ("watch", "", "namespaces", None),
    ("create", "", "namespaces", None),
    ("patch", "", "namespaces", None),
    ("delete", "", "namespaces", None),
    ("get", "", "serviceaccounts", None),
    ("list", "", "serviceaccounts", None),
    ("watch", "", "serviceaccounts", None),
    ("create", "", "serviceaccounts", None),
    ("patch", "", "serviceaccounts", None),
    ("create", "", "serviceaccounts", Some("token")),
    ("get", "", "pods", None),
    ("list", "", "pods", None),
    ("watch", "", "pods", None),
    ("create", "", "pods", None),
    ("delete", "", "pods", None),
    ("create", "", "pods", Some("exec")),
    ("get", "apps", "deployments", None),
    ("list", "apps", "deployments", None),
    ("watch", "apps", "deployments", None),
    ("create", "apps", "deployments", None),
    ("patch", "apps", "deployments", None),
    ("get", "apps", "statefulsets", None),
    ("list", "apps", "statefulsets", None),
    ("watch", "apps", "statefulsets", None),
];

/// The start-up probe of the API server ([`crate::drivers::kube::KubeDriver::probe`]: the
/// server version, within seconds). Returns whether the API answered.
pub async fn reachable(subject: &Subject<'_>, report: &mut Report) -> bool {
    let fix = format!(
        "make the kubeconfig context answer (`kubectl version` with {}); on EKS: `aws eks update-kubeconfig --name <cluster>`",
        subject.cluster
    );
    let kube = match &subject.kube {
        Ok(kube) => *kube,
        Err(why) => {
            report
                .checks
                .push(Check::failed(REACHABLE, why.clone(), fix));
            return false;
        }
    };
    match kube.probe().await {
        Ok((major, minor)) => {
            report.checks.push(Check::ok(
                REACHABLE,
                format!("server v{major}.{minor} ({})", subject.cluster),
            ));
            true
        }
        Err(err) => {
            report.checks.push(Check::failed(
                REACHABLE,
                format!("{} ({err})", subject.cluster),
                fix,
            ));
            false
        }
    }
}

/// `SelfSubjectAccessReview` for each thing a run does.
pub async fn permissions(subject: &Subject<'_>, report: &mut Report) {
    let Ok(kube) = &subject.kube else {
        return;
    };
    let answers = join_all(
        RUN_NEEDS
            .iter()
            .map(|(verb, group, resource, sub)| kube.may(verb, group, resource, *sub)),
    )
    .await;
    let mut missing = Vec::new();
    for ((verb, group, resource, sub), answer) in RUN_NEEDS.iter().zip(answers) {
        let what = describe(verb, group, resource, *sub);
        match answer {
            Ok(true) => {}
            Ok(false) => missing.push(what),
            Err(err) => {
                report.checks.push(Check::failed(
                    PERMISSIONS,
                    format!("SelfSubjectAccessReview for {what} failed: {err}"),
                    "the identity must be allowed to create selfsubjectaccessreviews (authorization.k8s.io), which every authenticated user is by default",
                ));
                return;
            }
        }
    }
    if missing.is_empty() {
        report.checks.push(Check::ok(
            PERMISSIONS,
            format!(
                "all {} verbs a run uses are allowed in every namespace",
                RUN_NEEDS.len()
            ),
        ));
    } else {
        report.checks.push(Check::failed(
            PERMISSIONS,
            format!("not allowed: {}", missing.join(", ")),
            "bind the run's identity to a ClusterRole granting these (on EKS: an access entry or aws-auth mapping to such a role)",
        ));
    }
}

fn describe(verb: &str, group: &str, resource: &str, sub: Option<&str>) -> String {
    let resource = match sub {
        Some(sub) => format!("{resource}/{sub}"),
        None => resource.to_owned(),
    };
    if group.is_empty() {
        format!("{verb} {resource}")
    } else {
        format!("{verb} {resource}.{group}")
    }
}

/// A MutatingWebhookConfiguration that sends pod creations to the pod-identity webhook.
pub async fn webhook(subject: &Subject<'_>, kube_up: bool, report: &mut Report) {
    if !subject.profile.capabilities.contains(&Capability::Webhook) {
        report.checks.push(Check::skipped(
            WEBHOOK,
            "the profile does not list capability `webhook`",
        ));
        return;
    }
    let (Ok(kube), true) = (&subject.kube, kube_up) else {
        report.checks.push(Check::skipped(
            WEBHOOK,
            "the Kubernetes API is not reachable",
        ));
        return;
    };
    let fix = "install amazon-eks-pod-identity-webhook and its MutatingWebhookConfiguration (EKS has it built in; on kind: `rolecheck env up kind`)";
    match kube.pod_mutating_webhooks().await {
        Ok(configs) => {
            let found = configs
                .iter()
                .find(|(name, hooks, on_pods)| is_pod_identity_webhook(name, hooks, *on_pods));
            match found {
                Some((name, hooks, _)) => report.checks.push(Check::ok(
                    WEBHOOK,
                    format!(
                        "MutatingWebhookConfiguration {name} ({}) mutates pods on CREATE",
                        hooks.join(", ")
                    ),
                )),
                None => report.checks.push(Check::failed(
                    WEBHOOK,
                    format!(
                        "no MutatingWebhookConfiguration sends pod creations to the pod-identity webhook (found: {})",
                        if configs.is_empty() {
                            "none".to_owned()
                        } else {
                            configs
                                .iter()
                                .map(|(n, _, _)| n.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    ),
                    fix,
                )),
            }
        }
        Err(err) => report.checks.push(Check::failed(
            WEBHOOK,
            format!("listing MutatingWebhookConfigurations failed: {err}"),
            "allow the run's identity to list mutatingwebhookconfigurations (admissionregistration.k8s.io)",
        )),
    }
}

/// Whether a MutatingWebhookConfiguration registers the pod-identity webhook for pod
/// creations: the webhook project's own registration (`pod-identity-webhook`, webhook
/// `pod-identity-webhook.amazonaws.com`; EKS's `iam-for-pods.amazonaws.com`), or the sim's
/// webhook attached to a real cluster (`pod-identity-webhook.rolecheck.io`).
fn is_pod_identity_webhook(name: &str, hooks: &[String], on_pod_create: bool) -> bool {
    on_pod_create
        && (name == "pod-identity-webhook"
            || hooks.iter().any(|h| {
                h == "iam-for-pods.amazonaws.com" || h.starts_with("pod-identity-webhook.")
            }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::webhook_project("pod-identity-webhook", &[], true, true)]
    #[case::eks("some-name", &["iam-for-pods.amazonaws.com"], true, true)]
    #[case::upstream_hook("other", &["pod-identity-webhook.amazonaws.com"], true, true)]
    #[case::sim_attached("rolecheck-pod-identity-r1", &["pod-identity-webhook.rolecheck.io"], true, true)]
    #[case::not_on_pod_create("pod-identity-webhook", &[], false, false)]
    #[case::another_webhook("istio-sidecar-injector", &["sidecar-injector.istio.io"], true, false)]
    fn the_pod_identity_webhook_is_recognised(
        #[case] name: &str,
        #[case] hooks: &[&str],
        #[case] on_pod_create: bool,
        #[case] expected: bool,
    ) {
        let hooks: Vec<String> = hooks.iter().map(|h| (*h).to_owned()).collect();
        assert_eq!(
            is_pod_identity_webhook(name, &hooks, on_pod_create),
            expected
        );
    }

    #[test]
    fn permissions_are_described_as_kubectl_auth_can_i_would() {
        assert_eq!(
            describe("create", "", "pods", Some("exec")),
            "create pods/exec"
        );
        assert_eq!(
            describe("watch", "apps", "statefulsets", None),
            "watch statefulsets.apps"
        );
    }
}

//! `expect_credentials`: the credentials the AWS SDK in each container of a component's
//! rolled-out pods would pick up come from IRSA with the documented role (R5).
//!
//! The SDK's default chain looks at static keys in the environment first, then at web
//! identity (`AWS_ROLE_ARN` with `AWS_WEB_IDENTITY_TOKEN_FILE`), and only later at the
//! container-credentials endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI`, which EKS Pod
//! Identity injects). On a cluster where a Pod Identity association exists for the
//! component's ServiceAccount, the pod-identity webhook injects the latter *instead of* the
//! former: the role annotation the documents promise is silently shadowed. This step names
//! that case.

use crate::drivers::deadline::Deadline;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use kube::ResourceExt as _;

use super::fields::Expect;
use super::kind::{COMPONENTS, Key, RELEASE, Refusals, Shape, StepKind};
use super::{ScenarioContext, StepError, fields};
use crate::capability::Capability;
use crate::chart::Component;
use crate::source::decode::{Ctx, Fields};
use crate::template::Template;

/// Where a container's AWS credentials come from, in the SDK's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    /// `AWS_ACCESS_KEY_ID` in the environment.
    StaticKeys,
    /// IRSA: web identity with this role.
    Irsa {
        /// `AWS_ROLE_ARN`.
        role: String,
    },
    /// EKS Pod Identity (the container-credentials endpoint).
    PodIdentity {
        /// `AWS_CONTAINER_CREDENTIALS_FULL_URI` (or the relative URI).
        uri: String,
    },
    /// Nothing injected: the SDK would fall back to the node's instance role.
    Nothing,
}

impl std::fmt::Display for Mechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mechanism::StaticKeys => f.write_str("static keys (AWS_ACCESS_KEY_ID)"),
            Mechanism::Irsa { role } => write!(f, "IRSA with role {role}"),
            Mechanism::PodIdentity { uri } => write!(
                f,
                "EKS Pod Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI={uri}), which shadows the IRSA role annotation"
            ),
            Mechanism::Nothing => f.write_str("no AWS credentials injected (node role fallback)"),
        }
    }
}

/// The mechanism the SDK in `container` would use.
pub fn mechanism(container: &Container) -> Mechanism {
    let env: BTreeMap<&str, &str> = container
        .env
        .iter()
        .flatten()
        .map(|e| (e.name.as_str(), e.value.as_deref().unwrap_or_default()))
        .collect();
    if env.contains_key("AWS_ACCESS_KEY_ID") {
        return Mechanism::StaticKeys;
    }
    if let (Some(role), Some(_)) = (
        env.get("AWS_ROLE_ARN"),
        env.get("AWS_WEB_IDENTITY_TOKEN_FILE"),
    ) {
        return Mechanism::Irsa {
            role: (*role).to_owned(),
        };
    }
    let uri = env
        .get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .or_else(|| env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"));
    match uri {
        Some(uri) => Mechanism::PodIdentity {
            uri: (*uri).to_owned(),
        },
        None => Mechanism::Nothing,
    }
}

/// Waits for each component's rollout, then checks every container of its pods.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &ExpectCredentials,
    deadline: &Deadline,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let release = ctx.release_of(&step.release)?;
    let role = ctx.render(&step.role)?;
    let namespace = ctx.namespace_of(&release);
    let rolled_out = ctx
        .rolled_out_pods_of(&release, &step.components, deadline)
        .await?;
    let wanted = Mechanism::Irsa { role: role.clone() };
    let mut wrong = Vec::new();
    let mut shadowed = 0;
    for (component, pods) in &rolled_out {
        for pod in pods {
            for (container, found) in mechanisms(pod) {
                log.push(format!(
                    "{component}: {namespace}/{}/{container}: {found}",
                    pod.name_any()
                ));
                if found != wanted {
                    shadowed += usize::from(matches!(found, Mechanism::PodIdentity { .. }));
                    wrong.push(format!(
                        "{component} {}/{container}: {found}",
                        pod.name_any()
                    ));
                }
            }
        }
    }
    if wrong.is_empty() {
        return Ok(());
    }
    let message = if shadowed > 0 {
        format!("EKS Pod Identity shadows the documented IRSA role in {shadowed} container(s)")
    } else {
        format!(
            "{} container(s) do not get IRSA with the documented role",
            wrong.len()
        )
    };
    Err(StepError::failed(
        message,
        format!("every container: IRSA with role {role}"),
        wrong.join("; "),
    ))
}

fn mechanisms(pod: &Pod) -> Vec<(String, Mechanism)> {
    pod.spec
        .iter()
        .flat_map(|s| &s.containers)
        .map(|c| (c.name.clone(), mechanism(c)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    #[rstest]
    #[case::irsa(json!([{"name": "AWS_ROLE_ARN", "value": "arn:r"}, {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/t"}]),
        Mechanism::Irsa { role: "arn:r".into() })]
    #[case::role_without_token_file(json!([{"name": "AWS_ROLE_ARN", "value": "arn:r"}]), Mechanism::Nothing)]
    #[case::pod_identity(json!([{"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://169.254.170.23/v1/credentials"},
        {"name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "value": "/t"}]),
        Mechanism::PodIdentity { uri: "http://169.254.170.23/v1/credentials".into() })]
    #[case::web_identity_comes_first(json!([{"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://x"},
        {"name": "AWS_ROLE_ARN", "value": "arn:r"}, {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/t"}]),
        Mechanism::Irsa { role: "arn:r".into() })]
    #[case::static_keys_first(json!([{"name": "AWS_ACCESS_KEY_ID", "value": "AKIA"},
        {"name": "AWS_ROLE_ARN", "value": "arn:r"}, {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/t"}]),
        Mechanism::StaticKeys)]
    #[case::nothing(json!([]), Mechanism::Nothing)]
    fn sdk_chain_order(#[case] env: serde_json::Value, #[case] expected: Mechanism) {
        let container: Container =
            serde_json::from_value(json!({"name": "c", "env": env})).unwrap();
        assert_eq!(mechanism(&container), expected);
    }

    #[test]
    fn pod_identity_is_named_as_shadowing() {
        let text = Mechanism::PodIdentity {
            uri: "http://x".into(),
        }
        .to_string();
        assert!(text.contains("EKS Pod Identity") && text.contains("shadows"));
    }
}

/// Fields of `expect_credentials`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectCredentials {
    /// Release name.
    pub release: Template,
    /// Components whose rolled-out pods are checked.
    pub components: Vec<Component>,
    /// The role IRSA must give them.
    pub role: Template,
}

impl StepKind for ExpectCredentials {
    const ABOUT: &'static str = "The credentials the AWS SDK in every container of the components' pods would pick up come from IRSA with that role; fails naming EKS Pod Identity when an association shadows the role annotation. Needs `webhook`.";
    const KEYS: &'static [Key] = &[
        RELEASE,
        COMPONENTS,
        Key::required("role", Shape::Text, "the role IRSA must give them"),
    ];
    const REFUSALS: Refusals = Refusals::None;
    const ONLY_OBSERVES: bool = true;

    fn decode(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Self> {
        let release = fields::release(ctx, fields);
        let components = fields::components(ctx, fields);
        let role = fields::required_template(ctx, fields, "role");
        Some(ExpectCredentials {
            release: release?,
            components: components?,
            role: role?,
        })
    }

    /// What the AWS SDK in the pods would use: IRSA with the role (R5).
    fn evidence(&self, _expect: &Expect) -> &'static [u8] {
        &[5]
    }
    fn needs(&self, _expect: &Expect) -> Vec<Capability> {
        vec![Capability::Webhook]
    }
}

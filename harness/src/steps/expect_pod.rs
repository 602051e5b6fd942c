//! `expect_pod`: one pod, by name, is still running and carries (or lacks) env vars, e.g. a
//! pod that existed before the role was set keeps running without them (R16).

use crate::drivers::deadline::Deadline;
use std::collections::BTreeMap;

use super::expect_pods::{ENV, ENV_ABSENT};
use super::fields::Expect;
use super::kind::{Key, Refusals, Shape, StepKind};
use super::{ScenarioContext, StepError, fields};
use crate::capability::Capability;
use crate::source::decode::{Ctx, Fields};
use crate::template::Template;

/// Waits until the pod runs, then checks every container's env.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &ExpectPod,
    deadline: &Deadline,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let namespace = ctx.namespace_of_template(&step.namespace)?;
    let name = ctx.render(&step.name)?;
    let env = ctx.render_map(&step.env)?;
    let absent = ctx.render_all(&step.env_absent)?;
    let pod = ctx
        .target
        .kube
        .running_pod(&namespace, &name, deadline)
        .await?;
    let mut expected = Vec::new();
    let mut actual = Vec::new();
    for container in pod.spec.iter().flat_map(|s| &s.containers) {
        let at = format!("{name}/{}", container.name);
        let got: BTreeMap<&str, &str> = container
            .env
            .iter()
            .flatten()
            .map(|e| (e.name.as_str(), e.value.as_deref().unwrap_or_default()))
            .collect();
        log.push(format!("{namespace}/{at}: env {got:?}"));
        for (key, want) in &env {
            let value = got.get(key.as_str()).copied();
            if value != Some(want.as_str()) {
                expected.push(format!("{at}: {key}={want}"));
                actual.push(format!("{at}: {key}={}", value.unwrap_or("<absent>")));
            }
        }
        for key in &absent {
            if let Some(value) = got.get(key.as_str()) {
                expected.push(format!("{at}: no {key}"));
                actual.push(format!("{at}: {key}={value}"));
            }
        }
    }
    if expected.is_empty() {
        Ok(())
    } else {
        Err(StepError::failed(
            format!("pod {namespace}/{name} differs from the documents"),
            expected.join("; "),
            actual.join("; "),
        ))
    }
}

/// Fields of `expect_pod`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectPod {
    /// Namespace.
    pub namespace: Template,
    /// Pod name.
    pub name: Template,
    /// Env vars every container must carry with exactly these values.
    pub env: BTreeMap<Template, Template>,
    /// Env vars no container may carry.
    pub env_absent: Vec<Template>,
}

impl StepKind for ExpectPod {
    const ABOUT: &'static str = "One pod, by name, carries these env vars (in every container) and none of `env_absent`. Needs `webhook`.";
    const KEYS: &'static [Key] = &[
        Key::required("namespace", Shape::Text, "its namespace"),
        Key::required("name", Shape::Text, "its name"),
        ENV,
        ENV_ABSENT,
    ];
    const REFUSALS: Refusals = Refusals::None;
    const ONLY_OBSERVES: bool = true;

    fn decode(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Self> {
        let namespace = fields::required_template(ctx, fields, "namespace");
        let name = fields::required_template(ctx, fields, "name");
        let env = fields::template_map(ctx, fields, "env");
        let env_absent = fields::template_list(ctx, fields, "env_absent");
        Some(ExpectPod {
            namespace: namespace?,
            name: name?,
            env: env?,
            env_absent: env_absent?,
        })
    }

    fn evidence(&self, _expect: &Expect) -> &'static [u8] {
        &[5, 16]
    }
    fn needs(&self, _expect: &Expect) -> Vec<Capability> {
        vec![Capability::Webhook]
    }
}

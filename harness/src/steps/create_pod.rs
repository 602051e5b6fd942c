//! `create_pod`: a bare pod (no controller, so no rollout replaces it) in a release's
//! namespace, running under a component's ServiceAccount, labelled with the run id. It stands
//! for a pod that existed before the role was set (R16).

use crate::drivers::deadline::Deadline;

use super::fields::Expect;
use super::kind::{COMPONENT, Key, RELEASE, Refusals, Shape, StepKind};
use super::{ScenarioContext, StepError, fields};
use crate::chart::Component;
use crate::ledger::Owned;
use crate::source::decode::{Ctx, Fields};
use crate::template::Template;

/// Creates the pod and waits until it runs.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &CreatePod,
    deadline: &Deadline,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let at = ctx.component_at(&step.release, step.component)?;
    let name = ctx.render(&step.name)?;
    let service_account = ctx.component_service_account(&at, deadline).await?;
    let namespace = at.namespace;
    ctx.target
        .kube
        .create_bare_pod(&namespace, &name, &service_account, ctx.run_id)
        .await?;
    ctx.owns(Owned::Pod {
        namespace: namespace.clone(),
        name: name.clone(),
    });
    ctx.target
        .kube
        .running_pod(&namespace, &name, deadline)
        .await?;
    log.push(format!(
        "created pod {namespace}/{name} under ServiceAccount {service_account}; it runs"
    ));
    Ok(())
}

/// Fields of `create_pod`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatePod {
    /// Release whose namespace the pod goes into.
    pub release: Template,
    /// Component whose ServiceAccount the pod runs under.
    pub component: Component,
    /// Pod name.
    pub name: Template,
}

impl StepKind for CreatePod {
    const ABOUT: &'static str = "A bare pod (no controller, never replaced by a rollout) under a component's ServiceAccount.";
    const KEYS: &'static [Key] = &[
        RELEASE,
        COMPONENT,
        Key::required("name", Shape::Text, "the pod's name"),
    ];
    const REFUSALS: Refusals = Refusals::None;
    const ONLY_OBSERVES: bool = false;

    fn decode(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Self> {
        let at = fields::release_and_component(ctx, fields);
        let name = fields::required_template(ctx, fields, "name");
        let (release, component) = at?;
        Some(CreatePod {
            release,
            component,
            name: name?,
        })
    }

    /// It only prepares what later steps check.
    fn evidence(&self, _expect: &Expect) -> &'static [u8] {
        &[]
    }
}

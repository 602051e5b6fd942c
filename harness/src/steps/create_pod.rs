//! `create_pod`: a bare pod (no controller, so no rollout replaces it) in a release's
//! namespace, running under a component's ServiceAccount, labelled with the run id. It stands
//! for a pod that existed before the role was set (R16).

use crate::drivers::deadline::Deadline;

use super::fields;
use super::fields::Expect;
use super::kind::{Key, RELEASE, Refusals, Shape, StepKind};
use super::{ScenarioContext, StepError};
use crate::chart::Component;
use crate::chart::component_selector;
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
    let release = ctx.release_of(&step.release)?;
    let name = ctx.render(&step.name)?;
    let namespace = ctx.namespace_of(&release);
    let service_account = ctx
        .target
        .kube
        .component_service_account(
            &namespace,
            &component_selector(&release, step.component),
            deadline,
        )
        .await?;
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
        Key::required(
            "component",
            Shape::OneOf(fields::COMPONENT_NAMES),
            "the component",
        ),
        Key::required("name", Shape::Text, "the pod's name"),
    ];
    const REFUSALS: Refusals = Refusals::None;
    const ONLY_OBSERVES: bool = false;

    fn decode(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Self> {
        let release = fields::release(ctx, fields);
        let component = fields::component(ctx, fields);
        let name = fields::required_template(ctx, fields, "name");
        Some(CreatePod {
            release: release?,
            component: component?,
            name: name?,
        })
    }

    /// It only prepares what later steps check.
    fn evidence(&self, _expect: &Expect) -> &'static [u8] {
        &[]
    }
}

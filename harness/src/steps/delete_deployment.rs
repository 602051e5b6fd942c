//! `delete_deployment`: removes a deployment through the platform API.

use super::create_deployment::deployment_needs;
use super::fields::Expect;
use super::kind::{AS, Key, RELEASE, Refusals, StepKind};
use super::{ScenarioContext, StepError, fields, judge_platform};
use crate::capability::Capability;
use crate::platform::Actor;
use crate::source::decode::{Ctx, Fields};
use crate::template::Template;

/// Deletes the deployment.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &DeleteDeployment,
    expect: &Expect,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let release = ctx.release_of(&step.release)?;
    log.push(format!(
        "deleteDeployment release={release} as {}",
        step.actor.name()
    ));
    let answer = ctx
        .platform()?
        .delete_deployment(step.actor, &release)
        .await?;
    if answer.is_ok() {
        ctx.disowns(&ctx.release(&release, true));
    }
    judge_platform(expect, answer, log)
}

/// Fields of `delete_deployment`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteDeployment {
    /// Release name of the deployment to delete.
    pub release: Template,
    /// Who makes the call.
    pub actor: Actor,
}

impl StepKind for DeleteDeployment {
    const ABOUT: &'static str = "Deletes a deployment through the platform API (the run's clean-up removes every deployment it created anyway).";
    const KEYS: &'static [Key] = &[
        RELEASE,
        AS,
    ];
    const REFUSALS: Refusals = Refusals::Platform;
    const ONLY_OBSERVES: bool = false;

    fn decode(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Self> {
        let release = fields::release(ctx, fields);
        let actor = fields::actor(ctx, fields);
        Some(DeleteDeployment {
            release: release?,
            actor: actor?,
        })
    }

    /// It only prepares what later steps check.
    fn evidence(&self, _expect: &Expect) -> &'static [u8] {
        &[]
    }

    fn needs(&self, _expect: &Expect) -> Vec<Capability> {
        deployment_needs(self.actor)
    }
}

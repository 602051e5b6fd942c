//! `delete_deployment`: removes a deployment through the platform API.

use super::{ScenarioContext, StepError, judge_platform};
use crate::scenario::model::{DeleteDeployment, Expect};

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

//! `update_deployment`: `astro deployment update <name> --cloud-role=<arn>` through the platform
//! API (R3), including attempts to remove the role (R10).

use super::{ScenarioContext, StepError, judge_platform};
use crate::drivers::platform_call::RoleArg;
use crate::scenario::model::{Expect, UpdateDeployment};

/// Updates the deployment's cloud role.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &UpdateDeployment,
    expect: &Expect,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let release = ctx.release_of(&step.release)?;
    let role = ctx.role_arg(&step.cloud_role)?;
    log.push(format!(
        "updateDeployment release={release} cloudRole={role:?} as {}",
        step.actor.name()
    ));
    let answer = ctx
        .platform()?
        .update_deployment(step.actor, &release, &role)
        .await?;
    if answer.is_ok()
        && let RoleArg::Value(arn) = &role
        && !arn.is_empty()
    {
        ctx.note("role_arn", arn);
    }
    judge_platform(expect, answer, log)
}

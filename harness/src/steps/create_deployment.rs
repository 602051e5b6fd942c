//! `create_deployment`: `astro deployment create <name> --executor=celery --cloud-role=<arn>`,
//! through the platform API (R2).

use std::time::Duration;

use super::{ScenarioContext, StepError, judge_platform, namespace_of};
use crate::drivers::houston::RoleArg;
use crate::scenario::model::{CreateDeployment, Expect};

/// Creates the deployment; on success labels its namespace with the run id for clean-up.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &CreateDeployment,
    expect: &Expect,
    timeout: Duration,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let release = ctx.render(&step.release)?;
    let role = ctx.role_arg(&step.cloud_role)?;
    log.push(format!(
        "createDeployment release={release} executor={} cloudRole={role:?} as {}",
        step.executor.name(),
        step.actor.name()
    ));
    let answer = ctx
        .platform()?
        .create_deployment(step.actor, &release, step.executor, &role)
        .await?;
    if answer.is_ok() {
        ctx.track_release(&release, true);
        let namespace = namespace_of(&release);
        ctx.track_namespace(&namespace);
        ctx.target
            .kube
            .label_namespace(&namespace, ctx.run_id, timeout)
            .await?;
        log.push(format!("labelled namespace {namespace} with the run id"));
        ctx.note("namespace", &namespace);
        if let RoleArg::Value(arn) = &role
            && !arn.is_empty()
        {
            ctx.note("role_arn", arn);
        }
    }
    judge_platform(expect, answer, log)
}

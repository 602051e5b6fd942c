//! `create_deployment`: `astro deployment create <name> --executor=celery --cloud-role=<arn>`,
//! through the platform API (R2).

use std::time::Duration;

use super::{ScenarioContext, StepError, judge_platform, namespace_of};
use crate::cleanup::Owned;
use crate::drivers::platform_call::RoleArg;
use crate::scenario::model::{CreateDeployment, Expect};

/// Creates the deployment. The intent is recorded for clean-up before the request is sent
/// (so a create cut off by a timeout or a signal is still removed or named as left over); on
/// success the release's namespace is labelled with the run id.
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
    let platform = ctx.platform()?;
    let asked = ctx.release(&release, false);
    ctx.owns(asked.clone());
    let answer = platform
        .create_deployment(step.actor, &release, step.executor, &role)
        .await?;
    if let Ok(actual) = &answer {
        if actual != &release {
            log.push(format!("the platform named the release {actual}"));
            ctx.disowns(&asked);
        }
        ctx.record_release_name(&release, actual);
        ctx.owns(ctx.release(actual, true));
        let namespace = namespace_of(actual);
        ctx.owns(Owned::Namespace(namespace.clone()));
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
    } else {
        // Refused: nothing was created (a deployment of that name may be someone else's).
        ctx.disowns(&asked);
    }
    judge_platform(expect, answer.map(drop), log)
}

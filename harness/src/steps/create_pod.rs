//! `create_pod`: a bare pod (no controller, so no rollout replaces it) in a release's
//! namespace, running under a component's ServiceAccount, labelled with the run id. It stands
//! for a pod that existed before the role was set (R16).

use std::time::Duration;

use super::{ScenarioContext, StepError, component_selector, namespace_of};
use crate::cleanup::Owned;
use crate::scenario::model::CreatePod;

/// Creates the pod and waits until it runs.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &CreatePod,
    timeout: Duration,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let release = ctx.release_of(&step.release)?;
    let name = ctx.render(&step.name)?;
    let namespace = namespace_of(&release);
    let service_account = ctx
        .target
        .kube
        .component_service_account(
            &namespace,
            &component_selector(&release, step.component),
            timeout,
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
        .running_pod(&namespace, &name, timeout)
        .await?;
    log.push(format!(
        "created pod {namespace}/{name} under ServiceAccount {service_account}; it runs"
    ));
    Ok(())
}

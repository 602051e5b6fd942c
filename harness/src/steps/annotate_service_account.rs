//! `annotate_service_account`: a deliberate hand edit of a component's ServiceAccount through
//! the Kubernetes API, as a user would do with `kubectl annotate --overwrite`. The documents
//! say roles are passed through the CLI, not by editing Kubernetes objects (R8): a later
//! platform update must put the platform's value back.

use std::time::Duration;

use super::{ScenarioContext, StepError, component_selector, namespace_of};
use crate::scenario::model::AnnotateServiceAccount;

/// Finds the component's ServiceAccount and merge-patches the annotations onto it.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &AnnotateServiceAccount,
    timeout: Duration,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let release = ctx.release_of(&step.release)?;
    let namespace = namespace_of(&release);
    let annotations = ctx.render_map(&step.annotations)?;
    let name = ctx
        .target
        .kube
        .component_service_account(
            &namespace,
            &component_selector(&release, step.component),
            timeout,
        )
        .await?;
    let sa = ctx
        .target
        .kube
        .annotate_service_account(&namespace, &name, &annotations)
        .await?;
    log.push(format!(
        "annotated ServiceAccount {namespace}/{name} by hand: now {:?}",
        sa.metadata.annotations.unwrap_or_default()
    ));
    Ok(())
}

//! `create_service_account`: a plain ServiceAccount outside the platform, e.g. in a namespace
//! that is not `astronomer-*` (R12's negative case). Labelled with the run id.

use super::{ScenarioContext, StepError};
use crate::scenario::model::CreateServiceAccount;

/// Creates the namespace (if missing) and the ServiceAccount.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &CreateServiceAccount,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let namespace = ctx.render(&step.namespace)?;
    let name = ctx.render(&step.name)?;
    ctx.track_namespace(&namespace);
    ctx.target
        .kube
        .create_service_account(&namespace, &name, ctx.run_id)
        .await?;
    log.push(format!("created ServiceAccount {namespace}/{name}"));
    Ok(())
}

//! `create_service_account`: a plain ServiceAccount outside the platform, e.g. in a namespace
//! that is not `astronomer-*` (R12's negative case). Labelled with the run id.

use super::{ScenarioContext, StepError};
use crate::cleanup::Owned;
use crate::scenario::model::CreateServiceAccount;

/// Creates the namespace (if missing) and the ServiceAccount. Clean-up removes the namespace
/// only when this step created it; in a namespace that existed before, only the
/// ServiceAccount.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &CreateServiceAccount,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let namespace = ctx.render(&step.namespace)?;
    let name = ctx.render(&step.name)?;
    let created_namespace = ctx
        .target
        .kube
        .create_service_account(&namespace, &name, ctx.run_id)
        .await?;
    if created_namespace {
        ctx.owns(Owned::Namespace(namespace.clone()));
        log.push(format!("created namespace {namespace}"));
    } else {
        ctx.owns(Owned::ServiceAccount {
            namespace: namespace.clone(),
            name: name.clone(),
        });
        log.push(format!(
            "namespace {namespace} exists already: not this run's, clean-up leaves it"
        ));
    }
    log.push(format!("created ServiceAccount {namespace}/{name}"));
    Ok(())
}

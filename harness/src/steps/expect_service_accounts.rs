//! `expect_service_accounts`: the ServiceAccounts the components' pods run under carry (or
//! lack) the annotations the documents promise (R4, R6, R7, R10, R1).

use std::time::Duration;

use super::{Mismatches, ScenarioContext, StepError, component_selector, namespace_of};
use crate::scenario::model::ExpectServiceAccounts;

/// Checks every listed component's ServiceAccount; reports every mismatch at once.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &ExpectServiceAccounts,
    timeout: Duration,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let release = ctx.release_of(&step.release)?;
    let namespace = namespace_of(&release);
    let present = ctx.render_map(&step.annotations)?;
    let absent = ctx.render_all(&step.absent)?;

    let mut differences = Mismatches::default();
    for component in &step.components {
        let selector = component_selector(&release, *component);
        let name = ctx
            .target
            .kube
            .component_service_account(&namespace, &selector, timeout)
            .await?;
        let sa = ctx.target.kube.service_account(&namespace, &name).await?;
        let annotations = sa.metadata.annotations.unwrap_or_default();
        log.push(format!(
            "{component}: ServiceAccount {namespace}/{name} annotations {annotations:?}"
        ));
        let object = format!("{namespace}/{name} ({component})");
        for (key, want) in &present {
            let got = annotations.get(key);
            if got != Some(want) {
                differences.push(&object, key, want, got.map_or("<absent>", String::as_str));
            }
        }
        for key in &absent {
            if let Some(got) = annotations.get(key) {
                differences.push(&object, key, "<absent>", got);
            }
        }
    }
    if differences.is_empty() {
        Ok(())
    } else {
        Err(differences.into_failure("ServiceAccount"))
    }
}

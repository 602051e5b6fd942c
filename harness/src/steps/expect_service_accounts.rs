//! `expect_service_accounts`: the ServiceAccounts the components' pods run under carry (or
//! lack) the annotations the documents promise (R4, R6, R7, R10, R1).

use std::time::Duration;

use super::{ScenarioContext, StepError, component_selector, namespace_of};
use crate::scenario::model::ExpectServiceAccounts;

/// Checks every listed component's ServiceAccount; reports every mismatch at once.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &ExpectServiceAccounts,
    timeout: Duration,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let release = ctx.render(&step.release)?;
    let namespace = namespace_of(&release);
    let present = ctx.render_map(&step.annotations)?;
    let absent = ctx.render_all(&step.absent)?;

    let mut expected = Vec::new();
    let mut actual = Vec::new();
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
        for (key, want) in &present {
            let got = annotations.get(key);
            if got != Some(want) {
                expected.push(format!("{component} {name}: {key}={want}"));
                actual.push(format!(
                    "{component} {name}: {key}={}",
                    got.map_or("<absent>".to_owned(), |v| v.clone())
                ));
            }
        }
        for key in &absent {
            if let Some(got) = annotations.get(key) {
                expected.push(format!("{component} {name}: no {key}"));
                actual.push(format!("{component} {name}: {key}={got}"));
            }
        }
    }
    if expected.is_empty() {
        Ok(())
    } else {
        Err(StepError::failed(
            format!(
                "{} ServiceAccount annotation(s) differ from the documents",
                expected.len()
            ),
            expected.join("; "),
            actual.join("; "),
        ))
    }
}

//! `expect_pod`: one pod, by name, is still running and carries (or lacks) env vars, e.g. a
//! pod that existed before the role was set keeps running without them (R16).

use std::collections::BTreeMap;
use std::time::Duration;

use super::{ScenarioContext, StepError};
use crate::scenario::model::ExpectPod;

/// Waits until the pod runs, then checks every container's env.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &ExpectPod,
    timeout: Duration,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let namespace = ctx.namespace_of_template(&step.namespace)?;
    let name = ctx.render(&step.name)?;
    let env = ctx.render_map(&step.env)?;
    let absent = ctx.render_all(&step.env_absent)?;
    let pod = ctx
        .target
        .kube
        .running_pod(&namespace, &name, timeout)
        .await?;
    let mut expected = Vec::new();
    let mut actual = Vec::new();
    for container in pod.spec.iter().flat_map(|s| &s.containers) {
        let at = format!("{name}/{}", container.name);
        let got: BTreeMap<&str, &str> = container
            .env
            .iter()
            .flatten()
            .map(|e| (e.name.as_str(), e.value.as_deref().unwrap_or_default()))
            .collect();
        log.push(format!("{namespace}/{at}: env {got:?}"));
        for (key, want) in &env {
            let value = got.get(key.as_str()).copied();
            if value != Some(want.as_str()) {
                expected.push(format!("{at}: {key}={want}"));
                actual.push(format!("{at}: {key}={}", value.unwrap_or("<absent>")));
            }
        }
        for key in &absent {
            if let Some(value) = got.get(key.as_str()) {
                expected.push(format!("{at}: no {key}"));
                actual.push(format!("{at}: {key}={value}"));
            }
        }
    }
    if expected.is_empty() {
        Ok(())
    } else {
        Err(StepError::failed(
            format!("pod {namespace}/{name} differs from the documents"),
            expected.join("; "),
            actual.join("; "),
        ))
    }
}

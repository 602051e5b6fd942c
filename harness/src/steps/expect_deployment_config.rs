//! `expect_deployment_config`: the platform's stored deployment `config` holds the role under
//! `serviceAccountAnnotations`, as the documents' `select config from houston$default."Deployment"`
//! shows (R11).

use serde_json::Value;

use super::{Mismatches, ScenarioContext, StepError};
use crate::scenario::model::ExpectDeploymentConfig;

/// The config entry the documents show.
const ANNOTATIONS_FIELD: &str = "serviceAccountAnnotations";

/// Reads the deployment's config through the platform API and checks its annotations.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &ExpectDeploymentConfig,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let release = ctx.release_of(&step.release)?;
    let config = match ctx.platform()?.deployment_config(&release).await? {
        Ok(config) => config,
        Err(refusal) => {
            return Err(StepError::Broken(format!(
                "the platform refused to show deployment {release}: {}",
                refusal.message
            )));
        }
    };
    log.push(format!("deployment {release} config {config}"));
    let stored = config.get(ANNOTATIONS_FIELD);
    let value_of = |key: &str| stored.and_then(|a| a.get(key)).and_then(Value::as_str);
    let object = format!("deployment {release}");
    let mut differences = Mismatches::default();
    for (key, want) in &step.annotations {
        let (key, want) = (ctx.render(key)?, ctx.render(want)?);
        let got = value_of(&key);
        if got != Some(want.as_str()) {
            let setting = format!("{ANNOTATIONS_FIELD}.{key}");
            differences.push(&object, &setting, &want, got.unwrap_or("<absent>"));
        }
    }
    for key in &step.absent {
        let key = ctx.render(key)?;
        if let Some(got) = value_of(&key) {
            differences.push(
                &object,
                &format!("{ANNOTATIONS_FIELD}.{key}"),
                "<absent>",
                got,
            );
        }
    }
    if differences.is_empty() {
        Ok(())
    } else {
        Err(differences.into_failure("stored config"))
    }
}

//! `expect_deployment_config`: the platform's stored deployment `config` holds the role under
//! `serviceAccountAnnotations`, as the documents' `select config from houston$default."Deployment"`
//! shows (R11).

use std::collections::BTreeMap;

use serde_json::Value;

use super::fields::Expect;
use super::kind::{Key, RELEASE, Refusals, Shape, StepKind};
use super::{Mismatches, ScenarioContext, StepError, fields};
use crate::capability::Capability;
use crate::source::decode::{Ctx, Fields};
use crate::template::Template;

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

/// Fields of `expect_deployment_config`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectDeploymentConfig {
    /// Release name.
    pub release: Template,
    /// Entries `config.serviceAccountAnnotations` must hold with exactly these values.
    pub annotations: BTreeMap<Template, Template>,
    /// Keys `config.serviceAccountAnnotations` must not hold.
    pub absent: Vec<Template>,
}

impl StepKind for ExpectDeploymentConfig {
    const ABOUT: &'static str = "The platform's stored deployment `config.serviceAccountAnnotations` holds these entries and none of the `absent` keys. Needs `platform-api` and `platform-db`.";
    const KEYS: &'static [Key] = &[
        RELEASE,
        Key::optional(
            "annotations",
            Shape::TextMap,
            "entries it holds with exactly these values",
        ),
        Key::optional("absent", Shape::TextList, "keys it does not hold"),
    ];
    const REFUSALS: Refusals = Refusals::None;
    const ONLY_OBSERVES: bool = true;

    fn decode(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Self> {
        let release = fields::release(ctx, fields);
        let annotations = fields::template_map(ctx, fields, "annotations");
        let absent = fields::template_list(ctx, fields, "absent");
        Some(ExpectDeploymentConfig {
            release: release?,
            annotations: annotations?,
            absent: absent?,
        })
    }

    /// The stored config: R11, and the binding it records (R2, R3, R6, R8, R9, R10).
    fn evidence(&self, _expect: &Expect) -> &'static [u8] {
        &[2, 3, 6, 8, 9, 10, 11]
    }

    fn needs(&self, _expect: &Expect) -> Vec<Capability> {
        vec![Capability::PlatformApi, Capability::PlatformDb]
    }
}

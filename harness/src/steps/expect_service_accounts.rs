//! `expect_service_accounts`: the ServiceAccounts the components' pods run under carry (or
//! lack) the annotations the documents promise (R4, R6, R7, R10, R1).

use std::collections::BTreeMap;

use crate::drivers::deadline::Deadline;

use super::fields::Expect;
use super::kind::{COMPONENTS, Key, RELEASE, Refusals, Shape, StepKind};
use super::{Mismatches, ScenarioContext, StepError, fields};
use crate::chart::{Component, component_selector};
use crate::source::decode::{Ctx, Fields};
use crate::template::Template;

/// Checks every listed component's ServiceAccount; reports every mismatch at once.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &ExpectServiceAccounts,
    deadline: &Deadline,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let release = ctx.release_of(&step.release)?;
    let namespace = ctx.namespace_of(&release);
    let present = ctx.render_map(&step.annotations)?;
    let absent = ctx.render_all(&step.absent)?;

    let mut differences = Mismatches::default();
    for component in &step.components {
        let selector = component_selector(&release, *component);
        let name = ctx
            .target
            .kube
            .component_service_account(&namespace, &selector, deadline)
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

/// Fields of `expect_service_accounts`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectServiceAccounts {
    /// Release name.
    pub release: Template,
    /// Components whose ServiceAccounts are checked.
    pub components: Vec<Component>,
    /// Annotations that must be present with exactly these values.
    pub annotations: BTreeMap<Template, Template>,
    /// Annotation keys that must be absent.
    pub absent: Vec<Template>,
}

impl StepKind for ExpectServiceAccounts {
    const ABOUT: &'static str = "Every listed component's ServiceAccount carries these annotations with exactly these values, and none of the `absent` keys.";
    const KEYS: &'static [Key] = &[
        RELEASE,
        COMPONENTS,
        Key::optional(
            "annotations",
            Shape::TextMap,
            "annotations that must be present with exactly these values",
        ),
        Key::optional(
            "absent",
            Shape::TextList,
            "annotation keys that must be absent",
        ),
    ];
    const REFUSALS: Refusals = Refusals::None;
    const ONLY_OBSERVES: bool = true;

    fn decode(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Self> {
        let release = fields::release(ctx, fields);
        let components = fields::components(ctx, fields);
        let annotations = fields::template_map(ctx, fields, "annotations");
        let absent = fields::template_list(ctx, fields, "absent");
        Some(ExpectServiceAccounts {
            release: release?,
            components: components?,
            annotations: annotations?,
            absent: absent?,
        })
    }

    /// A ServiceAccount's annotations: the key (R1), the value after create, update,
    /// re-bind (R2, R3, R4, R6), scope (R7), source of truth (R8), refusals (R9),
    /// non-deletion (R10).
    fn evidence(&self, _expect: &Expect) -> &'static [u8] {
        &[1, 2, 3, 4, 6, 7, 8, 9, 10]
    }
}

//! `annotate_service_account`: a deliberate hand edit of a component's ServiceAccount through
//! the Kubernetes API, as a user would do with `kubectl annotate --overwrite`. The documents
//! say roles are passed through the CLI, not by editing Kubernetes objects (R8): a later
//! platform update must put the platform's value back.

use std::collections::BTreeMap;

use crate::drivers::deadline::Deadline;

use super::fields;
use super::fields::Expect;
use super::kind::{Key, RELEASE, Refusals, Shape, StepKind};
use super::{ScenarioContext, StepError};
use crate::chart::Component;
use crate::chart::component_selector;
use crate::source::decode::{Ctx, Fields};
use crate::template::Template;

/// Finds the component's ServiceAccount and merge-patches the annotations onto it.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &AnnotateServiceAccount,
    deadline: &Deadline,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let release = ctx.release_of(&step.release)?;
    let namespace = ctx.namespace_of(&release);
    let annotations = ctx.render_map(&step.annotations)?;
    let name = ctx
        .target
        .kube
        .component_service_account(
            &namespace,
            &component_selector(&release, step.component),
            deadline,
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

/// Fields of `annotate_service_account`.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnotateServiceAccount {
    /// Release name.
    pub release: Template,
    /// Component whose ServiceAccount is edited.
    pub component: Component,
    /// Annotations to set (merge patch).
    pub annotations: BTreeMap<Template, Template>,
}

impl StepKind for AnnotateServiceAccount {
    const ABOUT: &'static str = "A deliberate hand edit of a component's ServiceAccount through the Kubernetes API, as with `kubectl annotate`.";
    const KEYS: &'static [Key] = &[
        RELEASE,
        Key::required(
            "component",
            Shape::OneOf(fields::COMPONENT_NAMES),
            "the component",
        ),
        Key::required(
            "annotations",
            Shape::TextMap,
            "the annotations to set (at least one)",
        ),
    ];
    const REFUSALS: Refusals = Refusals::None;
    const ONLY_OBSERVES: bool = false;

    fn decode(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Self> {
        let release = fields::release(ctx, fields);
        let component = fields::component(ctx, fields);
        let annotations = fields::non_empty_map(
            ctx,
            fields,
            "annotations",
            "name at least one annotation to set",
        )
        .and_then(|_| fields::template_map(ctx, fields, "annotations"));
        Some(AnnotateServiceAccount {
            release: release?,
            component: component?,
            annotations: annotations?,
        })
    }

    /// It only prepares what later steps check.
    fn evidence(&self, _expect: &Expect) -> &'static [u8] {
        &[]
    }
}

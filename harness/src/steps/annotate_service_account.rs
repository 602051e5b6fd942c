//! `annotate_service_account`: a deliberate hand edit of a component's ServiceAccount through
//! the Kubernetes API, as a user would do with `kubectl annotate --overwrite`. The documents
//! say roles are passed through the CLI, not by editing Kubernetes objects (R8): a later
//! platform update must put the platform's value back.

use std::collections::BTreeMap;

use crate::drivers::deadline::Deadline;

use super::fields::Expect;
use super::kind::{COMPONENT, Key, RELEASE, Refusals, Shape, StepKind};
use super::{ScenarioContext, StepError, fields};
use crate::chart::Component;
use crate::source::decode::{Ctx, Fields};
use crate::template::Template;

/// Finds the component's ServiceAccount and merge-patches the annotations onto it.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &AnnotateServiceAccount,
    deadline: &Deadline,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let at = ctx.component_at(&step.release, step.component)?;
    let annotations = ctx.render_map(&step.annotations)?;
    let name = ctx.component_service_account(&at, deadline).await?;
    let namespace = at.namespace;
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
        COMPONENT,
        Key::required(
            "annotations",
            Shape::TextMap,
            "the annotations to set (at least one)",
        ),
    ];
    const REFUSALS: Refusals = Refusals::None;
    const ONLY_OBSERVES: bool = false;

    fn decode(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Self> {
        let at = fields::release_and_component(ctx, fields);
        let annotations = fields::non_empty_map(
            ctx,
            fields,
            "annotations",
            "name at least one annotation to set",
        )
        .and_then(|_| fields::template_map(ctx, fields, "annotations"));
        let (release, component) = at?;
        Some(AnnotateServiceAccount {
            release,
            component,
            annotations: annotations?,
        })
    }

    /// It only prepares what later steps check.
    fn evidence(&self, _expect: &Expect) -> &'static [u8] {
        &[]
    }
}

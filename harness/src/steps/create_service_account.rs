//! `create_service_account`: a plain ServiceAccount outside the platform, e.g. in a namespace
//! that is not `astronomer-*` (R12's negative case). Labelled with the run id.

use super::fields::Expect;
use super::kind::{Key, Refusals, Shape, StepKind};
use super::{ScenarioContext, StepError, fields};
use crate::ledger::Owned;
use crate::source::decode::{Ctx, Fields};
use crate::template::Template;

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

/// Fields of `create_service_account`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateServiceAccount {
    /// Namespace (created if missing, labelled with the run id).
    pub namespace: Template,
    /// ServiceAccount name.
    pub name: Template,
}

impl StepKind for CreateServiceAccount {
    const ABOUT: &'static str = "A plain ServiceAccount outside the platform, labelled with the run id (in a namespace created for it when missing).";
    const KEYS: &'static [Key] = &[
        Key::required("namespace", Shape::Text, "its namespace"),
        Key::required("name", Shape::Text, "its name"),
    ];
    const REFUSALS: Refusals = Refusals::None;
    const ONLY_OBSERVES: bool = false;

    fn decode(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Self> {
        let namespace = fields::required_template(ctx, fields, "namespace");
        let name = fields::required_template(ctx, fields, "name");
        Some(CreateServiceAccount {
            namespace: namespace?,
            name: name?,
        })
    }

    /// It only prepares what later steps check.
    fn evidence(&self, _expect: &Expect) -> &'static [u8] {
        &[]
    }
}

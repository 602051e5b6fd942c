//! `create_deployment`: `astro deployment create <name> --executor=celery --cloud-role=<arn>`,
//! through the platform API (R2).

use crate::drivers::deadline::Deadline;

use super::fields::{Expect, RoleInput};
use super::kind::{AS, CLOUD_ROLE, Key, RELEASE, Refusals, Shape, StepKind};
use super::{ScenarioContext, StepError, fields, judge_platform};
use crate::capability::Capability;
use crate::ledger::Owned;
use crate::platform::{Actor, Executor};
use crate::source::decode::{Ctx, Fields};
use crate::template::Template;

/// Creates the deployment. The intent is recorded for clean-up before the request is sent
/// (so a create cut off by a timeout or a signal is still removed or named as left over); on
/// success the release's namespace is labelled with the run id.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &CreateDeployment,
    expect: &Expect,
    deadline: &Deadline,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let release = ctx.render(&step.release)?;
    let role = ctx.role_arg(&step.cloud_role)?;
    log.push(format!(
        "createDeployment release={release} executor={} cloudRole={role:?} as {}",
        step.executor.name(),
        step.actor.name()
    ));
    let platform = ctx.platform()?;
    let asked = ctx.release(&release, false);
    ctx.owns(asked.clone());
    let answer = platform
        .create_deployment(step.actor, &release, step.executor, &role)
        .await?;
    if let Ok(actual) = &answer {
        if actual != &release {
            log.push(format!("the platform named the release {actual}"));
            ctx.disowns(&asked);
        }
        ctx.record_release_name(&release, actual);
        ctx.owns(ctx.release(actual, true));
        let namespace = ctx.namespace_of(actual);
        ctx.owns(Owned::Namespace(namespace.clone()));
        ctx.target
            .kube
            .label_namespace(&namespace, ctx.run_id, deadline)
            .await?;
        log.push(format!("labelled namespace {namespace} with the run id"));
        ctx.note("namespace", &namespace);
        ctx.note_role(&role);
    } else {
        // Refused: nothing was created (a deployment of that name may be someone else's).
        ctx.disowns(&asked);
    }
    judge_platform(expect, answer.map(drop), log)
}

/// Fields of `create_deployment`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateDeployment {
    /// Release name (usually `{{release}}`).
    pub release: Template,
    /// Executor; the documents use `celery`.
    pub executor: Executor,
    /// The role to bind, if any.
    pub cloud_role: RoleInput,
    /// Who makes the call.
    pub actor: Actor,
}

impl StepKind for CreateDeployment {
    const ABOUT: &'static str = "Creates a deployment through the platform API, optionally with a cloud role. Needs `deployments` (and `admin-roles` when `as` is not `admin`), as every platform kind.";
    const KEYS: &'static [Key] = &[
        RELEASE,
        Key::optional(
            "executor",
            Shape::OneOf(fields::EXECUTOR_NAMES),
            "the Airflow executor; default `celery`",
        ),
        CLOUD_ROLE,
        AS,
    ];
    const REFUSALS: Refusals = Refusals::Platform;
    const ONLY_OBSERVES: bool = false;

    fn decode(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Self> {
        let release = fields::release(ctx, fields);
        let executor = fields::executor(ctx, fields);
        let cloud_role = fields::cloud_role(ctx, fields);
        let actor = fields::actor(ctx, fields);
        Some(CreateDeployment {
            release: release?,
            executor: executor?,
            cloud_role: cloud_role?,
            actor: actor?,
        })
    }

    /// Refused to a non-admin: R9. Accepted with a role: the deployment is bound (R2).
    fn evidence(&self, expect: &Expect) -> &'static [u8] {
        match expect {
            Expect::PlatformError(_) => &[9],
            Expect::Success if self.cloud_role.sends_a_role() => &[2],
            Expect::Success | Expect::AcceptedOrRefused | Expect::StsError(_) => &[],
        }
    }

    fn needs(&self, _expect: &Expect) -> Vec<Capability> {
        deployment_needs(self.actor)
    }
}

/// What a platform deployment step needs: deployments, and workspace roles when the caller
/// is not an admin.
pub(crate) fn deployment_needs(actor: Actor) -> Vec<Capability> {
    let mut needs = vec![Capability::Deployments];
    if actor != Actor::Admin {
        needs.push(Capability::AdminRoles);
    }
    needs
}

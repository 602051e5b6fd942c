//! `update_deployment`: `astro deployment update <name> --cloud-role=<arn>` through the platform
//! API (R3), including attempts to remove the role (R10).

use super::create_deployment::deployment_needs;
use super::fields::{Expect, RoleInput};
use super::kind::{AS, CLOUD_ROLE, Key, RELEASE, Refusals, StepKind};
use super::{ScenarioContext, StepError, fields, judge_platform};
use crate::capability::Capability;
use crate::platform::Actor;
use crate::source::decode::{Ctx, Fields};
use crate::template::Template;

/// Updates the deployment's cloud role.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &UpdateDeployment,
    expect: &Expect,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let release = ctx.release_of(&step.release)?;
    let role = ctx.role_arg(&step.cloud_role)?;
    log.push(format!(
        "updateDeployment release={release} cloudRole={role:?} as {}",
        step.actor.name()
    ));
    let answer = ctx
        .platform()?
        .update_deployment(step.actor, &release, &role)
        .await?;
    if answer.is_ok() {
        ctx.note_role(&role);
    }
    judge_platform(expect, answer, log)
}

/// Fields of `update_deployment`.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateDeployment {
    /// Release name of the deployment to update.
    pub release: Template,
    /// The role to bind; `Value("")`, `Null` and `Omitted` are the three ways to try removal.
    pub cloud_role: RoleInput,
    /// Who makes the call.
    pub actor: Actor,
}

impl StepKind for UpdateDeployment {
    const ABOUT: &'static str = "Updates a deployment through the platform API: binds, re-binds or tries to remove its cloud role.";
    const KEYS: &'static [Key] = &[
        RELEASE,
        CLOUD_ROLE,
        AS,
    ];
    const REFUSALS: Refusals = Refusals::Platform;
    const ONLY_OBSERVES: bool = false;

    fn decode(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Self> {
        let release = fields::release(ctx, fields);
        let cloud_role = fields::cloud_role(ctx, fields);
        let actor = fields::actor(ctx, fields);
        Some(UpdateDeployment {
            release: release?,
            cloud_role: cloud_role?,
            actor: actor?,
        })
    }

    /// Refused to a non-admin: R9; removal refused or ignored: R10; (re-)binding: R3.
    fn evidence(&self, expect: &Expect) -> &'static [u8] {
        match expect {
            Expect::PlatformError(_) => &[9],
            Expect::AcceptedOrRefused => &[10],
            Expect::Success if self.cloud_role.sends_a_role() => &[3],
            Expect::Success | Expect::StsError(_) => &[],
        }
    }

    fn needs(&self, _expect: &Expect) -> Vec<Capability> {
        deployment_needs(self.actor)
    }
}

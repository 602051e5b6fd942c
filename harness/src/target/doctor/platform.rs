//! Platform checks (Houston): the GraphQL URL answers `appConfig` (version and whether the
//! platform generates release names), and each configured token is valid, belongs to a member
//! of the profile's workspace, and has the role it is configured for.

use super::{Check, Report, Subject};
use crate::drivers::houston::HoustonDriver;
use crate::drivers::probe;
use crate::platform::Actor;

/// The platform row.
pub const PLATFORM: &str = "platform";
/// The workspace row.
pub const WORKSPACE: &str = "platform workspace";

/// The token row of a workspace role.
pub fn token_row(actor: Actor) -> String {
    format!("platform token ({})", actor.name())
}

/// Houston's name of the workspace role an actor stands for.
fn houston_role(actor: Actor) -> &'static str {
    match actor {
        Actor::Admin => "WORKSPACE_ADMIN",
        Actor::Editor => "WORKSPACE_EDITOR",
        Actor::Viewer => "WORKSPACE_VIEWER",
    }
}

/// Every platform check.
pub async fn check(subject: &Subject<'_>, report: &mut Report) {
    let houston = match &subject.houston {
        None => {
            report.checks.push(Check::skipped(
                PLATFORM,
                "the profile's platform driver has no Houston API to check",
            ));
            return;
        }
        Some(Err(why)) => {
            report.checks.push(Check::failed(
                PLATFORM,
                why.clone(),
                "export the environment variables the profile's `platform` section names",
            ));
            return;
        }
        Some(Ok(houston)) => *houston,
    };
    if !app_config(houston, report).await {
        return;
    }
    let mut workspace_seen = false;
    for actor in [Actor::Admin, Actor::Editor, Actor::Viewer] {
        if houston.has_token(actor) {
            workspace_seen |= token(houston, actor, report).await;
        }
    }
    if workspace_seen {
        report.checks.push(Check::ok(
            WORKSPACE,
            format!("{} (the tokens' users are members)", houston.workspace_id()),
        ));
    } else {
        report.checks.push(Check::failed(
            WORKSPACE,
            format!(
                "no configured token belongs to a member of workspace {}",
                houston.workspace_id()
            ),
            "set the profile's `workspace` (or the variable it names) to the id of the workspace the tokens' users belong to (`astro workspace list`)",
        ));
    }
}

/// `appConfig` answers; says whether the platform names releases itself.
async fn app_config(houston: &HoustonDriver, report: &mut Report) -> bool {
    let fix = "set `platform.url` to the Houston GraphQL URL (https://houston.<baseDomain>/v1) and make sure it is reachable";
    // The start-up probe: a silent platform is named within seconds.
    if let Err(err) = probe::http("platform API", houston.url()).await {
        report
            .checks
            .push(Check::failed(PLATFORM, err.to_string(), fix));
        return false;
    }
    match houston.app_config().await {
        Ok(Ok(config)) => {
            let names = if config.manual_release_names {
                "manualReleaseNames on: the run chooses release names"
            } else {
                "manualReleaseNames off: the platform generates release names"
            };
            report.checks.push(Check::ok(
                PLATFORM,
                format!(
                    "{} answers appConfig: version {}, baseDomain {}, {names}",
                    houston.url(),
                    config.version,
                    config.base_domain
                ),
            ));
            true
        }
        Ok(Err(refusal)) => {
            report.checks.push(Check::failed(
                PLATFORM,
                format!("{} refused appConfig: {}", houston.url(), refusal.message),
                fix,
            ));
            false
        }
        Err(err) => {
            report.checks.push(Check::failed(
                PLATFORM,
                format!("{}: {err}", houston.url()),
                fix,
            ));
            false
        }
    }
}

/// One token: valid (`self` answers), a member of the workspace, with the configured role.
/// Returns whether its user is a member of the workspace.
async fn token(houston: &HoustonDriver, actor: Actor, report: &mut Report) -> bool {
    let row = token_row(actor);
    let want = houston_role(actor);
    let fix = format!(
        "set the profile's `tokens.{}` variable to the API token of a {want} of workspace {}",
        actor.name(),
        houston.workspace_id()
    );
    let user = match houston.token_user(actor).await {
        Ok(Ok(user)) => user,
        Ok(Err(refusal)) => {
            report.checks.push(Check::failed(
                row,
                format!(
                    "the platform refused the token: {}{}",
                    refusal.message,
                    refusal.code.map(|c| format!(" ({c})")).unwrap_or_default()
                ),
                fix,
            ));
            return false;
        }
        Err(err) => {
            report.checks.push(Check::failed(
                row,
                format!("asking who the token is: {err}"),
                fix,
            ));
            return false;
        }
    };
    match user.role_in(houston.workspace_id()) {
        Some(role) if role == want => {
            report.checks.push(Check::ok(
                row,
                format!("{} is {role} of the workspace", user.username),
            ));
            true
        }
        Some(role) => {
            report.checks.push(Check::failed(
                row,
                format!(
                    "{} is {role} of the workspace, but the token is configured as {}",
                    user.username,
                    actor.name()
                ),
                fix,
            ));
            true
        }
        None => {
            report.checks.push(Check::failed(
                row,
                format!("{} is not a member of the workspace", user.username),
                fix,
            ));
            false
        }
    }
}

//! The embedded sim target: starts `rolecheck-sim` on loopback ports and reaches it through
//! the same drivers as any other target, never by function call.

use std::collections::{BTreeSet, HashMap};

use rolecheck_sim::{FaultSet, PlatformUser};

use super::assemble::StartOptions;
use super::profile::Profile;
use super::{Target, TargetError};
use crate::capability::Capability;
use crate::platform::Actor;

/// Starts the sim with the given fault switches and sets it up as the documents tell an
/// administrator to: the role with the documented trust and permission policies. The same as
/// [`super::assemble::start`] with the `sim` profile.
pub async fn start(faults: FaultSet, run_id: &str) -> Result<Target, TargetError> {
    let profile = Profile::named("sim")?;
    let options = StartOptions {
        faults,
        ..StartOptions::default()
    };
    super::assemble::start(&profile, &options, run_id).await
}

/// API tokens of platform users by workspace role.
pub(super) fn tokens(users: &[PlatformUser]) -> HashMap<Actor, String> {
    users
        .iter()
        .filter_map(|user| {
            let actor = match user.workspace_role.as_str() {
                "WORKSPACE_ADMIN" => Actor::Admin,
                "WORKSPACE_EDITOR" => Actor::Editor,
                "WORKSPACE_VIEWER" => Actor::Viewer,
                _ => return None,
            };
            Some((actor, user.token.clone()))
        })
        .collect()
}

/// What the embedded sim can show: everything but real Airflow images (so far).
pub fn capabilities() -> BTreeSet<Capability> {
    BTreeSet::from([
        Capability::PlatformApi,
        Capability::Deployments,
        Capability::AdminRoles,
        Capability::PlatformDb,
        Capability::Webhook,
        Capability::StsValidatesTrustPolicy,
        Capability::StsValidatesSignature,
        Capability::ClockControl,
        Capability::PlatformWithoutAnnotationKey,
        Capability::S3,
    ])
}

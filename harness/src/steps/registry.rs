//! The registry of step kinds.
//!
//! A step kind is defined in one place: its module in `steps/` holds its typed fields, the
//! keys it takes, which `expect` forms apply, the capabilities it needs, the rules it can show
//! and its `run` (see `kind::StepKind`). **Adding a step kind touches that module and
//! this registry, nothing else**: write `steps/<kind>.rs` (a type implementing `StepKind` and
//! its `run`) and add one entry to the list in `kinds!` below; the list also declares the
//! kind's module (`steps/mod.rs` names no kind). The scenario loader, the planner's capability
//! needs, rule attribution, the runner's dispatch, `rolecheck schema` and the README's step
//! reference (regenerate it with `ROLECHECK_BLESS=1 cargo test -p rolecheck --test schema`)
//! all read this list.

use std::time::Duration;

use super::fields::Expect;
use super::kind::{KindInfo, StepKind, step_kinds};
use super::{ScenarioContext, StepError};
use crate::capability::Capability;
use crate::drivers::deadline::Deadline;
use crate::rules::RuleId;
use crate::source::Location;
use crate::source::decode::{Ctx, Fields};

/// The list of step kinds, one entry each: `module::Type => |ctx, step, expect, deadline, log|
/// call;`. It hands the list to `$callback`: [`step_kinds!`](super::kind) here (the `Action`
/// enum, [`KINDS`] and the dispatch) and `declare_kind_modules!` in `steps/mod.rs` (one
/// `pub mod` per kind).
macro_rules! kinds {
    ($callback:ident) => {
        $callback! {
            create_deployment::CreateDeployment =>
                |ctx, s, expect, deadline, log| super::create_deployment::run(ctx, s, expect, deadline, log);
            update_deployment::UpdateDeployment =>
                |ctx, s, expect, _, log| super::update_deployment::run(ctx, s, expect, log);
            delete_deployment::DeleteDeployment =>
                |ctx, s, expect, _, log| super::delete_deployment::run(ctx, s, expect, log);
            expect_service_accounts::ExpectServiceAccounts =>
                |ctx, s, _, deadline, log| super::expect_service_accounts::run(ctx, s, deadline, log);
            expect_pods::ExpectPods =>
                |ctx, s, _, deadline, log| super::expect_pods::run(ctx, s, deadline, log);
            assume_role::AssumeRole =>
                |ctx, s, expect, deadline, log| super::assume_role::run(ctx, s, expect, deadline, log);
            s3_access::S3Access =>
                |ctx, s, _, deadline, log| super::s3_access::run(ctx, s, deadline, log);
            create_service_account::CreateServiceAccount =>
                |ctx, s, _, _, log| super::create_service_account::run(ctx, s, log);
            create_pod::CreatePod =>
                |ctx, s, _, deadline, log| super::create_pod::run(ctx, s, deadline, log);
            expect_pod::ExpectPod =>
                |ctx, s, _, deadline, log| super::expect_pod::run(ctx, s, deadline, log);
            annotate_service_account::AnnotateServiceAccount =>
                |ctx, s, _, deadline, log| super::annotate_service_account::run(ctx, s, deadline, log);
            expect_credentials::ExpectCredentials =>
                |ctx, s, _, deadline, log| super::expect_credentials::run(ctx, s, deadline, log);
            expect_server_version::ExpectServerVersion =>
                |ctx, s, _, _, log| super::expect_server_version::run(ctx, s, log);
            expect_deployment_config::ExpectDeploymentConfig =>
                |ctx, s, _, _, log| super::expect_deployment_config::run(ctx, s, log);
            expect_packages::ExpectPackages =>
                |ctx, s, _, deadline, log| super::expect_packages::run(ctx, s, deadline, log);
            advance_clock::AdvanceClock =>
                |ctx, s, _, _, log| super::advance_clock::run(ctx, s, log);
            expect_sdk_credentials::ExpectSdkCredentials =>
                |ctx, s, _, deadline, log| super::expect_sdk_credentials::run(ctx, s, deadline, log);
        }
    };
}

pub(crate) use kinds;

kinds!(step_kinds);

/// The registry entry of a kind, by its name in scenario files.
pub fn kind_info(name: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|k| k.name == name)
}

/// Every step kind's name, in registry order.
pub fn kind_names() -> impl Iterator<Item = &'static str> + Clone {
    KINDS.iter().map(|k| k.name)
}

/// One step: what to do, how long it may take, and what outcome is expected.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// What the step does.
    pub action: Action,
    /// How long the step may take; `None` means the runner's default.
    pub timeout: Option<Duration>,
    /// The outcome the step expects.
    pub expect: Expect,
    /// The contract rules this step's assertion checks (its `rules:`, or the default for its
    /// kind and the scenario, see [`crate::scenario::attribution`]); empty for a set-up step.
    pub rules: Vec<RuleId>,
    /// Where the step was written.
    pub location: Location,
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::kind_names;

    /// Adding a step kind is its module and its registry entry: every kind has its file, and
    /// `steps/mod.rs` declares none of them itself (the registry's list does).
    #[test]
    fn a_kind_is_its_module_and_its_registry_entry() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/steps");
        let steps_mod = std::fs::read_to_string(dir.join("mod.rs")).unwrap();
        for kind in kind_names() {
            assert!(
                dir.join(format!("{kind}.rs")).is_file(),
                "no steps/{kind}.rs"
            );
            assert!(
                !steps_mod.contains(&format!("mod {kind};")),
                "steps/mod.rs declares `{kind}` itself"
            );
        }
    }
}

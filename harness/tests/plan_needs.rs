//! What the steps of the suite's own scenarios imply for planning: the capabilities they need
//! beyond those declared, and which scenarios must run alone.

use std::path::PathBuf;

use rolecheck::capability::Capability;
use rolecheck::plan::{needs, runs_alone};
use rolecheck::scenario::Scenario;
use rolecheck::scenario::load_paths;
use rstest::rstest;

fn suite() -> Vec<Scenario> {
    load_paths(&[PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")]).unwrap()
}

fn scenario(name: &str) -> Scenario {
    suite()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scenario {name}"))
}

#[rstest]
#[case::config_step_needs_the_platform_db("stored-config-holds-role", Capability::PlatformDb)]
#[case::clock_step_needs_clock_control("expired-token-refused", Capability::ClockControl)]
#[case::package_step_needs_real_images(
    "airflow-images-ship-boto3-and-botocore",
    Capability::RealImages
)]
#[case::non_admin_needs_admin_roles("editor-cannot-rebind-role", Capability::AdminRoles)]
fn steps_imply_capabilities(#[case] name: &str, #[case] capability: Capability) {
    assert!(needs(&scenario(name)).contains(&capability));
}

#[test]
fn only_clock_moving_scenarios_run_alone() {
    let alone: Vec<String> = suite()
        .into_iter()
        .filter(runs_alone)
        .map(|s| s.name)
        .collect();
    assert_eq!(alone, vec!["expired-token-refused".to_owned()]);
}

#[test]
fn the_suite_covers_every_rule() {
    let suite = suite();
    assert!(suite.len() >= 25, "{} scenarios", suite.len());
    for rule in rolecheck::rules::RuleId::all() {
        assert!(
            suite.iter().any(|s| s.rules.contains(&rule)),
            "no scenario checks {rule}"
        );
    }
}

//! A hand-built run report shared by the reporter tests.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use rolecheck::report::model::{Outcome, Phase, RunReport, ScenarioResult, StepResult};
use rolecheck::report::verdict::rule_verdicts;

/// A step result.
pub fn step(
    phase: Phase,
    index: usize,
    kind: &str,
    location: &str,
    outcome: Outcome,
    log: &[&str],
) -> StepResult {
    StepResult {
        index,
        kind: kind.to_owned(),
        phase,
        location: location.to_owned(),
        outcome,
        duration: Duration::from_millis(250 * (index as u64 + 1)),
        log: log.iter().map(|l| (*l).to_owned()).collect(),
    }
}

/// A scenario result.
pub fn scenario(
    name: &str,
    file: &str,
    rules: &[&str],
    outcome: Outcome,
    steps: Vec<StepResult>,
) -> ScenarioResult {
    ScenarioResult {
        name: name.to_owned(),
        file: PathBuf::from(file),
        rules: rules.iter().map(|r| (*r).to_owned()).collect(),
        release: format!("{name}-6756"),
        outcome,
        duration: Duration::from_millis(1230),
        steps,
    }
}

/// A skipped outcome.
pub fn skipped(reason: &str) -> Outcome {
    Outcome::Skipped {
        reason: reason.to_owned(),
    }
}

/// A failed outcome comparing values.
pub fn failed(message: &str, expected: &str, actual: &str) -> Outcome {
    Outcome::Failed {
        message: message.to_owned(),
        expected: expected.to_owned(),
        actual: actual.to_owned(),
    }
}

/// An error outcome.
pub fn error(message: &str) -> Outcome {
    Outcome::Error {
        message: message.to_owned(),
    }
}

/// The failing outcome of `update-rebinds-role`.
pub fn rebind_failure() -> Outcome {
    failed(
        "ServiceAccount annotation eks.amazonaws.com/role-arn differs",
        "arn:aws:iam::000000000000:role/role-b",
        "arn:aws:iam::000000000000:role/role-a",
    )
}

/// A run with a passed, a failed, an errored and two skipped scenarios.
///
/// Rule verdicts: R2, R4, R5 pass; R3, R6 fail (update-rebinds-role); R9 fails
/// (viewer-cannot-set-role, an error); R12 and R15 are skipped because their scenarios were;
/// every other rule has no scenario.
pub fn sample_report() -> RunReport {
    let create = "scenarios/create.yaml";
    let update = "scenarios/update.yaml";
    let perms = "scenarios/permissions.yaml";
    let scenarios = vec![
        scenario(
            "create-with-role-annotates-all-components",
            create,
            &["R2", "R4", "R5"],
            Outcome::Passed,
            vec![
                step(
                    Phase::Steps,
                    0,
                    "create_deployment",
                    "scenarios/create.yaml:9:5",
                    Outcome::Passed,
                    &[
                        "createDeployment release=create-6756 cloudRole=arn:aws:iam::000000000000:role/example-role",
                    ],
                ),
                step(
                    Phase::Steps,
                    1,
                    "expect_service_accounts",
                    "scenarios/create.yaml:10:5",
                    Outcome::Passed,
                    &["3 ServiceAccounts annotated"],
                ),
                step(
                    Phase::Finally,
                    0,
                    "delete_deployment",
                    "scenarios/create.yaml:24:5",
                    Outcome::Passed,
                    &[],
                ),
            ],
        ),
        scenario(
            "update-rebinds-role",
            update,
            &["R3", "R6"],
            rebind_failure(),
            vec![
                step(
                    Phase::Steps,
                    0,
                    "update_deployment",
                    "scenarios/update.yaml:8:5",
                    Outcome::Passed,
                    &["updateDeployment cloudRole=arn:aws:iam::000000000000:role/role-b"],
                ),
                step(
                    Phase::Steps,
                    1,
                    "expect_service_accounts",
                    "scenarios/update.yaml:9:5",
                    rebind_failure(),
                    &[
                        "GET /api/v1/namespaces/astronomer-update-6756/serviceaccounts",
                        "annotations: {\"eks.amazonaws.com/role-arn\": <role-a> & more]]>",
                    ],
                ),
                step(
                    Phase::Finally,
                    0,
                    "delete_deployment",
                    "scenarios/update.yaml:20:5",
                    Outcome::Passed,
                    &[],
                ),
            ],
        ),
        scenario(
            "viewer-cannot-set-role",
            perms,
            &["R9"],
            error("platform API unreachable: connection refused"),
            vec![step(
                Phase::Steps,
                0,
                "create_deployment",
                "scenarios/permissions.yaml:7:5",
                error("platform API unreachable: connection refused"),
                &["POST http://127.0.0.1:8871/v1 (as viewer)"],
            )],
        ),
        scenario(
            "image-packages",
            "scenarios/images.yaml",
            &["R15"],
            skipped("target lacks capability real-images"),
            vec![],
        ),
        scenario(
            "token-audience-refused",
            "scenarios/sts.yaml",
            &["R12"],
            skipped("target lacks capability sts-validates-signature"),
            vec![],
        ),
    ];
    RunReport {
        run_id: "run-1a2b".to_owned(),
        target: "sim".to_owned(),
        started_at: "2026-11-03T09:00:00Z".to_owned(),
        duration: Duration::from_millis(42_500),
        rules: rule_verdicts(&scenarios),
        scenarios,
        leftovers: vec!["namespace astronomer-update-6756".to_owned()],
        reruns: vec![],
    }
}

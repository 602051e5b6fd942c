//! A hand-built run report shared by the reporter tests.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use rolecheck::report::model::{Outcome, Phase, Rerun, RunReport, ScenarioResult, StepResult};
use rolecheck::report::verdict::{judge_scenario, rule_verdicts};

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
        rules: vec![],
        cause: None,
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
        tags: vec![],
        release: format!("{name}-6756"),
        outcome,
        duration: Duration::from_millis(1230),
        steps,
        rule_outcomes: vec![],
        started_at: None,
        evidence: vec![],
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
/// Rule verdicts: R2, R4, R5 pass; R3, R6 fail (update-rebinds-role); R9 is an error
/// (viewer-cannot-set-role errored); R12 and R15 are skipped because their scenarios were;
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
        interrupted: false,
    }
}

/// A step of a scenario judged per rule: `step` plus the rules it checks.
pub fn checking(mut step: StepResult, rules: &[&str]) -> StepResult {
    step.rules = rules.iter().map(|r| (*r).to_owned()).collect();
    step
}

/// A report holding one scenario, judged per rule as the runner does.
fn one_scenario_report(mut scenario: ScenarioResult, reruns: Vec<Rerun>) -> RunReport {
    judge_scenario(&mut scenario);
    scenario.started_at = Some("2026-11-03T09:00:01.000Z".to_owned());
    scenario.tags = vec!["smoke".to_owned()];
    let scenarios = vec![scenario];
    RunReport {
        run_id: "run-1a2b".to_owned(),
        target: "sim".to_owned(),
        started_at: "2026-11-03T09:00:00Z".to_owned(),
        duration: Duration::from_millis(4_000),
        interrupted: false,
        rules: rule_verdicts(&scenarios),
        scenarios,
        leftovers: vec![],
        reruns,
    }
}

const INJECTS: &str = "scenarios/create-with-role-injects-web-identity.yaml";

fn create_step(outcome: Outcome) -> StepResult {
    checking(
        step(
            Phase::Steps,
            0,
            "create_deployment",
            &format!("{INJECTS}:13:5"),
            outcome,
            &[
                "createDeployment release=rc-1a2b-4 cloudRole=arn:aws:iam::123456789:role/example-role",
            ],
        ),
        &["R2"],
    )
}

fn precondition_step(outcome: Outcome) -> StepResult {
    step(
        Phase::Steps,
        1,
        "expect_service_accounts",
        &format!("{INJECTS}:14:5"),
        outcome,
        &[
            "webserver: ServiceAccount astronomer-rc-1a2b-4/rc-1a2b-4-webserver annotations {\"eks.amazonaws.com/role-arn\": \"arn:aws:iam::123456789:role/example-role\"}",
        ],
    )
}

/// The failure of `expect_pods` when the token file path is wrong on every pod.
pub fn token_path_failure() -> Outcome {
    failed(
        "3 pods: AWS_WEB_IDENTITY_TOKEN_FILE expected /var/run/secrets/eks.amazonaws.com/serviceaccount/token, got /var/run/secrets/kubernetes.io/serviceaccount/token: webserver-7d9f, scheduler-5c2b, worker-0",
        "AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
        "AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/kubernetes.io/serviceaccount/token on webserver-7d9f, scheduler-5c2b, worker-0",
    )
}

fn pods_step(outcome: Outcome) -> StepResult {
    checking(
        step(
            Phase::Steps,
            2,
            "expect_pods",
            &format!("{INJECTS}:19:5"),
            outcome,
            &["pods of rc-1a2b-4: webserver-7d9f, scheduler-5c2b, worker-0"],
        ),
        &["R5"],
    )
}

fn finally_step() -> StepResult {
    step(
        Phase::Finally,
        0,
        "delete_deployment",
        &format!("{INJECTS}:30:5"),
        Outcome::Passed,
        &["deleteDeployment release=rc-1a2b-4"],
    )
}

fn injects(steps: Vec<StepResult>) -> ScenarioResult {
    let mut s = scenario(
        "create-with-role-injects-web-identity",
        INJECTS,
        &["R2", "R5"],
        Outcome::Passed,
        steps,
    );
    s.release = "rc-1a2b-4".to_owned();
    s
}

/// One report per kind of verdict, each with one scenario judged per rule: `passing`,
/// `failing`, `blocked` (a set-up step failed), `skipped` and `flaky` (failed, then passed
/// on a `--suite qualify` re-run).
pub fn verdict_reports() -> Vec<(&'static str, RunReport)> {
    let mut passing = injects(vec![
        create_step(Outcome::Passed),
        precondition_step(Outcome::Passed),
        pods_step(Outcome::Passed),
        finally_step(),
    ]);
    passing.evidence = vec![
        ("namespace".to_owned(), "astronomer-rc-1a2b-4".to_owned()),
        (
            "role_arn".to_owned(),
            "arn:aws:iam::123456789:role/example-role".to_owned(),
        ),
    ];
    let failing = injects(vec![
        create_step(Outcome::Passed),
        precondition_step(Outcome::Passed),
        pods_step(token_path_failure()),
        finally_step(),
    ]);
    let blocked = injects(vec![
        create_step(Outcome::Passed),
        precondition_step(failed(
            "3 ServiceAccount annotation(s) differ from the documents",
            "eks.amazonaws.com/role-arn=arn:aws:iam::123456789:role/example-role",
            "no annotations",
        )),
        pods_step(skipped(
            "blocked: expect_service_accounts #2 at scenarios/create-with-role-injects-web-identity.yaml:14:5 failed: 3 ServiceAccount annotation(s) differ from the documents",
        )),
        finally_step(),
    ]);
    let skipped_one = scenario(
        "airflow-images-ship-boto3-and-botocore",
        "scenarios/airflow-images-ship-boto3-and-botocore.yaml",
        &["R15"],
        skipped("target lacks capability real-images"),
        vec![],
    );
    let flaky = failing.clone();
    let flaky_reruns = vec![Rerun {
        scenario: flaky.name.clone(),
        stability: rolecheck::suite::Stability::Flaky,
        outcomes: vec![
            failed(
                "expect_pods #3 at scenarios/create-with-role-injects-web-identity.yaml:19:5: timed out after 60s",
                "the condition to hold within the step's timeout",
                "worker-0 Pending",
            ),
            Outcome::Passed,
        ],
    }];
    vec![
        ("passing", one_scenario_report(passing, vec![])),
        ("failing", one_scenario_report(failing, vec![])),
        ("blocked", one_scenario_report(blocked, vec![])),
        ("skipped", one_scenario_report(skipped_one, vec![])),
        ("flaky", one_scenario_report(flaky, flaky_reruns)),
    ]
}

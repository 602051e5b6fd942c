//! `rolecheck selfcheck`: the suite against the healthy sim and against each fault switch.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use rolecheck::plan::Filter;
use rolecheck::report::model::{Outcome, RunReport, ScenarioResult};
use rolecheck::report::verdict::rule_verdicts;
use rolecheck::scenario::load_paths;
use rolecheck::selfcheck::{FaultCheck, SelfcheckOptions, selfcheck};
use rolecheck_sim::Fault;
use tokio_util::sync::CancellationToken;

fn suite_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn result(name: &str, rules: &[&str], outcome: Outcome) -> ScenarioResult {
    ScenarioResult {
        name: name.to_owned(),
        file: PathBuf::from("x.yaml"),
        rules: rules.iter().map(|r| (*r).to_owned()).collect(),
        tags: vec![],
        release: "rc-x-0".to_owned(),
        outcome,
        duration: Duration::ZERO,
        steps: vec![],
        rule_outcomes: vec![],
        started_at: None,
        evidence: vec![],
    }
}

fn failed() -> Outcome {
    Outcome::Failed {
        message: "m".to_owned(),
        expected: String::new(),
        actual: String::new(),
    }
}

fn report(scenarios: Vec<ScenarioResult>) -> RunReport {
    RunReport {
        run_id: "r".to_owned(),
        target: "sim".to_owned(),
        started_at: "2026-11-03T09:00:00Z".to_owned(),
        duration: Duration::ZERO,
        rules: rule_verdicts(&scenarios),
        scenarios,
        leftovers: vec![],
        reruns: vec![],
        interrupted: false,
    }
}

#[test]
fn a_fault_is_detected_by_a_failure_of_a_scenario_tagging_its_rule() {
    let run = report(vec![
        result("injects", &["R2", "R5"], failed()),
        result("assumes", &["R12"], failed()),
        result("other-r5", &["R5"], Outcome::Passed),
        result(
            "broken",
            &["R9"],
            Outcome::Error {
                message: "x".into(),
            },
        ),
    ]);
    let check = FaultCheck::judge(Fault::WebhookDisabled, &run);
    assert!(check.detected);
    assert_eq!(check.rule, "R5");
    assert_eq!(check.detected_by, vec!["injects"]);
    assert_eq!(check.checked_by, vec!["injects", "other-r5"]);
    // Without per-rule outcomes (an old report) a failed scenario fails all its rules:
    // R2 of `injects` and R12 of `assumes` are the fault's collateral.
    assert_eq!(check.over_broad, vec!["injects", "assumes"]);
    assert_eq!(check.collateral, vec!["R2", "R12"]);
    assert_eq!(check.errors, vec!["broken"]);
}

#[test]
fn errors_and_skips_do_not_count_as_detection() {
    let run = report(vec![
        result(
            "errs",
            &["R5"],
            Outcome::Error {
                message: "x".into(),
            },
        ),
        result(
            "skips",
            &["R5"],
            Outcome::Skipped {
                reason: "no".into(),
            },
        ),
    ]);
    let check = FaultCheck::judge(Fault::WebhookDisabled, &run);
    assert!(!check.detected);
    assert!(check.detected_by.is_empty());
    assert_eq!(check.checked_by, vec!["errs"]);
    let nothing = FaultCheck::judge(Fault::OldServerVersion, &report(vec![]));
    assert!(!nothing.detected);
}

/// Through the library: two faults over the scenarios of their rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_of_the_selected_rules_are_detected() {
    let scenarios = load_paths(&[suite_dir()]).unwrap();
    let options = SelfcheckOptions {
        faults: vec![Fault::WebhookDisabled, Fault::NonAdminAccepted],
        filters: vec![Filter::parse("R5"), Filter::parse("R9")],
        jobs: 8,
        ..SelfcheckOptions::default()
    };
    let mut progress = Vec::new();
    let report = selfcheck(
        scenarios,
        &options,
        &mut progress,
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    let progress = String::from_utf8(progress).unwrap();
    assert!(report.healthy.clean(), "{:?}", report.healthy);
    assert_eq!(report.faults.len(), 2);
    assert_eq!(report.faults[0].fault, "webhook-disabled");
    assert_eq!(report.faults[1].fault, "non-admin-accepted");
    for f in &report.faults {
        assert!(f.detected, "{f:?}");
        assert!(f.leftovers.is_empty(), "{f:?}");
    }
    assert!(
        report.faults[0]
            .detected_by
            .contains(&"create-with-role-injects-web-identity".to_owned())
    );
    assert!(report.passed());
    assert!(progress.contains("healthy sim: clean"), "{progress}");
    assert!(
        progress.contains("fault webhook-disabled (R5): detected by"),
        "{progress}"
    );
    let table = report.render();
    assert!(table.contains("non-admin-accepted"), "{table}");
    assert!(
        table.contains("2 fault(s): 2 detected, 0 undetected"),
        "{table}"
    );
    assert!(table.ends_with("self-check passed\n"), "{table}");
}

fn rolecheck(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// A fault whose rule no selected scenario checks goes undetected: exit 1, and the JSON
/// report says so.
#[test]
fn an_undetected_fault_makes_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("selfcheck.json");
    let out = rolecheck(&[
        "selfcheck",
        "--fault=old-server-version",
        "--fault=annotation-removable",
        "--filter=R10",
        &format!("--json={}", json.display()),
        "../scenarios",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("no scenario checking R14 ran"), "{stdout}");
    assert!(
        stdout.contains("1 undetected (old-server-version)"),
        "{stdout}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["faults"][0]["fault"], "old-server-version");
    assert_eq!(report["faults"][0]["detected"], false);
    assert_eq!(report["faults"][1]["detected"], true);
    assert_eq!(report["healthy"]["bad"], serde_json::json!([]));
}

#[test]
fn unknown_fault_is_a_usage_error() {
    let out = rolecheck(&["selfcheck", "--fault=nope", "../scenarios"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));
}

/// Every fault switch over the whole suite: about a minute on a busy two-core machine, so
/// it runs with `cargo test -- --ignored` or `make selfcheck`.
#[test]
#[ignore = "about a minute; `make selfcheck` runs the same"]
fn every_fault_is_detected_by_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("selfcheck.json");
    let out = rolecheck(&[
        "selfcheck",
        &format!("--json={}", json.display()),
        "../scenarios",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains(&format!("{n} fault(s): {n} detected", n = Fault::ALL.len())));
}

/// Judged per rule: a scenario whose R5 failed while its R2 passed detects an R5 fault
/// without collateral; a blocked rule is no collateral either.
#[test]
fn collateral_counts_only_rules_whose_own_steps_failed() {
    use rolecheck::report::model::RuleOutcome;
    let mut injects = result("injects", &["R2", "R5"], failed());
    injects.rule_outcomes = vec![
        RuleOutcome {
            rule: "R2".to_owned(),
            outcome: Outcome::Passed,
        },
        RuleOutcome {
            rule: "R5".to_owned(),
            outcome: failed(),
        },
    ];
    let mut blocked = result(
        "assumes",
        &["R12"],
        Outcome::Error {
            message: "blocked: expect_pods #2 at a.yaml:9:5 failed: m".into(),
        },
    );
    blocked.rule_outcomes = vec![RuleOutcome {
        rule: "R12".to_owned(),
        outcome: blocked.outcome.clone(),
    }];
    let run = report(vec![injects, blocked]);
    let check = FaultCheck::judge(Fault::WebhookDisabled, &run);
    assert!(check.detected);
    assert_eq!(check.detected_by, vec!["injects"]);
    assert!(check.collateral.is_empty(), "{check:?}");
    assert!(check.over_broad.is_empty(), "{check:?}");
    assert_eq!(check.errors, vec!["assumes"]);
}

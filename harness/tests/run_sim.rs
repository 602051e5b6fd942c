//! End to end: the real scenario suite, through the real drivers, against the embedded sim
//! on random loopback ports.

use std::path::PathBuf;
use std::time::Duration;

use rolecheck::cli::RunArgs;
use rolecheck::exit::ExitStatus;
use rolecheck::report::console::{ConsoleOptions, ConsoleReporter};
use rolecheck::report::model::{Outcome, RunReport};
use rolecheck::session;

fn suite_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn args(reports: &tempfile::TempDir, faults: &[&str], filters: &[&str]) -> RunArgs {
    RunArgs {
        target: "sim".to_owned(),
        jobs: Some(4),
        filter: filters.iter().map(|s| (*s).to_owned()).collect(),
        junit: reports.path().join("junit.xml"),
        json: reports.path().join("results.json"),
        fault: faults.iter().map(|s| (*s).to_owned()).collect(),
        step_timeout: Some(Duration::from_secs(20)),
        cleanup_timeout: Some(Duration::from_secs(30)),
        paths: vec![suite_dir()],
    }
}

fn quiet() -> ConsoleReporter {
    ConsoleReporter::new(Box::new(std::io::sink()), ConsoleOptions::plain())
}

fn rule<'a>(report: &'a RunReport, id: &str) -> &'a Outcome {
    &report
        .rules
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no verdict for {id}"))
        .outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_sim_passes_the_whole_suite_and_cleans_up() {
    let reports = tempfile::tempdir().unwrap();
    let report = session::run(&args(&reports, &[], &[]).resolve().unwrap(), quiet())
        .await
        .unwrap();
    for s in &report.scenarios {
        // Only R15's image check and the SDK run inside a pod cannot run on the sim: its pods
        // run no real image.
        let skipped_for_images = matches!(&s.outcome, Outcome::Skipped { reason }
            if reason.contains("real-images") || reason.contains("sdk-in-pods"));
        assert!(
            s.outcome == Outcome::Passed || skipped_for_images,
            "{}: {:?} {:#?}",
            s.name,
            s.outcome,
            s.steps
        );
    }
    assert!(report.scenarios.len() >= 25);
    for id in [
        "R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10", "R11", "R12", "R13", "R14",
        "R16",
    ] {
        assert_eq!(rule(&report, id), &Outcome::Passed, "{id}");
    }
    assert!(matches!(rule(&report, "R15"), Outcome::Skipped { .. }));
    assert!(report.leftovers.is_empty(), "{:?}", report.leftovers);
    assert_eq!(ExitStatus::of_run(&report).code(), 0);
    let junit = std::fs::read_to_string(reports.path().join("junit.xml")).unwrap();
    assert!(junit.contains("name=\"rules\""), "{junit}");
    let json = std::fs::read_to_string(reports.path().join("results.json")).unwrap();
    assert!(json.contains(&report.run_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_without_webhook_fails_and_names_r5() {
    let reports = tempfile::tempdir().unwrap();
    let settings = args(&reports, &["webhook-disabled"], &["R5"])
        .resolve()
        .unwrap();
    let report = session::run(&settings, quiet()).await.unwrap();
    let scenario = report
        .scenarios
        .iter()
        .find(|s| s.name == "create-with-role-injects-web-identity")
        .unwrap();
    match &scenario.outcome {
        Outcome::Failed {
            expected, actual, ..
        } => {
            assert!(expected.contains("AWS_ROLE_ARN arn:"), "{expected}");
            assert!(actual.contains("<absent>"), "{actual}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(
        matches!(rule(&report, "R5"), Outcome::Failed { message, .. } if message.contains("create-with-role-injects-web-identity"))
    );
    assert_eq!(ExitStatus::of_run(&report).code(), 1);
    assert!(report.leftovers.is_empty(), "{:?}", report.leftovers);
}

#[tokio::test]
async fn unknown_fault_is_a_usage_error() {
    let reports = tempfile::tempdir().unwrap();
    // Fault names are parsed when the settings are resolved, before anything runs.
    let err = args(&reports, &["no-such-fault"], &[])
        .resolve()
        .unwrap_err();
    assert!(err.to_string().contains("no-such-fault"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_times_out_fails_with_what_it_last_saw_and_cleans_up() {
    let reports = tempfile::tempdir().unwrap();
    let scenario = reports.path().join("timeout.yaml");
    std::fs::write(
        &scenario,
        r#"name: times-out
description: Waits for a deployment that never comes.
rules: [R4]
steps:
  - create_service_account: {namespace: "outside-{{run_id}}", name: waiting}
  - expect_service_accounts: {release: "never-{{run_id}}", annotations: {a: b}, timeout: 1s}
"#,
    )
    .unwrap();
    let mut args = args(&reports, &[], &[]);
    args.paths = vec![scenario];
    let report = session::run(&args.resolve().unwrap(), quiet())
        .await
        .unwrap();
    match &report.scenarios[0].outcome {
        Outcome::Failed {
            message, actual, ..
        } => {
            assert!(message.contains("timed out after 1s"), "{message}");
            assert!(actual.contains("no Deployment matches"), "{actual}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(report.leftovers.is_empty(), "{:?}", report.leftovers);
    let cleanup = report.scenarios[0].steps.last().unwrap();
    assert_eq!(cleanup.kind, "cleanup");
    assert_eq!(cleanup.outcome, Outcome::Passed);
}

/// A step that names no timeout gets the profile's `step_timeout`, and `--step-timeout` wins
/// over the profile (the eks profile sets 10m for a real platform's first rollout). The wait
/// never holds, so the step's failure names the budget it had.
#[test]
fn the_profiles_step_timeout_applies_unless_the_command_line_sets_one() {
    let dir = tempfile::tempdir().unwrap();
    let sim = include_str!("../../fixtures/targets/sim.yaml");
    let profile = dir.path().join("slow.yaml");
    std::fs::write(
        &profile,
        format!(
            "{}step_timeout: 1s\n",
            sim.replace("name: sim\n", "name: slow\n")
        ),
    )
    .unwrap();
    let scenario = dir.path().join("never.yaml");
    std::fs::write(
        &scenario,
        r#"name: never-annotated
description: Waits for ServiceAccounts of a release nobody creates, with no step timeout.
rules: [R12]
steps:
  - create_service_account: {namespace: "outside-{{run_id}}", name: one}
  - expect_service_accounts: {release: "never-{{run_id}}", annotations: {a: b}, rules: [R12]}
"#,
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let json = dir.path().join("results.json");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rolecheck"))
            .arg("run")
            .arg("--profile")
            .arg(&profile)
            .args(extra)
            .arg("--json")
            .arg(&json)
            .arg("--junit")
            .arg(dir.path().join("junit.xml"))
            .arg(&scenario)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        std::fs::read_to_string(&json).unwrap()
    };
    let from_profile = run(&[]);
    assert!(
        from_profile.contains("timed out after 1s"),
        "{from_profile}"
    );
    let from_cli = run(&["--step-timeout", "2s"]);
    assert!(from_cli.contains("timed out after 2s"), "{from_cli}");
}

/// A profile's `jobs` is how many scenarios run at once when `-j` does not say: with
/// `jobs: 1` no two scenarios' running times overlap (each waits a second for a release
/// nobody creates). The built-in profiles set it per target.
#[test]
fn the_profiles_jobs_apply_unless_the_command_line_sets_them() {
    let dir = tempfile::tempdir().unwrap();
    let sim = include_str!("../../fixtures/targets/sim.yaml");
    assert!(sim.contains("\njobs: 8\n"), "the sim's profile sets 8");
    let profile = dir.path().join("one.yaml");
    std::fs::write(
        &profile,
        sim.replace("name: sim\n", "name: one\n")
            .replace("\njobs: 8\n", "\njobs: 1\n"),
    )
    .unwrap();
    for i in 0..3 {
        std::fs::write(
            dir.path().join(format!("wait-{i}.yaml")),
            format!(
                r#"name: wait-{i}
description: Waits a second for ServiceAccounts of a release nobody creates.
rules: [R12]
steps:
  - expect_service_accounts: {{release: "never-{{{{run_id}}}}", annotations: {{a: b}}, timeout: 1s, rules: [R12]}}
"#
            ),
        )
        .unwrap();
    }
    let json = dir.path().join("results.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .arg("run")
        .arg("--profile")
        .arg(&profile)
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(dir.path().join("junit.xml"))
        .args((0..3).map(|i| dir.path().join(format!("wait-{i}.yaml"))))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let mut spans: Vec<(f64, f64)> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let start = chrono::DateTime::parse_from_rfc3339(s["started_at"].as_str().unwrap())
                .unwrap()
                .timestamp_millis() as f64
                / 1000.0;
            (start, start + s["duration"].as_f64().unwrap())
        })
        .collect();
    assert_eq!(spans.len(), 3);
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    for pair in spans.windows(2) {
        // Millisecond timestamps: allow their rounding, not a second scenario's wait.
        assert!(
            pair[1].0 + 0.002 >= pair[0].1,
            "scenarios overlapped with jobs: 1: {spans:?}"
        );
    }
}

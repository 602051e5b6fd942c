//! Suites and CI options of `rolecheck run`: `--partition`, `--rerun-failed`, `--suite
//! qualify`, `--junit-level`, `--html`, and `report merge` over the shards.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rolecheck::plan;
use rolecheck::report::json::{read_json, write_json};
use rolecheck::report::model::{Outcome, RunReport};
use rolecheck::scenario::load_paths;
use rolecheck::suite::{Partition, PartitionKind, Stability};
use rolecheck::target;
use rstest::rstest;

fn suite_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn rolecheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `rolecheck run` with every report inside `dir` (named after `tag`).
fn run_into(dir: &Path, tag: &str, extra: &[&str], paths: &[&Path]) -> Output {
    let junit = dir.join(format!("{tag}-junit.xml"));
    let json = dir.join(format!("{tag}.json"));
    let mut args: Vec<String> = vec![
        "run".into(),
        "-j".into(),
        "4".into(),
        "--step-timeout".into(),
        "20s".into(),
        format!("--junit={}", junit.display()),
        format!("--json={}", json.display()),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args.extend(paths.iter().map(|p| p.display().to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    rolecheck(&refs)
}

// ---------------------------------------------------------------- partitions

#[rstest]
#[case("1/1", PartitionKind::Count, 1, 1)]
#[case("2/3", PartitionKind::Count, 2, 3)]
#[case("count:3/3", PartitionKind::Count, 3, 3)]
#[case("hash:1/4", PartitionKind::Hash, 1, 4)]
fn partitions_parse(
    #[case] text: &str,
    #[case] kind: PartitionKind,
    #[case] k: u32,
    #[case] n: u32,
) {
    let p: Partition = text.parse().unwrap();
    assert_eq!(p, Partition::new(kind, k, n).unwrap());
    assert_eq!((p.shard(), p.total()), (k, n));
}

#[rstest]
#[case("0/2")]
#[case("3/2")]
#[case("1/0")]
#[case("1")]
#[case("a/b")]
#[case("slice:1/2")]
#[case("")]
fn bad_partitions_are_refused(#[case] text: &str) {
    let err = text.parse::<Partition>().unwrap_err();
    assert!(err.to_string().contains("K/N"), "{err}");
}

#[rstest]
#[case("0/2")]
#[case("3/2")]
#[case("x")]
fn bad_partition_is_a_usage_error(#[case] text: &str) {
    let out = rolecheck(&["run", "--partition", text, "../scenarios"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("partition"), "{}", stderr(&out));
}

/// For every N and both kinds, the shards are disjoint, their union is the suite, and the
/// same shard is chosen again on a second call.
#[rstest]
fn shards_are_deterministic_disjoint_and_complete(
    #[values(PartitionKind::Count, PartitionKind::Hash)] kind: PartitionKind,
    #[values(1, 2, 3, 5)] total: u32,
) {
    let scenarios = load_paths(&[suite_dir()]).unwrap();
    let planned = plan::plan(scenarios, &[], "sim", &target::sim::capabilities());
    let all: BTreeSet<String> = planned.iter().map(|p| p.scenario.name.clone()).collect();
    let mut union = BTreeSet::new();
    let mut sizes = Vec::new();
    for k in 1..=total {
        let p = Partition::new(kind, k, total).unwrap();
        let first: Vec<String> = p
            .select(planned.clone())
            .into_iter()
            .map(|p| p.scenario.name)
            .collect();
        let again: Vec<String> = p
            .select(planned.clone())
            .into_iter()
            .map(|p| p.scenario.name)
            .collect();
        assert_eq!(first, again, "{p} is not deterministic");
        for name in &first {
            assert!(
                union.insert(name.clone()),
                "{name} is in two shards of {total}"
            );
        }
        sizes.push(first.len());
    }
    assert_eq!(union, all);
    if kind == PartitionKind::Count {
        let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(max - min <= 1, "uneven count shards: {sizes:?}");
    }
}

#[test]
fn shards_keep_suite_order() {
    let scenarios = load_paths(&[suite_dir()]).unwrap();
    let planned = plan::plan(scenarios, &[], "sim", &target::sim::capabilities());
    let shard = Partition::new(PartitionKind::Count, 1, 2)
        .unwrap()
        .select(planned);
    let indexes: Vec<usize> = shard.iter().map(|p| p.index).collect();
    let mut sorted = indexes.clone();
    sorted.sort_unstable();
    assert_eq!(indexes, sorted);
}

/// Two shards run for real, then merged: the merged report is the whole suite.
#[test]
fn shards_run_and_merge_into_the_whole_suite() {
    let dir = tempfile::tempdir().unwrap();
    let suite = suite_dir();
    for k in 1..=2 {
        let partition = format!("--partition={k}/2");
        let out = run_into(
            dir.path(),
            &format!("p{k}"),
            &[&partition, "--filter=R1", "--filter=R2", "--filter=R9"],
            &[&suite],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let (p1, p2) = (
        read_json(&dir.path().join("p1.json")).unwrap(),
        read_json(&dir.path().join("p2.json")).unwrap(),
    );
    let merged_dir = dir.path().join("merged");
    let out = rolecheck(&[
        "report",
        "merge",
        merged_dir.to_str().unwrap(),
        dir.path().join("p1.json").to_str().unwrap(),
        dir.path().join("p2.json").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let merged = read_json(&merged_dir.join("results.json")).unwrap();
    let names: BTreeSet<&str> = merged.scenarios.iter().map(|s| s.name.as_str()).collect();
    let scenarios = load_paths(&[suite]).unwrap();
    let expected: BTreeSet<&str> = scenarios
        .iter()
        .filter(|s| {
            s.rules
                .iter()
                .any(|r| ["R1", "R2", "R9"].contains(&r.to_string().as_str()))
        })
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, expected);
    assert_eq!(p1.scenarios.len() + p2.scenarios.len(), expected.len());
    assert_eq!(
        merged.rules.iter().find(|r| r.id == "R2").unwrap().outcome,
        Outcome::Passed
    );
}

// ---------------------------------------------------------------- --rerun-failed

/// A report with one passed and one failed scenario of the real suite.
fn previous_report(failed: &[&str], passed: &[&str]) -> RunReport {
    let scenario = |name: &str, outcome: Outcome| rolecheck::report::model::ScenarioResult {
        name: name.to_owned(),
        file: PathBuf::from("x.yaml"),
        rules: vec!["R2".to_owned()],
        tags: vec![],
        release: "rc-x-0".to_owned(),
        outcome,
        duration: std::time::Duration::ZERO,
        steps: vec![],
        rule_outcomes: vec![],
        started_at: None,
        evidence: vec![],
    };
    let mut scenarios: Vec<_> = passed
        .iter()
        .map(|n| scenario(n, Outcome::Passed))
        .collect();
    scenarios.extend(failed.iter().map(|n| {
        scenario(
            n,
            Outcome::Failed {
                message: "m".into(),
                expected: String::new(),
                actual: String::new(),
            },
        )
    }));
    RunReport {
        run_id: "prev".into(),
        target: "sim".into(),
        started_at: "2026-11-03T09:00:00Z".into(),
        duration: std::time::Duration::ZERO,
        rules: vec![],
        scenarios,
        leftovers: vec![],
        reruns: vec![],
        interrupted: false,
    }
}

#[test]
fn rerun_failed_runs_only_what_failed() {
    let dir = tempfile::tempdir().unwrap();
    let previous = dir.path().join("previous.json");
    write_json(
        &previous_report(
            &["create-with-role-annotates-service-accounts"],
            &["pod-token-assumes-role"],
        ),
        &previous,
    )
    .unwrap();
    let flag = format!("--rerun-failed={}", previous.display());
    let out = run_into(dir.path(), "again", &[&flag], &[&suite_dir()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = read_json(&dir.path().join("again.json")).unwrap();
    let names: Vec<&str> = report.scenarios.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["create-with-role-annotates-service-accounts"]);
    assert!(
        dir.path().join("index.html").exists(),
        "HTML next to the JSON report"
    );
}

#[test]
fn rerun_failed_with_nothing_failed_says_so_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let previous = dir.path().join("previous.json");
    write_json(
        &previous_report(&[], &["pod-token-assumes-role"]),
        &previous,
    )
    .unwrap();
    let flag = format!("--rerun-failed={}", previous.display());
    let out = run_into(dir.path(), "again", &[&flag], &[&suite_dir()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("nothing to rerun"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("again.json").exists());
}

#[test]
fn rerun_failed_without_a_report_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let flag = format!("--rerun-failed={}", dir.path().join("none.json").display());
    let out = run_into(dir.path(), "again", &[&flag], &[&suite_dir()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("none.json"), "{}", stderr(&out));
}

// ---------------------------------------------------------------- --suite qualify

#[test]
fn repeat_needs_the_qualify_suite() {
    let out = rolecheck(&["run", "--repeat", "2", "../scenarios"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--suite qualify"), "{}", stderr(&out));
}

/// A scenario that fails every time is a regression; the verdict is in the console, the
/// JSON and the JUnit message; a passing scenario is not re-run.
#[test]
fn qualify_tells_a_regression_by_rerunning_it() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = dir.path().join("scenarios");
    std::fs::create_dir(&scenarios).unwrap();
    std::fs::write(
        scenarios.join("never.yaml"),
        r#"name: never-comes
description: Waits for a deployment that never comes.
rules: [R4]
steps:
  - expect_service_accounts: {release: "never-{{run_id}}", annotations: {a: b}, timeout: 1s}
"#,
    )
    .unwrap();
    std::fs::write(
        scenarios.join("fine.yaml"),
        r#"name: fine
description: Creates a ServiceAccount.
rules: [R12]
steps:
  - create_service_account: {namespace: "outside-{{run_id}}", name: fine, rules: [R12]}
"#,
    )
    .unwrap();
    let out = run_into(
        dir.path(),
        "q",
        &["--suite=qualify", "--repeat=2"],
        &[&scenarios],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let console = stderr(&out);
    assert!(console.contains("RERUN 2/2 FAIL never-comes"), "{console}");
    assert!(
        console.contains("REGRESSION never-comes: regression: failed 2 of 2 re-runs"),
        "{console}"
    );

    let report = read_json(&dir.path().join("q.json")).unwrap();
    assert_eq!(report.reruns.len(), 1);
    let rerun = &report.reruns[0];
    assert_eq!(rerun.scenario, "never-comes");
    assert_eq!(rerun.stability, Stability::Regression);
    assert_eq!(rerun.outcomes.len(), 2);
    assert!(report.leftovers.is_empty(), "{:?}", report.leftovers);
    let never = report
        .scenarios
        .iter()
        .find(|s| s.name == "never-comes")
        .unwrap();
    match &never.outcome {
        Outcome::Failed { message, .. } => {
            assert!(
                message.starts_with("regression: failed 2 of 2 re-runs: "),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    let junit = std::fs::read_to_string(dir.path().join("q-junit.xml")).unwrap();
    assert!(
        junit.contains("message=\"regression: failed 2 of 2 re-runs"),
        "{junit}"
    );
    let html = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(html.contains("Re-runs of failed scenarios"));
}

#[test]
fn junit_level_and_html_path_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("elsewhere/report.html");
    let flag = format!("--html={}", html.display());
    let out = run_into(
        dir.path(),
        "lvl",
        &["--junit-level=step", &flag, "--filter=R10"],
        &[&suite_dir()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let junit = std::fs::read_to_string(dir.path().join("lvl-junit.xml")).unwrap();
    assert!(junit.contains(" :: #1 "), "{junit}");
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .contains("id=\"rule-R10\"")
    );
}

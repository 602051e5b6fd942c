//! `rolecheck report merge`: shards joined into one report with recomputed rule verdicts.

mod report_fixture;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use rolecheck::report::json::{read_json, write_json};
use rolecheck::report::merge::{MergeError, merge};
use rolecheck::report::model::{Outcome, RunReport};
use rolecheck::report::verdict::rule_verdicts;

use report_fixture::sample_report;

/// The sample report split in two shards: scenarios 0, 2, 4 and 1, 3.
fn shards() -> (RunReport, RunReport) {
    let full = sample_report();
    let mut a = full.clone();
    let mut b = full;
    a.scenarios = a.scenarios.into_iter().step_by(2).collect();
    b.scenarios = b.scenarios.into_iter().skip(1).step_by(2).collect();
    a.rules = rule_verdicts(&a.scenarios);
    b.rules = rule_verdicts(&b.scenarios);
    a.run_id = "aaaa".to_owned();
    b.run_id = "bbbb".to_owned();
    a.started_at = "2026-11-03T09:00:05Z".to_owned();
    b.started_at = "2026-11-03T09:00:00Z".to_owned();
    a.duration = Duration::from_secs(3);
    b.duration = Duration::from_secs(5);
    a.leftovers = vec![];
    (a, b)
}

fn rule<'a>(report: &'a RunReport, id: &str) -> &'a Outcome {
    &report.rules.iter().find(|r| r.id == id).unwrap().outcome
}

#[test]
fn shards_merge_back_into_the_whole_run() {
    let (a, b) = shards();
    // Shard a alone has no scenario for R3; shard b fails it.
    assert!(matches!(rule(&a, "R3"), Outcome::Skipped { .. }));
    let merged = merge(vec![
        (PathBuf::from("a.json"), a),
        (PathBuf::from("b.json"), b),
    ])
    .unwrap();
    let full = sample_report();
    let mut names: Vec<&str> = merged.scenarios.iter().map(|s| s.name.as_str()).collect();
    let mut expected: Vec<&str> = full.scenarios.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    expected.sort_unstable();
    assert_eq!(names, expected);
    assert_eq!(merged.rules, rule_verdicts(&merged.scenarios));
    assert!(matches!(rule(&merged, "R3"), Outcome::Failed { .. }));
    assert_eq!(rule(&merged, "R2"), &Outcome::Passed);
    assert_eq!(merged.run_id, "aaaa+bbbb");
    assert_eq!(merged.started_at, "2026-11-03T09:00:00Z");
    assert_eq!(merged.duration, Duration::from_secs(5));
    assert_eq!(merged.leftovers, vec!["namespace astronomer-update-6756"]);
    // Sorted by file, then name.
    let keys: Vec<(PathBuf, String)> = merged
        .scenarios
        .iter()
        .map(|s| (s.file.clone(), s.name.clone()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

#[test]
fn overlapping_shards_are_refused() {
    let full = sample_report();
    let err = merge(vec![
        (PathBuf::from("x.json"), full.clone()),
        (PathBuf::from("y.json"), full),
    ])
    .unwrap_err();
    assert!(matches!(err, MergeError::Duplicate { .. }), "{err}");
    assert!(err.to_string().contains("x.json") && err.to_string().contains("y.json"));
}

#[test]
fn reports_of_different_targets_are_refused() {
    let (a, mut b) = shards();
    b.target = "kind".to_owned();
    let err = merge(vec![
        (PathBuf::from("a.json"), a),
        (PathBuf::from("b.json"), b),
    ])
    .unwrap_err();
    assert!(matches!(err, MergeError::Targets { .. }), "{err}");
    assert!(matches!(merge(vec![]), Err(MergeError::Empty)));
}

#[test]
fn the_command_writes_junit_json_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = shards();
    let (pa, pb) = (dir.path().join("a.json"), dir.path().join("b.json"));
    write_json(&a, &pa).unwrap();
    write_json(&b, &pb).unwrap();
    let out_dir = dir.path().join("merged");
    let out = Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .args(["report", "merge", "--junit-level", "step"])
        .arg(&out_dir)
        .args([&pa, &pb])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged = read_json(&out_dir.join("results.json")).unwrap();
    assert_eq!(merged.scenarios.len(), 5);
    let junit = std::fs::read_to_string(out_dir.join("junit.xml")).unwrap();
    assert!(
        junit.contains("update-rebinds-role :: #2 expect_service_accounts"),
        "{junit}"
    );
    let html = std::fs::read_to_string(out_dir.join("index.html")).unwrap();
    assert!(html.contains("aaaa+bbbb"));

    let missing = Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .args(["report", "merge"])
        .arg(&out_dir)
        .arg(dir.path().join("nope.json"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

//! Rule verdicts, the JSON report and the console reporter.

mod report_fixture;

use std::io::Write;
use std::sync::{Arc, Mutex};

use indicatif::ProgressDrawTarget;
use rolecheck::report::ReportError;
use rolecheck::report::console::{ConsoleOptions, ConsoleReporter};
use rolecheck::report::events::Event;
use rolecheck::report::json::{read_json, write_json};
use rolecheck::report::model::{Outcome, ScenarioResult};
use rolecheck::report::verdict::rule_verdicts;
use rstest::rstest;

use report_fixture::{error, failed, rebind_failure, sample_report, scenario, skipped};

// ---------------------------------------------------------------- rule verdicts

fn only(name: &str, rules: &[&str], outcome: Outcome) -> ScenarioResult {
    scenario(name, "scenarios/x.yaml", rules, outcome, vec![])
}

/// The verdict on R5 for scenarios that all tag R5 (plus one tagging only R7).
#[rstest]
#[case::nothing_checks_it(vec![], skipped("no scenario checks this rule"), vec![])]
#[case::one_passed(vec![("a", Outcome::Passed)], Outcome::Passed, vec!["a"])]
#[case::passed_and_skipped(
    vec![("a", Outcome::Passed), ("b", skipped("no webhook"))],
    Outcome::Passed,
    vec!["a"]
)]
#[case::one_failed_among_passed(
    vec![("a", Outcome::Passed), ("b", failed("m", "x", "y"))],
    failed("failed in: b", "", ""),
    vec!["a", "b"]
)]
#[case::failed_beats_errored(
    vec![("a", failed("m", "", "")), ("b", Outcome::Passed), ("c", error("boom"))],
    failed("failed in: a", "", ""),
    vec!["a", "b", "c"]
)]
#[case::an_error_is_no_failure(
    vec![("a", skipped("no webhook")), ("b", error("boom"))],
    error("error in: b"),
    vec!["b"]
)]
#[case::blocked_is_named_apart(
    vec![("a", Outcome::Passed), ("b", error("blocked: create_deployment #1 at x.yaml:3:5 failed: refused")), ("c", error("boom"))],
    error("blocked: in b; error in: c"),
    vec!["a", "b", "c"]
)]
#[case::all_skipped_reasons_deduplicated(
    vec![
        ("a", skipped("target lacks capability webhook")),
        ("b", skipped("target lacks capability s3")),
        ("c", skipped("target lacks capability webhook")),
    ],
    skipped(
        "every scenario checking it was skipped on this target: \
         target lacks capability webhook; target lacks capability s3"
    ),
    vec![]
)]
fn verdict_on_r5(
    #[case] checking: Vec<(&str, Outcome)>,
    #[case] expected: Outcome,
    #[case] expected_scenarios: Vec<&str>,
) {
    let mut scenarios: Vec<ScenarioResult> = checking
        .into_iter()
        .map(|(name, outcome)| only(name, &["R5", "R6"], outcome))
        .collect();
    scenarios.push(only("other", &["R7"], failed("unrelated", "", "")));

    let verdicts = rule_verdicts(&scenarios);
    assert_eq!(verdicts.len(), 16);
    let ids: Vec<&str> = verdicts.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids[0], "R1");
    assert_eq!(ids[15], "R16");
    let r5 = &verdicts[4];
    assert_eq!(r5.id, "R5");
    assert_eq!(
        r5.title,
        rolecheck::contract::title(rolecheck::rules::RuleId::new(5).expect("R5"))
    );
    assert_eq!(r5.outcome, expected);
    assert_eq!(r5.scenarios, expected_scenarios);
    // R6 is tagged by the same scenarios, so it gets the same verdict.
    assert_eq!(verdicts[5].outcome, expected);
    // The R7-only failure never leaks into R5.
    assert_eq!(verdicts[6].outcome, failed("failed in: other", "", ""));
}

#[test]
fn unknown_rule_tags_are_ignored() {
    let verdicts = rule_verdicts(&[only("a", &["R99", "nonsense", " R2 "], Outcome::Passed)]);
    assert_eq!(verdicts[1].outcome, Outcome::Passed);
    assert_eq!(
        verdicts
            .iter()
            .filter(|v| v.outcome == Outcome::Passed)
            .count(),
        1
    );
}

// ---------------------------------------------------------------- JSON

#[test]
fn json_round_trips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("out/run.json");
    let report = sample_report();
    write_json(&report, &path).expect("write");
    let back = read_json(&path).expect("read");
    assert_eq!(back, report);

    let text = std::fs::read_to_string(&path).expect("read text");
    assert!(
        text.contains("\n  \"run_id\": \"run-1a2b\""),
        "pretty JSON: {text}"
    );
}

#[test]
fn read_json_names_the_file_it_cannot_parse() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("broken.json");
    std::fs::write(&path, "{\"run_id\": 3}").expect("write");
    let err = read_json(&path).expect_err("not a report");
    assert!(matches!(err, ReportError::Parse { .. }), "{err:?}");
    assert!(err.to_string().contains("broken.json"));

    let missing = read_json(&dir.path().join("missing.json")).expect_err("no file");
    assert!(matches!(missing, ReportError::Read { .. }), "{missing:?}");
}

// ---------------------------------------------------------------- console

/// A writer the test can read after the reporter is done with it.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("lock").clone()).expect("UTF-8")
    }
}

/// Replaces every `<digits>.<digits>s` with `N.NNs`.
fn mask_durations(text: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let int_end = i;
        if int_end > start && i < chars.len() && chars[i] == '.' {
            let mut j = i + 1;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            if j > i + 1 && j < chars.len() && chars[j] == 's' {
                out.push_str("N.NNs");
                i = j + 1;
                continue;
            }
        }
        if int_end > start {
            out.extend(&chars[start..int_end]);
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn events() -> Vec<Event> {
    let report = sample_report();
    let mut events = vec![Event::RunStarted {
        run_id: report.run_id.clone(),
        target: report.target.clone(),
        total: report.scenarios.len(),
    }];
    for s in &report.scenarios {
        events.push(Event::ScenarioStarted {
            name: s.name.clone(),
        });
        for step in &s.steps {
            events.push(Event::StepFinished {
                scenario: s.name.clone(),
                step: step.clone(),
            });
        }
        events.push(Event::ScenarioFinished(s.clone()));
    }
    events.push(Event::RunFinished(report));
    events
}

const EXPECTED_PLAIN: &str = "\
rolecheck run run-1a2b on target sim: 5 scenarios
PASS create-with-role-annotates-all-components (N.NNs)
FAIL update-rebinds-role: ServiceAccount annotation eks.amazonaws.com/role-arn differs
    step: [steps #2] expect_service_accounts
    at: scenarios/update.yaml:9:5
    expected: arn:aws:iam::000000000000:role/role-b
    actual:   arn:aws:iam::000000000000:role/role-a
    log:
    | GET /api/v1/namespaces/astronomer-update-6756/serviceaccounts
    | annotations: {\"eks.amazonaws.com/role-arn\": <role-a> & more]]>
ERROR viewer-cannot-set-role: platform API unreachable: connection refused
    step: [steps #1] create_deployment
    at: scenarios/permissions.yaml:7:5
    log:
    | POST http://127.0.0.1:8871/v1 (as viewer)
SKIP image-packages: target lacks capability real-images
SKIP token-audience-refused: target lacks capability sts-validates-signature

Summary: 1 passed, 1 failed, 1 errors, 2 skipped of 5 scenarios in N.NNs (run run-1a2b, target sim)
Rules:
R1  SKIP  no scenario checks this rule
R2  PASS  checked by: create-with-role-annotates-all-components
R3  FAIL  failed in: update-rebinds-role
R4  PASS  checked by: create-with-role-annotates-all-components
R5  PASS  checked by: create-with-role-annotates-all-components
R6  FAIL  failed in: update-rebinds-role
R7  SKIP  no scenario checks this rule
R8  SKIP  no scenario checks this rule
R9  ERROR  error in: viewer-cannot-set-role
R10 SKIP  no scenario checks this rule
R11 SKIP  no scenario checks this rule
R12 SKIP  every scenario checking it was skipped on this target: target lacks capability sts-validates-signature
R13 SKIP  no scenario checks this rule
R14 SKIP  no scenario checks this rule
R15 SKIP  every scenario checking it was skipped on this target: target lacks capability real-images
R16 SKIP  no scenario checks this rule
Leftovers (1): the run could not remove these objects
    namespace astronomer-update-6756
";

#[test]
fn plain_console_output() {
    let out = Captured::default();
    let mut reporter = ConsoleReporter::new(Box::new(out.clone()), ConsoleOptions::plain());
    for e in events() {
        reporter.handle(&e).expect("write");
    }
    reporter.finish().expect("flush");
    let text = out.text();
    assert!(!text.contains('\u{1b}'), "no colour in plain mode");
    assert_eq!(mask_durations(&text), EXPECTED_PLAIN);
}

#[test]
fn colour_wraps_verdicts_only() {
    let out = Captured::default();
    let options = ConsoleOptions {
        color: true,
        progress: false,
    };
    let mut reporter = ConsoleReporter::new(Box::new(out.clone()), options);
    for e in events() {
        reporter.handle(&e).expect("write");
    }
    let text = out.text();
    assert!(text.contains("\u{1b}[32mPASS\u{1b}[0m create-with-role"));
    assert!(text.contains("\u{1b}[31mFAIL\u{1b}[0m update-rebinds-role"));
    assert!(text.contains("R14 \u{1b}[33mSKIP\u{1b}[0m  no scenario checks this rule"));
}

#[test]
fn long_logs_show_their_tail() {
    let mut report = sample_report();
    let step = &mut report.scenarios[1].steps[1];
    step.log = (1..=25).map(|i| format!("line {i}")).collect();
    let out = Captured::default();
    let mut reporter = ConsoleReporter::new(Box::new(out.clone()), ConsoleOptions::plain());
    reporter
        .handle(&Event::ScenarioFinished(report.scenarios[1].clone()))
        .expect("write");
    let text = out.text();
    assert!(
        text.contains("    log (last 10 of 25 lines):\n    | line 16\n"),
        "{text}"
    );
    assert!(text.contains("| line 25\n"));
    assert!(!text.contains("| line 15\n"));
}

#[tokio::test]
async fn spawned_reporter_drains_the_channel_with_a_progress_bar() {
    let out = Captured::default();
    let reporter = ConsoleReporter::new(Box::new(out.clone()), ConsoleOptions::plain())
        .with_progress_target(ProgressDrawTarget::hidden());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let task = reporter.spawn(rx);
    for e in events() {
        tx.send(e).expect("reporter is listening");
    }
    drop(tx);
    task.await.expect("task").expect("write");
    assert_eq!(mask_durations(&out.text()), EXPECTED_PLAIN);
}

#[test]
fn rerun_input_keeps_failed_and_skipped_outcomes() {
    // `--rerun-failed` reads the JSON back and picks the bad scenarios.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run.json");
    let mut report = sample_report();
    report.scenarios[0].outcome = rebind_failure();
    write_json(&report, &path).expect("write");
    let back = read_json(&path).expect("read");
    let bad: Vec<&str> = back
        .scenarios
        .iter()
        .filter(|s| s.outcome.is_bad())
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        bad,
        [
            "create-with-role-annotates-all-components",
            "update-rebinds-role",
            "viewer-cannot-set-role"
        ]
    );
}

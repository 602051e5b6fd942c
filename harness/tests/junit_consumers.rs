//! The JUnit report as CI systems read it: golden files for a passing, a failing, a blocked,
//! a skipped and a flaky scenario; validation against the JUnit schema
//! (`tests/junit/junit.xsd`, with `xmllint`, which `make test` installs); and the XML parsed
//! the way GitLab, Jenkins' junit plugin and the GitHub junit actions read it.
//!
//! Regenerate the golden files with
//! `UPDATE_GOLDEN=1 cargo test -p rolecheck --test junit_consumers`.

mod report_fixture;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use rolecheck::report::junit::{JunitLevel, render_junit};
use rstest::rstest;

use report_fixture::{sample_report, verdict_reports};

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn check_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| !v.is_empty()) {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(
        actual,
        expected,
        "{} differs (run with UPDATE_GOLDEN=1 to accept)",
        path.display()
    );
}

fn report_xml(kind: &str) -> String {
    let (_, report) = verdict_reports()
        .into_iter()
        .find(|(k, _)| *k == kind)
        .unwrap_or_else(|| panic!("no {kind} report"));
    render_junit(&report, JunitLevel::Scenario).expect("render")
}

#[rstest]
#[case("passing")]
#[case("failing")]
#[case("blocked")]
#[case("skipped")]
#[case("flaky")]
fn matches_golden_file(#[case] kind: &str) {
    check_golden(&format!("junit-{kind}.xml"), &report_xml(kind));
}

// ---------------------------------------------------------------- schema

fn schema() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/junit/junit.xsd")
}

/// `xmllint --schema` on `xml`; the validator's messages on failure.
fn validate(xml: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("junit.xml");
    std::fs::write(&file, xml).expect("write");
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schema())
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!("xmllint: {e}: install libxml2-utils (`make test` installs it)")
        });
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn every_report_is_valid_against_the_schema() {
    let mut docs: Vec<(String, String)> = verdict_reports()
        .into_iter()
        .flat_map(|(kind, report)| {
            [JunitLevel::Scenario, JunitLevel::Step].map(|level| {
                (
                    format!("{kind} {level:?}"),
                    render_junit(&report, level).expect("render"),
                )
            })
        })
        .collect();
    for level in [JunitLevel::Scenario, JunitLevel::Step] {
        docs.push((
            format!("sample {level:?}"),
            render_junit(&sample_report(), level).expect("render"),
        ));
    }
    for (what, xml) in docs {
        if let Err(errors) = validate(&xml) {
            panic!("{what}: {errors}\n{xml}");
        }
    }
}

#[test]
fn the_schema_rejects_what_consumers_would_misread() {
    let xml = report_xml("failing");
    assert!(validate(&xml).is_ok());
    // A message attribute over two lines, a second verdict in one test case, and a test
    // case without classname are each refused.
    let two_lines = xml.replacen(
        "message=\"expect_pods #3",
        "message=\"expect_pods&#10;#3",
        1,
    );
    assert_ne!(two_lines, xml);
    assert!(validate(&two_lines).is_err(), "{two_lines}");
    let twice = xml.replacen("<system-out>", "<skipped message=\"x\"/><system-out>", 1);
    assert!(validate(&twice).is_err());
    let nameless = xml.replacen(" classname=\"scenarios/", " class=\"scenarios/", 1);
    assert!(validate(&nameless).is_err());
}

// ---------------------------------------------------------------- consumers

/// One `<testcase>` as the consumers read it.
#[derive(Debug, Default, Clone)]
struct Case {
    suite: String,
    name: String,
    classname: Option<String>,
    file: Option<String>,
    line: Option<String>,
    /// `failure`, `error`, `skipped` or empty.
    verdict: String,
    message: Option<String>,
    kind: Option<String>,
    /// Names of the re-run elements inside it.
    reruns: Vec<String>,
    properties: Vec<(String, String)>,
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .map(|a| a.expect("attribute"))
        .find(|a| a.key.as_ref() == name.as_bytes())
        .map(|a| a.unescape_value().expect("value").into_owned())
}

fn cases(xml: &str) -> Vec<Case> {
    let mut reader = Reader::from_str(xml);
    let mut out: Vec<Case> = Vec::new();
    let mut suite = String::new();
    let mut in_case = false;
    loop {
        let event = reader.read_event().expect("well-formed XML");
        match &event {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"testsuite" => suite = attr(e, "name").unwrap_or_default(),
                b"testcase" => {
                    out.push(Case {
                        suite: suite.clone(),
                        name: attr(e, "name").unwrap_or_default(),
                        classname: attr(e, "classname"),
                        file: attr(e, "file"),
                        line: attr(e, "line"),
                        ..Case::default()
                    });
                    in_case = matches!(event, Event::Start(_));
                }
                tag @ (b"failure" | b"error" | b"skipped") if in_case => {
                    let case = out.last_mut().expect("a case");
                    case.verdict = String::from_utf8_lossy(tag).into_owned();
                    case.message = attr(e, "message");
                    case.kind = attr(e, "type");
                }
                tag @ (b"flakyFailure" | b"flakyError" | b"rerunFailure" | b"rerunError")
                    if in_case =>
                {
                    let case = out.last_mut().expect("a case");
                    case.reruns.push(String::from_utf8_lossy(tag).into_owned());
                }
                b"property" if in_case => {
                    let case = out.last_mut().expect("a case");
                    case.properties.push((
                        attr(e, "name").unwrap_or_default(),
                        attr(e, "value").unwrap_or_default(),
                    ));
                }
                _ => {}
            },
            Event::End(e) if e.name().as_ref() == b"testcase" => in_case = false,
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn all_docs() -> Vec<(String, String)> {
    let mut docs: Vec<(String, String)> = verdict_reports()
        .into_iter()
        .map(|(kind, report)| {
            (
                kind.to_owned(),
                render_junit(&report, JunitLevel::Scenario).expect("render"),
            )
        })
        .collect();
    docs.push((
        "sample steps".to_owned(),
        render_junit(&sample_report(), JunitLevel::Step).expect("render"),
    ));
    docs
}

/// What every consumer needs: a name, a classname and a file on every test case, a one-line
/// message on every failure, error and skip; GitLab also drops a test case whose classname
/// and name repeat another's.
#[test]
fn every_consumer_finds_name_classname_file_and_one_line_messages() {
    for (what, xml) in all_docs() {
        let cases = cases(&xml);
        assert!(!cases.is_empty(), "{what}");
        let mut seen = BTreeSet::new();
        for case in &cases {
            assert!(!case.name.is_empty(), "{what}: {case:?}");
            assert!(
                case.classname.as_deref().is_some_and(|c| !c.is_empty()),
                "{what}: {case:?}"
            );
            if case.suite == "scenarios" {
                assert!(
                    case.file.as_deref().is_some_and(|f| f.ends_with(".yaml")),
                    "{what}: {case:?}"
                );
            }
            if !case.verdict.is_empty() {
                let message = case.message.as_deref().unwrap_or_default();
                assert!(!message.is_empty(), "{what}: {case:?}");
                assert!(!message.contains('\n'), "{what}: {case:?}");
            }
            assert!(
                seen.insert((
                    case.suite.clone(),
                    case.classname.clone(),
                    case.name.clone()
                )),
                "{what}: duplicate {case:?}"
            );
        }
    }
}

fn scenario_case(kind: &str) -> Case {
    cases(&report_xml(kind))
        .into_iter()
        .find(|c| c.suite == "scenarios")
        .expect("a scenario test case")
}

fn property(case: &Case, name: &str) -> Option<String> {
    case.properties
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

/// GitLab and the junit plugin link a failure to `file` and `line`: the failing step's line.
#[test]
fn a_failure_points_at_its_step_and_names_its_rule() {
    let case = scenario_case("failing");
    assert_eq!(case.verdict, "failure");
    assert_eq!(case.line.as_deref(), Some("19"));
    assert_eq!(property(&case, "rule.R5").as_deref(), Some("failed"));
    assert_eq!(property(&case, "rule.R2").as_deref(), Some("passed"));
    assert!(
        case.message
            .as_deref()
            .is_some_and(|m| m.contains("3 pods: AWS_WEB_IDENTITY_TOKEN_FILE expected")),
        "{case:?}"
    );
}

/// A failed set-up step is an `error` of type `blocked`, never a `failure`: the rules after
/// it are blocked, not broken.
#[test]
fn a_blocked_scenario_is_an_error_not_a_failure() {
    let case = scenario_case("blocked");
    assert_eq!(case.verdict, "error");
    assert_eq!(case.kind.as_deref(), Some("blocked"));
    assert_eq!(case.line.as_deref(), Some("14"));
    assert!(
        case.message
            .as_deref()
            .is_some_and(|m| m.starts_with("blocked: expect_service_accounts #2 at ")),
        "{case:?}"
    );
    assert_eq!(property(&case, "rule.R5").as_deref(), Some("blocked"));
    let rules = cases(&report_xml("blocked"));
    let r5 = rules
        .iter()
        .find(|c| c.suite == "rules" && c.name.starts_with("R5 "))
        .expect("R5");
    assert_eq!(r5.verdict, "error", "{r5:?}");
}

/// Surefire's re-run format, as Jenkins and action-junit-report read it: a flaky scenario is
/// one passed test case carrying its failed runs as `<flakyFailure>`; never a duplicate.
#[test]
fn a_flaky_scenario_is_one_test_case_with_its_failed_runs_inside() {
    let all = cases(&report_xml("flaky"));
    let scenario: Vec<&Case> = all.iter().filter(|c| c.suite == "scenarios").collect();
    assert_eq!(scenario.len(), 1);
    assert_eq!(scenario[0].verdict, "");
    assert_eq!(scenario[0].reruns, ["flakyFailure", "flakyFailure"]);
}

/// A skip carries its reason as the `message` GitLab and the GitHub actions show.
#[test]
fn a_skip_says_why() {
    let case = scenario_case("skipped");
    assert_eq!(case.verdict, "skipped");
    assert_eq!(
        case.message.as_deref(),
        Some("target lacks capability real-images")
    );
}

#[test]
fn the_passing_case_carries_its_evidence() {
    let case = scenario_case("passing");
    assert_eq!(case.verdict, "");
    for (name, value) in [
        ("target", "sim"),
        ("run_id", "run-1a2b"),
        ("namespace", "astronomer-rc-1a2b-4"),
        ("role_arn", "arn:aws:iam::123456789:role/example-role"),
        ("rules", "R2,R5"),
    ] {
        assert_eq!(property(&case, name).as_deref(), Some(value), "{case:?}");
    }
    assert!(
        Path::new(case.file.as_deref().unwrap_or_default())
            .ends_with("create-with-role-injects-web-identity.yaml")
    );
}

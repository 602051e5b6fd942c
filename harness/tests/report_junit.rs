//! The JUnit reporter: a golden file, and the XML parsed back.
//!
//! Regenerate the golden file with `UPDATE_GOLDEN=1 cargo test -p rolecheck --test report_junit`.

mod report_fixture;

use std::collections::BTreeMap;
use std::path::PathBuf;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use rolecheck::report::junit::{JunitLevel, render_junit, write_junit};
use rolecheck::report::model::RunReport;

use report_fixture::sample_report;

/// Replaces the value of every ` <attr>="..."` with `...`.
fn mask_attr(xml: &str, attr: &str) -> String {
    let needle = format!(" {attr}=\"");
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(start) = rest.find(&needle) {
        let value_start = start + needle.len();
        out.push_str(&rest[..value_start]);
        out.push_str("...");
        let value_len = rest[value_start..].find('"').expect("closed attribute");
        rest = &rest[value_start + value_len..];
    }
    out.push_str(rest);
    out
}

fn masked(xml: &str) -> String {
    mask_attr(&mask_attr(xml, "time"), "timestamp")
}

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

#[test]
fn scenario_level_matches_golden_file() {
    let xml = render_junit(&sample_report(), JunitLevel::Scenario).expect("render");
    check_golden("junit.xml", &masked(&xml));
}

#[test]
fn step_level_matches_golden_file() {
    let xml = render_junit(&sample_report(), JunitLevel::Step).expect("render");
    check_golden("junit-steps.xml", &masked(&xml));
}

/// What one suite holds, as read back from the XML.
#[derive(Debug, Default)]
struct Suite {
    tests_attr: usize,
    failures_attr: usize,
    errors_attr: usize,
    /// Test case name -> `passed`, `failure`, `error` or `skipped`.
    cases: BTreeMap<String, String>,
    /// Test case name -> message of its failure/error/skipped element.
    messages: BTreeMap<String, String>,
    /// Test case name -> classname.
    classnames: BTreeMap<String, String>,
    /// Test case name -> text of its failure/error element.
    details: BTreeMap<String, String>,
    /// Test case name -> system-out.
    system_out: BTreeMap<String, String>,
    timestamp: String,
}

impl Suite {
    fn count(&self, status: &str) -> usize {
        self.cases.values().filter(|s| *s == status).count()
    }
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .map(|a| a.expect("attribute"))
        .find(|a| a.key.as_ref() == name.as_bytes())
        .map(|a| a.unescape_value().expect("value").into_owned())
}

/// The text of a text event or of an entity reference (quick-xml reports `&amp;` apart).
fn text_of(event: &Event<'_>) -> String {
    match event {
        Event::Text(t) => t.decode().expect("UTF-8").into_owned(),
        Event::GeneralRef(r) => {
            if let Some(c) = r.resolve_char_ref().expect("char ref") {
                return c.to_string();
            }
            match r.decode().expect("UTF-8").as_ref() {
                "amp" => "&",
                "lt" => "<",
                "gt" => ">",
                "quot" => "\"",
                "apos" => "'",
                other => panic!("unknown entity {other}"),
            }
            .to_owned()
        }
        _ => String::new(),
    }
}

fn parse(xml: &str) -> BTreeMap<String, Suite> {
    let mut reader = Reader::from_str(xml);
    let mut suites: BTreeMap<String, Suite> = BTreeMap::new();
    let mut suite = String::new();
    let mut case = String::new();
    let mut inside: Option<String> = None;
    loop {
        let event = reader.read_event().expect("well-formed XML");
        let (start, empty) = match &event {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            match e.name().as_ref() {
                b"testsuite" => {
                    suite = attr(&e, "name").expect("suite name");
                    let s = suites.entry(suite.clone()).or_default();
                    let num = |n| attr(&e, n).expect(n).parse::<usize>().expect("number");
                    s.tests_attr = num("tests");
                    s.failures_attr = num("failures");
                    s.errors_attr = num("errors");
                    s.timestamp = attr(&e, "timestamp").expect("timestamp");
                }
                b"testcase" => {
                    case = attr(&e, "name").expect("case name");
                    let s = suites.get_mut(&suite).expect("inside a suite");
                    s.cases.insert(case.clone(), "passed".to_owned());
                    if let Some(c) = attr(&e, "classname") {
                        s.classnames.insert(case.clone(), c);
                    }
                }
                tag @ (b"failure" | b"error" | b"skipped") => {
                    let status = if tag == b"skipped" {
                        "skipped"
                    } else {
                        std::str::from_utf8(tag).expect("tag")
                    };
                    let s = suites.get_mut(&suite).expect("inside a suite");
                    s.cases.insert(case.clone(), status.to_owned());
                    if let Some(m) = attr(&e, "message") {
                        s.messages.insert(case.clone(), m);
                    }
                    if !empty {
                        inside = Some("details".to_owned());
                    }
                }
                b"system-out" if !empty => inside = Some("system-out".to_owned()),
                _ => {}
            }
            continue;
        }
        match event {
            Event::Text(_) | Event::GeneralRef(_) if inside.is_some() => {
                let text = text_of(&event);
                let s = suites.get_mut(&suite).expect("inside a suite");
                let map = match inside.as_deref() {
                    Some("details") => &mut s.details,
                    _ => &mut s.system_out,
                };
                map.entry(case.clone()).or_default().push_str(&text);
            }
            Event::CData(t) => {
                let text = String::from_utf8(t.into_inner().into_owned()).expect("UTF-8");
                let s = suites.get_mut(&suite).expect("inside a suite");
                let map = match inside.as_deref() {
                    Some("details") => &mut s.details,
                    Some("system-out") => &mut s.system_out,
                    other => panic!("CDATA outside failure or system-out: {other:?}"),
                };
                map.entry(case.clone()).or_default().push_str(&text);
            }
            Event::End(_) => inside = None,
            Event::Eof => break,
            _ => {}
        }
    }
    suites
}

#[test]
fn scenario_level_parses_back_with_the_right_counts_and_verdicts() {
    let report = sample_report();
    let xml = render_junit(&report, JunitLevel::Scenario).expect("render");
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    let suites = parse(&xml);
    assert_eq!(
        suites.keys().collect::<Vec<_>>(),
        ["rules", "scenarios"],
        "two suites"
    );

    let scenarios = &suites["scenarios"];
    assert_eq!(scenarios.timestamp, "2026-11-03T09:00:00Z");
    assert_eq!(
        (
            scenarios.tests_attr,
            scenarios.failures_attr,
            scenarios.errors_attr
        ),
        (5, 1, 1)
    );
    assert_eq!(scenarios.cases.len(), 5);
    assert_eq!(scenarios.count("passed"), 1);
    assert_eq!(scenarios.count("failure"), 1);
    assert_eq!(scenarios.count("error"), 1);
    assert_eq!(scenarios.count("skipped"), 2);
    assert_eq!(
        scenarios.classnames["update-rebinds-role"],
        "scenarios/update.yaml"
    );
    assert_eq!(
        scenarios.messages["update-rebinds-role"],
        "ServiceAccount annotation eks.amazonaws.com/role-arn differs"
    );
    assert_eq!(
        scenarios.messages["image-packages"],
        "target lacks capability real-images"
    );
    let details = &scenarios.details["update-rebinds-role"];
    for needle in [
        "expected: arn:aws:iam::000000000000:role/role-b",
        "actual:   arn:aws:iam::000000000000:role/role-a",
        "at: scenarios/update.yaml:9:5",
        "step: [steps #2] expect_service_accounts",
        // The log line survives escaping, including a CDATA terminator.
        "| annotations: {\"eks.amazonaws.com/role-arn\": <role-a> & more]]>",
    ] {
        assert!(
            details.contains(needle),
            "{needle:?} missing from {details}"
        );
    }
    let out = &scenarios.system_out["create-with-role-annotates-all-components"];
    assert!(
        out.starts_with("[steps #1] create_deployment scenarios/create.yaml:9:5 passed (0.25s)\n    createDeployment release=create-6756"),
        "{out}"
    );
    assert!(out.contains("[finally #1] delete_deployment scenarios/create.yaml:24:5 passed"));

    let rules = &suites["rules"];
    assert_eq!(rules.cases.len(), 16);
    assert_eq!(
        (rules.tests_attr, rules.failures_attr, rules.errors_attr),
        (16, 2, 1)
    );
    assert_eq!(rules.count("passed"), 3);
    assert_eq!(rules.count("failure"), 2);
    assert_eq!(rules.count("error"), 1);
    assert_eq!(rules.count("skipped"), 10);
    assert!(rules.classnames.values().all(|c| c == "contract"));
    let status = |prefix: &str| {
        let (name, status) = rules
            .cases
            .iter()
            .find(|(name, _)| name.starts_with(&format!("{prefix} ")))
            .unwrap_or_else(|| panic!("no test case for {prefix}"));
        (name.clone(), status.clone())
    };
    assert_eq!(
        status("R2"),
        (
            "R2 create --cloud-role binds the role".to_owned(),
            "passed".to_owned()
        )
    );
    assert_eq!(status("R3").1, "failure");
    // An error (the platform was unreachable) is no verdict on the rule.
    assert_eq!(status("R9").1, "error");
    assert_eq!(status("R14").1, "skipped");
    let r9 = status("R9").0;
    assert_eq!(rules.messages[&r9], "error in: viewer-cannot-set-role");
    let r15 = status("R15").0;
    assert_eq!(
        rules.messages[&r15],
        "every scenario checking it was skipped on this target: target lacks capability real-images"
    );
    let r1 = status("R1").0;
    assert_eq!(rules.messages[&r1], "no scenario checks this rule");
}

#[test]
fn step_level_has_one_case_per_step() {
    let xml = render_junit(&sample_report(), JunitLevel::Step).expect("render");
    let suites = parse(&xml);
    let scenarios = &suites["scenarios"];
    // 3 + 3 + 1 steps, plus the two skipped scenarios that ran no step.
    assert_eq!(scenarios.cases.len(), 9);
    assert_eq!(scenarios.count("failure"), 1);
    assert_eq!(scenarios.count("error"), 1);
    assert_eq!(scenarios.count("skipped"), 2);
    assert_eq!(
        scenarios.cases["update-rebinds-role :: #2 expect_service_accounts"],
        "failure"
    );
    assert_eq!(
        scenarios.cases["update-rebinds-role :: finally #1 delete_deployment"],
        "passed"
    );
    let details = &scenarios.details["update-rebinds-role :: #2 expect_service_accounts"];
    assert!(details.contains("expected: arn:aws:iam::000000000000:role/role-b"));
    assert_eq!(suites["rules"].cases.len(), 16);
}

#[test]
fn step_level_keeps_a_scenario_error_no_step_carries() {
    let mut report = sample_report();
    report.scenarios[0].outcome = report_fixture::error("scenario timed out after 300s");
    let suites = parse(&render_junit(&report, JunitLevel::Step).expect("render"));
    let scenarios = &suites["scenarios"];
    assert_eq!(scenarios.cases.len(), 10);
    assert_eq!(
        scenarios.cases["create-with-role-annotates-all-components"],
        "error"
    );
    assert_eq!(
        scenarios.messages["create-with-role-annotates-all-components"],
        "scenario timed out after 300s"
    );
}

#[test]
fn rules_are_computed_when_the_report_has_none() {
    let mut report: RunReport = sample_report();
    report.rules.clear();
    let suites = parse(&render_junit(&report, JunitLevel::Scenario).expect("render"));
    assert_eq!(suites["rules"].cases.len(), 16);
    assert_eq!(suites["rules"].count("failure"), 2);
}

#[test]
fn write_junit_creates_parent_directories() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("reports/nested/junit.xml");
    write_junit(&sample_report(), JunitLevel::Scenario, &path).expect("write");
    let written = std::fs::read_to_string(&path).expect("read back");
    assert_eq!(parse(&written)["scenarios"].cases.len(), 5);
}

#[test]
fn control_characters_do_not_break_the_xml() {
    let mut report = sample_report();
    report.scenarios[1].outcome = report_fixture::failed(
        "colour \u{1b}[31mred\u{1b}[0m \"quoted\" <tag>",
        "a\u{0}b",
        "c",
    );
    report.scenarios[1].steps[1]
        .log
        .push("bell \u{7}".to_owned());
    let xml = render_junit(&report, JunitLevel::Scenario).expect("render");
    let suites = parse(&xml);
    assert_eq!(
        suites["scenarios"].messages["update-rebinds-role"],
        "colour \\u{1b}[31mred\\u{1b}[0m \"quoted\" <tag>"
    );
    assert!(suites["scenarios"].details["update-rebinds-role"].contains("expected: a\\u{0}b"));
}

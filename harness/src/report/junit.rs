//! The JUnit XML report, for CI systems.
//!
//! Two test suites:
//! - `scenarios`: one test case per scenario (classname = its file, name = its name), or, at
//!   [`JunitLevel::Step`], one per step (`<scenario> :: #2 expect_pods`);
//! - `rules`: one test case per contract rule (classname `contract`, name `R5 <title>`).
//!
//! Every suite carries the run's start time as its timestamp. Text is made safe for XML 1.0:
//! control characters are written as `\u{..}` and `]]>` is split across CDATA sections.

use std::path::Path;
use std::time::Duration;

use junit_report::{
    OffsetDateTime, Report, TestCase, TestCaseBuilder, TestSuite, TestSuiteBuilder,
};

use super::error::{ReportError, create_parent};
use super::model::{Outcome, RuleVerdict, RunReport, ScenarioResult, StepResult};
use super::text;
use super::verdict::rule_verdicts;

/// Name of the suite of scenario (or step) test cases.
pub const SCENARIOS_SUITE: &str = "scenarios";
/// Name of the suite of rule test cases.
pub const RULES_SUITE: &str = "rules";
/// Classname of the rule test cases.
pub const RULES_CLASSNAME: &str = "contract";

/// How fine-grained the `scenarios` suite is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum JunitLevel {
    /// One test case per scenario.
    #[default]
    Scenario,
    /// One test case per step.
    Step,
}

/// Renders the report as JUnit XML and writes it to `path`, creating its parent directories.
pub fn write_junit(report: &RunReport, level: JunitLevel, path: &Path) -> Result<(), ReportError> {
    let xml = render_junit(report, level)?;
    create_parent(path)?;
    std::fs::write(path, xml).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Renders the report as JUnit XML.
///
/// The rules suite uses [`RunReport::rules`], or verdicts computed from the scenarios when
/// that list is empty.
pub fn render_junit(report: &RunReport, level: JunitLevel) -> Result<String, ReportError> {
    let timestamp = parse_timestamp(&report.started_at)?;

    let scenarios: Vec<TestCase> = match level {
        JunitLevel::Scenario => report.scenarios.iter().map(scenario_case).collect(),
        JunitLevel::Step => report.scenarios.iter().flat_map(step_cases).collect(),
    };
    let computed;
    let verdicts = if report.rules.is_empty() {
        computed = rule_verdicts(&report.scenarios);
        &computed
    } else {
        &report.rules
    };
    let rules: Vec<TestCase> = verdicts.iter().map(rule_case).collect();

    let suites = [
        suite(SCENARIOS_SUITE, timestamp, scenarios),
        suite(RULES_SUITE, timestamp, rules),
    ];
    let mut out = Vec::new();
    let mut junit = Report::new();
    junit.add_testsuites(suites);
    junit
        .write_xml(&mut out)
        .map_err(|source| ReportError::Junit { source })?;
    out.push(b'\n');
    // The writer only ever emits UTF-8 from `&str` input.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn suite(name: &str, timestamp: OffsetDateTime, cases: Vec<TestCase>) -> TestSuite {
    TestSuiteBuilder::new(name)
        .set_timestamp(timestamp)
        .add_testcases(cases)
        .build()
}

/// The run's start time, for the suites' `timestamp`.
fn parse_timestamp(started_at: &str) -> Result<OffsetDateTime, ReportError> {
    let bad = |source| ReportError::Timestamp {
        value: started_at.to_owned(),
        source,
    };
    let parsed = chrono::DateTime::parse_from_rfc3339(started_at).map_err(bad)?;
    let nanos = i128::from(parsed.timestamp()) * 1_000_000_000
        + i128::from(parsed.timestamp_subsec_nanos());
    // Any chrono timestamp is within `time`'s range; fall back to the epoch rather than fail.
    Ok(OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH))
}

fn junit_time(d: Duration) -> junit_report::Duration {
    junit_report::Duration::try_from(d).unwrap_or(junit_report::Duration::MAX)
}

/// One test case for a whole scenario.
fn scenario_case(scenario: &ScenarioResult) -> TestCase {
    let failing = text::failing_step(scenario);
    let mut case = outcome_case(
        &scenario.name,
        scenario.duration,
        &scenario.outcome,
        failing,
        failing.map_or("scenario", |s| s.kind.as_str()),
    );
    case.set_classname(&xml_text(&scenario.file.display().to_string()));
    let log = text::step_log(scenario);
    if !log.is_empty() {
        case.set_system_out(&cdata_text(&log));
    }
    case.build()
}

/// One test case per step of a scenario. A scenario without steps (skipped, or broken before
/// its first step) is one test case of its own; so is a bad scenario none of whose steps is
/// bad (a scenario timeout, say), after its steps, so that its verdict is not lost.
fn step_cases(scenario: &ScenarioResult) -> Vec<TestCase> {
    if scenario.steps.is_empty() {
        return vec![scenario_case(scenario)];
    }
    let classname = xml_text(&scenario.file.display().to_string());
    let mut cases: Vec<TestCase> = scenario
        .steps
        .iter()
        .map(|step| {
            let name = format!("{} :: {}", scenario.name, step_case_suffix(step));
            let mut case =
                outcome_case(&name, step.duration, &step.outcome, Some(step), &step.kind);
            case.set_classname(&classname);
            case.set_system_out(&cdata_text(&text::single_step_log(step)));
            case.build()
        })
        .collect();
    if scenario.outcome.is_bad() && text::failing_step(scenario).is_none() {
        cases.push(scenario_case(scenario));
    }
    cases
}

/// `#2 expect_pods` for a step of `steps`, `finally #1 delete_deployment` otherwise.
fn step_case_suffix(step: &StepResult) -> String {
    match step.phase {
        super::model::Phase::Steps => format!("#{} {}", step.index + 1, step.kind),
        phase => format!(
            "{} #{} {}",
            text::phase_label(phase),
            step.index + 1,
            step.kind
        ),
    }
}

/// A test case builder for an outcome; failures and errors carry the details as their text.
fn outcome_case(
    name: &str,
    time: Duration,
    outcome: &Outcome,
    step: Option<&StepResult>,
    type_: &str,
) -> TestCaseBuilder {
    let name = xml_text(name);
    let type_ = xml_text(type_);
    let message = xml_text(text::first_line(text::outcome_message(outcome)));
    let details = || {
        let mut lines = vec![text::outcome_message(outcome).to_owned()];
        lines.extend(text::failure_details(outcome, step));
        cdata_text(&lines.join("\n"))
    };
    match outcome {
        Outcome::Passed => TestCaseBuilder::success(&name, junit_time(time)),
        Outcome::Failed { .. } => {
            let mut b = TestCaseBuilder::failure(&name, junit_time(time), &type_, &message);
            b.set_trace(&details());
            b
        }
        Outcome::Error { .. } => {
            let mut b = TestCaseBuilder::error(&name, junit_time(time), &type_, &message);
            b.set_trace(&details());
            b
        }
        Outcome::Skipped { .. } => TestCaseBuilder::skipped_with_cause(&name, "skipped", &message),
    }
}

/// One test case for a contract rule.
fn rule_case(rule: &RuleVerdict) -> TestCase {
    let name = xml_text(&format!("{} {}", rule.id, rule.title));
    let message = xml_text(text::first_line(text::outcome_message(&rule.outcome)));
    let mut case = match &rule.outcome {
        Outcome::Passed => TestCaseBuilder::success(&name, junit_report::Duration::ZERO),
        Outcome::Failed { .. } => {
            TestCaseBuilder::failure(&name, junit_report::Duration::ZERO, "rule", &message)
        }
        Outcome::Error { .. } => {
            TestCaseBuilder::error(&name, junit_report::Duration::ZERO, "rule", &message)
        }
        Outcome::Skipped { .. } => TestCaseBuilder::skipped_with_cause(&name, "skipped", &message),
    };
    case.set_classname(RULES_CLASSNAME);
    if !rule.scenarios.is_empty() {
        case.set_system_out(&cdata_text(&format!(
            "checked by: {}\n",
            rule.scenarios.join(", ")
        )));
    }
    case.build()
}

/// Text safe for XML 1.0 attributes and text: characters XML forbids (most C0 controls,
/// U+FFFE, U+FFFF) are written as `\u{..}`. The XML writer escapes `<`, `&` and quotes.
fn xml_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let allowed =
            matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}');
        if allowed {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        }
    }
    out
}

/// Text safe inside one CDATA section: [`xml_text`], with `]]>` split across two sections.
fn cdata_text(s: &str) -> String {
    xml_text(s).replace("]]>", "]]]]><![CDATA[>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_text_replaces_forbidden_characters() {
        assert_eq!(xml_text("a\u{1b}[31mb\tc"), "a\\u{1b}[31mb\tc");
        assert_eq!(xml_text("<&>\"'"), "<&>\"'");
    }

    #[test]
    fn cdata_text_splits_the_terminator() {
        assert_eq!(cdata_text("x]]>y"), "x]]]]><![CDATA[>y");
    }

    #[test]
    fn timestamps_keep_their_instant() {
        let t = parse_timestamp("2026-11-03T10:00:00+01:00").expect("valid timestamp");
        assert_eq!(t.unix_timestamp(), 1_793_696_400);
        assert!(matches!(
            parse_timestamp("yesterday"),
            Err(ReportError::Timestamp { .. })
        ));
    }
}

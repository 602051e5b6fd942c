//! The JUnit XML report, for CI systems (written with [`super::junit_writer`]).
//!
//! Two test suites:
//! - `scenarios`: one test case per scenario (classname = its file, name = its name), or, at
//!   [`JunitLevel::Step`], one per step (`<scenario> :: #2 expect_pods`). Each has `file`
//!   (the scenario file) and, when it went bad, `line` (the step its verdict comes from);
//!   properties (`rules`, each rule's verdict, `target`, `run_id`, and the evidence:
//!   `namespace`, `role_arn`, `assumed_role_arn`); `<failure>` for a broken promise,
//!   `<error>` for an infrastructure error or a scenario blocked by a failed set-up step,
//!   `<skipped message>` with the reason; the re-runs of `--suite qualify` as Surefire's
//!   `<flakyFailure>` (it passed on a re-run) or `<rerunFailure>` (it failed every time)
//!   inside the one test case; and the step log, secrets masked, as `<system-out>`.
//! - `rules`: one test case per contract rule (classname `contract`, name `R5 <title>`),
//!   `file`/`line` of the first scenario step that failed (or checks) it.
//!
//! A `<failure>`'s `message` is one line; its text holds the details.

use std::path::Path;

use super::error::{ReportError, create_parent};
use super::junit_writer::{
    Problem, Property, RerunKind, RerunRecord, Testcase, Testsuite, Testsuites, Verdict, render,
};
use super::model::{
    Outcome, Phase, Rerun, RuleVerdict, RunReport, ScenarioResult, StepResult, is_blocked,
};
use super::redact::redact;
use super::text;
use super::verdict::verdicts_of;

/// Name of the suite of scenario (or step) test cases.
pub const SCENARIOS_SUITE: &str = "scenarios";
/// Name of the suite of rule test cases.
pub const RULES_SUITE: &str = "rules";
/// Classname of the rule test cases.
pub const RULES_CLASSNAME: &str = "contract";

/// How fine-grained the `scenarios` suite is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
    check_timestamp(&report.started_at)?;
    let scenarios: Vec<Testcase> = match level {
        JunitLevel::Scenario => report
            .scenarios
            .iter()
            .map(|s| scenario_case(s, report))
            .collect(),
        JunitLevel::Step => report
            .scenarios
            .iter()
            .flat_map(|s| step_cases(s, report))
            .collect(),
    };
    let verdicts = &*verdicts_of(report);
    let rules: Vec<Testcase> = verdicts.iter().map(|v| rule_case(v, report)).collect();
    let properties = vec![
        Property::new("run_id", &report.run_id),
        Property::new("target", &report.target),
    ];
    let suite = |name: &str, cases: Vec<Testcase>| Testsuite {
        name: name.to_owned(),
        timestamp: report.started_at.clone(),
        hostname: None,
        properties: properties.clone(),
        cases,
    };
    Ok(render(&Testsuites {
        name: "rolecheck".to_owned(),
        suites: vec![suite(SCENARIOS_SUITE, scenarios), suite(RULES_SUITE, rules)],
    }))
}

/// The run's start time must be RFC 3339 (the suites' `timestamp`).
fn check_timestamp(started_at: &str) -> Result<(), ReportError> {
    chrono::DateTime::parse_from_rfc3339(started_at)
        .map(|_| ())
        .map_err(|source| ReportError::Timestamp {
            value: started_at.to_owned(),
            source,
        })
}

/// `(file, line)` of a `file:line:column` location.
pub fn file_and_line(location: &str) -> (String, Option<usize>) {
    let mut parts = location.rsplitn(3, ':');
    let (column, line, file) = (parts.next(), parts.next(), parts.next());
    match (file, line.and_then(|l| l.parse().ok()), column) {
        (Some(file), Some(line), Some(c)) if c.parse::<usize>().is_ok() => {
            (file.to_owned(), Some(line))
        }
        _ => (location.to_owned(), None),
    }
}

/// The properties every scenario test case carries: its rules and their verdicts, where
/// it ran, and its evidence.
fn scenario_properties(scenario: &ScenarioResult, report: &RunReport) -> Vec<Property> {
    let mut props = vec![Property::new("rules", scenario.rules.join(","))];
    for rule in &scenario.rules {
        if let Some(outcome) = scenario.rule_outcome(rule) {
            props.push(Property::new(
                format!("rule.{rule}"),
                verdict_label(outcome),
            ));
        }
    }
    props.push(Property::new("target", &report.target));
    props.push(Property::new("run_id", &report.run_id));
    props.push(Property::new("release", &scenario.release));
    for (name, value) in &scenario.evidence {
        props.push(Property::new(name, redact(value)));
    }
    props
}

/// `passed`, `failed`, `blocked`, `error` or `skipped`.
fn verdict_label(outcome: &Outcome) -> &'static str {
    if is_blocked(outcome) {
        "blocked"
    } else {
        outcome.label()
    }
}

/// One test case for a whole scenario.
fn scenario_case(scenario: &ScenarioResult, report: &RunReport) -> Testcase {
    let failing = text::failing_step(scenario);
    let rerun = report.reruns.iter().find(|r| r.scenario == scenario.name);
    let kind = failing.map_or("scenario", |s| s.kind.as_str());
    let mut verdict = verdict_of(&scenario.outcome, failing, kind);
    let mut reruns = Vec::new();
    if let Some(rerun) = rerun {
        (verdict, reruns) = with_reruns(verdict, rerun, kind);
    }
    let log = text::step_log(scenario);
    Testcase {
        name: scenario.name.clone(),
        classname: scenario.file.display().to_string(),
        file: Some(scenario.file.display().to_string()),
        line: failing.and_then(|s| file_and_line(&s.location).1),
        time: scenario.duration,
        timestamp: scenario.started_at.clone(),
        properties: scenario_properties(scenario, report),
        verdict,
        reruns,
        system_out: (!log.is_empty()).then(|| redact(&log)),
    }
}

/// The re-runs of a scenario as Surefire records them: flaky (passed on some re-run) is a
/// passed test case with one `<flakyFailure>` per failed run, the first included; a
/// regression keeps its `<failure>` and adds a `<rerunFailure>` per re-run.
fn with_reruns(first: Verdict, rerun: &Rerun, kind: &str) -> (Verdict, Vec<RerunRecord>) {
    let flaky = rerun.outcomes.iter().any(|o| matches!(o, Outcome::Passed));
    let record = |outcome: &Outcome, attempt: usize| -> Option<RerunRecord> {
        let (failure, error) = if flaky {
            (RerunKind::FlakyFailure, RerunKind::FlakyError)
        } else {
            (RerunKind::RerunFailure, RerunKind::RerunError)
        };
        let kind_of = match outcome {
            Outcome::Failed { .. } => failure,
            Outcome::Error { .. } => error,
            Outcome::Passed | Outcome::Skipped { .. } => return None,
        };
        let mut trace = vec![format!("re-run {attempt} of {}", rerun.outcomes.len())];
        trace.push(text::outcome_message(outcome).to_owned());
        trace.extend(text::failure_details(outcome, None));
        Some(RerunRecord {
            kind: kind_of,
            message: one_line(text::outcome_message(outcome)),
            problem: kind.to_owned(),
            stack_trace: redact(&trace.join("\n")),
            system_out: None,
        })
    };
    let mut records = Vec::new();
    let verdict = if flaky {
        // The first run's failure becomes the first flaky record; the test case passed.
        let first_record = match &first {
            Verdict::Failure(p) => Some((RerunKind::FlakyFailure, p)),
            Verdict::Error(p) => Some((RerunKind::FlakyError, p)),
            Verdict::Passed | Verdict::Skipped { .. } => None,
        };
        if let Some((kind_of, p)) = first_record {
            records.push(RerunRecord {
                kind: kind_of,
                message: p.message.clone(),
                problem: p.kind.clone(),
                stack_trace: p.text.clone(),
                system_out: None,
            });
        }
        Verdict::Passed
    } else {
        first
    };
    records.extend(
        rerun
            .outcomes
            .iter()
            .enumerate()
            .filter_map(|(i, o)| record(o, i + 1)),
    );
    (verdict, records)
}

/// One test case per step of a scenario. A scenario without steps (skipped, or broken before
/// its first step) is one test case of its own; so is a bad scenario none of whose steps is
/// bad (a scenario timeout, say), after its steps, so that its verdict is not lost.
fn step_cases(scenario: &ScenarioResult, report: &RunReport) -> Vec<Testcase> {
    if scenario.steps.is_empty() {
        return vec![scenario_case(scenario, report)];
    }
    let classname = scenario.file.display().to_string();
    let mut cases: Vec<Testcase> = scenario
        .steps
        .iter()
        .map(|step| {
            let (file, line) = file_and_line(&step.location);
            let mut properties = Vec::new();
            if !step.rules.is_empty() {
                properties.push(Property::new("rules", step.rules.join(",")));
            }
            if let Some(cause) = &step.cause {
                properties.push(Property::new("cause", cause.summary()));
            }
            Testcase {
                name: format!("{} :: {}", scenario.name, step_case_suffix(step)),
                classname: classname.clone(),
                file: Some(if line.is_some() {
                    file
                } else {
                    classname.clone()
                }),
                line,
                time: step.duration,
                timestamp: None,
                properties,
                verdict: step_verdict(step, !scenario.rule_outcomes.is_empty()),
                reruns: Vec::new(),
                system_out: Some(redact(&text::single_step_log(step))),
            }
        })
        .collect();
    if scenario.outcome.is_bad() && text::failing_step(scenario).is_none() {
        cases.push(scenario_case(scenario, report));
    }
    cases
}

/// A step's verdict: in a scenario judged per rule (`judged`), a failed set-up step (it
/// checks no rule) is an error, not a failure of a promise.
fn step_verdict(step: &StepResult, judged: bool) -> Verdict {
    match &step.outcome {
        Outcome::Failed { message, .. }
            if judged && step.rules.is_empty() && step.phase == Phase::Steps =>
        {
            verdict_of(
                &Outcome::Error {
                    message: format!("set-up step failed: {message}"),
                },
                Some(step),
                &step.kind,
            )
        }
        outcome => verdict_of(outcome, Some(step), &step.kind),
    }
}

/// `#2 expect_pods` for a step of `steps`, `finally #1 delete_deployment` otherwise.
fn step_case_suffix(step: &StepResult) -> String {
    match step.phase {
        Phase::Steps => format!("#{} {}", step.index + 1, step.kind),
        phase => format!(
            "{} #{} {}",
            text::phase_label(phase),
            step.index + 1,
            step.kind
        ),
    }
}

/// The first line of a message, as an attribute wants it.
fn one_line(message: &str) -> String {
    text::first_line(message).to_owned()
}

/// The JUnit verdict of an outcome; failures and errors carry the details (the failing
/// step, expected vs actual, the likely cause, the log's tail) as their text.
fn verdict_of(outcome: &Outcome, step: Option<&StepResult>, kind: &str) -> Verdict {
    let problem = || {
        let mut lines = vec![text::outcome_message(outcome).to_owned()];
        lines.extend(text::failure_details(outcome, step));
        if let Some(cause) = step.and_then(|s| s.cause.as_ref()) {
            lines.push(format!("likely cause: {}", cause.summary()));
        }
        Problem {
            message: redact(&one_line(text::outcome_message(outcome))),
            kind: if is_blocked(outcome) {
                "blocked".to_owned()
            } else {
                kind.to_owned()
            },
            text: redact(&lines.join("\n")),
        }
    };
    match outcome {
        Outcome::Passed => Verdict::Passed,
        Outcome::Failed { .. } => Verdict::Failure(problem()),
        Outcome::Error { .. } => Verdict::Error(problem()),
        Outcome::Skipped { reason } => Verdict::Skipped {
            message: one_line(reason),
        },
    }
}

/// One test case for a contract rule; `file`/`line` point at the first step that failed it
/// (or the first scenario that checks it).
fn rule_case(rule: &RuleVerdict, report: &RunReport) -> Testcase {
    let checking: Vec<&ScenarioResult> = report
        .scenarios
        .iter()
        .filter(|s| s.rules.iter().any(|r| r.trim() == rule.id))
        .collect();
    let first_bad = checking.iter().find_map(|s| {
        let outcome = s.rule_outcome(&rule.id)?;
        outcome.is_bad().then_some((*s, outcome))
    });
    let (file, line) = match first_bad {
        Some((s, _)) => {
            let step = s
                .steps
                .iter()
                .find(|st| st.rules.contains(&rule.id) && st.outcome.is_bad())
                .or_else(|| text::failing_step(s));
            (
                Some(s.file.display().to_string()),
                step.and_then(|st| file_and_line(&st.location).1),
            )
        }
        None => (checking.first().map(|s| s.file.display().to_string()), None),
    };
    let mut details = vec![text::outcome_message(&rule.outcome).to_owned()];
    for s in &checking {
        if let Some(outcome) = s.rule_outcome(&rule.id)
            && outcome.is_bad()
        {
            details.push(format!(
                "{}: {}: {}",
                s.name,
                verdict_label(outcome),
                text::outcome_message(outcome)
            ));
            if let Some(cause) = s
                .steps
                .iter()
                .find(|st| st.rules.contains(&rule.id) && st.outcome.is_bad())
                .and_then(|st| st.cause.as_ref())
            {
                details.push(format!("    likely cause: {}", cause.summary()));
            }
        }
    }
    let problem = || Problem {
        message: one_line(text::outcome_message(&rule.outcome)),
        kind: if is_blocked(&rule.outcome) {
            "blocked".to_owned()
        } else {
            "rule".to_owned()
        },
        text: redact(&details.join("\n")),
    };
    let verdict = match &rule.outcome {
        Outcome::Passed => Verdict::Passed,
        Outcome::Failed { .. } => Verdict::Failure(problem()),
        Outcome::Error { .. } => Verdict::Error(problem()),
        Outcome::Skipped { reason } => Verdict::Skipped {
            message: one_line(reason),
        },
    };
    let mut properties = vec![
        Property::new("rule", &rule.id),
        Property::new("target", &report.target),
        Property::new("run_id", &report.run_id),
    ];
    if !rule.scenarios.is_empty() {
        properties.push(Property::new("checked_by", rule.scenarios.join(",")));
    }
    Testcase {
        name: format!("{} {}", rule.id, rule.title),
        classname: RULES_CLASSNAME.to_owned(),
        file,
        line,
        time: std::time::Duration::ZERO,
        timestamp: None,
        properties,
        verdict,
        reruns: Vec::new(),
        system_out: (!rule.scenarios.is_empty())
            .then(|| format!("checked by: {}\n", rule.scenarios.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_split_into_file_and_line() {
        assert_eq!(
            file_and_line("scenarios/a.yaml:12:5"),
            ("scenarios/a.yaml".to_owned(), Some(12))
        );
        assert_eq!(
            file_and_line("C:/x/a.yaml:3:1"),
            ("C:/x/a.yaml".to_owned(), Some(3))
        );
        assert_eq!(file_and_line("(runner)"), ("(runner)".to_owned(), None));
    }

    #[test]
    fn bad_timestamps_are_refused() {
        assert!(check_timestamp("2026-11-03T10:00:00+01:00").is_ok());
        assert!(matches!(
            check_timestamp("yesterday"),
            Err(ReportError::Timestamp { .. })
        ));
    }
}

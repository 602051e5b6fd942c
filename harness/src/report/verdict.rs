//! Per-rule verdicts: within a scenario, from the steps that check each rule
//! ([`judge_scenario`]); over a run, from the scenarios ([`rule_verdicts`]); what every
//! reporter shows as a run's rule verdicts ([`verdicts_of`]).

use std::borrow::Cow;
use std::str::FromStr;

use super::model::{
    BLOCKED, Outcome, Phase, RuleOutcome, RuleVerdict, RunReport, ScenarioResult, StepResult,
};
use crate::contract;
use crate::rules::RuleId;

/// Sets a finished scenario's per-rule verdicts and its outcome from its steps.
///
/// A rule **fails** when a step checking it failed (the message names the first such step);
/// it is an **error** when no step checking it failed but one of them errored or could not
/// run because an earlier step failed (`blocked: <step> at <file:line> failed: ...`); it
/// **passes** when the steps checking it passed.
///
/// The scenario fails when one of its rules failed (with that step's message); otherwise it
/// is an error when any step went bad (a set-up step's failure blocks the rules after it:
/// `blocked: ...`; a `finally` step or the clean-up leaves an error), and passes otherwise.
/// Scenarios that were skipped or broke before their first step keep their outcome.
pub fn judge_scenario(scenario: &mut ScenarioResult) {
    if scenario.steps.is_empty() {
        scenario.rule_outcomes = scenario
            .rules
            .iter()
            .map(|rule| RuleOutcome {
                rule: rule.clone(),
                outcome: scenario.outcome.clone(),
            })
            .collect();
        return;
    }
    let first_bad = scenario
        .steps
        .iter()
        .find(|s| s.phase == Phase::Steps && s.outcome.is_bad())
        .or_else(|| scenario.steps.iter().find(|s| s.outcome.is_bad()));
    scenario.rule_outcomes = scenario
        .rules
        .iter()
        .map(|rule| RuleOutcome {
            rule: rule.clone(),
            outcome: rule_in_scenario(rule, &scenario.steps, first_bad),
        })
        .collect();
    let first_failed = scenario
        .steps
        .iter()
        .find(|s| !s.rules.is_empty() && matches!(s.outcome, Outcome::Failed { .. }));
    scenario.outcome = match (first_failed, first_bad) {
        (Some(step), _) => located(step),
        (None, Some(step)) => match &step.outcome {
            Outcome::Failed { .. } if step.phase == Phase::Steps => Outcome::Error {
                message: blocked_message(step),
            },
            _ => match located(step) {
                Outcome::Failed { message, .. } => Outcome::Error { message },
                other => other,
            },
        },
        (None, None) => Outcome::Passed,
    };
}

/// A rule's verdict from the steps of one scenario.
fn rule_in_scenario(rule: &str, steps: &[StepResult], first_bad: Option<&StepResult>) -> Outcome {
    let checking: Vec<&StepResult> = steps
        .iter()
        .filter(|s| s.phase == Phase::Steps && s.rules.iter().any(|r| r == rule))
        .collect();
    if let Some(step) = checking
        .iter()
        .find(|s| matches!(s.outcome, Outcome::Failed { .. }))
    {
        return located(step);
    }
    if let Some(step) = checking
        .iter()
        .find(|s| matches!(s.outcome, Outcome::Error { .. }))
    {
        return located(step);
    }
    let blocked = checking
        .iter()
        .any(|s| matches!(s.outcome, Outcome::Skipped { .. }));
    match (blocked, first_bad) {
        (true, Some(cause)) => Outcome::Error {
            message: blocked_message(cause),
        },
        (true, None) => Outcome::Error {
            message: format!("{BLOCKED}a step checking it did not run"),
        },
        (false, _) if checking.is_empty() => Outcome::Error {
            message: "no step of the scenario checks this rule".to_owned(),
        },
        (false, _) => Outcome::Passed,
    }
}

/// A step's outcome with its message prefixed by the step and where it is written.
fn located(step: &StepResult) -> Outcome {
    let at = format!("{} #{} at {}", step.kind, step.index + 1, step.location);
    match &step.outcome {
        Outcome::Failed {
            message,
            expected,
            actual,
        } => Outcome::Failed {
            message: format!("{at}: {message}"),
            expected: expected.clone(),
            actual: actual.clone(),
        },
        Outcome::Error { message } => Outcome::Error {
            message: format!("{at}: {message}"),
        },
        other => other.clone(),
    }
}

/// `blocked: create_deployment #1 at a.yaml:9:5 failed: the platform refused the call`.
pub fn blocked_message(step: &StepResult) -> String {
    let message = match &step.outcome {
        Outcome::Failed { message, .. } | Outcome::Error { message } => message.as_str(),
        Outcome::Passed | Outcome::Skipped { .. } => "",
    };
    let verb = match step.outcome {
        Outcome::Error { .. } => "broke",
        _ => "failed",
    };
    format!(
        "{BLOCKED}{} #{} at {} {verb}: {}",
        step.kind,
        step.index + 1,
        step.location,
        super::text::first_line(message)
    )
}

/// The run's per-rule verdicts as every reporter (console, JUnit, HTML) shows them: the ones
/// [`RunReport::rules`] holds, or, when that list is empty (a report written without them),
/// the ones its scenarios give ([`rule_verdicts`]).
pub fn verdicts_of(report: &RunReport) -> Cow<'_, [RuleVerdict]> {
    if report.rules.is_empty() {
        Cow::Owned(rule_verdicts(&report.scenarios))
    } else {
        Cow::Borrowed(&report.rules)
    }
}

/// One verdict per contract rule, R1..R16 in order.
///
/// For each rule, the scenarios tagging it (`rules: [R5]`) decide, by their verdict on that
/// rule ([`ScenarioResult::rule_outcome`]):
/// - **failed** when it failed in any of them; the message names them (`failed in: a, b`);
/// - an **error** when it failed in none but errored or was blocked in some
///   (`blocked in: a; error in: b`);
/// - **passed** when at least one of them passed it and none failed;
/// - **skipped** when none of them ran: either no scenario tags the rule, or every one
///   was skipped on this target (the reason lists their skip reasons, deduplicated).
///
/// [`RuleVerdict::scenarios`] lists the scenarios that ran (not skipped) and tag the rule,
/// in suite order. Tags that are not rule ids are ignored.
pub fn rule_verdicts(scenarios: &[ScenarioResult]) -> Vec<RuleVerdict> {
    contract::rules()
        .map(|rule| {
            let id = rule.id.to_string();
            let checking: Vec<(&ScenarioResult, &Outcome)> = scenarios
                .iter()
                .filter(|s| checks(s, rule.id))
                .map(|s| (s, s.rule_outcome(&id).unwrap_or(&s.outcome)))
                .collect();
            RuleVerdict {
                id,
                title: rule.title.to_owned(),
                outcome: verdict(&checking),
                scenarios: checking
                    .iter()
                    .filter(|(s, _)| !matches!(s.outcome, Outcome::Skipped { .. }))
                    .map(|(s, _)| s.name.clone())
                    .collect(),
            }
        })
        .collect()
}

/// Whether a scenario tags the rule.
fn checks(scenario: &ScenarioResult, id: RuleId) -> bool {
    scenario
        .rules
        .iter()
        .any(|tag| RuleId::from_str(tag.trim()).is_ok_and(|t| t == id))
}

/// The verdict over the scenarios tagging one rule, each with its verdict on the rule.
fn verdict(checking: &[(&ScenarioResult, &Outcome)]) -> Outcome {
    if checking.is_empty() {
        return Outcome::Skipped {
            reason: "no scenario checks this rule".to_owned(),
        };
    }
    let names = |keep: &dyn Fn(&Outcome) -> bool| -> Vec<&str> {
        checking
            .iter()
            .filter(|(_, o)| keep(o))
            .map(|(s, _)| s.name.as_str())
            .collect()
    };
    let failed = names(&|o| matches!(o, Outcome::Failed { .. }));
    if !failed.is_empty() {
        return Outcome::Failed {
            message: format!("failed in: {}", failed.join(", ")),
            expected: String::new(),
            actual: String::new(),
        };
    }
    let blocked = names(&super::model::is_blocked);
    let errored = names(&|o| matches!(o, Outcome::Error { .. }) && !super::model::is_blocked(o));
    if !blocked.is_empty() || !errored.is_empty() {
        let mut parts = Vec::new();
        if !blocked.is_empty() {
            parts.push(format!("{BLOCKED}in {}", blocked.join(", ")));
        }
        if !errored.is_empty() {
            parts.push(format!("error in: {}", errored.join(", ")));
        }
        return Outcome::Error {
            message: parts.join("; "),
        };
    }
    if checking.iter().any(|(_, o)| matches!(o, Outcome::Passed)) {
        return Outcome::Passed;
    }
    let mut reasons: Vec<&str> = Vec::new();
    for (_, o) in checking {
        if let Outcome::Skipped { reason } = o
            && !reasons.contains(&reason.as_str())
        {
            reasons.push(reason);
        }
    }
    Outcome::Skipped {
        reason: format!(
            "every scenario checking it was skipped on this target: {}",
            reasons.join("; ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn report(rules: Vec<RuleVerdict>) -> RunReport {
        RunReport {
            run_id: "r".to_owned(),
            target: "sim".to_owned(),
            started_at: String::new(),
            duration: Duration::ZERO,
            scenarios: Vec::new(),
            rules,
            leftovers: Vec::new(),
            reruns: Vec::new(),
            interrupted: false,
        }
    }

    #[test]
    fn reporters_show_the_stored_verdicts_or_else_the_computed_ones() {
        let without = report(Vec::new());
        let computed = verdicts_of(&without);
        assert_eq!(*computed, *rule_verdicts(&[]));
        assert_eq!(computed.len(), contract::rules().count());
        let stored = vec![computed[0].clone()];
        let with = report(stored.clone());
        assert_eq!(*verdicts_of(&with), *stored);
    }
}

//! Per-rule verdicts: which scenarios checked each contract rule and whether it held.

use std::str::FromStr;

use super::model::{Outcome, RuleVerdict, ScenarioResult};
use crate::contract;
use crate::scenario::model::RuleId;

/// One verdict per contract rule, R1..R16 in order.
///
/// For each rule, the scenarios tagging it (`rules: [R5]`) decide:
/// - **failed** when any of them failed or errored; the message names them
///   (`failed in: a, b`);
/// - **passed** when at least one of them passed and none failed;
/// - **skipped** when none of them ran: either no scenario tags the rule, or every one
///   was skipped on this target (the reason lists their skip reasons, deduplicated).
///
/// [`RuleVerdict::scenarios`] lists the scenarios that ran (not skipped) and tag the rule,
/// in suite order. Tags that are not rule ids are ignored.
pub fn rule_verdicts(scenarios: &[ScenarioResult]) -> Vec<RuleVerdict> {
    contract::rules()
        .map(|rule| {
            let checking: Vec<&ScenarioResult> =
                scenarios.iter().filter(|s| checks(s, rule.id)).collect();
            RuleVerdict {
                id: rule.id.to_string(),
                title: rule.title.to_owned(),
                outcome: verdict(&checking),
                scenarios: checking
                    .iter()
                    .filter(|s| !matches!(s.outcome, Outcome::Skipped { .. }))
                    .map(|s| s.name.clone())
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

/// The verdict over the scenarios tagging one rule.
fn verdict(checking: &[&ScenarioResult]) -> Outcome {
    if checking.is_empty() {
        return Outcome::Skipped {
            reason: "no scenario checks this rule".to_owned(),
        };
    }
    let bad: Vec<&str> = checking
        .iter()
        .filter(|s| s.outcome.is_bad())
        .map(|s| s.name.as_str())
        .collect();
    if !bad.is_empty() {
        return Outcome::Failed {
            message: format!("failed in: {}", bad.join(", ")),
            expected: String::new(),
            actual: String::new(),
        };
    }
    if checking
        .iter()
        .any(|s| matches!(s.outcome, Outcome::Passed))
    {
        return Outcome::Passed;
    }
    let mut reasons: Vec<&str> = Vec::new();
    for s in checking {
        if let Outcome::Skipped { reason } = &s.outcome
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

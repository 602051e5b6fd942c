//! Comparing two runs of the same suite on different targets (the sim and a real cluster):
//! every scenario and rule that both ran must have the same verdict. A difference is a
//! defect of the sim or of the harness, never something to explain away.

use std::collections::BTreeMap;
use std::fmt;

use super::model::{Outcome, RunReport};

/// One verdict that differs between the two runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// `scenario <name>` or `rule <id>`.
    pub subject: String,
    /// The verdict on the first target, with its message.
    pub left: String,
    /// The verdict on the second target, with its message.
    pub right: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} vs {}", self.subject, self.left, self.right)
    }
}

/// What was compared and what differed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Scenarios both runs ran (neither skipped).
    pub scenarios_compared: usize,
    /// Rules both runs judged (neither skipped).
    pub rules_compared: usize,
    /// Scenarios only one run ran (the other skipped it), with the skip reason.
    pub one_sided: Vec<String>,
    /// Verdicts that differ.
    pub differences: Vec<Difference>,
}

/// Compares `left` and `right` scenario by scenario and rule by rule. A scenario one target
/// skipped (it lacks a capability) is listed, not compared; one present in only one report
/// is a difference.
pub fn compare(left: &RunReport, right: &RunReport) -> Comparison {
    let mut out = Comparison::default();
    let by_name = |r: &RunReport| -> BTreeMap<String, Outcome> {
        r.scenarios
            .iter()
            .map(|s| (s.name.clone(), s.outcome.clone()))
            .collect()
    };
    let (l, r) = (by_name(left), by_name(right));
    judge(&mut out, "scenario", &l, &r);
    out.scenarios_compared = counted(&l, &r);
    let rules = |r: &RunReport| -> BTreeMap<String, Outcome> {
        r.rules
            .iter()
            .map(|v| (v.id.clone(), v.outcome.clone()))
            .collect()
    };
    let (l, r) = (rules(left), rules(right));
    judge(&mut out, "rule", &l, &r);
    out.rules_compared = counted(&l, &r);
    out
}

fn counted(l: &BTreeMap<String, Outcome>, r: &BTreeMap<String, Outcome>) -> usize {
    l.iter()
        .filter(|(k, v)| !is_skip(v) && r.get(*k).is_some_and(|o| !is_skip(o)))
        .count()
}

fn is_skip(o: &Outcome) -> bool {
    matches!(o, Outcome::Skipped { .. })
}

fn judge(
    out: &mut Comparison,
    kind: &str,
    left: &BTreeMap<String, Outcome>,
    right: &BTreeMap<String, Outcome>,
) {
    let names: std::collections::BTreeSet<&String> = left.keys().chain(right.keys()).collect();
    for name in names {
        let subject = format!("{kind} {name}");
        match (left.get(name), right.get(name)) {
            (Some(a), Some(b)) if is_skip(a) || is_skip(b) => {
                if is_skip(a) != is_skip(b) {
                    let skipped = if is_skip(a) { a } else { b };
                    out.one_sided
                        .push(format!("{subject}: {}", describe(skipped)));
                }
            }
            (Some(a), Some(b)) if a.label() != b.label() => out.differences.push(Difference {
                subject,
                left: describe(a),
                right: describe(b),
            }),
            (Some(_), Some(_)) => {}
            (a, b) => out.differences.push(Difference {
                subject,
                left: a.map_or_else(|| "absent".to_owned(), describe),
                right: b.map_or_else(|| "absent".to_owned(), describe),
            }),
        }
    }
}

fn describe(o: &Outcome) -> String {
    match o {
        Outcome::Passed => "passed".to_owned(),
        Outcome::Failed {
            message,
            expected,
            actual,
        } => format!("failed ({message}; expected {expected}; actual {actual})"),
        Outcome::Skipped { reason } => format!("skipped ({reason})"),
        Outcome::Error { message } => format!("error ({message})"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rstest::rstest;

    use super::*;
    use crate::report::model::{RuleVerdict, ScenarioResult};

    fn report(scenarios: &[(&str, Outcome)]) -> RunReport {
        RunReport {
            run_id: "r".to_owned(),
            target: "t".to_owned(),
            started_at: String::new(),
            duration: Duration::ZERO,
            interrupted: false,
            scenarios: scenarios
                .iter()
                .map(|(name, outcome)| ScenarioResult {
                    name: (*name).to_owned(),
                    file: Default::default(),
                    rules: vec!["R1".to_owned()],
                    release: String::new(),
                    outcome: outcome.clone(),
                    duration: Duration::ZERO,
                    steps: Vec::new(),
                    tags: Vec::new(),
                    rule_outcomes: Vec::new(),
                    started_at: None,
                    evidence: Vec::new(),
                })
                .collect(),
            rules: vec![RuleVerdict {
                id: "R1".to_owned(),
                title: String::new(),
                outcome: scenarios
                    .first()
                    .map_or(Outcome::Passed, |(_, o)| o.clone()),
                scenarios: Vec::new(),
            }],
            leftovers: Vec::new(),
            reruns: Vec::new(),
        }
    }

    fn failed() -> Outcome {
        Outcome::Failed {
            message: "m".to_owned(),
            expected: "e".to_owned(),
            actual: "a".to_owned(),
        }
    }

    fn skipped() -> Outcome {
        Outcome::Skipped {
            reason: "lacks x".to_owned(),
        }
    }

    #[rstest]
    #[case(Outcome::Passed, Outcome::Passed, 0, 0)]
    #[case(Outcome::Passed, failed(), 2, 0)]
    #[case(skipped(), Outcome::Passed, 0, 2)]
    #[case(skipped(), skipped(), 0, 0)]
    fn verdicts_are_compared_where_both_ran(
        #[case] left: Outcome,
        #[case] right: Outcome,
        #[case] differences: usize,
        #[case] one_sided: usize,
    ) {
        let c = compare(&report(&[("a", left)]), &report(&[("a", right)]));
        assert_eq!(c.differences.len(), differences, "{c:?}");
        assert_eq!(c.one_sided.len(), one_sided, "{c:?}");
    }

    #[test]
    fn a_scenario_missing_on_one_side_is_a_difference() {
        let c = compare(
            &report(&[("a", Outcome::Passed), ("b", Outcome::Passed)]),
            &report(&[("a", Outcome::Passed)]),
        );
        assert_eq!(c.differences.len(), 1);
        assert_eq!(c.differences[0].subject, "scenario b");
        assert_eq!(c.scenarios_compared, 1);
    }
}

//! Traceability: which scenarios check each contract rule, and whether they can run on a
//! target given its capabilities (`rolecheck coverage`). Nothing runs: this reads the suite.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;

use crate::capability::Capability;
use crate::contract;
use crate::plan;
use crate::rules::RuleId;
use crate::scenario::Scenario;

/// One scenario checking a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checker {
    /// The scenario's name.
    pub name: String,
    /// Capabilities it needs that the target lacks (empty: it runs there).
    pub missing: Vec<&'static str>,
}

impl Checker {
    /// Whether the scenario can run on the target.
    pub fn runs(&self) -> bool {
        self.missing.is_empty()
    }
}

/// The scenarios checking one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCoverage {
    /// `R1`..`R16`.
    pub id: String,
    /// The rule in a few words.
    pub title: &'static str,
    /// Every scenario tagging the rule, in suite order.
    pub scenarios: Vec<Checker>,
}

impl RuleCoverage {
    /// Whether any scenario tags the rule.
    pub fn covered(&self) -> bool {
        !self.scenarios.is_empty()
    }

    /// Whether some scenario tagging the rule can run on the target.
    pub fn runnable(&self) -> bool {
        self.scenarios.iter().any(Checker::runs)
    }
}

/// Rule-by-rule coverage of a suite on one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// The target the capabilities are those of.
    pub target: String,
    /// How many scenarios the suite has.
    pub suite_size: usize,
    /// One entry per contract rule, R1..R16.
    pub rules: Vec<RuleCoverage>,
}

impl Coverage {
    /// Computes the coverage of `scenarios` on a target with `capabilities`.
    pub fn compute(
        scenarios: &[Scenario],
        target: &str,
        capabilities: &BTreeSet<Capability>,
    ) -> Self {
        let checkers: Vec<(&Scenario, Vec<&'static str>)> = scenarios
            .iter()
            .map(|s| {
                let missing = plan::needs(s)
                    .difference(capabilities)
                    .map(|c| c.name())
                    .collect();
                (s, missing)
            })
            .collect();
        let rules = contract::rules()
            .map(|rule| RuleCoverage {
                id: rule.id.to_string(),
                title: rule.title,
                scenarios: checkers
                    .iter()
                    .filter(|(s, _)| s.rules.contains(&rule.id))
                    .map(|(s, missing)| Checker {
                        name: s.name.clone(),
                        missing: missing.clone(),
                    })
                    .collect(),
            })
            .collect();
        Self {
            target: target.to_owned(),
            suite_size: scenarios.len(),
            rules,
        }
    }

    /// Rules no scenario checks.
    pub fn uncovered(&self) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|r| !r.covered())
            .map(|r| r.id.as_str())
            .collect()
    }

    /// Rules some scenario checks, but none that can run on the target.
    pub fn not_runnable(&self) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|r| r.covered() && !r.runnable())
            .map(|r| r.id.as_str())
            .collect()
    }

    /// A plain-text table: one block per rule with its scenarios, then the gaps.
    ///
    /// ```text
    /// R2   create --cloud-role binds the role                    2 scenarios
    ///      + create-with-role-annotates-service-accounts
    ///      - image-ships-boto3 (skipped on sim: lacks real-images)
    /// R6   One IAM role per deployment                           UNCOVERED
    /// ```
    pub fn render(&self) -> String {
        let width = self.rules.iter().map(|r| r.title.len()).max().unwrap_or(0);
        let mut out = format!(
            "Coverage of R1..R{} by {} scenario(s) on target `{}`\n\
             (+ runs on the target, - skipped there)\n\n",
            RuleId::MAX,
            self.suite_size,
            self.target
        );
        for rule in &self.rules {
            let status = if !rule.covered() {
                "UNCOVERED".to_owned()
            } else if !rule.runnable() {
                format!("{} scenario(s), none runs here", rule.scenarios.len())
            } else {
                format!("{} scenario(s)", rule.scenarios.len())
            };
            let _ = writeln!(out, "{:<4} {:<width$}  {status}", rule.id, rule.title);
            for s in &rule.scenarios {
                if s.runs() {
                    let _ = writeln!(out, "     + {}", s.name);
                } else {
                    let _ = writeln!(
                        out,
                        "     - {} (skipped on {}: lacks {})",
                        s.name,
                        self.target,
                        s.missing.join(", ")
                    );
                }
            }
        }
        let uncovered = self.uncovered();
        let not_runnable = self.not_runnable();
        out.push('\n');
        if uncovered.is_empty() {
            out.push_str("Every rule is checked by at least one scenario.\n");
        } else {
            let _ = writeln!(
                out,
                "Uncovered rules (no scenario): {}",
                uncovered.join(", ")
            );
        }
        if !not_runnable.is_empty() {
            let _ = writeln!(
                out,
                "Rules no scenario can check on `{}`: {}",
                self.target,
                not_runnable.join(", ")
            );
        }
        out
    }
}

//! What a run produced, as every reporter sees it. Reporters only read these values.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The verdict of one step, scenario or rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Everything held.
    Passed,
    /// A documented promise did not hold.
    Failed {
        /// One line: what went wrong.
        message: String,
        /// What the documents promise (empty when not a value comparison).
        expected: String,
        /// What the target showed (empty when not a value comparison).
        actual: String,
    },
    /// Not run on this target, and why.
    Skipped {
        /// Why it could not run.
        reason: String,
    },
    /// The harness or the target broke (not a verdict on the contract).
    Error {
        /// What broke.
        message: String,
    },
}

impl Outcome {
    /// A short lower-case label: `passed`, `failed`, `skipped`, `error`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed { .. } => "failed",
            Outcome::Skipped { .. } => "skipped",
            Outcome::Error { .. } => "error",
        }
    }

    /// Whether this outcome counts against the run (failed or error).
    pub fn is_bad(&self) -> bool {
        matches!(self, Outcome::Failed { .. } | Outcome::Error { .. })
    }
}

/// Which list of a scenario a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The scenario's `steps`.
    Steps,
    /// The scenario's `finally`.
    Finally,
    /// The runner's own clean-up of what the run created.
    Cleanup,
}

/// The result of one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// 0-based index within its phase.
    pub index: usize,
    /// The step kind (`create_deployment`, ...).
    pub kind: String,
    /// Which list the step belongs to.
    pub phase: Phase,
    /// `file:line:column` of the step.
    pub location: String,
    /// Its verdict.
    pub outcome: Outcome,
    /// How long it took.
    #[serde(with = "duration_secs")]
    pub duration: Duration,
    /// What the step did and saw, one line each (never secrets).
    pub log: Vec<String>,
    /// The rules this step checks (`R4`); empty for a set-up step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// For a bad step after an earlier bad step of the same scenario: that first one, the
    /// likely cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
}

/// The earlier bad step of a scenario a later failure likely follows from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cause {
    /// Which list the step belongs to.
    pub phase: Phase,
    /// Its 0-based index within the phase.
    pub index: usize,
    /// Its kind.
    pub kind: String,
    /// `file:line:column` of the step.
    pub location: String,
    /// The rules it checks (empty: a set-up step).
    pub rules: Vec<String>,
    /// The first line of its message.
    pub message: String,
}

impl Cause {
    /// `expect_service_accounts #2 at a.yaml:9:5 (R4): annotation differs`.
    pub fn summary(&self) -> String {
        let rules = if self.rules.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.rules.join(", "))
        };
        format!(
            "{} #{} at {}{rules}: {}",
            self.kind,
            self.index + 1,
            self.location,
            self.message
        )
    }
}

/// The verdict on one rule within one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleOutcome {
    /// `R1`..`R16`.
    pub rule: String,
    /// Failed when a step checking it failed; an error (`blocked: ...`) when a step it
    /// needed could not run; passed when every step checking it passed.
    pub outcome: Outcome,
}

/// How the message of a rule or scenario blocked by a failed set-up step starts.
pub const BLOCKED: &str = "blocked: ";

/// Whether an outcome is an error because a step the verdict needed could not run.
pub fn is_blocked(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Error { message } if message.starts_with(BLOCKED))
}

/// The result of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// Scenario name.
    pub name: String,
    /// The scenario file.
    pub file: PathBuf,
    /// Rules it checks (`R1`..).
    pub rules: Vec<String>,
    /// Its tags (for filtering reports).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The release name it used.
    pub release: String,
    /// Its verdict: the first bad step's, or passed, or skipped.
    pub outcome: Outcome,
    /// How long it took.
    #[serde(with = "duration_secs")]
    pub duration: Duration,
    /// Its steps, in the order they ran.
    pub steps: Vec<StepResult>,
    /// One verdict per rule it checks, in the order of [`ScenarioResult::rules`]; empty in
    /// reports written before rules were judged per step (the scenario's outcome then
    /// stands for all its rules).
    #[serde(default)]
    pub rule_outcomes: Vec<RuleOutcome>,
    /// When it started (RFC 3339), when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// What the target showed that a reader wants at hand (`namespace`, `role_arn`,
    /// `assumed_role_arn`), in the order first seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<(String, String)>,
}

impl ScenarioResult {
    /// The scenario's verdict on one rule: its [`RuleOutcome`], or its outcome when it
    /// has none; `None` when it does not check the rule.
    pub fn rule_outcome(&self, rule: &str) -> Option<&Outcome> {
        if !self.rules.iter().any(|r| r.trim() == rule) {
            return None;
        }
        Some(
            self.rule_outcomes
                .iter()
                .find(|r| r.rule == rule)
                .map_or(&self.outcome, |r| &r.outcome),
        )
    }
}

/// The verdict on one contract rule over a whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleVerdict {
    /// `R1`..`R16`.
    pub id: String,
    /// The rule in a few words.
    pub title: String,
    /// Passed when every scenario checking it passed; failed naming the ones that did not;
    /// skipped when no scenario checked it on this target.
    pub outcome: Outcome,
    /// Names of the scenarios that checked it.
    pub scenarios: Vec<String>,
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// The run id every created object is labelled with.
    pub run_id: String,
    /// Target name (`sim`, `kind`, ...).
    pub target: String,
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// Wall time of the whole run.
    #[serde(with = "duration_secs")]
    pub duration: Duration,
    /// Every selected scenario, in suite order.
    pub scenarios: Vec<ScenarioResult>,
    /// One verdict per contract rule, R1..R16.
    pub rules: Vec<RuleVerdict>,
    /// Objects the run could not remove (`kind namespace/name`), empty when clean.
    pub leftovers: Vec<String>,
    /// Re-runs of the scenarios that failed (`--suite qualify`); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reruns: Vec<Rerun>,
    /// Whether SIGINT or SIGTERM stopped the run: scenarios that did not finish are errors,
    /// and the run never counts as passed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

/// The re-runs of one failed scenario and what they say about it (`--suite qualify`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rerun {
    /// The scenario's name.
    pub scenario: String,
    /// Flaky (passed on some re-run) or regression (failed every time).
    pub stability: Stability,
    /// The outcome of each re-run, in order.
    pub outcomes: Vec<Outcome>,
}

impl Rerun {
    /// `regression: failed 3 of 3 re-runs` or `flaky: passed 1 of 3 re-runs`.
    pub fn summary(&self) -> String {
        let passed = self
            .outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Passed))
            .count();
        let total = self.outcomes.len();
        match self.stability {
            Stability::Flaky => format!("flaky: passed {passed} of {total} re-runs"),
            Stability::Regression => {
                format!("regression: failed {} of {total} re-runs", total - passed)
            }
        }
    }
}

impl RunReport {
    /// Counts of passed, failed (failed or error) and skipped scenarios.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for s in &self.scenarios {
            match s.outcome {
                Outcome::Passed => counts.0 += 1,
                Outcome::Failed { .. } | Outcome::Error { .. } => counts.1 += 1,
                Outcome::Skipped { .. } => counts.2 += 1,
            }
        }
        counts
    }
}

/// Serialises a duration as fractional seconds.
mod duration_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

/// What the re-runs of a failed scenario showed (`--suite qualify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stability {
    /// It passed on at least one re-run: the failure does not reproduce every time.
    Flaky,
    /// It failed (or errored) on every re-run.
    Regression,
}

impl Stability {
    /// Classifies the re-run outcomes of a scenario that failed once.
    pub fn of(reruns: &[Outcome]) -> Self {
        if reruns.iter().any(|o| matches!(o, Outcome::Passed)) {
            Stability::Flaky
        } else {
            Stability::Regression
        }
    }

    /// `flaky` or `regression`.
    pub fn label(self) -> &'static str {
        match self {
            Stability::Flaky => "flaky",
            Stability::Regression => "regression",
        }
    }
}

#[cfg(test)]
mod stability_tests {
    use super::*;

    #[test]
    fn stability_needs_one_pass_to_be_a_flake() {
        let failed = Outcome::Failed {
            message: "m".to_owned(),
            expected: String::new(),
            actual: String::new(),
        };
        assert_eq!(
            Stability::of(&[failed.clone(), Outcome::Passed]),
            Stability::Flaky
        );
        assert_eq!(
            Stability::of(&[failed.clone(), failed]),
            Stability::Regression
        );
    }
}

//! Plain-text pieces every reporter shares: step lines, failure details, durations.
//!
//! Steps are shown 1-based (`#1` is a phase's first step), whereas
//! [`StepResult::index`] is 0-based.

use std::time::Duration;

use super::model::{Outcome, Phase, ScenarioResult, StepResult};

/// How many log lines of the failing step the failure details show.
pub const LOG_TAIL: usize = 10;

/// The lower-case name of a phase: `steps`, `finally`, `cleanup`.
pub fn phase_label(phase: Phase) -> &'static str {
    match phase {
        Phase::Steps => "steps",
        Phase::Finally => "finally",
        Phase::Cleanup => "cleanup",
    }
}

/// A duration in seconds with two decimals: `1.23s`.
pub fn format_duration(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

/// The first line of a message (messages meant for one line may still carry more).
pub fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or("")
}

/// The message of an outcome, or its skip reason; empty when passed.
pub fn outcome_message(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Passed => "",
        Outcome::Failed { message, .. } | Outcome::Error { message } => message,
        Outcome::Skipped { reason } => reason,
    }
}

/// A step's short label: `[steps #2] expect_pods`.
pub fn step_label(step: &StepResult) -> String {
    format!(
        "[{} #{}] {}",
        phase_label(step.phase),
        step.index + 1,
        step.kind
    )
}

/// A step's log heading: `[steps #2] expect_pods scenarios/a.yaml:9:5 passed (0.12s)`.
pub fn step_line(step: &StepResult) -> String {
    format!(
        "{} {} {} ({})",
        step_label(step),
        step.location,
        step.outcome.label(),
        format_duration(step.duration)
    )
}

/// The step a scenario's verdict comes from: its first bad step in `steps`, else its first
/// bad step in `finally` or clean-up; `None` when no step is bad.
pub fn failing_step(scenario: &ScenarioResult) -> Option<&StepResult> {
    scenario
        .steps
        .iter()
        .find(|s| s.phase == Phase::Steps && s.outcome.is_bad())
        .or_else(|| scenario.steps.iter().find(|s| s.outcome.is_bad()))
}

/// The whole step log of a scenario: each step's [`step_line`] followed by its log lines,
/// indented by four spaces. Empty when the scenario ran no step.
pub fn step_log(scenario: &ScenarioResult) -> String {
    let mut out = String::new();
    for step in &scenario.steps {
        push_step_log(&mut out, step);
    }
    out
}

/// One step's [`step_line`] and its log lines, indented by four spaces.
pub fn single_step_log(step: &StepResult) -> String {
    let mut out = String::new();
    push_step_log(&mut out, step);
    out
}

fn push_step_log(out: &mut String, step: &StepResult) {
    out.push_str(&step_line(step));
    out.push('\n');
    for line in &step.log {
        out.push_str("    ");
        out.push_str(line);
        out.push('\n');
    }
}

/// The details of a failed or errored outcome, one line each, without its message: the
/// step and its location, expected vs actual (when the outcome compares values) and the tail
/// of the step's log (prefixed with `| `). Empty for passed or skipped outcomes.
pub fn failure_details(outcome: &Outcome, step: Option<&StepResult>) -> Vec<String> {
    let mut lines = Vec::new();
    let (expected, actual) = match outcome {
        Outcome::Failed {
            expected, actual, ..
        } => (expected.as_str(), actual.as_str()),
        Outcome::Error { .. } => ("", ""),
        Outcome::Passed | Outcome::Skipped { .. } => return lines,
    };
    if let Some(step) = step {
        lines.push(format!("step: {}", step_label(step)));
        lines.push(format!("at: {}", step.location));
    }
    if !expected.is_empty() || !actual.is_empty() {
        lines.push(format!("expected: {expected}"));
        lines.push(format!("actual:   {actual}"));
    }
    if let Some(step) = step
        && !step.log.is_empty()
    {
        let skip = step.log.len().saturating_sub(LOG_TAIL);
        if skip > 0 {
            lines.push(format!(
                "log (last {LOG_TAIL} of {} lines):",
                step.log.len()
            ));
        } else {
            lines.push("log:".to_owned());
        }
        lines.extend(step.log.iter().skip(skip).map(|l| format!("| {l}")));
    }
    lines
}

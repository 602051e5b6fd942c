//! The console reporter: live lines while a run goes on, and a summary at the end.
//!
//! It consumes [`Event`]s, either one at a time ([`ConsoleReporter::handle`]) or from the
//! runner's channel ([`ConsoleReporter::spawn`], which drains it on a blocking thread so
//! terminal writes never stall the runtime). Output goes to one writer (stderr by default;
//! injectable for tests):
//!
//! ```text
//! rolecheck run 3f2a on target sim: 3 scenarios
//! PASS create-with-role (1.23s)
//! FAIL update-rebinds: annotation differs
//!     step: [steps #2] expect_service_accounts
//!     at: scenarios/update.yaml:9:5
//!     expected: arn:aws:iam::000000000000:role/b
//!     actual:   arn:aws:iam::000000000000:role/a
//! SKIP image-packages: target lacks capability real-images
//! ```
//!
//! On a terminal an indicatif progress bar (scenarios done / total, the running scenarios'
//! names) sits below the lines. Colour is used only on a terminal and when `NO_COLOR` is
//! unset or empty.

use std::io::{self, IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

use super::events::Event;
use super::model::Stability;
use super::model::{Outcome, RuleVerdict, RunReport, ScenarioResult, is_blocked};
use super::text;
use super::verdict::verdicts_of;

/// How the console reporter presents its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConsoleOptions {
    /// Colour the verdicts with ANSI escapes.
    pub color: bool,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

impl ConsoleOptions {
    /// No colour, no progress bar: lines only (for pipes, CI logs and tests).
    pub fn plain() -> Self {
        Self::default()
    }

    /// What suits stderr: colour and a progress bar on a terminal, unless `NO_COLOR` is set
    /// to a non-empty value (which only turns colour off).
    pub fn detect() -> Self {
        Self::from_env(
            io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        )
    }

    /// The options for a terminal (or not) and a `NO_COLOR` value.
    fn from_env(tty: bool, no_color: Option<&std::ffi::OsStr>) -> Self {
        let no_color = no_color.is_some_and(|v| !v.is_empty());
        Self {
            color: tty && !no_color,
            progress: tty,
        }
    }
}

/// A text style of a verdict label.
#[derive(Debug, Clone, Copy)]
enum Paint {
    Green,
    Red,
    Yellow,
    Magenta,
    Bold,
}

impl Paint {
    fn code(self) -> &'static str {
        match self {
            Paint::Green => "\x1b[32m",
            Paint::Red => "\x1b[31m",
            Paint::Yellow => "\x1b[33m",
            Paint::Magenta => "\x1b[35m",
            Paint::Bold => "\x1b[1m",
        }
    }

    /// The label and paint of an outcome: `PASS`, `FAIL`, `SKIP`, `ERROR`.
    fn verdict(outcome: &Outcome) -> (&'static str, Paint) {
        match outcome {
            Outcome::Passed => ("PASS", Paint::Green),
            Outcome::Failed { .. } => ("FAIL", Paint::Red),
            Outcome::Skipped { .. } => ("SKIP", Paint::Yellow),
            Outcome::Error { .. } => ("ERROR", Paint::Magenta),
        }
    }
}

/// Shows a run on the console.
pub struct ConsoleReporter {
    out: Box<dyn Write + Send>,
    color: bool,
    /// Where the progress bar will be drawn once the run starts; `None` for no bar.
    bar_target: Option<ProgressDrawTarget>,
    bar: Option<ProgressBar>,
    running: Vec<String>,
}

impl std::fmt::Debug for ConsoleReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleReporter")
            .field("color", &self.color)
            .field("bar", &self.bar.is_some())
            .field("running", &self.running)
            .finish_non_exhaustive()
    }
}

impl ConsoleReporter {
    /// A reporter writing to `out`; with `options.progress` its bar is drawn on stderr.
    pub fn new(out: Box<dyn Write + Send>, options: ConsoleOptions) -> Self {
        Self {
            out,
            color: options.color,
            bar_target: options.progress.then(ProgressDrawTarget::stderr),
            bar: None,
            running: Vec::new(),
        }
    }

    /// A reporter writing to stderr, with [`ConsoleOptions::detect`].
    pub fn stderr() -> Self {
        Self::new(Box::new(io::stderr()), ConsoleOptions::detect())
    }

    /// Draws the progress bar on `target` instead (a hidden target exercises the bar
    /// without a terminal).
    pub fn with_progress_target(mut self, target: ProgressDrawTarget) -> Self {
        self.bar_target = Some(target);
        self
    }

    /// Drains the runner's channel on a blocking thread until every sender is gone, then
    /// clears the bar. The task ends early with the first write error.
    pub fn spawn(mut self, mut events: UnboundedReceiver<Event>) -> JoinHandle<io::Result<()>> {
        tokio::task::spawn_blocking(move || {
            while let Some(event) = events.blocking_recv() {
                self.handle(&event)?;
            }
            self.finish()
        })
    }

    /// Shows one event.
    pub fn handle(&mut self, event: &Event) -> io::Result<()> {
        match event {
            Event::RunStarted {
                run_id,
                target,
                total,
            } => {
                if let Some(target) = self.bar_target.take() {
                    self.bar = Some(new_bar(*total as u64, target, self.color));
                }
                let plural = if *total == 1 { "" } else { "s" };
                let line =
                    format!("rolecheck run {run_id} on target {target}: {total} scenario{plural}");
                self.emit(&[line])
            }
            Event::ScenarioStarted { name } => {
                self.running.push(name.clone());
                self.update_bar_message();
                Ok(())
            }
            Event::StepFinished { .. } => Ok(()),
            Event::ScenarioFinished(result) => {
                self.running.retain(|n| n != &result.name);
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
                self.update_bar_message();
                let lines = self.scenario_lines(result);
                self.emit(&lines)
            }
            Event::Rerun {
                scenario,
                attempt,
                of,
                outcome,
                ..
            } => {
                let label = self.verdict_label(outcome);
                let message = text::first_line(text::outcome_message(outcome));
                let line = if message.is_empty() {
                    format!("RERUN {attempt}/{of} {label} {scenario}")
                } else {
                    format!("RERUN {attempt}/{of} {label} {scenario}: {message}")
                };
                self.emit(&[line])
            }
            Event::RunFinished(report) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                let lines = self.summary_lines(report);
                self.emit(&lines)?;
                self.out.flush()
            }
        }
    }

    /// Clears the progress bar (if the run did not finish) and flushes the output.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.out.flush()
    }

    fn update_bar_message(&self) {
        if let Some(bar) = &self.bar {
            bar.set_message(self.running.join(", "));
        }
    }

    /// Writes lines above the progress bar (or plainly when there is none).
    fn emit(&mut self, lines: &[String]) -> io::Result<()> {
        let out = &mut self.out;
        let write = |out: &mut Box<dyn Write + Send>| -> io::Result<()> {
            for line in lines {
                writeln!(out, "{line}")?;
            }
            out.flush()
        };
        match &self.bar {
            Some(bar) => bar.suspend(|| write(out)),
            None => write(out),
        }
    }

    fn paint(&self, paint: Paint, text: &str) -> String {
        if self.color {
            format!("{}{text}\x1b[0m", paint.code())
        } else {
            text.to_owned()
        }
    }

    fn verdict_label(&self, outcome: &Outcome) -> String {
        let (label, paint) = Paint::verdict(outcome);
        self.paint(paint, label)
    }

    /// `PASS name (1.23s)`, `SKIP name: reason`, or `FAIL name: message` and its details.
    fn scenario_lines(&self, result: &ScenarioResult) -> Vec<String> {
        let label = self.verdict_label(&result.outcome);
        let message = text::outcome_message(&result.outcome);
        match &result.outcome {
            Outcome::Passed => vec![format!(
                "{label} {} ({})",
                result.name,
                text::format_duration(result.duration)
            )],
            Outcome::Skipped { .. } => vec![format!("{label} {}: {message}", result.name)],
            Outcome::Failed { .. } | Outcome::Error { .. } => {
                let mut lines = vec![format!(
                    "{label} {}: {}",
                    result.name,
                    text::first_line(message)
                )];
                let details =
                    message
                        .lines()
                        .skip(1)
                        .map(str::to_owned)
                        .chain(text::failure_details(
                            &result.outcome,
                            text::failing_step(result),
                        ));
                lines.extend(details.map(|l| format!("    {l}")));
                lines.extend(self.per_rule_lines(result));
                lines
            }
        }
    }

    /// For a bad scenario: its verdict per rule when they differ, and each later bad step
    /// with its likely cause.
    fn per_rule_lines(&self, result: &ScenarioResult) -> Vec<String> {
        let mut lines = Vec::new();
        let verdicts: Vec<String> = result
            .rules
            .iter()
            .filter_map(|r| {
                let outcome = result.rule_outcome(r)?;
                let label = if is_blocked(outcome) {
                    "blocked"
                } else {
                    outcome.label()
                };
                Some(format!("{r} {label}"))
            })
            .collect();
        let differ = verdicts
            .iter()
            .map(|v| v.split_once(' ').map_or("", |(_, label)| label))
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            > 1;
        if differ {
            lines.push(format!("    rules: {}", verdicts.join(", ")));
        }
        for step in result.steps.iter().filter(|s| s.outcome.is_bad()) {
            let Some(cause) = &step.cause else {
                continue;
            };
            lines.push(format!(
                "    then {} at {}: {}",
                text::step_label(step),
                step.location,
                text::first_line(text::outcome_message(&step.outcome))
            ));
            lines.push(format!(
                "        likely cause: {} #{}",
                cause.kind,
                cause.index + 1
            ));
        }
        lines
    }

    /// Counts, duration, run id, per-rule verdicts and leftovers.
    fn summary_lines(&self, report: &RunReport) -> Vec<String> {
        let (mut passed, mut failed, mut errors, mut skipped) = (0, 0, 0, 0);
        for s in &report.scenarios {
            match s.outcome {
                Outcome::Passed => passed += 1,
                Outcome::Failed { .. } => failed += 1,
                Outcome::Error { .. } => errors += 1,
                Outcome::Skipped { .. } => skipped += 1,
            }
        }
        let mut lines = vec![
            String::new(),
            format!(
                "{}: {passed} passed, {failed} failed, {errors} errors, {skipped} skipped \
                 of {} scenarios in {} (run {}, target {})",
                self.paint(Paint::Bold, "Summary"),
                report.scenarios.len(),
                text::format_duration(report.duration),
                report.run_id,
                report.target
            ),
            self.paint(Paint::Bold, "Rules:"),
        ];
        if report.interrupted {
            lines.insert(
                2,
                self.paint(
                    Paint::Red,
                    "INTERRUPTED: the run was stopped by SIGINT or SIGTERM; scenarios that did not finish are errors",
                ),
            );
        }
        let verdicts = &*verdicts_of(report);
        lines.extend(verdicts.iter().map(|v| self.rule_line(v)));
        if !report.reruns.is_empty() {
            lines.push(self.paint(Paint::Bold, "Re-runs of failed scenarios:"));
            for rerun in &report.reruns {
                let paint = match rerun.stability {
                    Stability::Flaky => Paint::Yellow,
                    Stability::Regression => Paint::Red,
                };
                let label = rerun.stability.label().to_ascii_uppercase();
                lines.push(format!(
                    "    {} {}: {}",
                    self.paint(paint, &label),
                    rerun.scenario,
                    rerun.summary()
                ));
            }
        }
        if !report.leftovers.is_empty() {
            lines.push(self.paint(
                Paint::Red,
                &format!(
                    "Leftovers ({}): the run could not remove these objects",
                    report.leftovers.len()
                ),
            ));
            lines.extend(report.leftovers.iter().map(|l| format!("    {l}")));
        }
        lines
    }

    /// `R5  FAIL  failed in: a, b`; a passed rule names the scenarios that checked it.
    fn rule_line(&self, verdict: &RuleVerdict) -> String {
        let (label, paint) = Paint::verdict(&verdict.outcome);
        let detail = match &verdict.outcome {
            Outcome::Passed => format!("checked by: {}", verdict.scenarios.join(", ")),
            other => text::first_line(text::outcome_message(other)).to_owned(),
        };
        format!(
            "{:<3} {}  {detail}",
            verdict.id,
            self.paint(paint, &format!("{label:<4}"))
        )
    }
}

fn new_bar(total: u64, target: ProgressDrawTarget, color: bool) -> ProgressBar {
    let template = if color {
        "{bar:30.cyan/blue} {pos}/{len} [{elapsed}] {wide_msg}"
    } else {
        "{bar:30} {pos}/{len} [{elapsed}] {wide_msg}"
    };
    let style =
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
    let bar = ProgressBar::with_draw_target(Some(total), target);
    bar.set_style(style);
    bar
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::*;

    #[test]
    fn colour_needs_a_terminal_and_no_no_color() {
        let opts = |tty, no_color: Option<&str>| {
            let o = ConsoleOptions::from_env(tty, no_color.map(OsStr::new));
            (o.color, o.progress)
        };
        assert_eq!(opts(true, None), (true, true));
        assert_eq!(opts(true, Some("")), (true, true));
        assert_eq!(opts(true, Some("1")), (false, true));
        assert_eq!(opts(false, None), (false, false));
        assert_eq!(opts(false, Some("1")), (false, false));
    }
}

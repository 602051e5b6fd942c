//! The HTML report: one self-contained page (inline CSS, no script, no external asset).
//!
//! It shows the run's counts, one colour-coded verdict per contract rule with the scenarios
//! that checked it, the re-runs of a qualification run, the objects the run left behind, and
//! one section per scenario with its steps, timings, expected vs actual of a failure, skip
//! reasons and step logs. Every text is escaped; every timing is inside
//! `<span class="time">` (tests mask them). The markup is well-formed XML as well as HTML
//! (void elements are self-closed), so XML tools can read it too.

use std::fmt::Write as _;
use std::path::Path;

use super::error::{ReportError, create_parent};
use super::model::{Outcome, Phase, Rerun, RuleVerdict, RunReport, ScenarioResult, StepResult};
use super::text;
use super::verdict::rule_verdicts;

const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
code, pre { font-family: ui-monospace, monospace; font-size: 0.9em; }
pre { background: #f4f4f6; padding: 0.5em; overflow-x: auto; white-space: pre-wrap; margin: 0.3em 0; }
table { border-collapse: collapse; margin: 0.4em 0; }
th, td { border: 1px solid #d0d0d6; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #eeeef2; }
.badge { display: inline-block; min-width: 4.2em; text-align: center; font-weight: bold;
  border-radius: 3px; padding: 0 0.3em; color: #fff; }
.passed .badge, .badge.passed { background: #1a7f37; }
.failed .badge, .badge.failed { background: #cf222e; }
.error .badge, .badge.error { background: #8250df; }
.skipped .badge, .badge.skipped { background: #9a6700; }
tr.failed td, tr.error td { background: #fff1f1; }
tr.skipped td { background: #fff8e6; }
details { border: 1px solid #d0d0d6; border-radius: 4px; margin: 0.5em 0; padding: 0.3em 0.6em; }
details.failed, details.error { border-color: #cf222e; }
summary { cursor: pointer; }
.muted { color: #6e6e73; }
.leftovers { color: #cf222e; }
";

/// Writes the report as HTML to `path`, creating its parent directories.
pub fn write_html(report: &RunReport, path: &Path) -> Result<(), ReportError> {
    let html = render_html(report);
    create_parent(path)?;
    std::fs::write(path, html).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Renders the report as one HTML page.
///
/// The rules table uses [`RunReport::rules`], or verdicts computed from the scenarios when
/// that list is empty.
pub fn render_html(report: &RunReport) -> String {
    let mut page = Page::default();
    let title = format!("rolecheck run {} on {}", report.run_id, report.target);
    page.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    page.raw("<title>");
    page.text(&title);
    page.raw("</title>\n<style>");
    page.raw(STYLE);
    page.raw("</style>\n</head>\n<body>\n");
    header(&mut page, report);
    let computed;
    let verdicts = if report.rules.is_empty() {
        computed = rule_verdicts(&report.scenarios);
        &computed
    } else {
        &report.rules
    };
    rules(&mut page, verdicts);
    if !report.reruns.is_empty() {
        reruns(&mut page, &report.reruns);
    }
    if !report.leftovers.is_empty() {
        leftovers(&mut page, &report.leftovers);
    }
    page.raw("<h2 id=\"scenarios\">Scenarios</h2>\n");
    for scenario in &report.scenarios {
        scenario_section(&mut page, scenario, report);
    }
    page.raw("</body>\n</html>\n");
    page.out
}

/// An HTML page being written: raw markup, or text that is escaped on the way in.
#[derive(Default)]
struct Page {
    out: String,
}

impl Page {
    fn raw(&mut self, markup: &str) {
        self.out.push_str(markup);
    }

    fn text(&mut self, text: &str) {
        self.out.push_str(&escape(text));
    }

    /// `<tag class="...">text</tag>` with the text escaped.
    fn element(&mut self, tag: &str, class: &str, text: &str) {
        if class.is_empty() {
            let _ = write!(self.out, "<{tag}>");
        } else {
            let _ = write!(self.out, "<{tag} class=\"{}\">", escape(class));
        }
        self.text(text);
        let _ = write!(self.out, "</{tag}>");
    }

    fn badge(&mut self, outcome: &Outcome) {
        let (label, class) = verdict(outcome);
        self.element("span", &format!("badge {class}"), label);
    }

    fn time(&mut self, d: std::time::Duration) {
        self.element("span", "time", &text::format_duration(d));
    }
}

/// `PASS`/`FAIL`/`SKIP`/`ERROR` and the CSS class of an outcome.
fn verdict(outcome: &Outcome) -> (&'static str, &'static str) {
    match outcome {
        Outcome::Passed => ("PASS", "passed"),
        Outcome::Failed { .. } => ("FAIL", "failed"),
        Outcome::Skipped { .. } => ("SKIP", "skipped"),
        Outcome::Error { .. } => ("ERROR", "error"),
    }
}

fn header(page: &mut Page, report: &RunReport) {
    page.raw("<h1>rolecheck run <code>");
    page.text(&report.run_id);
    page.raw("</code> on target <code>");
    page.text(&report.target);
    page.raw("</code></h1>\n<p>");
    let (mut passed, mut failed, mut errors, mut skipped) = (0, 0, 0, 0);
    for s in &report.scenarios {
        match s.outcome {
            Outcome::Passed => passed += 1,
            Outcome::Failed { .. } => failed += 1,
            Outcome::Error { .. } => errors += 1,
            Outcome::Skipped { .. } => skipped += 1,
        }
    }
    page.text(&format!(
        "{passed} passed, {failed} failed, {errors} errors, {skipped} skipped of {} scenarios; \
         started {}, took ",
        report.scenarios.len(),
        report.started_at
    ));
    page.time(report.duration);
    page.raw(".</p>\n");
}

fn rules(page: &mut Page, verdicts: &[RuleVerdict]) {
    page.raw("<h2 id=\"rules\">Contract rules</h2>\n<table>\n");
    page.raw("<tr><th>Rule</th><th>Title</th><th>Verdict</th><th>Details</th></tr>\n");
    for rule in verdicts {
        let (_, class) = verdict(&rule.outcome);
        let _ = write!(
            page.out,
            "<tr class=\"{class}\" id=\"rule-{}\">",
            escape(&rule.id)
        );
        page.element("td", "", &rule.id);
        page.element("td", "", &rule.title);
        page.raw("<td>");
        page.badge(&rule.outcome);
        page.raw("</td><td>");
        let message = text::first_line(text::outcome_message(&rule.outcome));
        if !message.is_empty() {
            page.text(message);
            if !rule.scenarios.is_empty() {
                page.raw("<br/>");
            }
        }
        if !rule.scenarios.is_empty() {
            page.raw("<span class=\"muted\">checked by:</span> ");
            for (i, name) in rule.scenarios.iter().enumerate() {
                if i > 0 {
                    page.raw(", ");
                }
                scenario_link(page, name);
            }
        }
        page.raw("</td></tr>\n");
    }
    page.raw("</table>\n");
}

fn scenario_link(page: &mut Page, name: &str) {
    let _ = write!(page.out, "<a href=\"#{}\">", escape(&anchor(name)));
    page.text(name);
    page.raw("</a>");
}

/// The fragment id of a scenario's section.
fn anchor(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("scenario-{safe}")
}

fn reruns(page: &mut Page, reruns: &[Rerun]) {
    page.raw("<h2 id=\"reruns\">Re-runs of failed scenarios</h2>\n<table>\n");
    page.raw("<tr><th>Scenario</th><th>Verdict</th><th>Re-runs</th></tr>\n");
    for rerun in reruns {
        page.raw("<tr><td>");
        scenario_link(page, &rerun.scenario);
        page.raw("</td>");
        page.element("td", "", &rerun.summary());
        page.raw("<td>");
        for outcome in &rerun.outcomes {
            page.badge(outcome);
            page.raw(" ");
        }
        page.raw("</td></tr>\n");
    }
    page.raw("</table>\n");
}

fn leftovers(page: &mut Page, leftovers: &[String]) {
    page.raw("<h2 id=\"leftovers\" class=\"leftovers\">");
    page.text(&format!(
        "Leftovers ({}): the run could not remove these objects",
        leftovers.len()
    ));
    page.raw("</h2>\n<ul>\n");
    for item in leftovers {
        page.element("li", "", item);
        page.raw("\n");
    }
    page.raw("</ul>\n");
}

fn scenario_section(page: &mut Page, scenario: &ScenarioResult, report: &RunReport) {
    let (_, class) = verdict(&scenario.outcome);
    let open = if scenario.outcome.is_bad() {
        " open=\"open\""
    } else {
        ""
    };
    let _ = write!(
        page.out,
        "<details class=\"{class}\" id=\"{}\"{open}>\n<summary>",
        escape(&anchor(&scenario.name))
    );
    page.badge(&scenario.outcome);
    page.raw(" <strong>");
    page.text(&scenario.name);
    page.raw("</strong> ");
    if !matches!(scenario.outcome, Outcome::Skipped { .. }) {
        page.raw("(");
        page.time(scenario.duration);
        page.raw(")");
    }
    page.raw("</summary>\n<p class=\"muted\">");
    page.text(&format!(
        "file {} | rules {} | release {}",
        scenario.file.display(),
        scenario.rules.join(", "),
        scenario.release
    ));
    page.raw("</p>\n");
    match &scenario.outcome {
        Outcome::Passed => {}
        Outcome::Skipped { reason } => {
            page.raw("<p>Skipped: ");
            page.text(reason);
            page.raw("</p>\n");
        }
        Outcome::Failed {
            message,
            expected,
            actual,
        } => {
            page.element("pre", "message", message);
            page.raw("\n");
            if !expected.is_empty() || !actual.is_empty() {
                page.raw("<table>\n<tr><th>expected</th><td><pre>");
                page.text(expected);
                page.raw("</pre></td></tr>\n<tr><th>actual</th><td><pre>");
                page.text(actual);
                page.raw("</pre></td></tr>\n</table>\n");
            }
        }
        Outcome::Error { message } => {
            page.element("pre", "message", message);
            page.raw("\n");
        }
    }
    if let Some(rerun) = report.reruns.iter().find(|r| r.scenario == scenario.name) {
        page.element("p", "", &format!("Re-runs: {}", rerun.summary()));
        page.raw("\n");
    }
    if !scenario.steps.is_empty() {
        steps(page, &scenario.steps);
    }
    page.raw("</details>\n");
}

fn steps(page: &mut Page, steps: &[StepResult]) {
    page.raw("<table>\n<tr><th>Step</th><th>Kind</th><th>At</th><th>Verdict</th><th>Time</th><th>Log</th></tr>\n");
    for step in steps {
        let (_, class) = verdict(&step.outcome);
        let _ = write!(page.out, "<tr class=\"{class}\">");
        let label = match step.phase {
            Phase::Steps => format!("#{}", step.index + 1),
            phase => format!("{} #{}", text::phase_label(phase), step.index + 1),
        };
        page.element("td", "", &label);
        page.element("td", "", &step.kind);
        page.element("td", "", &step.location);
        page.raw("<td>");
        page.badge(&step.outcome);
        page.raw("</td><td>");
        page.time(step.duration);
        page.raw("</td><td>");
        let message = text::outcome_message(&step.outcome);
        if !message.is_empty() {
            page.element("pre", "message", message);
        }
        if !step.log.is_empty() {
            page.element("pre", "log", &step.log.join("\n"));
        }
        page.raw("</td></tr>\n");
    }
    page.raw("</table>\n");
}

/// Escapes text for HTML text and attribute values; characters XML 1.0 forbids (most C0
/// controls, U+FFFE, U+FFFF) are written as `\u{..}`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{7f}' || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_quotes_and_controls() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>\u{1b}"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\\u{1b}"
        );
    }

    #[test]
    fn anchors_are_fragment_safe() {
        assert_eq!(anchor("a b\"<c>"), "scenario-a_b__c_");
    }
}

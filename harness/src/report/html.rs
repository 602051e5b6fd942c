//! The HTML report: one self-contained page (inline CSS and script, no external asset), so
//! it works offline and as a CI artifact.
//!
//! It shows the run's counts, a filter (by rule, verdict and tag; also from the address:
//! `index.html?rule=R4&verdict=failed`), one colour-coded verdict per contract rule with the
//! scenarios that checked it, the re-runs of a qualification run, the objects the run left
//! behind, and one section per scenario, failures and errors first: its verdict per rule,
//! its bad steps with links to their likely cause, then all steps with timings, expected vs
//! actual, skip reasons and step logs. Without script the page shows everything.
//!
//! Every text is escaped; every timing is inside `<span class="time">` (tests mask them).
//! The markup is well-formed XML as well as HTML (void elements are self-closed, the script
//! sits in a CDATA section), so XML tools can read it too.

use std::fmt::Write as _;
use std::path::Path;

use super::error::{ReportError, create_parent};
use super::model::{
    Outcome, Phase, Rerun, RuleVerdict, RunReport, ScenarioResult, StepResult, is_blocked,
};
use super::redact::redact;
use super::text;
use super::verdict::verdicts_of;

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
.blocked .badge, .badge.blocked { background: #8250df; }
form#filter { background: #f4f4f6; padding: 0.4em 0.6em; border-radius: 4px; }
form#filter label { margin-right: 1em; }
[hidden] { display: none !important; }
";

/// The filter: shows the scenarios (and rule rows) matching the chosen rule, verdict and
/// tag; the choice can also come from the address (`?rule=R4&verdict=failed&tag=smoke`).
/// With a rule chosen, the verdict is the scenario's verdict on that rule.
const SCRIPT: &str = r#"
(function () {
  var form = document.getElementById('filter');
  if (!form) { return; }
  function has(list, item) { return (' ' + list + ' ').indexOf(' ' + item + ' ') >= 0; }
  function apply() {
    var rule = form.elements.rule.value, verdict = form.elements.verdict.value,
        tag = form.elements.tag.value, shown = 0;
    document.querySelectorAll('[data-scenario]').forEach(function (el) {
      var v = el.getAttribute('data-verdict');
      if (rule !== '') {
        v = 'none';
        el.getAttribute('data-rule-verdicts').split(' ').forEach(function (pair) {
          var kv = pair.split(':');
          if (kv[0] === rule) { v = kv[1]; }
        });
      }
      var ok = (rule === '' || v !== 'none') &&
        (verdict === '' || v === verdict) &&
        (tag === '' || has(el.getAttribute('data-tags'), tag));
      el.hidden = !ok;
      if (ok) { shown += 1; }
    });
    document.querySelectorAll('tr[data-rule]').forEach(function (el) {
      el.hidden = !((rule === '' || el.getAttribute('data-rule') === rule) &&
        (verdict === '' || el.getAttribute('data-verdict') === verdict));
    });
    document.getElementById('shown').textContent = String(shown);
  }
  var query = new URLSearchParams(window.location.search);
  ['rule', 'verdict', 'tag'].forEach(function (name) {
    if (query.get(name) !== null) { form.elements[name].value = query.get(name); }
  });
  form.addEventListener('change', apply);
  apply();
})();
"#;

/// The verdicts the filter offers, in the order the page lists scenarios.
pub const VERDICTS: &[&str] = &["failed", "error", "blocked", "passed", "skipped"];

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
    let verdicts = &*verdicts_of(report);
    filter(&mut page, report, verdicts);
    rules(&mut page, verdicts);
    if !report.reruns.is_empty() {
        reruns(&mut page, &report.reruns);
    }
    if !report.leftovers.is_empty() {
        leftovers(&mut page, &report.leftovers);
    }
    page.raw("<h2 id=\"scenarios\">Scenarios</h2>\n");
    for scenario in in_page_order(&report.scenarios) {
        scenario_section(&mut page, scenario, report);
    }
    page.raw("<script>//<![CDATA[");
    page.raw(SCRIPT);
    page.raw("//]]></script>\n</body>\n</html>\n");
    page.out
}

/// Failed scenarios first, then errors (blocked included), passed and skipped; suite order
/// within each.
fn in_page_order(scenarios: &[ScenarioResult]) -> Vec<&ScenarioResult> {
    let rank = |o: &Outcome| match o {
        Outcome::Failed { .. } => 0,
        Outcome::Error { .. } => 1,
        Outcome::Passed => 2,
        Outcome::Skipped { .. } => 3,
    };
    let mut ordered: Vec<&ScenarioResult> = scenarios.iter().collect();
    ordered.sort_by_key(|s| rank(&s.outcome));
    ordered
}

/// `failed`, `error`, `blocked`, `passed` or `skipped`: what the filter matches.
fn filter_verdict(outcome: &Outcome) -> &'static str {
    if is_blocked(outcome) {
        "blocked"
    } else {
        outcome.label()
    }
}

/// The filter form: a rule, a verdict and a tag, each "any" by default.
fn filter(page: &mut Page, report: &RunReport, verdicts: &[RuleVerdict]) {
    let mut tags: Vec<&str> = report
        .scenarios
        .iter()
        .flat_map(|s| s.tags.iter().map(String::as_str))
        .collect();
    tags.sort_unstable();
    tags.dedup();
    page.raw("<form id=\"filter\" action=\"#\">\n");
    let select = |page: &mut Page, name: &str, label: &str, options: &[&str]| {
        let _ = write!(page.out, "<label>{label} <select name=\"{name}\">");
        page.raw("<option value=\"\">any</option>");
        for option in options {
            let _ = write!(page.out, "<option value=\"{}\">", escape(option));
            page.text(option);
            page.raw("</option>");
        }
        page.raw("</select></label>\n");
    };
    let rule_ids: Vec<&str> = verdicts.iter().map(|v| v.id.as_str()).collect();
    select(page, "rule", "Rule", &rule_ids);
    select(page, "verdict", "Verdict", VERDICTS);
    select(page, "tag", "Tag", &tags);
    let _ = writeln!(
        page.out,
        "<span class=\"muted\"><span id=\"shown\">{}</span> of {} scenarios shown</span>",
        report.scenarios.len(),
        report.scenarios.len()
    );
    page.raw("</form>\n");
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
            "<tr class=\"{class}\" id=\"rule-{id}\" data-rule=\"{id}\" data-verdict=\"{}\">",
            filter_verdict(&rule.outcome),
            id = escape(&rule.id)
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
    let rule_verdicts: Vec<String> = scenario
        .rules
        .iter()
        .filter_map(|r| {
            scenario
                .rule_outcome(r)
                .map(|o| format!("{r}:{}", filter_verdict(o)))
        })
        .collect();
    let _ = write!(
        page.out,
        "<details class=\"{class}\" id=\"{}\"{open} data-scenario=\"{}\" data-verdict=\"{}\" \
         data-rules=\"{}\" data-rule-verdicts=\"{}\" data-tags=\"{}\">\n<summary>",
        escape(&anchor(&scenario.name)),
        escape(&scenario.name),
        filter_verdict(&scenario.outcome),
        escape(&scenario.rules.join(" ")),
        escape(&rule_verdicts.join(" ")),
        escape(&scenario.tags.join(" ")),
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
        "file {} | rules {} | tags {} | release {}",
        scenario.file.display(),
        scenario.rules.join(", "),
        scenario.tags.join(", "),
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
            expected_actual(page, expected, actual);
        }
        Outcome::Error { message } => {
            page.element("pre", "message", message);
            page.raw("\n");
        }
    }
    if scenario.outcome.is_bad() {
        rule_badges(page, scenario);
        bad_steps(page, scenario);
    }
    if let Some(rerun) = report.reruns.iter().find(|r| r.scenario == scenario.name) {
        page.element("p", "", &format!("Re-runs: {}", rerun.summary()));
        page.raw("\n");
    }
    if !scenario.steps.is_empty() {
        steps(page, scenario);
    }
    page.raw("</details>\n");
}

fn expected_actual(page: &mut Page, expected: &str, actual: &str) {
    if !expected.is_empty() || !actual.is_empty() {
        page.raw("<table>\n<tr><th>expected</th><td><pre>");
        page.text(expected);
        page.raw("</pre></td></tr>\n<tr><th>actual</th><td><pre>");
        page.text(actual);
        page.raw("</pre></td></tr>\n</table>\n");
    }
}

/// The scenario's verdict per rule: `R2 FAIL  R4 ERROR (blocked)`.
fn rule_badges(page: &mut Page, scenario: &ScenarioResult) {
    page.raw("<p class=\"rule-verdicts\">Rules: ");
    for rule in &scenario.rules {
        let Some(outcome) = scenario.rule_outcome(rule) else {
            continue;
        };
        let _ = write!(page.out, "<a href=\"#rule-{}\">", escape(rule));
        page.text(rule);
        page.raw("</a> ");
        if is_blocked(outcome) {
            page.element("span", "badge blocked", "BLOCKED");
        } else {
            page.badge(outcome);
        }
        page.raw(" ");
    }
    page.raw("</p>\n");
}

/// Every bad step after the first, with a link to the first (its likely cause).
fn bad_steps(page: &mut Page, scenario: &ScenarioResult) {
    let later: Vec<&StepResult> = scenario
        .steps
        .iter()
        .filter(|s| s.outcome.is_bad() && s.cause.is_some())
        .collect();
    if later.is_empty() {
        return;
    }
    page.raw("<ul class=\"later-failures\">\n");
    for step in later {
        page.raw("<li>");
        let _ = write!(
            page.out,
            "<a href=\"#{}\">",
            escape(&step_anchor(&scenario.name, step.phase, step.index))
        );
        page.text(&format!(
            "{} #{} at {}",
            step.kind,
            step.index + 1,
            step.location
        ));
        page.raw("</a>: ");
        page.text(text::first_line(text::outcome_message(&step.outcome)));
        cause_link(page, &scenario.name, step);
        page.raw("</li>\n");
    }
    page.raw("</ul>\n");
}

/// ` (likely cause: <link to the first bad step>)`, when the step has one.
fn cause_link(page: &mut Page, scenario: &str, step: &StepResult) {
    if let Some(cause) = &step.cause {
        page.raw(" <span class=\"cause\">(likely cause: ");
        let _ = write!(
            page.out,
            "<a href=\"#{}\">",
            escape(&step_anchor(scenario, cause.phase, cause.index))
        );
        page.text(&cause.summary());
        page.raw("</a>)</span>");
    }
}

/// The fragment id of a step's row.
fn step_anchor(scenario: &str, phase: Phase, index: usize) -> String {
    format!(
        "{}-{}-{}",
        anchor(scenario).replacen("scenario-", "step-", 1),
        text::phase_label(phase),
        index + 1
    )
}

fn steps(page: &mut Page, scenario: &ScenarioResult) {
    page.raw("<table>\n<tr><th>Step</th><th>Kind</th><th>Rules</th><th>At</th><th>Verdict</th><th>Time</th><th>Log</th></tr>\n");
    for step in &scenario.steps {
        let (_, class) = verdict(&step.outcome);
        let _ = write!(
            page.out,
            "<tr class=\"{class}\" id=\"{}\">",
            escape(&step_anchor(&scenario.name, step.phase, step.index))
        );
        let label = match step.phase {
            Phase::Steps => format!("#{}", step.index + 1),
            phase => format!("{} #{}", text::phase_label(phase), step.index + 1),
        };
        page.element("td", "", &label);
        page.element("td", "", &step.kind);
        let rules = if step.rules.is_empty() && step.phase == Phase::Steps {
            "set-up".to_owned()
        } else {
            step.rules.join(", ")
        };
        page.element("td", "", &rules);
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
        if let Outcome::Failed {
            expected, actual, ..
        } = &step.outcome
        {
            expected_actual(page, expected, actual);
        }
        if step.cause.is_some() {
            cause_link(page, &scenario.name, step);
        }
        if !step.log.is_empty() {
            page.element("pre", "log", &redact(&step.log.join("\n")));
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

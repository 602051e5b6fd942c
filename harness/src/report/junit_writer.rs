//! A small JUnit XML writer (on quick-xml) for what CI systems read.
//!
//! The document is the JUnit XML that Jenkins' junit and xunit plugins, GitLab and the
//! GitHub junit actions read: `<testsuites>` of `<testsuite>`s (name, counts, time,
//! timestamp, hostname, `<properties>`) of `<testcase>`s with `name`, `classname`, `file`,
//! `line`, `time` and `timestamp`, their own `<properties>`, at most one of `<failure>`,
//! `<error>` or `<skipped>`, Maven Surefire's re-run elements (`<flakyFailure>`,
//! `<flakyError>`, `<rerunFailure>`, `<rerunError>`, each with `<stackTrace>` and
//! `<system-out>`), and `<system-out>`.
//!
//! Counts follow Surefire: a flaky test case (failed, then passed on a re-run) counts as
//! passed; `tests` counts every test case, skipped ones included. Text is made safe for
//! XML 1.0: characters XML forbids are written as `\u{..}`.

use std::time::Duration;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

/// The whole document.
#[derive(Debug, Clone, PartialEq)]
pub struct Testsuites {
    /// The document's name (`rolecheck`).
    pub name: String,
    /// Its suites, in order.
    pub suites: Vec<Testsuite>,
}

/// One `<testsuite>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Testsuite {
    /// Suite name.
    pub name: String,
    /// When it started (ISO 8601 / RFC 3339).
    pub timestamp: String,
    /// Where it ran, when known.
    pub hostname: Option<String>,
    /// Suite-level properties.
    pub properties: Vec<Property>,
    /// Its test cases.
    pub cases: Vec<Testcase>,
}

/// A `<property name value>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
}

impl Property {
    /// A property.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// One `<testcase>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Testcase {
    /// Its name, unique within the suite and classname.
    pub name: String,
    /// Its class name (the scenario file for scenarios).
    pub classname: String,
    /// The file it is written in.
    pub file: Option<String>,
    /// The line of the file its verdict points at.
    pub line: Option<usize>,
    /// How long it took.
    pub time: Duration,
    /// When it started, when known.
    pub timestamp: Option<String>,
    /// Test-case properties.
    pub properties: Vec<Property>,
    /// Its verdict.
    pub verdict: Verdict,
    /// Earlier or later runs of it (Surefire's re-run elements).
    pub reruns: Vec<RerunRecord>,
    /// Its log.
    pub system_out: Option<String>,
}

/// The verdict of a test case.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// No child element.
    Passed,
    /// `<failure>`: a broken promise.
    Failure(Problem),
    /// `<error>`: the test could not reach a verdict.
    Error(Problem),
    /// `<skipped message>`.
    Skipped {
        /// Why.
        message: String,
    },
}

/// The attributes and text of `<failure>` or `<error>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// One line.
    pub message: String,
    /// A short category.
    pub kind: String,
    /// The details.
    pub text: String,
}

/// Which re-run element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RerunKind {
    /// A failed run of a test that passed on another run.
    FlakyFailure,
    /// An errored run of a test that passed on another run.
    FlakyError,
    /// A failed re-run of a test that failed every time.
    RerunFailure,
    /// An errored re-run of a test that failed every time.
    RerunError,
}

impl RerunKind {
    /// The element name.
    pub fn element(self) -> &'static str {
        match self {
            RerunKind::FlakyFailure => "flakyFailure",
            RerunKind::FlakyError => "flakyError",
            RerunKind::RerunFailure => "rerunFailure",
            RerunKind::RerunError => "rerunError",
        }
    }
}

/// One re-run element.
#[derive(Debug, Clone, PartialEq)]
pub struct RerunRecord {
    /// Which element.
    pub kind: RerunKind,
    /// One line.
    pub message: String,
    /// A short category.
    pub problem: String,
    /// The details (`<stackTrace>`).
    pub stack_trace: String,
    /// That run's log.
    pub system_out: Option<String>,
}

/// Counts of a list of test cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Every test case.
    pub tests: usize,
    /// With `<failure>`.
    pub failures: usize,
    /// With `<error>`.
    pub errors: usize,
    /// With `<skipped>`.
    pub skipped: usize,
}

impl Counts {
    /// The counts of `cases`.
    pub fn of<'a>(cases: impl IntoIterator<Item = &'a Testcase>) -> Self {
        let mut counts = Counts::default();
        for case in cases {
            counts.tests += 1;
            match case.verdict {
                Verdict::Passed => {}
                Verdict::Failure(_) => counts.failures += 1,
                Verdict::Error(_) => counts.errors += 1,
                Verdict::Skipped { .. } => counts.skipped += 1,
            }
        }
        counts
    }

    fn add(self, other: Counts) -> Counts {
        Counts {
            tests: self.tests + other.tests,
            failures: self.failures + other.failures,
            errors: self.errors + other.errors,
            skipped: self.skipped + other.skipped,
        }
    }
}

/// Renders the document as indented XML with a declaration, ending in a newline.
pub fn render(doc: &Testsuites) -> String {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into a Vec cannot fail; quick-xml only reports the sink's I/O errors.
    let _ = write_document(&mut writer, doc);
    let mut out = String::from_utf8_lossy(&writer.into_inner()).into_owned();
    out.push('\n');
    out
}

type Sink = Writer<Vec<u8>>;

fn write_document(w: &mut Sink, doc: &Testsuites) -> std::io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let total = doc
        .suites
        .iter()
        .map(|s| Counts::of(&s.cases))
        .fold(Counts::default(), Counts::add);
    let time: Duration = doc.suites.iter().map(suite_time).sum();
    let counts = count_attrs(total);
    let mut attrs: Vec<(&str, String)> = vec![("name", safe(&doc.name))];
    attrs.extend(counts);
    attrs.push(("time", seconds(time)));
    w.create_element("testsuites")
        .with_attributes(attrs.iter().map(|(k, v)| (*k, v.as_str())))
        .write_inner_content(|w| {
            for suite in &doc.suites {
                write_suite(w, suite)?;
            }
            Ok(())
        })?;
    Ok(())
}

fn suite_time(suite: &Testsuite) -> Duration {
    suite.cases.iter().map(|c| c.time).sum()
}

fn count_attrs(c: Counts) -> Vec<(&'static str, String)> {
    vec![
        ("tests", c.tests.to_string()),
        ("failures", c.failures.to_string()),
        ("errors", c.errors.to_string()),
        ("skipped", c.skipped.to_string()),
    ]
}

fn write_suite(w: &mut Sink, suite: &Testsuite) -> std::io::Result<()> {
    let mut attrs: Vec<(&str, String)> = vec![("name", safe(&suite.name))];
    attrs.extend(count_attrs(Counts::of(&suite.cases)));
    attrs.push(("time", seconds(suite_time(suite))));
    attrs.push(("timestamp", safe(&suite.timestamp)));
    if let Some(host) = &suite.hostname {
        attrs.push(("hostname", safe(host)));
    }
    w.create_element("testsuite")
        .with_attributes(attrs.iter().map(|(k, v)| (*k, v.as_str())))
        .write_inner_content(|w| {
            write_properties(w, &suite.properties)?;
            for case in &suite.cases {
                write_case(w, case)?;
            }
            Ok(())
        })?;
    Ok(())
}

fn write_properties(w: &mut Sink, properties: &[Property]) -> std::io::Result<()> {
    if properties.is_empty() {
        return Ok(());
    }
    w.create_element("properties").write_inner_content(|w| {
        for p in properties {
            let (name, value) = (safe(&p.name), safe(&p.value));
            w.create_element("property")
                .with_attributes([("name", name.as_str()), ("value", value.as_str())])
                .write_empty()?;
        }
        Ok(())
    })?;
    Ok(())
}

fn write_case(w: &mut Sink, case: &Testcase) -> std::io::Result<()> {
    let mut attrs: Vec<(&str, String)> = vec![
        ("name", safe(&case.name)),
        ("classname", safe(&case.classname)),
    ];
    if let Some(file) = &case.file {
        attrs.push(("file", safe(file)));
    }
    if let Some(line) = case.line {
        attrs.push(("line", line.to_string()));
    }
    attrs.push(("time", seconds(case.time)));
    if let Some(ts) = &case.timestamp {
        attrs.push(("timestamp", safe(ts)));
    }
    let element = w
        .create_element("testcase")
        .with_attributes(attrs.iter().map(|(k, v)| (*k, v.as_str())));
    let empty = case.properties.is_empty()
        && matches!(case.verdict, Verdict::Passed)
        && case.reruns.is_empty()
        && case.system_out.is_none();
    if empty {
        element.write_empty()?;
        return Ok(());
    }
    element.write_inner_content(|w| {
        write_properties(w, &case.properties)?;
        match &case.verdict {
            Verdict::Passed => {}
            Verdict::Failure(p) => write_problem(w, "failure", p)?,
            Verdict::Error(p) => write_problem(w, "error", p)?,
            Verdict::Skipped { message } => {
                let message = safe(message);
                w.create_element("skipped")
                    .with_attribute(("message", message.as_str()))
                    .write_empty()?;
            }
        }
        for rerun in &case.reruns {
            write_rerun(w, rerun)?;
        }
        if let Some(out) = &case.system_out {
            write_text_element(w, "system-out", out)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn write_problem(w: &mut Sink, element: &str, p: &Problem) -> std::io::Result<()> {
    let (message, kind, text) = (safe(&p.message), safe(&p.kind), safe(&p.text));
    w.create_element(element)
        .with_attributes([("message", message.as_str()), ("type", kind.as_str())])
        .write_text_content(BytesText::new(&text))?;
    Ok(())
}

fn write_rerun(w: &mut Sink, r: &RerunRecord) -> std::io::Result<()> {
    let (message, kind) = (safe(&r.message), safe(&r.problem));
    w.create_element(r.kind.element())
        .with_attributes([("message", message.as_str()), ("type", kind.as_str())])
        .write_inner_content(|w| {
            write_text_element(w, "stackTrace", &r.stack_trace)?;
            if let Some(out) = &r.system_out {
                write_text_element(w, "system-out", out)?;
            }
            Ok(())
        })?;
    Ok(())
}

fn write_text_element(w: &mut Sink, element: &str, text: &str) -> std::io::Result<()> {
    let text = safe(text);
    w.create_element(element)
        .write_text_content(BytesText::new(&text))?;
    Ok(())
}

/// Seconds with three decimals (`1.230`), the form every consumer parses.
fn seconds(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// Text safe for XML 1.0 attributes and text: characters XML forbids (most C0 controls,
/// U+FFFE, U+FFFF) are written as `\u{..}`. The writer escapes `<`, `&` and quotes.
pub fn safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let allowed =
            matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}');
        if allowed {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(name: &str, verdict: Verdict) -> Testcase {
        Testcase {
            name: name.to_owned(),
            classname: "c".to_owned(),
            file: None,
            line: None,
            time: Duration::from_millis(1500),
            timestamp: None,
            properties: vec![],
            verdict,
            reruns: vec![],
            system_out: None,
        }
    }

    fn problem(message: &str) -> Problem {
        Problem {
            message: message.to_owned(),
            kind: "t".to_owned(),
            text: "details <here> & \"there\"".to_owned(),
        }
    }

    fn doc(cases: Vec<Testcase>) -> Testsuites {
        Testsuites {
            name: "n".to_owned(),
            suites: vec![Testsuite {
                name: "s".to_owned(),
                timestamp: "2026-11-03T09:00:00Z".to_owned(),
                hostname: None,
                properties: vec![Property::new("run_id", "r1")],
                cases,
            }],
        }
    }

    #[test]
    fn counts_follow_the_verdicts() {
        let cases = [
            case("a", Verdict::Passed),
            case("b", Verdict::Failure(problem("m"))),
            case("c", Verdict::Error(problem("m"))),
            case(
                "d",
                Verdict::Skipped {
                    message: "why".to_owned(),
                },
            ),
        ];
        assert_eq!(
            Counts::of(&cases),
            Counts {
                tests: 4,
                failures: 1,
                errors: 1,
                skipped: 1
            }
        );
    }

    #[test]
    fn a_passed_case_is_one_empty_element_and_text_is_escaped() {
        let mut failing = case("b <1>", Verdict::Failure(problem("one \"line\"")));
        failing.file = Some("scenarios/b.yaml".to_owned());
        failing.line = Some(12);
        failing.system_out = Some("log\u{1b}[31m".to_owned());
        let xml = render(&doc(vec![case("a", Verdict::Passed), failing]));
        assert!(
            xml.contains(r#"<testcase name="a" classname="c" time="1.500"/>"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<testcase name="b &lt;1&gt;" classname="c" file="scenarios/b.yaml" line="12" time="1.500">"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<failure message="one &quot;line&quot;" type="t">details &lt;here&gt; &amp; &quot;there&quot;</failure>"#),
            "{xml}"
        );
        assert!(
            xml.contains("<system-out>log\\u{1b}[31m</system-out>"),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<testsuites name="n" tests="2" failures="1" errors="0" skipped="0" time="3.000">"#),
            "{xml}"
        );
    }

    #[test]
    fn reruns_carry_a_stack_trace_and_their_log() {
        let mut flaky = case("f", Verdict::Passed);
        flaky.reruns.push(RerunRecord {
            kind: RerunKind::FlakyFailure,
            message: "m".to_owned(),
            problem: "expect_pods".to_owned(),
            stack_trace: "trace".to_owned(),
            system_out: Some("out".to_owned()),
        });
        let xml = render(&doc(vec![flaky]));
        assert!(
            xml.contains(
                "<flakyFailure message=\"m\" type=\"expect_pods\">\n        <stackTrace>trace</stackTrace>\n        <system-out>out</system-out>\n      </flakyFailure>"
            ),
            "{xml}"
        );
    }

    #[test]
    fn forbidden_characters_are_spelled_out() {
        assert_eq!(safe("a\u{1b}[31mb\tc"), "a\\u{1b}[31mb\tc");
        assert_eq!(safe("<&>\"'"), "<&>\"'");
    }
}

//! The HTML reporter: a golden file with masked timings, well-formedness, escaping.
//!
//! Regenerate the golden file with `UPDATE_GOLDEN=1 cargo test -p rolecheck --test report_html`.

mod report_fixture;

use std::path::PathBuf;

use quick_xml::Reader;
use quick_xml::events::Event;
use rolecheck::report::html::{render_html, write_html};
use rolecheck::report::model::{Outcome, Rerun, RunReport};
use rolecheck::suite::Stability;

use report_fixture::{failed, rebind_failure, sample_report};

/// The sample report plus a qualification re-run of its failed scenario.
fn report_with_reruns() -> RunReport {
    let mut report = sample_report();
    report.reruns.push(Rerun {
        scenario: "update-rebinds-role".to_owned(),
        stability: Stability::Flaky,
        outcomes: vec![rebind_failure(), Outcome::Passed],
    });
    report
}

/// Replaces the text of every `<span class="time">...</span>` with `...`.
fn mask_times(html: &str) -> String {
    const OPEN: &str = "<span class=\"time\">";
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find(OPEN) {
        let text_start = start + OPEN.len();
        out.push_str(&rest[..text_start]);
        out.push_str("...");
        let len = rest[text_start..].find("</span>").expect("closed span");
        rest = &rest[text_start + len..];
    }
    out.push_str(rest);
    out
}

fn check_golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| !v.is_empty()) {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(
        actual,
        expected,
        "{} differs (run with UPDATE_GOLDEN=1 to accept)",
        path.display()
    );
}

/// Start tags in order, checking every end tag closes the innermost open one.
fn tags(html: &str) -> Vec<String> {
    let mut reader = Reader::from_str(html);
    reader.config_mut().check_end_names = true;
    let mut open: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                seen.push(name.clone());
                open.push(name);
            }
            Ok(Event::Empty(e)) => {
                seen.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
            }
            Ok(Event::End(e)) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                assert_eq!(open.pop().as_deref(), Some(name.as_str()), "unbalanced");
            }
            Ok(_) => {}
            Err(err) => panic!("not well-formed at {}: {err}", reader.buffer_position()),
        }
    }
    assert!(open.is_empty(), "unclosed: {open:?}");
    seen
}

#[test]
fn page_matches_golden_file() {
    check_golden(
        "index.html",
        &mask_times(&render_html(&report_with_reruns())),
    );
}

#[test]
fn page_is_well_formed_and_self_contained() {
    let html = render_html(&report_with_reruns());
    let seen = tags(&html);
    assert_eq!(seen.first().map(String::as_str), Some("html"));
    for forbidden in ["script", "link", "img", "iframe"] {
        assert!(
            !seen.iter().any(|t| t == forbidden),
            "<{forbidden}> in page"
        );
    }
    assert!(!html.contains(" src="), "no external source");
    for (i, _) in html.match_indices("href=\"") {
        assert!(html[i + 6..].starts_with('#'), "external link at {i}");
    }
    assert!(seen.iter().any(|t| t == "style"));
}

#[test]
fn every_rule_has_a_colour_coded_row() {
    let html = render_html(&sample_report());
    for n in 1..=16 {
        assert!(html.contains(&format!("id=\"rule-R{n}\"")), "R{n} missing");
    }
    assert!(
        html.contains("<tr class=\"failed\" id=\"rule-R3\">"),
        "{html}"
    );
    assert!(
        html.contains("<tr class=\"passed\" id=\"rule-R2\">"),
        "{html}"
    );
    assert!(
        html.contains("<tr class=\"skipped\" id=\"rule-R15\">"),
        "{html}"
    );
    assert!(html.contains("create --cloud-role binds the role"));
}

#[test]
fn failures_show_expected_and_actual_and_skips_their_reason() {
    let html = render_html(&sample_report());
    assert!(html.contains("<th>expected</th><td><pre>arn:aws:iam::000000000000:role/role-b</pre>"));
    assert!(html.contains("<th>actual</th><td><pre>arn:aws:iam::000000000000:role/role-a</pre>"));
    assert!(html.contains("Skipped: target lacks capability real-images"));
    assert!(
        html.contains("namespace astronomer-update-6756"),
        "leftovers listed"
    );
}

#[test]
fn hostile_text_is_escaped() {
    let mut report = sample_report();
    report.scenarios[1].outcome = failed(
        "<script>alert('x')</script> & \"q\"",
        "</pre><b>",
        "\u{1b}[31m",
    );
    report.run_id = "<run>".to_owned();
    let html = render_html(&report);
    tags(&html);
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"));
    assert!(html.contains("&lt;/pre&gt;&lt;b&gt;"));
    assert!(html.contains("\\u{1b}[31m"));
    assert!(html.contains("<code>&lt;run&gt;</code>"));
}

#[test]
fn written_next_to_the_other_reports() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/index.html");
    write_html(&sample_report(), &path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("<!DOCTYPE html>"));
}

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
    for forbidden in ["link", "img", "iframe"] {
        assert!(
            !seen.iter().any(|t| t == forbidden),
            "<{forbidden}> in page"
        );
    }
    // One inline script (the filter), nothing loaded from elsewhere.
    assert_eq!(seen.iter().filter(|t| *t == "script").count(), 1);
    assert!(html.contains("<script>//<![CDATA["), "inline script");
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
        html.contains(
            "<tr class=\"failed\" id=\"rule-R3\" data-rule=\"R3\" data-verdict=\"failed\">"
        ),
        "{html}"
    );
    assert!(
        html.contains(
            "<tr class=\"passed\" id=\"rule-R2\" data-rule=\"R2\" data-verdict=\"passed\">"
        ),
        "{html}"
    );
    assert!(
        html.contains(
            "<tr class=\"skipped\" id=\"rule-R15\" data-rule=\"R15\" data-verdict=\"skipped\">"
        ),
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
    // Only the page's own filter script.
    assert_eq!(html.matches("<script>").count(), 1);
    assert!(!html.contains("<script>alert"));
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

// ---------------------------------------------------------------- order, filter, causes

/// Every element's start tag with its attributes, in document order.
fn elements(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut reader = Reader::from_str(html);
    let mut out = Vec::new();
    loop {
        match reader.read_event().expect("well-formed") {
            Event::Start(e) | Event::Empty(e) => {
                let attrs = e
                    .attributes()
                    .map(|a| {
                        let a = a.expect("attribute");
                        (
                            String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                            a.unescape_value().expect("value").into_owned(),
                        )
                    })
                    .collect();
                out.push((
                    String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                    attrs,
                ));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn get<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn failures_and_errors_come_first() {
    let html = render_html(&sample_report());
    let order: Vec<String> = elements(&html)
        .into_iter()
        .filter_map(|(_, attrs)| get(&attrs, "data-scenario").map(str::to_owned))
        .collect();
    assert_eq!(
        order,
        [
            "update-rebinds-role",
            "viewer-cannot-set-role",
            "create-with-role-annotates-all-components",
            "image-packages",
            "token-audience-refused"
        ]
    );
}

/// The verdict fixtures' scenarios in one report (failed, blocked, passed, skipped; tagged
/// and untagged): what the filter tests filter.
fn filter_report() -> RunReport {
    let reports = report_fixture::verdict_reports();
    let mut scenarios = Vec::new();
    for (_, r) in &reports {
        scenarios.extend(r.scenarios.iter().cloned());
    }
    let mut report = reports[0].1.clone();
    for (i, s) in scenarios.iter_mut().enumerate() {
        s.name = format!("{}-{i}", s.name);
    }
    report.scenarios = scenarios;
    report.rules = rolecheck::report::verdict::rule_verdicts(&report.scenarios);
    report
}

/// The filter works without network: the page's own script reads `data-*` attributes that
/// every scenario section and rule row carries, and the form offers every rule, verdict and
/// tag of the run.
#[test]
fn the_filter_has_what_it_filters_on() {
    let html = render_html(&filter_report());
    let all = elements(&html);
    let options = |select: &str| -> Vec<String> {
        let mut inside = false;
        let mut out = Vec::new();
        for (tag, attrs) in &all {
            if tag == "select" {
                inside = get(attrs, "name") == Some(select);
            } else if tag == "option" && inside {
                out.push(get(attrs, "value").unwrap_or_default().to_owned());
            }
        }
        out
    };
    let rules: Vec<String> = std::iter::once(String::new())
        .chain((1..=16).map(|n| format!("R{n}")))
        .collect();
    assert_eq!(options("rule"), rules);
    assert_eq!(
        options("verdict"),
        ["", "failed", "error", "blocked", "passed", "skipped"]
    );
    assert_eq!(options("tag"), ["", "smoke"]);
    let sections: Vec<&Vec<(String, String)>> = all
        .iter()
        .filter(|(_, a)| get(a, "data-scenario").is_some())
        .map(|(_, a)| a)
        .collect();
    assert_eq!(sections.len(), 5);
    let verdicts: Vec<&str> = sections
        .iter()
        .map(|a| get(a, "data-verdict").unwrap_or_default())
        .collect();
    assert_eq!(
        verdicts,
        ["failed", "failed", "blocked", "passed", "skipped"]
    );
    let blocked = sections[2];
    assert_eq!(
        get(blocked, "data-rule-verdicts"),
        Some("R2:passed R5:blocked")
    );
    assert_eq!(get(blocked, "data-rules"), Some("R2 R5"));
    assert_eq!(get(blocked, "data-tags"), Some("smoke"));
    for n in 1..=16 {
        assert!(
            all.iter().any(|(tag, a)| tag == "tr"
                && get(a, "data-rule") == Some(&format!("R{n}"))
                && get(a, "data-verdict").is_some()),
            "rule row R{n}"
        );
    }
    // Nothing is fetched: the script is inline and reads only the page.
    assert!(!html.contains("fetch("), "no network use");
    assert!(!html.contains("http://") && !html.contains("https://"));
}

/// A later failure links to the step that failed first, its likely cause.
#[test]
fn a_later_failure_links_its_cause() {
    let (_, mut report) = report_fixture::verdict_reports()
        .into_iter()
        .find(|(k, _)| *k == "failing")
        .expect("failing");
    let scenario = &mut report.scenarios[0];
    let first = scenario.steps[1].clone();
    scenario.steps[1].outcome = failed("the SA lacks the role", "role", "none");
    scenario.steps[1].rules = vec!["R2".to_owned()];
    scenario.steps[2].cause = Some(rolecheck::report::model::Cause {
        phase: first.phase,
        index: first.index,
        kind: first.kind.clone(),
        location: first.location.clone(),
        rules: vec!["R2".to_owned()],
        message: "the SA lacks the role".to_owned(),
    });
    let html = render_html(&report);
    let all = elements(&html);
    let target = "step-create-with-role-injects-web-identity-steps-2";
    assert!(
        all.iter()
            .any(|(tag, a)| tag == "tr" && get(a, "id") == Some(target)),
        "{html}"
    );
    let links = all
        .iter()
        .filter(|(tag, a)| tag == "a" && get(a, "href") == Some(&format!("#{target}")))
        .count();
    assert!(
        links >= 2,
        "cause linked in the failure list and the step row: {html}"
    );
    assert!(html.contains("likely cause: "));
}

// ---------------------------------------------------------------- the filter in a browser

/// A headless Chromium: `ROLECHECK_BROWSER`, else `chromium` on the PATH (`make test`
/// installs Debian's). `None` when there is none; `ROLECHECK_REQUIRE_BROWSER=1` (set by
/// `make test`) makes that a failure instead of a skip.
fn browser() -> Option<PathBuf> {
    let found = std::env::var_os("ROLECHECK_BROWSER")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("PATH").and_then(|path| {
                std::env::split_paths(&path)
                    .flat_map(|dir| ["chromium", "chromium-browser"].map(|n| dir.join(n)))
                    .find(|p| p.is_file())
            })
        });
    if found.is_none() && std::env::var_os("ROLECHECK_REQUIRE_BROWSER").is_some() {
        panic!("ROLECHECK_REQUIRE_BROWSER is set but no chromium was found");
    }
    found
}

/// The page at `file?query` as Chromium leaves it after its script ran (`--dump-dom`), in a
/// network namespace of its own when one can be made (nothing can leave the machine), bounded
/// by `timeout`.
fn dump_dom(browser: &std::path::Path, page: &std::path::Path, query: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}?{query}", page.display());
    let isolated = std::process::Command::new("unshare")
        .args(["--net", "true"])
        .status()
        .is_ok_and(|s| s.success());
    let mut command = std::process::Command::new(if isolated { "unshare" } else { "timeout" });
    if isolated {
        command.args(["--net", "timeout"]);
    }
    command
        .arg("120")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-domain-reliability",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(&url);
    let out = command.output().expect("the browser starts");
    assert!(
        out.status.success(),
        "{url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 DOM")
}

/// The scenarios a dumped page shows (its sections without `hidden`), and its `shown` count.
fn shown(dom: &str) -> (Vec<String>, String) {
    let mut names = Vec::new();
    let mut rest = dom;
    while let Some(at) = rest.find("data-scenario=\"") {
        let tag_start = rest[..at].rfind('<').expect("inside a tag");
        let tag_end = at + rest[at..].find('>').expect("tag ends");
        let tag = &rest[tag_start..tag_end];
        let value = &rest[at + "data-scenario=\"".len()..];
        let name = &value[..value.find('"').expect("quoted")];
        if !tag
            .split_whitespace()
            .any(|a| a == "hidden" || a.starts_with("hidden="))
        {
            names.push(name.to_owned());
        }
        rest = &rest[tag_end..];
    }
    let count = dom
        .split("id=\"shown\">")
        .nth(1)
        .and_then(|t| t.split('<').next())
        .unwrap_or_default()
        .to_owned();
    (names, count)
}

/// What the filter should show, computed here from the page's static `data-*` attributes.
fn expected_shown(html: &str, rule: &str, verdict: &str, tag: &str) -> Vec<String> {
    elements(html)
        .into_iter()
        .filter_map(|(_, a)| {
            let name = get(&a, "data-scenario")?.to_owned();
            let v = if rule.is_empty() {
                get(&a, "data-verdict").unwrap_or_default().to_owned()
            } else {
                get(&a, "data-rule-verdicts")
                    .unwrap_or_default()
                    .split(' ')
                    .find_map(|pair| pair.strip_prefix(&format!("{rule}:")))
                    .unwrap_or("none")
                    .to_owned()
            };
            let tags = get(&a, "data-tags").unwrap_or_default();
            let ok = (rule.is_empty() || v != "none")
                && (verdict.is_empty() || v == verdict)
                && (tag.is_empty() || tags.split(' ').any(|t| t == tag));
            ok.then_some(name)
        })
        .collect()
}

/// The filter, run by a real browser from the page's address, shows exactly the scenarios
/// the chosen rule, verdict and tag select (issue 13, item 5), offline.
#[rstest::rstest]
#[case::everything("", "", "")]
#[case::failed("", "failed", "")]
#[case::blocked("", "blocked", "")]
#[case::skipped("", "skipped", "")]
#[case::rule("R5", "", "")]
#[case::rule_and_verdict("R5", "blocked", "")]
#[case::tag("", "", "smoke")]
#[case::nothing_matches("R16", "failed", "")]
fn the_filter_works_in_a_browser(#[case] rule: &str, #[case] verdict: &str, #[case] tag: &str) {
    let Some(browser) = browser() else {
        eprintln!("skipped: no headless browser (install chromium, or set ROLECHECK_BROWSER)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("index.html");
    let html = render_html(&filter_report());
    std::fs::write(&page, &html).unwrap();
    let want = expected_shown(&html, rule, verdict, tag);
    let dom = dump_dom(
        &browser,
        &page,
        &format!("rule={rule}&verdict={verdict}&tag={tag}"),
    );
    let (names, count) = shown(&dom);
    assert_eq!(names, want, "rule={rule} verdict={verdict} tag={tag}");
    assert_eq!(count, want.len().to_string());
}

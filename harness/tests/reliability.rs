//! Reliability: the suite passes run after run on the healthy sim, and no token, credential or
//! bearer token ever reaches the console or a report.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rolecheck::cli::RunArgs;
use rolecheck::report::console::{ConsoleOptions, ConsoleReporter};
use rolecheck::session;

fn args(dir: &std::path::Path) -> RunArgs {
    RunArgs {
        target: "sim".to_owned(),
        jobs: Some(4),
        filter: Vec::new(),
        junit: dir.join("junit.xml"),
        json: dir.join("results.json"),
        fault: Vec::new(),
        step_timeout: Some(Duration::from_secs(30)),
        cleanup_timeout: Some(Duration::from_secs(30)),
        paths: vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")],
    }
}

/// A console writer the test can read afterwards.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_back_to_back_runs_pass() {
    let dir = tempfile::tempdir().unwrap();
    for run in 1..=20 {
        let quiet = ConsoleReporter::new(Box::new(std::io::sink()), ConsoleOptions::plain());
        let report = session::run(&args(dir.path()).resolve().unwrap(), quiet)
            .await
            .unwrap();
        let bad: Vec<_> = report
            .scenarios
            .iter()
            .filter(|s| s.outcome.is_bad())
            .map(|s| format!("{}: {:?}", s.name, s.outcome))
            .collect();
        assert!(bad.is_empty(), "run {run}: {bad:#?}");
        assert!(
            report.leftovers.is_empty(),
            "run {run}: {:?}",
            report.leftovers
        );
    }
}

/// Shapes of secrets: JWTs (service-account tokens), AWS access keys of issued sessions, and
/// the 40-character random tokens the sim hands out (Kubernetes and platform bearer tokens).
fn secret_shapes(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for word in
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
    {
        let jwt = word.starts_with("eyJ") && word.matches('.').count() >= 2 && word.len() > 40;
        let access_key = word.starts_with("ASIA")
            && word.len() >= 16
            && word[4..]
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        let bearer = word.len() >= 40 && word.chars().all(|c| c.is_ascii_alphanumeric());
        if jwt || access_key || bearer {
            found.push(word.to_owned());
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_console_or_the_reports() {
    let dir = tempfile::tempdir().unwrap();
    let console = Captured::default();
    let reporter = ConsoleReporter::new(Box::new(console.clone()), ConsoleOptions::plain());
    // A faulted run too: failure messages carry expected-vs-actual text.
    let mut faulted = args(dir.path());
    faulted.fault = vec!["sts-ignores-sub-condition".to_owned()];
    session::run(&args(dir.path()).resolve().unwrap(), reporter)
        .await
        .unwrap();
    let quiet = ConsoleReporter::new(Box::new(console.clone()), ConsoleOptions::plain());
    session::run(&faulted.resolve().unwrap(), quiet)
        .await
        .unwrap();

    let mut texts = vec![String::from_utf8(console.0.lock().unwrap().clone()).unwrap()];
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        texts.push(std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    assert!(texts[0].contains("Summary"), "{}", texts[0]);
    for text in &texts {
        let found = secret_shapes(text);
        assert!(found.is_empty(), "secrets in output: {found:?}");
    }
}

#[test]
fn the_secret_detector_recognises_secrets() {
    let text = "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJl key ASIAABCDEFGHIJKLMNOP bearer 7EVdgwPQOtOg2x8JxTXN73AKBV45ahO51pdpVlvO arn:aws:iam::123456789:role/example-role";
    assert_eq!(secret_shapes(text).len(), 3, "{:?}", secret_shapes(text));
}

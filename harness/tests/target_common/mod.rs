//! Running the whole suite against a target through the binary, and judging its reports.

use std::path::Path;
use std::process::Command;

use rolecheck::report::json::read_json;
use rolecheck::report::model::{Outcome, RunReport};

/// Runs `rolecheck run --target <target>` over the suite; returns the exit code, stderr and
/// the JSON report.
pub fn run_suite(target: &str, reports: &Path) -> (Option<i32>, String, RunReport) {
    let json = reports.join("results.json");
    let out = Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .args(["run", "--target", target, "--junit"])
        .arg(reports.join("junit.xml"))
        .arg("--json")
        .arg(&json)
        .arg("--html")
        .arg(reports.join("index.html"))
        .arg("../scenarios")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = read_json(&json).unwrap_or_else(|e| panic!("no report ({e}): {stderr}"));
    (out.status.code(), stderr, report)
}

/// Asserts what a stand-in target (STS/IAM that verifies nothing) must show: exit 0, no
/// failure or error, the platform and webhook scenarios passed, and every STS-verification
/// scenario skipped with the stand-in's reason.
pub fn assert_stand_in_run(
    target: &str,
    stand_in: &str,
    code: Option<i32>,
    stderr: &str,
    report: &RunReport,
) {
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(report.target, target);
    assert!(report.leftovers.is_empty(), "{:?}", report.leftovers);
    let mut passed = 0;
    for s in &report.scenarios {
        match &s.outcome {
            Outcome::Passed => passed += 1,
            Outcome::Skipped { reason } => {
                assert!(
                    reason.contains(&format!("target `{target}` lacks capability")),
                    "{}: {reason}",
                    s.name
                );
                if reason.contains("sts-validates-") {
                    assert!(reason.contains(stand_in), "{}: {reason}", s.name);
                }
            }
            other => panic!("{} did not pass on {target}: {other:?}", s.name),
        }
    }
    for name in [
        "create-with-role-annotates-service-accounts",
        "create-with-role-injects-web-identity",
        "editor-and-viewer-cannot-pass-role",
        "role-annotation-cannot-be-removed",
    ] {
        let s = report.scenarios.iter().find(|s| s.name == name).unwrap();
        assert_eq!(s.outcome, Outcome::Passed, "{name}");
    }
    for name in [
        "token-with-wrong-audience-refused",
        "token-resigned-by-foreign-key-refused",
    ] {
        let s = report.scenarios.iter().find(|s| s.name == name).unwrap();
        assert!(
            matches!(&s.outcome, Outcome::Skipped { reason } if reason.contains("sts-validates-signature")),
            "{name}: {:?}",
            s.outcome
        );
    }
    assert!(passed >= 15, "only {passed} passed");
}

//! The `kind` target end to end: `env up kind` (cluster, webhook, LocalStack container, OIDC
//! provider), the suite through the `manifest` platform driver, `gc`, `env down kind`.
//! Needs Docker, kind and kubectl: `make test-kind` runs it.

use std::process::Command;

fn rolecheck(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn ok(out: &std::process::Output) -> bool {
    out.status.code() == Some(0)
}

#[test]
#[ignore = "needs Docker and kind: run make test-kind"]
fn the_suite_runs_on_kind_with_platform_scenarios_skipped() {
    let up = rolecheck(&["env", "up", "kind"]);
    assert!(ok(&up), "{}", String::from_utf8_lossy(&up.stderr));
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("results.json");
    let out = rolecheck(&[
        "run",
        "--target",
        "kind",
        "--json",
        json.to_str().unwrap(),
        "--junit",
        dir.path().join("junit.xml").to_str().unwrap(),
        "scenarios",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = rolecheck::report::json::read_json(&json).unwrap();
    let gc = rolecheck(&["gc", "--target", "kind", "--older-than", "0s"]);
    let down = rolecheck(&["env", "down", "kind"]);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let version = report
        .scenarios
        .iter()
        .find(|s| s.name == "kubernetes-version-at-least-1-14")
        .unwrap();
    assert_eq!(version.outcome, rolecheck::report::model::Outcome::Passed);
    let platform = report
        .scenarios
        .iter()
        .find(|s| s.name == "editor-and-viewer-cannot-pass-role")
        .unwrap();
    assert!(matches!(
        &platform.outcome,
        rolecheck::report::model::Outcome::Skipped { reason } if reason.contains("admin-roles")
    ));
    assert!(ok(&gc), "{}", String::from_utf8_lossy(&gc.stdout));
    assert!(ok(&down), "{}", String::from_utf8_lossy(&down.stderr));
}

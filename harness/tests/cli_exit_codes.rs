//! The binary's exit codes and messages for usage errors and bad scenario files.

use std::process::Command;

fn rolecheck(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn validate_accepts_the_suite() {
    let out = rolecheck(&["validate", "../scenarios"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn validate_refuses_a_bad_file_with_its_position_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "name: x\ndescription: d\nrules: [R99]\nsteps:\n  - delete_deployment: {release: a}\n",
    )
    .unwrap();
    let out = rolecheck(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.yaml:3:"), "{stderr}");
    assert!(stderr.contains("R99"), "{stderr}");
}

#[test]
fn missing_path_is_exit_2() {
    let out = rolecheck(&["validate", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn unknown_flag_is_exit_2() {
    let out = rolecheck(&["run", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn list_names_scenarios_with_rules() {
    let out = rolecheck(&["list", "../scenarios"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("role-annotation-cannot-be-removed"),
        "{stdout}"
    );
    assert!(stdout.contains("R10"), "{stdout}");
}

/// `list` shows the capabilities each scenario needs, computed from its rules and steps.
#[test]
fn list_shows_the_computed_needs() {
    let out = rolecheck(&["list", "../scenarios"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("expired-token-refused "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.contains("clock-control"), "{line}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("stored-config-holds-role "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.contains("platform-api,platform-db"), "{line}");
}

/// Ctrl-C in the middle of a step: the run stops, cleans up what it created, writes its
/// reports saying it was interrupted, and exits 130.
#[test]
fn ctrl_c_cleans_up_and_reports() {
    use std::io::{BufRead as _, BufReader};
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("slow.yaml");
    std::fs::write(
        &scenario,
        r#"name: interrupted
description: Creates a namespace, then waits for a deployment that never comes.
rules: [R12]
steps:
  - create_service_account: {namespace: "outside-{{run_id}}", name: waiting}
  - expect_service_accounts: {release: "never-{{run_id}}", annotations: {a: b}, timeout: 120s, rules: [R12]}
"#,
    )
    .unwrap();
    let json = dir.path().join("results.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .args(["run", "--junit"])
        .arg(dir.path().join("junit.xml"))
        .arg("--json")
        .arg(&json)
        .arg(&scenario)
        .env("NO_COLOR", "1")
        .env("ROLECHECK_LOG", "rolecheck=info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (by reading the log, not by sleeping) until the namespace exists.
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("step finished") && line.contains("create_service_account") {
            break;
        }
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let code = child.wait().unwrap().code();
    assert_eq!(code, Some(130), "{}", rest.join("\n"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["interrupted"], true, "{report:#}");
    assert_eq!(report["leftovers"], serde_json::json!([]), "{report:#}");
    let steps = report["scenarios"][0]["steps"].as_array().unwrap();
    let interrupted = &steps[1];
    assert_eq!(interrupted["outcome"]["status"], "error", "{report:#}");
    let cleanup = steps.last().unwrap();
    assert_eq!(cleanup["kind"], "cleanup");
    assert_eq!(cleanup["outcome"]["status"], "passed", "{report:#}");
    assert!(cleanup["log"].to_string().contains("removed"), "{report:#}");
}

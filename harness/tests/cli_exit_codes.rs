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
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn validate_refuses_a_bad_file_with_its_position_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(&file, "name: x\ndescription: d\nrules: [R99]\nsteps:\n  - delete_deployment: {release: a}\n").unwrap();
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
    assert!(stdout.contains("role-annotation-cannot-be-removed"), "{stdout}");
    assert!(stdout.contains("R10"), "{stdout}");
}

//! `rolecheck coverage`: rules traced to scenarios, and what a target's capabilities allow.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use rolecheck::capability::Capability;
use rolecheck::report::coverage::Coverage;
use rolecheck::scenario::load_paths;

fn write(dir: &Path, name: &str, body: &str) {
    std::fs::write(dir.join(format!("{name}.yaml")), body).unwrap();
}

/// Three scenarios: one needing nothing (R2, R4), one needing admin roles (R9), one needing
/// real images (R15).
fn small_suite() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "plain",
        "name: plain\ndescription: d\nrules: [R2, R4]\nsteps:\n  \
         - create_service_account: {namespace: \"x-{{run_id}}\", name: a, rules: [R2, R4]}\n",
    );
    write(
        dir.path(),
        "viewer",
        "name: viewer-deletes\ndescription: d\nrules: [R9]\nsteps:\n  \
         - delete_deployment: {release: \"{{release}}\", as: viewer, rules: [R9]}\n",
    );
    write(
        dir.path(),
        "images",
        "name: images\ndescription: d\nrules: [R15]\nrequires: [real-images]\nsteps:\n  \
         - create_service_account: {namespace: \"x-{{run_id}}\", name: a, rules: [R15]}\n",
    );
    dir
}

fn rolecheck(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn rules_are_traced_to_scenarios_and_capabilities() {
    let dir = small_suite();
    let scenarios = load_paths(&[dir.path().to_path_buf()]).unwrap();
    let caps = BTreeSet::from([Capability::PlatformApi, Capability::Deployments]);
    let coverage = Coverage::compute(&scenarios, "tiny", &caps);

    assert_eq!(coverage.rules.len(), 16);
    let r2 = &coverage.rules[1];
    assert_eq!(r2.id, "R2");
    assert_eq!(r2.scenarios.len(), 1);
    assert!(r2.runnable());
    let r9 = &coverage.rules[8];
    assert_eq!(r9.scenarios[0].name, "viewer-deletes");
    assert_eq!(r9.scenarios[0].missing, vec!["admin-roles"]);
    assert_eq!(coverage.not_runnable(), vec!["R9", "R15"]);
    let uncovered = coverage.uncovered();
    assert!(uncovered.contains(&"R1") && uncovered.contains(&"R16"));
    assert!(!uncovered.contains(&"R2") && !uncovered.contains(&"R15"));
    assert_eq!(uncovered.len(), 12);

    let table = coverage.render();
    assert!(table.contains("     + plain\n"), "{table}");
    assert!(
        table.contains("     - images (skipped on tiny: lacks real-images)"),
        "{table}"
    );
    assert!(table.contains("R1   Feature enabled by"), "{table}");
    assert!(table.contains("UNCOVERED"), "{table}");
    assert!(
        table.contains("Rules no scenario can check on `tiny`: R9, R15"),
        "{table}"
    );
}

#[test]
fn uncovered_rules_make_exit_1() {
    let dir = small_suite();
    let out = rolecheck(&["coverage", "--target", "sim", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Uncovered rules (no scenario): R1, R3, R5"),
        "{stdout}"
    );
    // The sim has admin roles but no real images.
    assert!(stdout.contains("     + viewer-deletes"), "{stdout}");
    assert!(
        stdout.contains("Rules no scenario can check on `sim`: R15"),
        "{stdout}"
    );
}

#[test]
fn a_suite_covering_every_rule_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let all: Vec<String> = (1..=16).map(|n| format!("R{n}")).collect();
    write(
        dir.path(),
        "all",
        &format!(
            "name: all\ndescription: d\nrules: [{}]\nsteps:\n  \
             - create_service_account: {{namespace: \"x-{{{{run_id}}}}\", name: a, rules: [{}]}}\n",
            all.join(", "),
            all.join(", ")
        ),
    );
    let out = rolecheck(&["coverage", dir.path().to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("Every rule is checked by at least one scenario."));
}

#[test]
fn the_real_suite_is_listed_rule_by_rule() {
    let out = rolecheck(&["coverage", "../scenarios"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for n in 1..=16 {
        assert!(stdout.contains(&format!("\nR{n} ")), "R{n}: {stdout}");
    }
    let expected = if stdout.contains("Uncovered rules") {
        1
    } else {
        0
    };
    assert_eq!(out.status.code(), Some(expected), "{stdout}");
}

#[test]
fn unknown_target_is_a_usage_error() {
    let out = rolecheck(&["coverage", "--target", "mars", "../scenarios"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mars"));
}

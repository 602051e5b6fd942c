//! Two `rolecheck run` in one directory: the second does not overwrite the first one's
//! reports; it stops at once with a clear message (exit 2) while the first holds the lock.

mod running_sim;

use std::time::Duration;

use running_sim::{read_rest, read_until, signal};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

const SAFETY: Duration = Duration::from_secs(300);

fn run(dir: &std::path::Path, scenario: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rolecheck"));
    command
        .arg("run")
        .arg("--junit")
        .arg(dir.join("reports/junit.xml"))
        .arg("--json")
        .arg(dir.join("reports/results.json"))
        .arg(scenario)
        .env("NO_COLOR", "1")
        .env("ROLECHECK_LOG", "rolecheck=info")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    command
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_in_the_same_reports_directory_stops_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let slow = dir.path().join("slow.yaml");
    std::fs::write(
        &slow,
        r#"name: first
description: Waits long enough for a second run to start.
rules: [R12]
steps:
  - create_service_account: {namespace: "first-{{run_id}}", name: waiting}
  - expect_service_accounts: {release: "never-{{run_id}}", annotations: {a: b}, timeout: 120s, rules: [R12]}
"#,
    )
    .unwrap();
    let mut first = run(dir.path(), &slow).spawn().unwrap();
    let mut lines = BufReader::new(first.stderr.take().unwrap()).lines();
    tokio::time::timeout(SAFETY, async {
        read_until(&mut lines, &["step finished", "create_service_account"]).await;
        let second = run(dir.path(), &slow).output().await.unwrap();
        let stderr = String::from_utf8_lossy(&second.stderr);
        assert_eq!(second.status.code(), Some(2), "{stderr}");
        let reports = dir.path().join("reports");
        assert!(
            stderr.contains(&format!(
                "another rolecheck run (pid {}) is writing reports to {}",
                first.id().unwrap(),
                reports.display()
            )),
            "{stderr}"
        );
        assert!(
            !reports.join("results.json").exists(),
            "the second run wrote a report"
        );
        signal(first.id().unwrap(), "INT");
        read_rest(&mut lines).await;
        first.wait().await.unwrap();
    })
    .await
    .unwrap();
    // The first run's own reports are there, and say it was interrupted.
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("reports/results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["scenarios"][0]["name"], "first");
    assert_eq!(report["interrupted"], true);
}

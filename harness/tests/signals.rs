//! Signals a CI system sends, against the real binary: SIGTERM is handled like Ctrl-C
//! (clean-up, reports, non-zero exit); a run interrupted at any moment, start-up included,
//! never exits 0 and is reported as interrupted; `--rerun-failed` then runs what did not
//! finish; a second signal during clean-up ends the run at once, naming what it left.

mod running_sim;

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams, Patch, PatchParams};
use running_sim::{Route, RunningSim, read_rest, read_until, signal};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

/// A generous safety bound (not a benchmark).
const SAFETY: Duration = Duration::from_secs(300);

const WAITING: &str = r#"name: interrupted
description: Creates a namespace, then waits for a deployment that never comes.
rules: [R12]
steps:
  - create_service_account: {namespace: "outside-{{run_id}}", name: waiting}
  - expect_service_accounts: {release: "never-{{run_id}}", annotations: {a: b}, timeout: 120s, rules: [R12]}
"#;

/// Whether the signal lands before or during it, it cannot finish first.
const SHORT_WAIT: &str = r#"name: short-wait
description: Creates a namespace, then waits a few seconds for a deployment that never comes.
rules: [R12]
steps:
  - create_service_account: {namespace: "short-{{run_id}}", name: waiting}
  - expect_service_accounts: {release: "never-{{run_id}}", annotations: {a: b}, timeout: 5s, rules: [R12]}
"#;

fn run_embedded(dir: &Path, scenario: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rolecheck"));
    command
        .args(["run", "--junit"])
        .arg(dir.join("junit.xml"))
        .arg("--json")
        .arg(dir.join("results.json"))
        .arg(scenario)
        .env("NO_COLOR", "1")
        .env("ROLECHECK_LOG", "rolecheck=info")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    command
}

fn report(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap()
}

/// SIGTERM in the middle of a step: the run stops, cleans up what it created, writes its
/// reports saying it was interrupted (JUnit `error`), and exits 130.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_cleans_up_and_reports_like_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("slow.yaml");
    std::fs::write(&scenario, WAITING).unwrap();
    let mut child = run_embedded(dir.path(), &scenario).spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (code, rest) = tokio::time::timeout(SAFETY, async {
        read_until(&mut lines, &["step finished", "create_service_account"]).await;
        signal(child.id().unwrap(), "TERM");
        let rest = read_rest(&mut lines).await;
        (child.wait().await.unwrap().code(), rest.join("\n"))
    })
    .await
    .unwrap();
    assert_eq!(code, Some(130), "{rest}");
    assert!(rest.contains("INTERRUPTED"), "{rest}");
    let report = report(dir.path());
    assert_eq!(report["interrupted"], true, "{report:#}");
    assert_eq!(report["leftovers"], serde_json::json!([]), "{report:#}");
    let steps = report["scenarios"][0]["steps"].as_array().unwrap();
    assert_eq!(steps[1]["outcome"]["status"], "error", "{report:#}");
    assert!(
        steps[1]["outcome"]["message"]
            .to_string()
            .contains("interrupted"),
        "{report:#}"
    );
    let cleanup = steps.last().unwrap();
    assert_eq!(cleanup["kind"], "cleanup");
    assert_eq!(cleanup["outcome"]["status"], "passed", "{report:#}");
    assert!(cleanup["log"].to_string().contains("removed"), "{report:#}");
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert!(junit.contains("<error"), "{junit}");
}

/// SIGINT while the target is starting: the scenario did not finish, and the run is not
/// green: it exits 130, the scenario is an `interrupted` error (console, JSON, JUnit), and
/// `--rerun-failed` on that report runs it again.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_interrupted_during_start_up_is_not_green_and_reruns_what_did_not_finish() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("short.yaml");
    std::fs::write(&scenario, SHORT_WAIT).unwrap();
    let mut child = run_embedded(dir.path(), &scenario).spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (code, rest) = tokio::time::timeout(SAFETY, async {
        read_until(&mut lines, &["starting the target"]).await;
        signal(child.id().unwrap(), "INT");
        let rest = read_rest(&mut lines).await;
        (child.wait().await.unwrap().code(), rest.join("\n"))
    })
    .await
    .unwrap();
    assert_eq!(code, Some(130), "{rest}");
    assert!(rest.contains("INTERRUPTED"), "{rest}");
    let json = report(dir.path());
    assert_eq!(json["interrupted"], true, "{json:#}");
    assert_eq!(
        json["scenarios"][0]["outcome"]["status"], "error",
        "{json:#}"
    );
    assert!(
        json["scenarios"][0]["outcome"]["message"]
            .to_string()
            .contains("interrupted"),
        "{json:#}"
    );
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert!(junit.contains("<error"), "{junit}");

    // What did not finish is what `--rerun-failed` runs.
    let previous = dir.path().join("previous.json");
    std::fs::rename(dir.path().join("results.json"), &previous).unwrap();
    let out = tokio::time::timeout(
        SAFETY,
        run_embedded(dir.path(), &scenario)
            .arg(format!("--rerun-failed={}", previous.display()))
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("nothing to rerun"), "{stderr}");
    // It ran this time: its wait timed out (a failure, exit 1), every step has a result.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let again = report(dir.path());
    assert_eq!(again["scenarios"][0]["name"], "short-wait", "{again:#}");
    assert_eq!(
        again["scenarios"][0]["steps"].as_array().unwrap().len(),
        3,
        "{again:#}"
    );
}

/// A second SIGINT while clean-up is stuck (a finalizer holds the run's namespace, and the
/// clean-up timeout is long) ends the run at once: exit 130, and the console names the
/// namespace the run knows it did not remove.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_signal_during_clean_up_ends_the_run_and_names_what_is_left() {
    let f = RunningSim::start().await;
    let profile = f.profile("running-sim", &Route::default());
    let scenario = f.scenario("held.yaml", WAITING);
    let mut child = f
        .run(&profile, "reports", &scenario)
        .args(["--cleanup-timeout", "10m"])
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (code, namespace, rest) = tokio::time::timeout(SAFETY, async {
        read_until(&mut lines, &["step finished", "create_service_account"]).await;
        // Hold the run's namespace in Terminating: a finalizer nobody removes.
        let namespaces: Api<Namespace> = Api::all(f.kube.clone());
        let ours = namespaces
            .list(&ListParams::default().labels("rolecheck.io/run-id"))
            .await
            .unwrap();
        let name = ours.items[0].metadata.name.clone().unwrap();
        namespaces
            .patch(
                &name,
                &PatchParams::default(),
                &Patch::Merge(
                    serde_json::json!({"metadata": {"finalizers": ["example.com/hold"]}}),
                ),
            )
            .await
            .unwrap();
        let pid = child.id().unwrap();
        signal(pid, "INT");
        read_until(&mut lines, &["stopping the run"]).await;
        // Clean-up is now waiting for the namespace to go; a second signal ends it.
        signal(pid, "INT");
        let rest = read_rest(&mut lines).await;
        (child.wait().await.unwrap().code(), name, rest.join("\n"))
    })
    .await
    .expect("a second signal ends the run promptly");
    assert_eq!(code, Some(130), "{rest}");
    assert!(rest.contains("left behind"), "{rest}");
    assert!(rest.contains(&format!("namespace {namespace}")), "{rest}");
    f.sim.shutdown().await;
}

//! Clean-up ownership: a run removes only what it created. Namespaces that existed before a
//! step created something in them stay; a platform create whose answer never came is still
//! removed by clean-up, or found by `rolecheck gc` after a SIGKILL.

mod net_faults;
mod running_sim;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use net_faults::Proxy;
use rolecheck::cli::RunArgs;
use rolecheck::drivers::houston::{HoustonAccess, HoustonDriver};
use rolecheck::platform::Actor;
use rolecheck::report::console::{ConsoleOptions, ConsoleReporter};
use rolecheck::report::model::Outcome;
use rolecheck::session;
use running_sim::{Route, RunningSim, read_rest};
use tokio::io::{AsyncBufReadExt as _, BufReader};

/// A generous safety bound on a whole run in these tests (not a benchmark).
const SAFETY: Duration = Duration::from_secs(300);

async fn make_namespace(kube: &kube::Client, name: &str) {
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(kube.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
}

async fn service_accounts(kube: &kube::Client, namespace: &str) -> Vec<String> {
    Api::<ServiceAccount>::namespaced(kube.clone(), namespace)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|sa| sa.metadata.name)
        .collect()
}

/// Namespaces that exist and are not being deleted.
async fn live_namespaces(kube: &kube::Client) -> Vec<String> {
    Api::<Namespace>::all(kube.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|ns| ns.metadata.deletion_timestamp.is_none())
        .filter_map(|ns| ns.metadata.name)
        .collect()
}

/// `kube-system`, and a namespace made beforehand (as with `kubectl create namespace`) that
/// holds someone's ServiceAccount: a scenario creating ServiceAccounts there must leave both
/// namespaces and that ServiceAccount standing, and remove only its own ServiceAccounts.
#[tokio::test(flavor = "multi_thread")]
async fn service_accounts_in_existing_namespaces_leave_the_namespaces_standing() {
    let f = RunningSim::start().await;
    make_namespace(&f.kube, "team-existing").await;
    let precious = ServiceAccount {
        metadata: ObjectMeta {
            name: Some("precious".to_owned()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<ServiceAccount>::namespaced(f.kube.clone(), "team-existing")
        .create(&PostParams::default(), &precious)
        .await
        .unwrap();
    let scenario = f.scenario(
        "existing.yaml",
        r#"name: existing-namespaces
description: ServiceAccounts in namespaces the run did not create, and in one it did.
rules: [R12]
steps:
  - create_service_account: {namespace: team-existing, name: "mine-{{run_id}}"}
  - create_service_account: {namespace: kube-system, name: "mine-{{run_id}}"}
  - create_service_account: {namespace: "fresh-{{run_id}}", name: mine, rules: [R12]}
"#,
    );
    let profile = f.profile("running-sim", &Route::default());
    let out = tokio::time::timeout(SAFETY, f.run(&profile, "reports", &scenario).output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");

    let live = live_namespaces(&f.kube).await;
    for ns in ["team-existing", "kube-system"] {
        assert!(live.iter().any(|n| n == ns), "{ns} was removed: {live:?}");
    }
    assert!(
        !live.iter().any(|n| n.starts_with("fresh-")),
        "the namespace the run created stays: {live:?}"
    );
    let left = service_accounts(&f.kube, "team-existing").await;
    assert!(left.contains(&"precious".to_owned()), "{left:?}");
    for ns in ["team-existing", "kube-system"] {
        let left = service_accounts(&f.kube, ns).await;
        assert!(
            !left.iter().any(|n| n.starts_with("mine-")),
            "the run's ServiceAccount in {ns} stays: {left:?}"
        );
    }
    let report = f.report("reports");
    let log = report["scenarios"][0]["steps"].to_string();
    assert!(!log.contains("namespace kube-system removed"), "{log}");
    assert!(!log.contains("namespace team-existing removed"), "{log}");
    assert!(
        log.contains("serviceaccount kube-system/mine-"),
        "clean-up names what it removed: {log}"
    );
    assert_eq!(report["leftovers"], serde_json::json!([]), "{report:#}");
    f.sim.shutdown().await;
}

/// The same against the embedded sim: clean-up never says it removed `kube-system`.
#[tokio::test(flavor = "multi_thread")]
async fn the_embedded_sim_run_never_removes_kube_system() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("kube-system.yaml");
    std::fs::write(
        &scenario,
        r#"name: in-kube-system
description: A ServiceAccount in kube-system.
rules: [R12]
steps:
  - create_service_account: {namespace: kube-system, name: "mine-{{run_id}}", rules: [R12]}
"#,
    )
    .unwrap();
    let args = RunArgs {
        target: "sim".to_owned(),
        jobs: Some(1),
        filter: Vec::new(),
        junit: dir.path().join("junit.xml"),
        json: dir.path().join("results.json"),
        fault: Vec::new(),
        step_timeout: Some(Duration::from_secs(30)),
        cleanup_timeout: Some(Duration::from_secs(30)),
        paths: vec![PathBuf::from(&scenario)],
    };
    let quiet = ConsoleReporter::new(Box::new(std::io::sink()), ConsoleOptions::plain());
    let report = session::run(&args.resolve().unwrap(), quiet).await.unwrap();
    let scenario = &report.scenarios[0];
    assert_eq!(scenario.outcome, Outcome::Passed, "{scenario:#?}");
    let cleanup = scenario.steps.last().unwrap();
    assert_eq!(cleanup.kind, "cleanup");
    let log = cleanup.log.join("\n");
    assert!(!log.contains("namespace kube-system"), "{log}");
    assert!(log.contains("serviceaccount kube-system/mine-"), "{log}");
}

/// A Houston client of the sim's platform as the workspace admin.
fn platform_admin(f: &RunningSim) -> HoustonDriver {
    let e = f.endpoints();
    let admin = e
        .platform_users
        .iter()
        .find(|u| u.workspace_role == "WORKSPACE_ADMIN")
        .unwrap();
    HoustonDriver::new(HoustonAccess {
        url: e.platform_url.clone(),
        workspace_id: e.workspace_id.clone(),
        tokens: HashMap::from([(Actor::Admin, admin.token.clone())]),
        run_id: None,
    })
    .unwrap()
}

const CUT_OFF: &str = r#"name: cut-off-create
description: A createDeployment whose answer never arrives.
rules: [R2]
steps:
  - create_deployment: {release: "cutoff-{{run_id}}", executor: celery, cloud_role: "{{role_arn}}", as: admin, timeout: 3s}
"#;

/// `createDeployment` reaches the platform, but its answer never comes back (the step's
/// timeout cuts it off): the platform made the deployment and its namespace, unlabelled.
/// Clean-up must still find and remove both, and the step is an infrastructure error.
#[tokio::test(flavor = "multi_thread")]
async fn a_create_cut_off_by_its_timeout_is_removed_by_clean_up() {
    let f = RunningSim::start().await;
    let before = live_namespaces(&f.kube).await;
    let proxy = Proxy::start(&f.endpoints().platform_url).await;
    proxy.withhold_answers_to("CreateDeployment");
    let profile = f.profile(
        "cut-off",
        &Route {
            houston: true,
            platform_url: Some(proxy.url.clone()),
            ..Route::default()
        },
    );
    let scenario = f.scenario("cut-off.yaml", CUT_OFF);
    let out = tokio::time::timeout(SAFETY, f.run(&profile, "reports", &scenario).output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        f.dir.path().join("reports/results.json").exists(),
        "{stderr}"
    );
    let report = f.report("reports");
    assert_eq!(
        report["scenarios"][0]["outcome"]["status"], "error",
        "{report:#}"
    );
    assert_eq!(report["leftovers"], serde_json::json!([]), "{report:#}");
    let cleanup = report["scenarios"][0]["steps"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(cleanup["outcome"]["status"], "passed", "{report:#}");
    assert!(
        cleanup["log"]
            .to_string()
            .contains("deleted deployment cutoff-"),
        "{report:#}"
    );
    let deployments = platform_admin(&f).deployments(None).await.unwrap().unwrap();
    assert!(deployments.is_empty(), "{deployments:?}");
    // The platform names the release itself (manualReleaseNames off), so the namespace it
    // made is not `astronomer-cutoff-*`: nothing may be left beside what was there before.
    let live = live_namespaces(&f.kube).await;
    assert_eq!(live, before, "namespaces left behind");
    f.sim.shutdown().await;
}

/// A run killed (SIGKILL) while its `createDeployment` is unanswered cannot clean up; the
/// platform's record carries the run id in its label, so `rolecheck gc` finds and removes
/// the deployment (and with it the namespace the platform made, which carries no label).
#[tokio::test(flavor = "multi_thread")]
async fn gc_finds_the_platform_record_of_a_create_a_killed_run_never_saw_answered() {
    let f = RunningSim::start().await;
    let proxy = Proxy::start(&f.endpoints().platform_url).await;
    proxy.withhold_answers_to("CreateDeployment");
    let through_proxy = f.profile(
        "cut-off",
        &Route {
            houston: true,
            platform_url: Some(proxy.url.clone()),
            ..Route::default()
        },
    );
    let scenario = f.scenario(
        "killed.yaml",
        &CUT_OFF.replace("timeout: 3s", "timeout: 120s"),
    );
    let mut run = f.run(&through_proxy, "reports", &scenario).spawn().unwrap();
    let mut lines = BufReader::new(run.stderr.take().unwrap()).lines();
    let drain = tokio::spawn(async move { read_rest(&mut lines).await });
    // Until the platform has the deployment (its answer is being withheld); a bounded wait.
    // The platform names the release itself (manualReleaseNames off): gc must find it by
    // the run id in its label, not by the name the scenario asked for.
    let release = tokio::time::timeout(SAFETY, async {
        loop {
            let list = platform_admin(&f).deployments(None).await.unwrap().unwrap();
            if let Some(d) = list.first() {
                break d.release.clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the platform never received the create");
    run.start_kill().unwrap();
    assert!(!run.wait().await.unwrap().success());
    drain.await.unwrap();

    let direct = f.profile(
        "direct",
        &Route {
            houston: true,
            ..Route::default()
        },
    );
    let out = f
        .command()
        .arg("gc")
        .arg("--profile")
        .arg(&direct)
        .args(["--older-than", "0s"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("removed deployment {release} ")),
        "{stdout}"
    );
    let left = platform_admin(&f).deployments(None).await.unwrap().unwrap();
    assert!(left.is_empty(), "{left:?}");
    let live = live_namespaces(&f.kube).await;
    assert!(!live.contains(&format!("astronomer-{release}")), "{live:?}");
    f.sim.shutdown().await;
}

//! Every network call is bounded: against a sim running in this process and small loopback
//! servers that accept connections and never answer, the binary names a silent endpoint at
//! start-up within seconds (exit 2), and an endpoint that stops answering in the middle of a
//! run is an infrastructure error (exit 2, JUnit `error`), never a rule failure. Messages name
//! the endpoint and what happened.

mod net_faults;
mod running_sim;

use std::time::Duration;

use net_faults::{Proxy, SilentServer};
use running_sim::{Route, RunningSim, read_rest, read_until};
use tokio::io::{AsyncBufReadExt as _, BufReader};

/// A generous safety bound on a whole run (not a benchmark): every request is bounded by
/// seconds, so a hang would exceed it by far.
const SAFETY: Duration = Duration::from_secs(180);

const SERVICE_ACCOUNT: &str = r#"name: one-account
description: One ServiceAccount.
rules: [R12]
steps:
  - create_service_account: {namespace: "outside-{{run_id}}", name: one, rules: [R12]}
"#;

/// Runs the scenario through `route` and returns (exit code, stderr).
async fn run(f: &RunningSim, route: &Route, scenario: &str) -> (Option<i32>, String) {
    let profile = f.profile("routed", route);
    let scenario = f.scenario("s.yaml", scenario);
    let out = tokio::time::timeout(SAFETY, f.run(&profile, "reports", &scenario).output())
        .await
        .expect("the run is bounded")
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_kubernetes_api_is_named_at_start_up() {
    let f = RunningSim::start().await;
    let silent = SilentServer::start().await;
    let route = Route {
        kube_url: Some(silent.url.clone()),
        ..Route::default()
    };
    let (code, stderr) = run(&f, &route, SERVICE_ACCOUNT).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("Kubernetes API at {}", silent.url)),
        "{stderr}"
    );
    assert!(stderr.contains("does not answer"), "{stderr}");
    f.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_aws_endpoint_is_named_at_start_up() {
    let f = RunningSim::start().await;
    let silent = SilentServer::start().await;
    let route = Route {
        aws_url: Some(silent.url.clone()),
        ..Route::default()
    };
    let (code, stderr) = run(&f, &route, SERVICE_ACCOUNT).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("STS/IAM endpoint at {}", silent.url)),
        "{stderr}"
    );
    assert!(stderr.contains("does not answer"), "{stderr}");
    f.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_platform_is_named_at_start_up() {
    let f = RunningSim::start().await;
    let silent = SilentServer::start().await;
    let route = Route {
        houston: true,
        platform_url: Some(format!("{}/v1", silent.url)),
        ..Route::default()
    };
    let (code, stderr) = run(&f, &route, SERVICE_ACCOUNT).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("platform API at {}/v1", silent.url)),
        "{stderr}"
    );
    assert!(stderr.contains("does not answer"), "{stderr}");
    f.sim.shutdown().await;
}

/// A closed port: refused at once, named with what happened, never "dispatch failure".
#[tokio::test(flavor = "multi_thread")]
async fn a_closed_aws_port_is_named_with_what_happened() {
    let f = RunningSim::start().await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let route = Route {
        aws_url: Some(url.clone()),
        ..Route::default()
    };
    let (code, stderr) = run(&f, &route, SERVICE_ACCOUNT).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(&format!("at {url}")), "{stderr}");
    assert!(
        stderr.to_lowercase().contains("connection refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("dispatch failure"), "{stderr}");
    f.sim.shutdown().await;
}

/// Runs `scenario` through a proxy on one endpoint, makes the proxy silent once the first
/// step finished, and returns (exit code, console, JSON report, JUnit).
async fn silent_mid_run(
    f: &RunningSim,
    proxy: &Proxy,
    route: &Route,
    scenario: &str,
    first_step: &str,
) -> (Option<i32>, String, serde_json::Value, String) {
    let profile = f.profile("mid-run", route);
    let scenario = f.scenario("mid-run-scenario.yaml", scenario);
    let mut child = f
        .run(&profile, "reports", &scenario)
        .args(["--request-timeout", "3s", "--cleanup-timeout", "10s"])
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (code, console) = tokio::time::timeout(SAFETY, async {
        let mut console = read_until(&mut lines, &["step finished", first_step]).await;
        proxy.go_silent();
        console.extend(read_rest(&mut lines).await);
        (child.wait().await.unwrap().code(), console.join("\n"))
    })
    .await
    .expect("the run is bounded");
    (code, console, f.report("reports"), f.junit("reports"))
}

/// The platform answers the create, then stops answering: the next platform call is an
/// infrastructure error naming the platform's URL, not a failure of the rule it checks.
#[tokio::test(flavor = "multi_thread")]
async fn a_platform_that_stops_answering_mid_run_is_an_infrastructure_error() {
    let f = RunningSim::start().await;
    let proxy = Proxy::start(&f.endpoints().platform_url).await;
    let route = Route {
        houston: true,
        platform_url: Some(proxy.url.clone()),
        ..Route::default()
    };
    let scenario = r#"name: platform-goes-silent
description: Creates a deployment, then updates it while the platform no longer answers.
rules: [R2, R3]
steps:
  - create_deployment: {release: "{{release}}", executor: celery, cloud_role: "{{role_arn}}", as: admin}
  - update_deployment: {release: "{{release}}", cloud_role: "{{role_arn}}", as: admin, timeout: 60s}
"#;
    let (code, console, report, junit) =
        silent_mid_run(&f, &proxy, &route, scenario, "create_deployment").await;
    assert_eq!(code, Some(2), "{console}");
    let outcome = &report["scenarios"][0]["outcome"];
    assert_eq!(outcome["status"], "error", "{report:#}");
    assert!(
        outcome["message"]
            .to_string()
            .contains(&format!("platform API at {}", proxy.url)),
        "{report:#}"
    );
    assert!(junit.contains("<error"), "{junit}");
    assert!(!junit.contains("<failure"), "{junit}");
    f.sim.shutdown().await;
}

/// The Kubernetes API answers the first step, then stops answering while a step waits on a
/// watch: the wait ends as an infrastructure error naming the API server, not as a rule
/// failure ("timed out waiting").
#[tokio::test(flavor = "multi_thread")]
async fn a_kubernetes_api_that_stops_answering_mid_run_is_an_infrastructure_error() {
    let f = RunningSim::start().await;
    let proxy = Proxy::start(&f.endpoints().kube_url).await;
    let route = Route {
        kube_url: Some(proxy.url.clone()),
        ..Route::default()
    };
    let scenario = r#"name: kube-goes-silent
description: Creates a ServiceAccount, then waits on a watch while the API server is silent.
rules: [R12]
steps:
  - create_service_account: {namespace: "outside-{{run_id}}", name: one}
  - expect_service_accounts: {release: "never-{{run_id}}", annotations: {a: b}, timeout: 20s, rules: [R12]}
"#;
    let (code, console, report, junit) =
        silent_mid_run(&f, &proxy, &route, scenario, "create_service_account").await;
    assert_eq!(code, Some(2), "{console}");
    let outcome = &report["scenarios"][0]["outcome"];
    assert_eq!(outcome["status"], "error", "{report:#}");
    assert!(
        outcome["message"]
            .to_string()
            .contains(&format!("Kubernetes API at {}", proxy.url)),
        "{report:#}"
    );
    assert!(junit.contains("<error"), "{junit}");
    assert!(!junit.contains("<failure"), "{junit}");
    f.sim.shutdown().await;
}

/// The probe itself, against a server that accepts and never answers: named within the
/// probe bound (at most 10 s; the bound here is a generous safety limit).
#[tokio::test(flavor = "multi_thread")]
async fn the_start_up_probe_names_a_silent_endpoint_within_seconds() {
    let silent = SilentServer::start().await;
    let url = format!("{}/v1", silent.url);
    let err = tokio::time::timeout(
        Duration::from_secs(60),
        rolecheck::drivers::probe::http("platform API", &url),
    )
    .await
    .expect("the probe is bounded")
    .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, rolecheck::drivers::DriverError::Unreachable(_)),
        "{text}"
    );
    assert!(
        text.contains(&format!("platform API at {url}")) && text.contains("does not answer"),
        "{text}"
    );
}

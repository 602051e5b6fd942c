//! Leftovers, against a running sim: the sim is started in this process (it would die with a
//! run) and a profile points at its endpoints. `rolecheck gc` removes exactly what killed runs
//! left; a run whose clean-up is stuck names what it left behind.

use std::process::Output;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ObjectMeta, PostParams};
use rolecheck::drivers::iam::IamDriver;
use rolecheck::drivers::kube::{KubeAccess, KubeDriver};
use rolecheck::drivers::sts::AwsEndpoint;
use rolecheck::sim_serve::kubeconfig_text;
use rolecheck_sim::{Sim, SimConfig};

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

struct Fixture {
    sim: Sim,
    dir: tempfile::TempDir,
    kube: KubeDriver,
    kube_client: kube::Client,
    iam: IamDriver,
}

async fn fixture() -> Fixture {
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    let e = sim.endpoints().clone();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, kubeconfig_text(&e)).unwrap();
    std::fs::write(
        dir.path().join("profile.yaml"),
        format!(
            "name: running-sim\nkubernetes: {{source: kubeconfig, kubeconfig: '{}'}}\naws: {{service: endpoint, endpoint: '{}', region: {}}}\naccount: '{}'\nplatform: {{driver: none}}\noidc: {{issuer: cluster}}\nrole: {{create: 'rolecheck-example-{{run_id}}'}}\ncapabilities: [webhook]\n",
            kubeconfig.display(),
            e.aws_url,
            e.region,
            e.account_id
        ),
    )
    .unwrap();
    let kube = KubeDriver::connect(&KubeAccess::Token {
        url: e.kube_url.clone(),
        token: e.kube_token.clone(),
    })
    .await
    .unwrap();
    let iam = IamDriver::with_static_credentials(
        &AwsEndpoint::local(e.aws_url.clone(), e.region.clone()),
        &e.aws_access_key_id,
        &e.aws_secret_access_key,
    );
    let mut config = kube::Config::new(e.kube_url.parse().unwrap());
    config.auth_info.token = Some(e.kube_token.clone().into());
    let kube_client = kube::Client::try_from(config).unwrap();
    Fixture {
        sim,
        dir,
        kube,
        kube_client,
        iam,
    }
}

async fn gc(fixture: &Fixture, older_than: &str) -> Output {
    let profile = fixture.dir.path().join("profile.yaml");
    tokio::process::Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .arg("gc")
        .arg("--profile")
        .arg(&profile)
        .args(["--older-than", older_than])
        .env("NO_COLOR", "1")
        // The sim's IAM checks signatures: gc signs with the key `sim serve` would export.
        .env(
            "AWS_ACCESS_KEY_ID",
            &fixture.sim.endpoints().aws_access_key_id,
        )
        .env(
            "AWS_SECRET_ACCESS_KEY",
            &fixture.sim.endpoints().aws_secret_access_key,
        )
        .output()
        .await
        .unwrap()
}

/// Leftovers of killed runs: two labelled namespaces, a `rolecheck-` role and a tagged role
/// of another name; and something that is not ours: an unlabelled namespace.
async fn leave_leftovers(f: &Fixture) {
    f.kube
        .create_service_account("astronomer-killed-1", "sa", "deadrun1")
        .await
        .unwrap();
    f.kube
        .create_service_account("astronomer-killed-2", "sa", "deadrun2")
        .await
        .unwrap();
    f.iam
        .create_role(
            "rolecheck-example-role",
            TRUST,
            &[("p", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#)],
            "deadrun1",
        )
        .await
        .unwrap();
    f.iam
        .create_role("someone-elses-role", TRUST, &[], "deadrun1")
        .await
        .unwrap();
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some("not-ours".to_owned()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(f.kube_client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn gc_removes_what_killed_runs_left_and_nothing_else() {
    let f = fixture().await;
    leave_leftovers(&f).await;
    let out = gc(&f, "0s").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("removed namespace astronomer-killed-1 (run deadrun1)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("removed namespace astronomer-killed-2 (run deadrun2)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("removed iam-role rolecheck-example-role (run deadrun1)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("removed iam-role someone-elses-role (run deadrun1)"),
        "{stdout}"
    );
    assert!(f.kube.labelled_namespaces(None).await.unwrap().is_empty());
    Api::<Namespace>::all(f.kube_client.clone())
        .get("not-ours")
        .await
        .expect("an unlabelled namespace is not ours to remove");
    let roles = f.iam.rolecheck_roles("rolecheck-").await.unwrap();
    let left: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(left, Vec::<&str>::new(), "tagged or prefixed roles remain");
    f.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gc_keeps_leftovers_younger_than_the_limit() {
    let f = fixture().await;
    leave_leftovers(&f).await;
    let out = gc(&f, "1h").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("kept    namespace astronomer-killed-1"),
        "{stdout}"
    );
    assert!(stdout.contains("0 removed"), "{stdout}");
    assert_eq!(f.kube.labelled_namespaces(None).await.unwrap().len(), 2);
    f.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gc_needs_a_running_cluster_not_the_embedded_sim() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .args(["gc", "--target", "moto", "--older-than", "0s"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a running cluster"));
}

/// A run killed with SIGKILL cannot clean up: what it created stays behind, labelled, and
/// `rolecheck gc` then finds and removes all of it.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_with_sigkill_leaves_leftovers_that_gc_removes() {
    use tokio::io::{AsyncBufReadExt as _, BufReader};

    let f = fixture().await;
    let scenario = f.dir.path().join("slow.yaml");
    std::fs::write(
        &scenario,
        r#"name: killed
description: Creates a namespace, then waits for a deployment that never comes.
rules: [R12]
steps:
  - create_service_account: {namespace: "outside-{{run_id}}", name: waiting}
  - expect_service_accounts: {release: "never-{{run_id}}", annotations: {a: b}, timeout: 120s, rules: [R12]}
"#,
    )
    .unwrap();
    let mut run = tokio::process::Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .arg("run")
        .arg("--profile")
        .arg(f.dir.path().join("profile.yaml"))
        .arg("--junit")
        .arg(f.dir.path().join("junit.xml"))
        .arg("--json")
        .arg(f.dir.path().join("results.json"))
        .arg(&scenario)
        .env("NO_COLOR", "1")
        .env("ROLECHECK_LOG", "rolecheck=info")
        .env("AWS_ACCESS_KEY_ID", &f.sim.endpoints().aws_access_key_id)
        .env(
            "AWS_SECRET_ACCESS_KEY",
            &f.sim.endpoints().aws_secret_access_key,
        )
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (by reading the run's log, not by sleeping) until the namespace exists.
    let mut lines = BufReader::new(run.stderr.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.contains("step finished") && line.contains("create_service_account") {
            break;
        }
    }
    run.start_kill().unwrap();
    let status = run.wait().await.unwrap();
    assert!(!status.success());

    let left = f.kube.labelled_namespaces(None).await.unwrap();
    assert_eq!(left.len(), 1, "the killed run left its namespace: {left:?}");
    let roles = f.iam.rolecheck_roles("rolecheck-").await.unwrap();
    assert_eq!(roles.len(), 1, "the killed run left its role");

    let out = gc(&f, "0s").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        f.kube.labelled_namespaces(None).await.unwrap().is_empty(),
        "{stdout}"
    );
    assert!(
        f.iam
            .rolecheck_roles("rolecheck-")
            .await
            .unwrap()
            .is_empty(),
        "{stdout}"
    );
    f.sim.shutdown().await;
}

/// When clean-up cannot finish within its timeout (here a finalizer holds the run's namespace
/// in Terminating), the run names exactly what it left behind, in the console and the JSON
/// report, and exits non-zero.
#[tokio::test(flavor = "multi_thread")]
async fn a_stuck_clean_up_lists_what_it_left_and_exits_non_zero() {
    use kube::api::{Patch, PatchParams};
    use tokio::io::{AsyncBufReadExt as _, BufReader};

    let f = fixture().await;
    let scenario = f.dir.path().join("held.yaml");
    std::fs::write(
        &scenario,
        r#"name: held
description: Creates a namespace, then fails, so clean-up runs.
rules: [R12]
steps:
  - create_service_account: {namespace: "held-{{run_id}}", name: waiting}
  - expect_service_accounts: {release: "never-{{run_id}}", annotations: {a: b}, timeout: 3s, rules: [R12]}
"#,
    )
    .unwrap();
    let json = f.dir.path().join("results.json");
    let mut run = tokio::process::Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .arg("run")
        .arg("--profile")
        .arg(f.dir.path().join("profile.yaml"))
        .args(["--cleanup-timeout", "1s", "--junit"])
        .arg(f.dir.path().join("junit.xml"))
        .arg("--json")
        .arg(&json)
        .arg(&scenario)
        .env("NO_COLOR", "1")
        .env("ROLECHECK_LOG", "rolecheck=info")
        .env("AWS_ACCESS_KEY_ID", &f.sim.endpoints().aws_access_key_id)
        .env(
            "AWS_SECRET_ACCESS_KEY",
            &f.sim.endpoints().aws_secret_access_key,
        )
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(run.stderr.take().unwrap()).lines();
    let mut namespace = None;
    let mut console = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        console.push(line.clone());
        if line.contains("step finished") && line.contains("create_service_account") {
            // Hold the run's namespace: a finalizer nobody will remove.
            let ns = f.kube.labelled_namespaces(None).await.unwrap();
            let name = ns[0].metadata.name.clone().unwrap();
            Api::<Namespace>::all(f.kube_client.clone())
                .patch(
                    &name,
                    &PatchParams::default(),
                    &Patch::Merge(
                        serde_json::json!({"metadata": {"finalizers": ["example.com/hold"]}}),
                    ),
                )
                .await
                .unwrap();
            namespace = Some(name);
            break;
        }
    }
    while let Some(line) = lines.next_line().await.unwrap() {
        console.push(line);
    }
    let status = run.wait().await.unwrap();
    let namespace = namespace.expect("the run created its namespace");
    assert_ne!(status.code(), Some(0));
    let console = console.join("\n");
    assert!(
        console.contains(&format!("namespace {namespace}")),
        "{console}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let leftovers = report["leftovers"].to_string();
    assert!(
        leftovers.contains(&format!("namespace {namespace}")),
        "{report:#}"
    );
    f.sim.shutdown().await;
}

/// An IAM role merely named like a run's (`rolecheck-...`) but without the run-id tag is
/// someone's: `gc` lists it and leaves it, unless `--include-untagged` is given.
#[tokio::test(flavor = "multi_thread")]
async fn gc_lists_untagged_roles_and_removes_them_only_when_asked() {
    let f = fixture().await;
    let e = f.sim.endpoints().clone();
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .region(aws_sdk_iam::config::Region::new(e.region.clone()))
        .endpoint_url(&e.aws_url)
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            &e.aws_access_key_id,
            &e.aws_secret_access_key,
            None,
            None,
            "test",
        ))
        .build();
    aws_sdk_iam::Client::from_conf(config)
        .create_role()
        .role_name("rolecheck-someones")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap();
    let names = |roles: Vec<rolecheck::drivers::iam::RoleSummary>| {
        roles.into_iter().map(|r| r.name).collect::<Vec<_>>()
    };

    let out = gc(&f, "0s").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("left    iam-role rolecheck-someones (run unknown)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("removed iam-role rolecheck-someones"),
        "{stdout}"
    );
    let left = names(f.iam.rolecheck_roles("rolecheck-").await.unwrap());
    assert_eq!(left, ["rolecheck-someones"]);

    let profile = f.dir.path().join("profile.yaml");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .arg("gc")
        .arg("--profile")
        .arg(&profile)
        .args(["--older-than", "0s", "--include-untagged"])
        .env("NO_COLOR", "1")
        .env("AWS_ACCESS_KEY_ID", &e.aws_access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &e.aws_secret_access_key)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("removed iam-role rolecheck-someones"),
        "{stdout}"
    );
    assert!(names(f.iam.rolecheck_roles("rolecheck-").await.unwrap()).is_empty());
    f.sim.shutdown().await;
}

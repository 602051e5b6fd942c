//! The eks path rehearsed end to end (`--target eks-rehearsal`): the same profile kind
//! (`aws: {service: aws}`), drivers, interlock, preflight and credential chain as a real EKS
//! run, with local stand-ins: Kubernetes and the Houston platform from `rolecheck sim serve`
//! (through its kubeconfig and environment; attached to the real local cluster with
//! `--cluster local` when `ROLECHECK_LOCAL_CLUSTER=1`, as in `make test`), STS/IAM/S3 from moto's server reached through
//! the SDK's standard endpoint setting (`AWS_ENDPOINT_URL`), and credentials from a
//! `credential_process` profile in a temporary AWS config, so the SDK's real default chain
//! runs. The interlock is opened explicitly (`--allow-real-aws`).
//!
//! Also `rolecheck doctor` against it: every check holds, and each broken input fails its
//! check with the fix text. Needs `.venv-moto` (`make moto`; `make test` installs it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rolecheck::drivers::iam::IamDriver;
use rolecheck::drivers::sts::AwsEndpoint;
use rolecheck::report::json::read_json;
use rolecheck::report::model::Outcome;
use rolecheck::target::local::{LocalCluster, TESTS_ENV};
use rolecheck::target::process::{ChildService, Service};

/// `rolecheck sim serve`, stopped (SIGINT) when dropped.
struct SimServe {
    child: std::process::Child,
    env: BTreeMap<String, String>,
}

impl SimServe {
    /// `sim serve` with its own Kubernetes API, or attached to the real local cluster.
    fn start(dir: &Path, cluster: Kubernetes) -> Self {
        use std::io::BufRead as _;
        let env_file = dir.join("sim.env");
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_rolecheck"));
        command
            .args(["sim", "serve", "--kubeconfig"])
            .arg(dir.join("kubeconfig"))
            .arg("--env-file")
            .arg(&env_file);
        if cluster == Kubernetes::LocalCluster {
            command.args(["--cluster", "local"]);
        }
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap();
        // The summary is printed once the files are written.
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            if line.unwrap().contains("OIDC provider ARN") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        let env = std::fs::read_to_string(&env_file)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.trim_matches('\'').to_owned()))
            .collect();
        Self { child, env }
    }
}

impl Drop for SimServe {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Which Kubernetes the rehearsal's kubeconfig reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kubernetes {
    /// `sim serve`'s own API.
    Sim,
    /// The real cluster of `rolecheck env up local` (`sim serve --cluster local`).
    LocalCluster,
}

impl Kubernetes {
    /// The real local cluster when the tests that need it are requested (`make test` brings
    /// it up and sets the variable), else the sim's own API.
    fn as_requested() -> Self {
        if std::env::var(TESTS_ENV).ok().as_deref() == Some("1") {
            Kubernetes::LocalCluster
        } else {
            eprintln!(
                "the rehearsal uses sim serve's own Kubernetes API: set {TESTS_ENV}=1 with the local cluster up for the real one"
            );
            Kubernetes::Sim
        }
    }
}

/// The rehearsal's environment: files, stand-ins and the variables a `rolecheck` child gets.
struct Rehearsal {
    dir: tempfile::TempDir,
    sim: SimServe,
    moto: Option<ChildService>,
    moto_url: String,
    env: BTreeMap<String, String>,
}

const ACCESS_KEY: &str = "AKIAREHEARSALOPERATOR";

impl Rehearsal {
    async fn start(kubernetes: Kubernetes) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sim = SimServe::start(dir.path(), kubernetes);
        let venv = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv-moto"));
        let moto = ChildService::start(Service::Moto, &venv, Duration::from_secs(60))
            .await
            .unwrap_or_else(|e| panic!("moto (make moto): {e}"));
        let moto_url = moto.url().to_owned();
        // A credential_process profile: the helper prints credentials as the SDK expects and
        // leaves a mark, so the test can tell the real chain ran it.
        let helper = dir.path().join("credentials.sh");
        std::fs::write(
            &helper,
            format!(
                "#!/bin/sh\ntouch '{}'\nprintf '%s' '{{\"Version\": 1, \"AccessKeyId\": \"{ACCESS_KEY}\", \"SecretAccessKey\": \"rehearsal-secret\", \"SessionToken\": \"rehearsal-session\"}}'\n",
                dir.path().join("helper-ran").display()
            ),
        )
        .unwrap();
        make_executable(&helper);
        let config = dir.path().join("aws-config");
        std::fs::write(
            &config,
            format!(
                "[profile rehearsal]\ncredential_process = {}\nregion = us-west-2\n",
                helper.display()
            ),
        )
        .unwrap();
        let mut env: BTreeMap<String, String> = sim
            .env
            .iter()
            .filter(|(k, _)| k.starts_with("ROLECHECK_PLATFORM_") || *k == "KUBECONFIG")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in [
            ("AWS_CONFIG_FILE", config.display().to_string()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                dir.path().join("no-credentials").display().to_string(),
            ),
            ("AWS_PROFILE", "rehearsal".to_owned()),
            ("AWS_ENDPOINT_URL", moto_url.clone()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("NO_COLOR", "1".to_owned()),
        ] {
            env.insert(k.to_owned(), v);
        }
        if kubernetes == Kubernetes::LocalCluster {
            // The children's HOME is the scratch directory: say where the running cluster's
            // facts are (its images are imported, not pulled: bare pods use them).
            let run = LocalCluster::path().parent().unwrap().display().to_string();
            env.insert("ROLECHECK_LOCAL_RUN".to_owned(), run);
        }
        Self {
            dir,
            sim,
            moto: Some(moto),
            moto_url,
            env,
        }
    }

    /// Runs `rolecheck <args>` from the workspace root with the rehearsal's environment
    /// (plus `changes`; an empty value removes a variable). Returns (exit code, stdout, stderr).
    async fn rolecheck(&self, args: &[&str], changes: &[(&str, &str)]) -> (i32, String, String) {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_rolecheck"));
        command
            .args(args)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path());
        for (k, v) in &self.env {
            command.env(k, v);
        }
        for (k, v) in changes {
            if v.is_empty() {
                command.env_remove(k);
            } else {
                command.env(k, v);
            }
        }
        let out = tokio::time::timeout(Duration::from_secs(600), command.output())
            .await
            .expect("rolecheck did not finish within 10 minutes")
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    async fn doctor(&self, changes: &[(&str, &str)], allow: bool) -> (i32, String) {
        let mut args = vec!["doctor", "--target", "eks-rehearsal"];
        if allow {
            args.push("--allow-real-aws");
        }
        let (code, stdout, stderr) = self.rolecheck(&args, changes).await;
        (code, format!("{stdout}{stderr}"))
    }

    fn iam(&self) -> IamDriver {
        IamDriver::with_static_credentials(
            &AwsEndpoint::local(self.moto_url.clone(), "us-west-2"),
            ACCESS_KEY,
            "rehearsal-secret",
        )
    }

    /// What the administrator does before a real run, per the documents: register the
    /// cluster's issuer in IAM; and the operator's bucket.
    async fn administrator_set_up(&self) {
        let issuer = &self.sim.env["ROLECHECK_OIDC_ISSUER"];
        self.iam()
            .create_oidc_provider(issuer, "9e99a48a9960b14926bb7f3b02e22da2b0ab7280", "admin")
            .await
            .unwrap();
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::Config::builder()
                .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
                .region(aws_sdk_s3::config::Region::new("us-east-1"))
                .endpoint_url(&self.moto_url)
                .force_path_style(true)
                .credentials_provider(aws_sdk_s3::config::Credentials::new(
                    ACCESS_KEY, "s", None, None, "test",
                ))
                .build(),
        );
        for bucket in ["rolecheck-rehearsal-bucket", "rolecheck-rehearsal-other"] {
            s3.create_bucket().bucket(bucket).send().await.unwrap();
        }
    }
}

impl Drop for Rehearsal {
    fn drop(&mut self) {
        // The moto child is killed when dropped (kill_on_drop).
        drop(self.moto.take());
    }
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The table row of `check`, as printed.
fn row<'a>(table: &'a str, check: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.starts_with(&format!("{check}  ")))
        .unwrap_or_else(|| panic!("no row `{check}` in:\n{table}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_eks_path_is_rehearsed_end_to_end_with_local_stand_ins() {
    let kubernetes = Kubernetes::as_requested();
    let rehearsal = Rehearsal::start(kubernetes).await;
    if kubernetes == Kubernetes::LocalCluster {
        // The kubeconfig the run gets is the real cluster's.
        let cluster = LocalCluster::load().unwrap();
        let kubeconfig = std::fs::read_to_string(&rehearsal.env["KUBECONFIG"]).unwrap();
        assert!(kubeconfig.contains(&cluster.api_server), "{kubeconfig}");
    }

    // Before the administrator's set-up: the preflight names what is missing and how to
    // fix it, and creates nothing.
    let (code, table) = rehearsal.doctor(&[], true).await;
    assert_eq!(code, 2, "{table}");
    let provider = row(&table, "iam oidc provider");
    assert!(provider.contains("FAILED"), "{provider}");
    assert!(
        provider.contains("eksctl utils associate-iam-oidc-provider"),
        "{provider}"
    );
    let bucket = row(&table, "s3 bucket");
    assert!(bucket.contains("FAILED"), "{bucket}");
    assert!(
        bucket.contains("aws s3 mb s3://rolecheck-rehearsal-bucket"),
        "{bucket}"
    );

    rehearsal.administrator_set_up().await;

    // Every check holds.
    let (code, table) = rehearsal.doctor(&[], true).await;
    assert_eq!(code, 0, "{table}");
    assert!(table.contains("preflight: every check holds"), "{table}");
    for check in [
        "kubernetes",
        "kubernetes permissions",
        "aws identity",
        "real-aws interlock",
        "oidc issuer",
        "iam oidc provider",
        "s3 bucket",
        "platform",
        "platform token (admin)",
        "platform token (editor)",
        "platform token (viewer)",
        "platform workspace",
        "pod-identity webhook",
    ] {
        assert!(row(&table, check).contains("  ok: "), "{check}:\n{table}");
    }
    assert!(row(&table, "aws identity").contains("account 123456789012"));
    // Houston's default: the platform generates the release names the run then follows.
    assert!(
        row(&table, "platform").contains("manualReleaseNames off"),
        "{table}"
    );
    // sim serve's kubeconfig does not name an EKS cluster: the row says why it is skipped.
    let pod_identity = row(&table, "pod identity associations");
    assert!(
        pod_identity.contains("skipped") && pod_identity.contains("not an EKS cluster ARN"),
        "{pod_identity}"
    );
    assert!(
        rehearsal.dir.path().join("helper-ran").exists(),
        "the credential_process helper never ran"
    );

    // The run: preflight, role with the documented trust policy (account from
    // GetCallerIdentity: the profile sets none), the suite, clean-up.
    let reports = rehearsal.dir.path().join("reports");
    let json = reports.join("results.json");
    let (code, _, stderr) = rehearsal
        .rolecheck(
            &[
                "run",
                "--target",
                "eks-rehearsal",
                "--allow-real-aws",
                "--json",
                json.to_str().unwrap(),
                "--junit",
                reports.join("junit.xml").to_str().unwrap(),
                "scenarios",
                "fixtures/scenarios-rehearsal",
            ],
            &[],
        )
        .await;
    assert!(
        stderr.contains("real AWS: account 123456789012"),
        "{stderr}"
    );
    assert_eq!(code, 0, "{stderr}");
    let report = read_json(&json).unwrap();
    assert_eq!(report.target, "eks-rehearsal");
    assert!(report.leftovers.is_empty(), "{:?}", report.leftovers);
    let passed = report
        .scenarios
        .iter()
        .filter(|s| s.outcome == Outcome::Passed)
        .count();
    assert!(passed >= 15, "only {passed} passed: {stderr}");
    for name in [
        "create-with-role-annotates-service-accounts",
        "rehearsal-sdk-path-assumes-role",
        "editor-and-viewer-cannot-pass-role",
        "stored-config-holds-role",
    ] {
        let s = report.scenarios.iter().find(|s| s.name == name).unwrap();
        assert_eq!(s.outcome, Outcome::Passed, "{name}: {stderr}");
    }
    // The run removed its role.
    let left = rehearsal.iam().rolecheck_roles("rolecheck-").await.unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_broken_input_fails_its_preflight_check_with_the_fix() {
    let rehearsal = Rehearsal::start(Kubernetes::Sim).await;
    rehearsal.administrator_set_up().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let editor = rehearsal.env["ROLECHECK_PLATFORM_EDITOR_TOKEN"].clone();
    let bad_kubeconfig = rehearsal.dir.path().join("bad-kubeconfig");
    std::fs::write(
        &bad_kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster: {{server: 'http://127.0.0.1:{closed}'}}\ncontexts:\n- name: gone\n  context: {{cluster: gone, user: u}}\ncurrent-context: gone\nusers:\n- name: u\n  user: {{token: t}}\n"
        ),
    )
    .unwrap();
    let failing_helper = rehearsal.dir.path().join("failing.sh");
    std::fs::write(
        &failing_helper,
        "#!/bin/sh\necho 'token expired' >&2\nexit 1\n",
    )
    .unwrap();
    make_executable(&failing_helper);
    let failing_config = rehearsal.dir.path().join("failing-config");
    std::fs::write(
        &failing_config,
        format!(
            "[profile rehearsal]\ncredential_process = {}\nregion = us-west-2\n",
            failing_helper.display()
        ),
    )
    .unwrap();
    let closed_url = format!("http://127.0.0.1:{closed}/v1");

    // (changes, allow real AWS, the check that fails, text its row must contain)
    type Case<'a> = (Vec<(&'a str, &'a str)>, bool, &'a str, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            vec![("ROLECHECK_PLATFORM_TOKEN", editor.as_str())],
            true,
            "platform token (admin)",
            "is WORKSPACE_EDITOR of the workspace, but the token is configured as admin",
        ),
        (vec![], false, "real-aws interlock", "pass --allow-real-aws"),
        (
            vec![("ROLECHECK_PLATFORM_URL", closed_url.as_str())],
            true,
            "platform",
            "set `platform.url`",
        ),
        (
            vec![(
                "ROLECHECK_PLATFORM_WORKSPACE",
                "00000000-0000-4000-8000-000000000000",
            )],
            true,
            "platform workspace",
            "set the profile's `workspace`",
        ),
        (
            vec![("KUBECONFIG", bad_kubeconfig.to_str().unwrap())],
            true,
            "kubernetes",
            "make the kubeconfig context answer",
        ),
        (
            vec![("AWS_CONFIG_FILE", failing_config.to_str().unwrap())],
            true,
            "aws identity",
            "a credential_process profile",
        ),
    ];
    for (changes, allow, check, fix) in cases {
        let (code, table) = rehearsal.doctor(&changes, allow).await;
        assert_eq!(code, 2, "{check}: {table}");
        let line = row(&table, check);
        assert!(line.contains("FAILED"), "{check}: {line}\n{table}");
        assert!(line.contains(fix), "{check}: {line}");
    }

    // A run stops at the same table, with exit 2, before creating anything.
    let (code, _, stderr) = rehearsal
        .rolecheck(
            &[
                "run",
                "--target",
                "eks-rehearsal",
                "--allow-real-aws",
                "scenarios",
            ],
            &[("ROLECHECK_PLATFORM_TOKEN", editor.as_str())],
        )
        .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("the preflight failed, nothing was created"),
        "{stderr}"
    );
    assert!(stderr.contains("platform token (admin)"), "{stderr}");
    let left = rehearsal.iam().rolecheck_roles("rolecheck-").await.unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preflight_finds_pod_identity_associations_that_shadow_the_role() {
    let rehearsal = Rehearsal::start(Kubernetes::Sim).await;
    rehearsal.administrator_set_up().await;
    // The kubeconfig as `aws eks update-kubeconfig` writes it: cluster and context are the
    // cluster's ARN. The sim serves EKS's Pod Identity API for its cluster `rolecheck-sim`;
    // the SDK reaches it through the standard per-service endpoint setting.
    let arn = "arn:aws:eks:us-west-2:123456789012:cluster/rolecheck-sim";
    let original = std::fs::read_to_string(&rehearsal.env["KUBECONFIG"]).unwrap();
    let kubeconfig = rehearsal.dir.path().join("eks-kubeconfig");
    std::fs::write(&kubeconfig, original.replace("rolecheck-sim", arn)).unwrap();
    let eks_url = rehearsal.sim.env["AWS_ENDPOINT_URL_STS"].clone();
    let kubeconfig = kubeconfig.display().to_string();
    let changes = [
        ("KUBECONFIG", kubeconfig.as_str()),
        ("AWS_ENDPOINT_URL_EKS", eks_url.as_str()),
    ];

    let (code, table) = rehearsal.doctor(&changes, true).await;
    assert_eq!(code, 0, "{table}");
    let line = row(&table, "pod identity associations");
    assert!(
        line.contains("  ok: ") && line.contains("cluster rolecheck-sim: 0 association(s)"),
        "{line}"
    );

    // An operator's association for a deployment namespace shadows the role annotation.
    let eks = aws_sdk_eks::Client::from_conf(
        aws_sdk_eks::Config::builder()
            .behavior_version(aws_sdk_eks::config::BehaviorVersion::latest())
            .region(aws_sdk_eks::config::Region::new("us-west-2"))
            .endpoint_url(&eks_url)
            .credentials_provider(aws_sdk_eks::config::Credentials::new(
                ACCESS_KEY, "s", None, None, "test",
            ))
            .build(),
    );
    let created = eks
        .create_pod_identity_association()
        .cluster_name("rolecheck-sim")
        .namespace("astronomer-shadowed-1234")
        .service_account("shadowed-1234-worker-serviceaccount")
        .role_arn("arn:aws:iam::123456789012:role/some-other-role")
        .send()
        .await
        .unwrap();
    let id = created
        .association()
        .unwrap()
        .association_id()
        .unwrap()
        .to_owned();
    // One elsewhere is no concern of the run's.
    eks.create_pod_identity_association()
        .cluster_name("rolecheck-sim")
        .namespace("monitoring")
        .service_account("agent")
        .role_arn("arn:aws:iam::123456789012:role/agent")
        .send()
        .await
        .unwrap();

    let (code, table) = rehearsal.doctor(&changes, true).await;
    assert_eq!(code, 2, "{table}");
    let line = row(&table, "pod identity associations");
    assert!(line.contains("FAILED"), "{line}");
    assert!(
        line.contains(&format!(
            "astronomer-shadowed-1234/shadowed-1234-worker-serviceaccount ({id})"
        )),
        "{line}"
    );
    assert!(!line.contains("monitoring/agent"), "{line}");
    assert!(
        line.contains(&format!(
            "aws eks delete-pod-identity-association --cluster-name rolecheck-sim --association-id {id}"
        )),
        "{line}"
    );
}

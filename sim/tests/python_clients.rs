//! Stock clients against the sim, unmodified (issue 4): boto3's own web-identity credential
//! provider (STS, then S3) and `aws sts assume-role-with-web-identity` of the AWS CLI v1.
//! Both come from the virtualenv `make venv` creates; these tests fail without it.

mod aws_common;

use std::path::{Path, PathBuf};
use std::process::Output;

use aws_common::{Env, ROLE};
use serde_json::Value;

/// The repository's virtualenv (`make venv`).
fn venv_bin(name: &str) -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../.venv/bin")
        .join(name);
    assert!(
        bin.exists(),
        "{} is missing: run `make venv` first",
        bin.display()
    );
    bin
}

/// A client process with a clean AWS environment: no inherited credentials or profiles, a
/// temporary HOME (so the CLI's credential cache is never reused), and the sim's region.
struct Client {
    home: tempfile::TempDir,
    token_file: PathBuf,
}

impl Client {
    fn new(token: &str) -> Self {
        let home = tempfile::tempdir().unwrap();
        let token_file = home.path().join("token");
        std::fs::write(&token_file, token).unwrap();
        Self { home, token_file }
    }

    async fn run(
        &self,
        env: &Env,
        program: PathBuf,
        args: &[&str],
        vars: &[(&str, &str)],
    ) -> Output {
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_DEFAULT_REGION", &env.endpoints().region);
        for (k, v) in vars {
            command.env(k, v);
        }
        command.output().await.unwrap()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_web_identity_provider_reaches_what_the_policy_grants() {
    let python = venv_bin("python");
    let env = Env::start().await;
    let token = env.service_account_token("astronomer-x", "worker").await;
    let client = Client::new(&token);
    let ep = env.endpoints();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../python/boto3_web_identity.py");
    let token_file = client.token_file.to_string_lossy().into_owned();
    let out = client
        .run(
            &env,
            python,
            &[
                &script.to_string_lossy(),
                "astronomer-bucket",
                "other-bucket",
                "rolecheck/boto3.txt",
            ],
            &[
                ("AWS_ROLE_ARN", &env.role_arn),
                ("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file),
                ("AWS_ROLE_SESSION_NAME", "boto3-pod"),
                ("AWS_ENDPOINT_URL_STS", &ep.aws_url),
                ("AWS_ENDPOINT_URL_S3", &ep.s3_url),
            ],
        )
        .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        result["caller_arn"],
        format!(
            "arn:aws:sts::{}:assumed-role/{ROLE}/boto3-pod",
            ep.account_id
        )
    );
    assert_eq!(result["credential_method"], "assume-role-with-web-identity");
    assert_eq!(result["get_body"], "hello from boto3");
    assert_eq!(result["listed"], serde_json::json!(["rolecheck/boto3.txt"]));
    assert_eq!(result["other_list"], "AccessDenied");
    assert_eq!(result["other_put"], "AccessDenied");
}

async fn cli_assume(env: &Env, client: &Client) -> Output {
    let token_arg = format!("file://{}", client.token_file.display());
    client
        .run(
            env,
            venv_bin("aws"),
            &[
                "sts",
                "assume-role-with-web-identity",
                "--endpoint-url",
                &env.endpoints().aws_url,
                "--role-arn",
                &env.role_arn,
                "--role-session-name",
                "cli-session",
                "--web-identity-token",
                &token_arg,
                "--output",
                "json",
            ],
            &[],
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_assumes_the_role_with_an_astronomer_token() {
    venv_bin("aws");
    let env = Env::start().await;
    let client = Client::new(&env.service_account_token("astronomer-x", "worker").await);
    let out = cli_assume(&env, &client).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        result["AssumedRoleUser"]["Arn"],
        format!(
            "arn:aws:sts::{}:assumed-role/{ROLE}/cli-session",
            env.endpoints().account_id
        )
    );
    assert_eq!(
        result["SubjectFromWebIdentityToken"],
        "system:serviceaccount:astronomer-x:worker"
    );
    assert!(
        result["Credentials"]["AccessKeyId"]
            .as_str()
            .is_some_and(|k| k.starts_with("ASIA"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_is_refused_with_a_token_outside_astronomer_namespaces() {
    venv_bin("aws");
    let env = Env::start().await;
    let client = Client::new(&env.service_account_token("outside", "intruder").await);
    let out = cli_assume(&env, &client).await;
    let code = out.status.code();
    assert!(matches!(code, Some(254 | 255)), "exit {code:?}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("AccessDenied")
            && stderr.contains("Not authorized to perform sts:AssumeRoleWithWebIdentity"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

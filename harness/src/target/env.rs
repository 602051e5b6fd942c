//! `rolecheck env up|down kind|local`: the kind + LocalStack environment of the `kind` target,
//! and the real local cluster of the `local` target ([`super::local`]).
//!
//! Up: a kind cluster from `fixtures/kind/cluster.yaml` (fixed service-account issuer), the
//! pod-identity webhook from `fixtures/kind/pod-identity-webhook/` with a certificate this
//! command generates, LocalStack (STS, IAM) through testcontainers on 127.0.0.1:4566, and the
//! cluster's issuer registered as an IAM OIDC provider there. Runs (`--target kind`) create
//! and remove the role themselves. Down: the cluster and the container go.
//!
//! Needs Docker, `kind` and `kubectl` on PATH, and a build with `--features kind`
//! (`make kind-up`).

use std::path::{Path, PathBuf};

use super::TargetError;

/// The kind cluster's name (`kind-<name>` is its kubeconfig context).
pub const CLUSTER: &str = "rolecheck";
/// The LocalStack container's name.
pub const LOCALSTACK_CONTAINER: &str = "rolecheck-localstack";
/// Where `env up kind` writes the cluster's kubeconfig (the kind profile reads it).
pub const KUBECONFIG: &str = "reports/kind-kubeconfig";

/// Brings the environment `name` up; returns what was done.
pub async fn up(name: &str) -> Result<String, TargetError> {
    match name {
        "kind" => kind_up().await,
        super::local::NAME => super::local::lifecycle::up().await,
        other => Err(unknown(other)),
    }
}

/// Tears the environment `name` down; returns what was done.
pub async fn down(name: &str) -> Result<String, TargetError> {
    match name {
        "kind" => {
            require_tools(&["kind", "docker"])?;
            let mut done = Vec::new();
            run("kind", &["delete", "cluster", "--name", CLUSTER], None).await?;
            done.push(format!("deleted kind cluster {CLUSTER}"));
            // A missing container is fine: `docker rm -f` of nothing fails, ignore that.
            if run("docker", &["rm", "-f", LOCALSTACK_CONTAINER], None)
                .await
                .is_ok()
            {
                done.push(format!("removed container {LOCALSTACK_CONTAINER}"));
            }
            Ok(done.join("\n"))
        }
        super::local::NAME => super::local::lifecycle::down().await,
        other => Err(unknown(other)),
    }
}

fn unknown(name: &str) -> TargetError {
    TargetError::Unsupported {
        target: name.to_owned(),
        message: "no such environment (known: kind, local)".to_owned(),
    }
}

fn env_error(message: impl Into<String>) -> TargetError {
    TargetError::Unsupported {
        target: "kind".to_owned(),
        message: message.into(),
    }
}

/// The fixtures directory (under the current directory, else the workspace root).
pub fn fixtures() -> PathBuf {
    let here = Path::new("fixtures");
    if here.is_dir() {
        here.to_path_buf()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
    }
}

/// Fails unless every tool is on PATH.
fn require_tools(tools: &[&str]) -> Result<(), TargetError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| !std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(env_error(format!(
            "needs {} on PATH (Docker, kind and kubectl; see README \"Target: kind\")",
            missing.join(", ")
        )))
    }
}

/// Runs a tool, feeding `stdin` if given; returns its stdout or an error with its stderr.
async fn run(program: &str, args: &[&str], stdin: Option<&str>) -> Result<String, TargetError> {
    use tokio::io::AsyncWriteExt as _;
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(if stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| env_error(format!("running {program}: {e}")))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .await
            .map_err(|e| env_error(format!("writing to {program}: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| env_error(format!("running {program}: {e}")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(env_error(format!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// The MutatingWebhookConfiguration with the CA filled in.
pub fn webhook_configuration(template: &str, ca_pem: &str) -> String {
    use base64::Engine as _;
    let bundle = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    template.replace("${CA_BUNDLE}", &bundle)
}

#[cfg(not(feature = "kind"))]
async fn kind_up() -> Result<String, TargetError> {
    Err(env_error(
        "this rolecheck was built without feature `kind` (Docker client, certificate generation): use `make kind-up`",
    ))
}

#[cfg(feature = "kind")]
async fn kind_up() -> Result<String, TargetError> {
    use testcontainers_modules::localstack::LocalStack;
    use testcontainers_modules::testcontainers::ImageExt as _;
    use testcontainers_modules::testcontainers::core::IntoContainerPort as _;
    use testcontainers_modules::testcontainers::runners::AsyncRunner as _;

    require_tools(&["kind", "kubectl", "docker"])?;
    let fixtures = fixtures();
    let kubeconfig = Path::new(KUBECONFIG);
    if let Some(dir) = kubeconfig.parent() {
        std::fs::create_dir_all(dir).map_err(|e| env_error(format!("{}: {e}", dir.display())))?;
    }
    let kubeconfig_arg = kubeconfig.display().to_string();
    let mut done = Vec::new();

    let clusters = run("kind", &["get", "clusters"], None).await?;
    if clusters.lines().any(|l| l.trim() == CLUSTER) {
        run(
            "kind",
            &[
                "export",
                "kubeconfig",
                "--name",
                CLUSTER,
                "--kubeconfig",
                &kubeconfig_arg,
            ],
            None,
        )
        .await?;
        done.push(format!("kind cluster {CLUSTER} already exists"));
    } else {
        let config = fixtures.join("kind/cluster.yaml").display().to_string();
        run(
            "kind",
            &[
                "create",
                "cluster",
                "--name",
                CLUSTER,
                "--config",
                &config,
                "--kubeconfig",
                &kubeconfig_arg,
                "--wait",
                "120s",
            ],
            None,
        )
        .await?;
        done.push(format!("created kind cluster {CLUSTER}"));
    }
    let kubectl = |args: Vec<String>| {
        let mut all = vec!["--kubeconfig".to_owned(), kubeconfig_arg.clone()];
        all.extend(args);
        all
    };

    // The webhook's certificate: a CA and a serving certificate for its Service.
    let (ca_pem, cert_pem, key_pem) = webhook_certificate()?;
    let scratch = std::env::temp_dir().join(format!("rolecheck-kind-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| env_error(format!("{e}")))?;
    let cert_file = scratch.join("tls.crt");
    let key_file = scratch.join("tls.key");
    std::fs::write(&cert_file, &cert_pem).map_err(|e| env_error(format!("{e}")))?;
    std::fs::write(&key_file, &key_pem).map_err(|e| env_error(format!("{e}")))?;
    let secret = run(
        "kubectl",
        &kubectl(vec![
            "-n".into(),
            "kube-system".into(),
            "create".into(),
            "secret".into(),
            "tls".into(),
            "pod-identity-webhook-cert".into(),
            format!("--cert={}", cert_file.display()),
            format!("--key={}", key_file.display()),
            "--dry-run=client".into(),
            "-o".into(),
            "yaml".into(),
        ])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
        None,
    )
    .await?;
    let _ = std::fs::remove_dir_all(&scratch);
    run(
        "kubectl",
        &kubectl(vec!["apply".into(), "-f".into(), "-".into()])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        Some(&secret),
    )
    .await?;
    let webhook_dir = fixtures.join("kind/pod-identity-webhook");
    for file in ["00-rbac.yaml", "10-deployment.yaml"] {
        let path = webhook_dir.join(file).display().to_string();
        run(
            "kubectl",
            &kubectl(vec!["apply".into(), "-f".into(), path])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            None,
        )
        .await?;
    }
    let template = std::fs::read_to_string(webhook_dir.join("20-mutatingwebhook.yaml.tmpl"))
        .map_err(|e| env_error(format!("{e}")))?;
    run(
        "kubectl",
        &kubectl(vec!["apply".into(), "-f".into(), "-".into()])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        Some(&webhook_configuration(&template, &ca_pem)),
    )
    .await?;
    run(
        "kubectl",
        &kubectl(vec![
            "-n".into(),
            "kube-system".into(),
            "rollout".into(),
            "status".into(),
            "deployment/pod-identity-webhook".into(),
            "--timeout=180s".into(),
        ])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
        None,
    )
    .await?;
    done.push("installed the pod-identity webhook with a generated certificate".to_owned());

    // LocalStack with STS and IAM, on the port the kind profile names.
    let container = LocalStack::default()
        .with_env_var("SERVICES", "sts,iam")
        .with_container_name(LOCALSTACK_CONTAINER)
        .with_mapped_port(4566, 4566.tcp())
        .start()
        .await
        .map_err(|e| env_error(format!("starting LocalStack: {e}")))?;
    // The container outlives this command (a later `run --target kind` uses it); `env down
    // kind` removes it by name.
    std::mem::forget(container);
    done.push(format!(
        "started LocalStack ({LOCALSTACK_CONTAINER}) on 127.0.0.1:4566"
    ));

    // The cluster's issuer as an IAM OIDC provider in LocalStack.
    let kube =
        crate::drivers::kube::KubeDriver::connect(&crate::drivers::kube::KubeAccess::Kubeconfig {
            path: Some(kubeconfig.to_path_buf()),
            context: Some(format!("kind-{CLUSTER}")),
        })
        .await
        .map_err(|e| env_error(format!("connecting to the cluster: {e}")))?;
    let issuer = kube
        .service_account_issuer()
        .await
        .map_err(|e| env_error(format!("reading the issuer: {e}")))?;
    let iam = crate::drivers::iam::IamDriver::with_static_credentials(
        &crate::drivers::sts::AwsEndpoint {
            url: Some("http://127.0.0.1:4566".to_owned()),
            region: "us-east-1".to_owned(),
        },
        "test",
        "test",
    );
    let provider = iam
        .create_oidc_provider(
            &issuer,
            "9e99a48a9960b14926bb7f3b02e22da2b0ab7280",
            "env-up",
        )
        .await
        .map_err(|e| env_error(format!("registering the OIDC provider: {e}")))?;
    done.push(format!("registered {} for {issuer}", provider.arn));
    Ok(done.join("\n"))
}

/// A CA and a serving certificate (PEM) for `pod-identity-webhook.kube-system.svc`.
#[cfg(feature = "kind")]
fn webhook_certificate() -> Result<(String, String, String), TargetError> {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let fail = |e: rcgen::Error| env_error(format!("generating the webhook certificate: {e}"));
    let ca_key = KeyPair::generate().map_err(fail)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "rolecheck webhook CA");
    let ca = ca_params.self_signed(&ca_key).map_err(fail)?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().map_err(fail)?;
    let params = CertificateParams::new(vec![
        "pod-identity-webhook.kube-system.svc".to_owned(),
        "pod-identity-webhook.kube-system.svc.cluster.local".to_owned(),
    ])
    .map_err(fail)?;
    let cert = params.signed_by(&key, &issuer).map_err(fail)?;
    Ok((ca.pem(), cert.pem(), key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_bundle_is_filled_in_as_base64() {
        let filled = webhook_configuration("caBundle: ${CA_BUNDLE}\n", "PEM");
        assert_eq!(filled, "caBundle: UEVN\n");
        let template = std::fs::read_to_string(
            fixtures().join("kind/pod-identity-webhook/20-mutatingwebhook.yaml.tmpl"),
        )
        .unwrap();
        assert!(!webhook_configuration(&template, "x").contains("${CA_BUNDLE}"));
    }

    #[tokio::test]
    async fn an_unknown_environment_is_refused() {
        let err = up("minikube").await.unwrap_err();
        assert!(err.to_string().contains("known: kind"), "{err}");
    }
}

//! `rolecheck env up|down kind|local`: the kind + LocalStack environment of the `kind` target,
//! and the real local cluster of the `local` target ([`super::local`]).
//!
//! Up: a kind cluster from `fixtures/kind/cluster.yaml` (fixed service-account issuer), the
//! pod-identity webhook from `fixtures/kind/pod-identity-webhook/` (image pinned by digest)
//! with a certificate this command generates, LocalStack (STS, IAM) through testcontainers on
//! 127.0.0.1:4566, the cluster's issuer registered as an IAM OIDC provider there, and a smoke
//! test (an annotated ServiceAccount's pod must be mutated). Runs (`--target kind`) create and
//! remove the role themselves. Down: the cluster and the container go.
//!
//! `up` can run again on an existing environment: the cluster, the LocalStack container and
//! a certificate the cluster already trusts are reused; a replaced certificate restarts the
//! running webhook, which otherwise keeps serving the old one.
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

/// The longest any one tool call of `env up`/`env down` may take (a cluster creation or an
/// image pull included); the tool is killed after it.
const TOOL_LIMIT: std::time::Duration = std::time::Duration::from_secs(600);

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
    let out = tokio::time::timeout(TOOL_LIMIT, child.wait_with_output())
        .await
        .map_err(|_| {
            env_error(format!(
                "`{program} {}` did not finish within {} (stopped)",
                args.join(" "),
                humantime::format_duration(TOOL_LIMIT)
            ))
        })?
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

/// The webhook image: the canonical registry and repository its project publishes to
/// (README "Container Images", the build workflow's `REPO`), at its newest release tag.
/// `env up` runs it pinned by digest.
pub const WEBHOOK_IMAGE: &str = "public.ecr.aws/eks/amazon-eks-pod-identity-webhook:v0.6.17";

/// Where the webhook image's digest is pinned (under `fixtures/`), once resolved.
pub const WEBHOOK_DIGEST_PIN: &str = "kind/pod-identity-webhook/image.digest";

/// The Secret holding the webhook's key pair and the CA that signed it.
pub const WEBHOOK_SECRET: &str = "pod-identity-webhook-cert";

/// `reference` pinned by digest: `<repository>@sha256:...` from `docker image inspect`'s
/// repo digests (one per line), which must match `pin` when one is given.
pub fn pinned_image(
    reference: &str,
    repo_digests: &str,
    pin: Option<&str>,
) -> Result<String, String> {
    let repository = match reference.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => reference,
    };
    let digest = repo_digests
        .lines()
        .map(str::trim)
        .find_map(|line| line.strip_prefix(&format!("{repository}@")))
        .filter(|d| {
            d.strip_prefix("sha256:")
                .is_some_and(|hex| hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()))
        })
        .ok_or_else(|| {
            format!("no sha256 digest of {repository} in `docker image inspect`: {repo_digests:?}")
        })?;
    if let Some(pin) = pin.map(str::trim).filter(|p| !p.is_empty())
        && pin != digest
    {
        return Err(format!(
            "{reference} is now {digest}, but {WEBHOOK_DIGEST_PIN} pins {pin}: the tag moved; check the release and update the pin"
        ));
    }
    Ok(format!("{repository}@{digest}"))
}

/// What to do about the LocalStack container of an earlier `env up`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerAction {
    /// It is running: use it.
    Reuse,
    /// It exists but is stopped: start it.
    Start,
    /// There is none: create it.
    Create,
}

/// Decides from `docker inspect --format {{.State.Running}}` (`None`: no such container).
pub fn container_action(running: Option<&str>) -> ContainerAction {
    match running.map(str::trim) {
        None => ContainerAction::Create,
        Some("true") => ContainerAction::Reuse,
        Some(_) => ContainerAction::Start,
    }
}

/// What to do about the webhook's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertAction {
    /// The Secret's CA is the one the MutatingWebhookConfiguration trusts: keep both.
    Reuse,
    /// Make a new certificate, trust its CA, restart a running webhook.
    Replace,
}

/// Decides from the Secret's `ca.crt` and the configuration's `caBundle` (both base64, as
/// `kubectl get -o jsonpath` prints them; `None` or empty when missing).
pub fn cert_action(secret_ca: Option<&str>, trusted_bundle: Option<&str>) -> CertAction {
    match (
        secret_ca.map(str::trim).filter(|s| !s.is_empty()),
        trusted_bundle.map(str::trim).filter(|s| !s.is_empty()),
    ) {
        (Some(ca), Some(bundle)) if ca == bundle => CertAction::Reuse,
        _ => CertAction::Replace,
    }
}

/// Writes a file only its owner can read (mode 0600 on Unix): private keys.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents)
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
    let kubectl = Kubectl {
        kubeconfig: kubeconfig_arg.clone(),
    };

    // The webhook image, pinned by digest.
    run("docker", &["pull", WEBHOOK_IMAGE], None).await?;
    let digests = run(
        "docker",
        &[
            "image",
            "inspect",
            "--format",
            "{{join .RepoDigests \"\\n\"}}",
            WEBHOOK_IMAGE,
        ],
        None,
    )
    .await?;
    let pin_file = fixtures.join(WEBHOOK_DIGEST_PIN);
    let pin = std::fs::read_to_string(&pin_file).ok();
    let image = pinned_image(WEBHOOK_IMAGE, &digests, pin.as_deref()).map_err(env_error)?;
    if pin.is_none() {
        done.push(format!(
            "resolved {WEBHOOK_IMAGE} to {image}: commit its digest to {} to pin it",
            pin_file.display()
        ));
    }

    // The webhook's certificate: reused when the cluster already trusts the one stored in
    // the Secret, else a new one, and the running webhook restarted to serve it.
    let secret_ca = kubectl
        .get(
            &["-n", "kube-system", "secret", WEBHOOK_SECRET],
            "jsonpath={.data.ca\\.crt}",
        )
        .await
        .ok();
    let trusted = kubectl
        .get(
            &["mutatingwebhookconfiguration", "pod-identity-webhook"],
            "jsonpath={.webhooks[0].clientConfig.caBundle}",
        )
        .await
        .ok();
    let webhook_existed = kubectl
        .get(
            &["-n", "kube-system", "deployment", "pod-identity-webhook"],
            "name",
        )
        .await
        .is_ok();
    let webhook_dir = fixtures.join("kind/pod-identity-webhook");
    let cert = cert_action(secret_ca.as_deref(), trusted.as_deref());
    if cert == CertAction::Replace {
        let (ca_pem, cert_pem, key_pem) = webhook_certificate()?;
        let scratch = std::env::temp_dir().join(format!("rolecheck-kind-{}", std::process::id()));
        std::fs::create_dir_all(&scratch).map_err(|e| env_error(format!("{e}")))?;
        let files = [
            ("tls.crt", cert_pem.as_str()),
            ("tls.key", key_pem.as_str()),
            ("ca.crt", ca_pem.as_str()),
        ];
        for (name, text) in files {
            write_private(&scratch.join(name), text.as_bytes())
                .map_err(|e| env_error(format!("{}: {e}", scratch.join(name).display())))?;
        }
        let mut args = vec![
            "-n",
            "kube-system",
            "create",
            "secret",
            "generic",
            WEBHOOK_SECRET,
            "--type=kubernetes.io/tls",
            "--dry-run=client",
            "-o",
            "yaml",
        ];
        let from: Vec<String> = files
            .iter()
            .map(|(name, _)| format!("--from-file={name}={}", scratch.join(name).display()))
            .collect();
        args.extend(from.iter().map(String::as_str));
        let secret = kubectl.run(&args, None).await;
        let _ = std::fs::remove_dir_all(&scratch);
        kubectl.apply(&secret?).await?;
        let template = std::fs::read_to_string(webhook_dir.join("20-mutatingwebhook.yaml.tmpl"))
            .map_err(|e| env_error(format!("{e}")))?;
        kubectl
            .apply(&webhook_configuration(&template, &ca_pem))
            .await?;
        done.push("generated a new webhook certificate".to_owned());
    } else {
        done.push("reused the webhook certificate the cluster already trusts".to_owned());
    }
    let rbac = webhook_dir.join("00-rbac.yaml").display().to_string();
    kubectl.run(&["apply", "-f", &rbac], None).await?;
    let deployment = std::fs::read_to_string(webhook_dir.join("10-deployment.yaml"))
        .map_err(|e| env_error(format!("{e}")))?;
    kubectl
        .apply(&deployment.replace("${WEBHOOK_IMAGE}", &image))
        .await?;
    if cert == CertAction::Replace && webhook_existed {
        // A running webhook keeps serving the certificate it loaded at start.
        kubectl
            .run(
                &[
                    "-n",
                    "kube-system",
                    "rollout",
                    "restart",
                    "deployment/pod-identity-webhook",
                ],
                None,
            )
            .await?;
        done.push("restarted the webhook to serve the new certificate".to_owned());
    }
    kubectl
        .run(
            &[
                "-n",
                "kube-system",
                "rollout",
                "status",
                "deployment/pod-identity-webhook",
                "--timeout=180s",
            ],
            None,
        )
        .await?;
    done.push(format!("pod-identity webhook running ({image})"));

    // LocalStack with STS and IAM, on the port the kind profile names: the container of an
    // earlier `env up` is reused (or started again), never created twice under its name.
    let state = run(
        "docker",
        &[
            "inspect",
            "--format",
            "{{.State.Running}}",
            LOCALSTACK_CONTAINER,
        ],
        None,
    )
    .await
    .ok();
    match container_action(state.as_deref()) {
        ContainerAction::Reuse => {
            done.push(format!(
                "LocalStack ({LOCALSTACK_CONTAINER}) already running"
            ));
        }
        ContainerAction::Start => {
            run("docker", &["start", LOCALSTACK_CONTAINER], None).await?;
            wait_for_port(4566, std::time::Duration::from_secs(60)).await?;
            done.push(format!(
                "started the existing container {LOCALSTACK_CONTAINER}"
            ));
        }
        ContainerAction::Create => {
            let container = LocalStack::default()
                .with_env_var("SERVICES", "sts,iam")
                .with_container_name(LOCALSTACK_CONTAINER)
                .with_mapped_port(4566, 4566.tcp())
                .start()
                .await
                .map_err(|e| env_error(format!("starting LocalStack: {e}")))?;
            // The container outlives this command (a later `run --target kind` uses it);
            // `env down kind` removes it by name.
            std::mem::forget(container);
            done.push(format!(
                "started LocalStack ({LOCALSTACK_CONTAINER}) on 127.0.0.1:4566"
            ));
        }
    }

    // The cluster's issuer as an IAM OIDC provider in LocalStack (an existing one is kept).
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
        &crate::drivers::sts::AwsEndpoint::local("http://127.0.0.1:4566", "us-east-1"),
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

    // Mis-wiring fails here, not as rule failures later.
    let suffix = format!("{:08x}", rand::random::<u32>());
    let line = super::smoke::webhook_smoke_test(&kube, &suffix)
        .await
        .map_err(env_error)?;
    done.push(line);
    Ok(done.join("\n"))
}

/// `kubectl` against one kubeconfig: the one place `env up kind` builds its arguments.
#[cfg(feature = "kind")]
struct Kubectl {
    kubeconfig: String,
}

#[cfg(feature = "kind")]
impl Kubectl {
    /// Runs `kubectl --kubeconfig <file> <args>`, feeding `stdin` if given.
    async fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<String, TargetError> {
        let mut all = vec!["--kubeconfig", self.kubeconfig.as_str(), REQUEST_TIMEOUT];
        all.extend_from_slice(args);
        run("kubectl", &all, stdin).await
    }

    /// `kubectl apply -f -` of a manifest.
    async fn apply(&self, manifest: &str) -> Result<String, TargetError> {
        self.run(&["apply", "-f", "-"], Some(manifest)).await
    }

    /// `kubectl get <what> -o <output>` (`what`: optional `-n <namespace>`, kind, name).
    async fn get(&self, what: &[&str], output: &str) -> Result<String, TargetError> {
        let mut args = vec!["get"];
        args.extend_from_slice(what);
        args.extend(["-o", output]);
        self.run(&args, None).await
    }
}

/// Every API request `kubectl` makes during `env up kind` is bounded.
#[cfg(feature = "kind")]
const REQUEST_TIMEOUT: &str = "--request-timeout=30s";

/// Waits until something accepts TCP connections on a loopback port (a restarted
/// container's service), bounded by `within`.
#[cfg(feature = "kind")]
async fn wait_for_port(port: u16, within: std::time::Duration) -> Result<(), TargetError> {
    let deadline = tokio::time::Instant::now() + within;
    let mut delay = std::time::Duration::from_millis(100);
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        if tokio::time::Instant::now() + delay > deadline {
            return Err(env_error(format!(
                "nothing listens on 127.0.0.1:{port} after {}",
                humantime::format_duration(within)
            )));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(std::time::Duration::from_secs(2));
    }
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

    #[test]
    fn the_webhook_image_is_pinned_by_digest_from_its_canonical_registry() {
        let hex = "a".repeat(64);
        let digests = format!(
            "docker.io/amazon/amazon-eks-pod-identity-webhook@sha256:{}\npublic.ecr.aws/eks/amazon-eks-pod-identity-webhook@sha256:{hex}\n",
            "b".repeat(64)
        );
        let pinned = pinned_image(WEBHOOK_IMAGE, &digests, None).unwrap();
        assert_eq!(
            pinned,
            format!("public.ecr.aws/eks/amazon-eks-pod-identity-webhook@sha256:{hex}")
        );
        let same = format!("sha256:{hex}\n");
        assert_eq!(
            pinned_image(WEBHOOK_IMAGE, &digests, Some(&same)).unwrap(),
            pinned
        );
        let moved = pinned_image(WEBHOOK_IMAGE, &digests, Some("sha256:0000")).unwrap_err();
        assert!(moved.contains("the tag moved"), "{moved}");
        assert!(pinned_image(WEBHOOK_IMAGE, "", None).is_err());
        // The manifest takes the pinned image; nothing else names an image.
        let deployment = std::fs::read_to_string(
            fixtures().join("kind/pod-identity-webhook/10-deployment.yaml"),
        )
        .unwrap();
        let images: Vec<&str> = deployment
            .lines()
            .filter(|l| l.trim_start().starts_with("image:"))
            .collect();
        assert_eq!(images, ["          image: ${WEBHOOK_IMAGE}"]);
    }

    #[test]
    fn a_second_env_up_reuses_the_container_and_the_trusted_certificate() {
        assert_eq!(container_action(None), ContainerAction::Create);
        assert_eq!(container_action(Some("true\n")), ContainerAction::Reuse);
        assert_eq!(container_action(Some("false")), ContainerAction::Start);
        assert_eq!(cert_action(None, None), CertAction::Replace);
        assert_eq!(cert_action(Some("Q0E="), Some("Q0E=")), CertAction::Reuse);
        // A Secret whose CA the configuration does not trust (or an older Secret without
        // ca.crt) is replaced, and the running webhook restarted.
        assert_eq!(cert_action(Some("Q0E="), Some("T0xE")), CertAction::Replace);
        assert_eq!(cert_action(Some(""), Some("Q0E=")), CertAction::Replace);
    }

    #[cfg(unix)]
    #[test]
    fn private_keys_are_written_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tls.key");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"KEY").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"KEY");
    }

    #[test]
    fn the_kind_api_server_does_not_accept_sts_tokens_as_credentials() {
        let config = std::fs::read_to_string(fixtures().join("kind/cluster.yaml")).unwrap();
        let audiences = config
            .lines()
            .find_map(|l| l.trim().strip_prefix("api-audiences:"))
            .unwrap();
        assert!(!audiences.contains("sts.amazonaws.com"), "{audiences}");
    }

    #[test]
    fn the_kind_role_name_carries_the_run_id() {
        let kind = crate::target::profile::Profile::named("kind").unwrap();
        match kind.role {
            crate::target::profile::RoleSource::Create(name) => {
                assert!(name.contains("{run_id}"), "{name}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn an_unknown_environment_is_refused() {
        let err = up("minikube").await.unwrap_err();
        assert!(err.to_string().contains("known: kind"), "{err}");
    }
}

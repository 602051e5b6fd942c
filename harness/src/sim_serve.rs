//! `rolecheck sim serve` and `rolecheck sim faults`: the embedded sim as a standalone process,
//! so that kubectl, boto3, the AWS CLI or a shell script can be pointed at it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rolecheck_sim::{Endpoints, Fault, FaultSet, Sim, SimConfig};

use crate::drivers::deadline::Deadline;
use crate::drivers::kube::{KubeAccess, KubeDriver};
use crate::target::local::LocalCluster;

/// Options of `rolecheck sim serve`.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Listen on `base`, `base+1`, `base+2` instead of random ports.
    pub port_base: Option<u16>,
    /// Where to write the kubeconfig (default `reports/sim-kubeconfig`).
    pub kubeconfig: Option<PathBuf>,
    /// Where to write the endpoints as shell lines, if anywhere.
    pub env_file: Option<PathBuf>,
    /// Fault switches to turn on.
    pub faults: FaultSet,
    /// The webhook's settings (`--aws-default-region`, `--sts-regional-endpoint`,
    /// `--service-account-lookup-grace-period`, cache lag).
    pub webhook: WebhookFlags,
    /// Attach the platform, webhook and STS to the real cluster of `rolecheck env up local`
    /// (`--cluster local`) instead of serving the sim's own Kubernetes API.
    pub attach_local: bool,
}

/// The webhook flags `sim serve` passes on.
#[derive(Debug, Clone, Default)]
pub struct WebhookFlags {
    /// `--aws-default-region`.
    pub default_region: Option<String>,
    /// `--sts-regional-endpoint`.
    pub sts_regional_endpoint: bool,
    /// `--service-account-lookup-grace-period`.
    pub lookup_grace: std::time::Duration,
    /// How far its ServiceAccount cache lags behind the API server.
    pub cache_lag: std::time::Duration,
}

/// Why the sim could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The sim did not start.
    #[error("starting the sim: {0:#}")]
    Start(anyhow::Error),
    /// The local cluster is not up, or the sim could not be attached to it (exit 2).
    #[error("attaching to the local cluster: {0}")]
    Attach(String),
    /// A file could not be written.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Starts the sim, writes the kubeconfig (and env file), prints the endpoints, and serves
/// until SIGINT or SIGTERM.
pub async fn serve(options: ServeOptions) -> Result<(), ServeError> {
    let run_id = serve_id();
    let local = if options.attach_local {
        let cluster = LocalCluster::load().map_err(|e| ServeError::Attach(e.to_string()))?;
        let mut config = crate::target::attach::cluster_config(&cluster, &run_id)
            .await
            .map_err(|e| ServeError::Attach(e.to_string()))?;
        // Its own label, not a run's: a `rolecheck run` against this sim labels the
        // namespaces it works in with its own run id, which must not take them out of the
        // webhook's selector.
        config.run_label = (SERVE_LABEL.to_owned(), run_id.clone());
        config.workloads.namespace_labels = vec![(SERVE_LABEL.to_owned(), run_id.clone())];
        Some((cluster, config))
    } else {
        None
    };
    let sim = Sim::start(SimConfig {
        cluster: local.as_ref().map(|(_, config)| config.clone()),
        faults: options.faults.clone(),
        port_base: options.port_base,
        webhook_default_region: options.webhook.default_region.clone(),
        webhook_sts_regional_endpoints: options.webhook.sts_regional_endpoint,
        webhook_lookup_grace: options.webhook.lookup_grace,
        webhook_lookup_delay: options.webhook.cache_lag,
        ..SimConfig::default()
    })
    .await
    .map_err(ServeError::Start)?;
    let mut endpoints = sim.endpoints().clone();
    if let Some((cluster, _)) = &local {
        attached_endpoints(&mut endpoints, cluster, &run_id).await?;
    }
    let kubeconfig = options
        .kubeconfig
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports/sim-kubeconfig"));
    let kubeconfig_contents = match &local {
        // The cluster's own admin kubeconfig: kubectl, the SDKs and scripts talk to the real
        // API server, where the platform installs and the webhook mutates.
        Some((cluster, _)) => std::fs::read_to_string(&cluster.kubeconfig)
            .map_err(|e| ServeError::Attach(format!("{}: {e}", cluster.kubeconfig.display())))?,
        None => kubeconfig_text(&endpoints),
    };
    write_file(&kubeconfig, &kubeconfig_contents)?;
    if let Some(env_file) = &options.env_file {
        write_file(env_file, &env_lines(&endpoints, &kubeconfig))?;
    }
    let mut shown = summary(&endpoints, &kubeconfig, &options.faults);
    if let Some((cluster, _)) = &local {
        shown.push_str(&format!(
            "\n  attached to:       the local cluster ({}); what the platform creates is labelled {SERVE_LABEL}={run_id}",
            cluster.version
        ));
    }
    println!("{shown}");
    wait_for_signal().await;
    let kube = match &local {
        Some((cluster, _)) => {
            let access = KubeAccess::Kubeconfig {
                path: Some(cluster.kubeconfig.clone()),
                context: None,
            };
            KubeDriver::connect(&access)
                .await
                .map_err(|e| tracing::warn!(%e, "no client to remove the namespaces"))
                .ok()
        }
        None => None,
    };
    sim.shutdown().await;
    if let Some(kube) = kube {
        for line in remove_labelled_namespaces(&kube, &run_id).await {
            println!("{line}");
        }
    }
    Ok(())
}

/// The endpoints of a sim attached to `cluster`: the cluster's API server and admin token,
/// and its service-account issuer, registered in the sim's IAM as an administrator registers
/// an EKS cluster's issuer (so the sim's STS accepts the tokens the real API server signs).
async fn attached_endpoints(
    endpoints: &mut Endpoints,
    cluster: &LocalCluster,
    run_id: &str,
) -> Result<(), ServeError> {
    use crate::drivers::iam::IamDriver;
    use crate::drivers::sts::AwsEndpoint;
    endpoints.kube_url = cluster.api_server.clone();
    endpoints.kube_token = cluster.admin_token.clone();
    endpoints.oidc_issuer = cluster.service_account_issuer.clone();
    let iam = IamDriver::with_static_credentials(
        &AwsEndpoint::local(endpoints.aws_url.clone(), endpoints.region.clone()),
        &endpoints.aws_access_key_id,
        &endpoints.aws_secret_access_key,
    );
    let provider = iam
        .create_oidc_provider(
            &endpoints.oidc_issuer,
            crate::target::assemble::ISSUER_THUMBPRINT,
            run_id,
        )
        .await
        .map_err(|e| {
            ServeError::Attach(format!(
                "registering the cluster's issuer in the sim's IAM: {e}"
            ))
        })?;
    endpoints.oidc_provider_arn = provider.arn;
    Ok(())
}

/// The label of the namespaces a `sim serve` attached to a cluster created (through its
/// platform); its webhook acts only on them.
pub const SERVE_LABEL: &str = "rolecheck.io/sim-serve";

/// A label value for what this `sim serve` creates in a real cluster: its webhook acts only
/// on namespaces carrying it, and its shutdown removes exactly those.
fn serve_id() -> String {
    format!("serve-{}", crate::session::new_run_id())
}

/// How long shutdown waits for the namespaces the platform created to be gone (a real
/// cluster's kubelet confirms each pod's end first).
const SHUTDOWN_REMOVAL: std::time::Duration = std::time::Duration::from_secs(120);

/// Deletes the namespaces the platform created while serving (labelled with `run_id`) and
/// waits for them to be gone until [`SHUTDOWN_REMOVAL`]; returns what it did, one line each.
async fn remove_labelled_namespaces(kube: &KubeDriver, run_id: &str) -> Vec<String> {
    let deadline = Deadline::after(SHUTDOWN_REMOVAL);
    let removals = match kube
        .remove_namespaces_labelled(SERVE_LABEL, run_id, &deadline)
        .await
    {
        Ok(removals) => removals,
        Err(e) => {
            return vec![format!(
                "could not list the namespaces labelled {SERVE_LABEL}={run_id}: {e}"
            )];
        }
    };
    removals
        .into_iter()
        .map(|(name, removed)| match removed {
            Ok(()) => format!("removed namespace {name}"),
            Err(e) => format!("could not remove namespace {name}: {e}"),
        })
        .collect()
}

/// `rolecheck sim faults`: every fault switch with the rule it breaks.
pub fn fault_table() -> String {
    let width = Fault::ALL.iter().map(|f| f.name().len()).max().unwrap_or(0);
    let mut out = String::new();
    for fault in Fault::ALL {
        let _ = writeln!(
            out,
            "{:width$}  {:4} {}",
            fault.name(),
            fault.rule(),
            fault.description()
        );
    }
    out
}

/// A kubeconfig (JSON, which kubectl and kube-rs read as YAML) for the sim's API.
pub fn kubeconfig_text(endpoints: &Endpoints) -> String {
    let config = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "rolecheck-sim", "cluster": {"server": endpoints.kube_url}}],
        "users": [{"name": "rolecheck-admin", "user": {"token": endpoints.kube_token}}],
        "contexts": [{"name": "rolecheck-sim", "context": {"cluster": "rolecheck-sim", "user": "rolecheck-admin"}}],
        "current-context": "rolecheck-sim",
    });
    let mut text = serde_json::to_string_pretty(&config).unwrap_or_default();
    text.push('\n');
    text
}

/// The endpoints as `KEY=value` shell lines.
pub fn env_lines(endpoints: &Endpoints, kubeconfig: &Path) -> String {
    let admin = admin_token(endpoints);
    let kubeconfig = std::path::absolute(kubeconfig).unwrap_or_else(|_| kubeconfig.to_path_buf());
    [
        ("KUBECONFIG", kubeconfig.display().to_string()),
        ("AWS_ENDPOINT_URL_STS", endpoints.aws_url.clone()),
        ("AWS_ENDPOINT_URL_IAM", endpoints.aws_url.clone()),
        ("AWS_REGION", endpoints.region.clone()),
        ("AWS_ACCESS_KEY_ID", endpoints.aws_access_key_id.clone()),
        (
            "AWS_SECRET_ACCESS_KEY",
            endpoints.aws_secret_access_key.clone(),
        ),
        ("ROLECHECK_PLATFORM_URL", endpoints.platform_url.clone()),
        ("ROLECHECK_PLATFORM_TOKEN", admin),
        (
            "ROLECHECK_PLATFORM_EDITOR_TOKEN",
            token_of(endpoints, "WORKSPACE_EDITOR"),
        ),
        (
            "ROLECHECK_PLATFORM_VIEWER_TOKEN",
            token_of(endpoints, "WORKSPACE_VIEWER"),
        ),
        (
            "ROLECHECK_PLATFORM_WORKSPACE",
            endpoints.workspace_id.clone(),
        ),
        ("ROLECHECK_OIDC_ISSUER", endpoints.oidc_issuer.clone()),
        (
            "ROLECHECK_OIDC_PROVIDER_ARN",
            endpoints.oidc_provider_arn.clone(),
        ),
        ("ROLECHECK_ACCOUNT_ID", endpoints.account_id.clone()),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}\n", shell_quote(v)))
    .collect()
}

fn summary(endpoints: &Endpoints, kubeconfig: &Path, faults: &FaultSet) -> String {
    let faults: Vec<&str> = faults.iter().map(Fault::name).collect();
    format!(
        "rolecheck sim serving (Ctrl-C to stop)\n  kubeconfig:        {}\n  Kubernetes API:    {}\n  STS/IAM endpoint:  {}\n  IAM access key id: {} (secret in the env file)\n  platform GraphQL:  {}\n  platform token:    {}\n  workspace:         {}\n  OIDC issuer:       {}\n  OIDC provider ARN: {}\n  faults:            {}",
        kubeconfig.display(),
        endpoints.kube_url,
        endpoints.aws_url,
        endpoints.aws_access_key_id,
        endpoints.platform_url,
        admin_token(endpoints),
        endpoints.workspace_id,
        endpoints.oidc_issuer,
        endpoints.oidc_provider_arn,
        if faults.is_empty() {
            "none".to_owned()
        } else {
            faults.join(", ")
        },
    )
}

fn admin_token(endpoints: &Endpoints) -> String {
    token_of(endpoints, "WORKSPACE_ADMIN")
}

fn token_of(endpoints: &Endpoints, workspace_role: &str) -> String {
    endpoints
        .platform_users
        .iter()
        .find(|u| u.workspace_role == workspace_role)
        .map(|u| u.token.clone())
        .unwrap_or_default()
}

fn shell_quote(value: &str) -> String {
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:=@".contains(c))
    {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// Writes a file only its owner may read (mode 0600): the kubeconfig and the env file hold
/// the cluster admin's and the platform users' tokens. An existing file is narrowed to 0600
/// before the tokens go in.
fn write_file(path: &Path, text: &str) -> Result<(), ServeError> {
    let wrap = |source| ServeError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(wrap)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        options.mode(0o600);
        let file = options.open(path).map_err(wrap)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(wrap)?;
        write_all(file, text).map_err(wrap)
    }
    #[cfg(not(unix))]
    {
        write_all(options.open(path).map_err(wrap)?, text).map_err(wrap)
    }
}

fn write_all(mut file: std::fs::File, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

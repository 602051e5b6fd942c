//! The pod-identity webhook: what amazon-eks-pod-identity-webhook (v0.6) does to a pod on
//! CREATE, written from its handler and ServiceAccount cache.
//!
//! Two modes, chosen per pod:
//! - **Container credentials (EKS Pod Identity)**: when the pod's (namespace, ServiceAccount)
//!   has a Pod Identity association (the webhook's container-credentials config), every
//!   container gets `AWS_CONTAINER_CREDENTIALS_FULL_URI` and
//!   `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, the pod gets a projected token for
//!   `pods.eks.amazonaws.com` and the label `eks.amazonaws.com/pod-identity=enabled`. This
//!   mode takes precedence: the role annotation is then ignored.
//! - **Web identity (IRSA)**: when the ServiceAccount carries a non-empty
//!   `eks.amazonaws.com/role-arn`, every container gets `AWS_ROLE_ARN` and
//!   `AWS_WEB_IDENTITY_TOKEN_FILE` and a read-only mount of the projected volume
//!   `aws-iam-token` (audience `sts.amazonaws.com` unless the ServiceAccount names another).
//!
//! In both modes a container that already defines one of the mode's variables keeps its own,
//! `AWS_STS_REGIONAL_ENDPOINTS=regional` and the region variables are added when asked for and
//! not already defined, and a container that already defines the mode's variables, a region
//! variable and `AWS_STS_REGIONAL_ENDPOINTS` is left untouched (not even the mount is added).
//! Containers named in the pod's `eks.amazonaws.com/skip-containers` (a CSV record) are left
//! alone. Annotation values are read as the webhook reads them: booleans with Go's
//! `strconv.ParseBool`, numbers with `strconv.ParseInt`, nothing trimmed.
//!
//! [`mutate`] is a pure function over (pod, ServiceAccount as the webhook's cache sees it,
//! options); the API server calls it from its admission path and, under
//! [`Fault::MutateExistingPods`], on running pods.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    Container, EnvVar, Pod, ProjectedVolumeSource, ServiceAccount, ServiceAccountTokenProjection,
    Volume, VolumeMount, VolumeProjection,
};

use crate::faults::{Fault, FaultSet};

/// The annotation domain of the real webhook (`--annotation-prefix` default).
pub const ANNOTATION_DOMAIN: &str = "eks.amazonaws.com";
/// Where the web-identity token is mounted (`--token-mount-path` default).
const MOUNT_PATH: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
/// The web-identity projected volume's name.
const VOLUME_NAME: &str = "aws-iam-token";
/// The file name of the web-identity token inside the mount.
const TOKEN_FILE: &str = "token";
/// The audience of the web-identity token unless the ServiceAccount names another
/// (`--token-audience` default).
pub const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";
/// The token lifetime unless an annotation names another (`--token-expiration` default).
pub const DEFAULT_TOKEN_EXPIRATION: i64 = 86_400;
/// The lower end of the jitter applied to the default lifetime in container-credentials mode.
pub const DEFAULT_MIN_TOKEN_EXPIRATION: i64 = 79_200;
/// The shortest token lifetime the webhook asks for (kube-apiserver's minimum).
pub const MIN_TOKEN_EXPIRATION: i64 = 600;
/// The label the webhook puts on pods it gives container credentials.
pub const POD_IDENTITY_LABEL: &str = "eks.amazonaws.com/pod-identity";
/// The variables of the container-credentials mode.
pub const CONTAINER_CREDENTIALS_FULL_URI: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
/// The token file variable of the container-credentials mode.
pub const CONTAINER_AUTHORIZATION_TOKEN_FILE: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";

/// The token path [`Fault::WrongTokenPath`] injects: the default ServiceAccount token, which
/// STS cannot use for web identity.
const WRONG_TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";
/// The audience [`Fault::WrongTokenAudience`] asks for: the API server's own audience.
const WRONG_AUDIENCE: &str = "https://kubernetes.default.svc";

/// Settings of the webhook (its command-line flags and container-credentials config) and
/// the fault switches it honours.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// `--aws-default-region`: injected as `AWS_REGION`/`AWS_DEFAULT_REGION` when non-empty.
    pub default_region: Option<String>,
    /// `--sts-regional-endpoint`: inject `AWS_STS_REGIONAL_ENDPOINTS=regional` unless the
    /// ServiceAccount says otherwise.
    pub sts_regional_endpoints: bool,
    /// `--token-audience`: the web-identity audience unless the ServiceAccount names one.
    pub default_audience: String,
    /// `--token-expiration`: the lifetime unless an annotation names one.
    pub default_token_expiration: i64,
    /// The container-credentials (EKS Pod Identity) settings and associations.
    pub container_credentials: ContainerCredentials,
    /// Fault switches; only the webhook's own (`WebhookDisabled`, `EnvVarMissing`,
    /// `WrongTokenPath`, `TokenVolumeMissing`, `WrongTokenAudience`) matter here.
    pub faults: FaultSet,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            default_region: None,
            sts_regional_endpoints: false,
            default_audience: DEFAULT_AUDIENCE.to_owned(),
            default_token_expiration: DEFAULT_TOKEN_EXPIRATION,
            container_credentials: ContainerCredentials::default(),
            faults: FaultSet::none(),
        }
    }
}

/// The webhook's container-credentials mode: its `--container-credentials-*` flags and the
/// identities of its config file (on EKS, written from the cluster's Pod Identity
/// associations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerCredentials {
    /// Token audience (`pods.eks.amazonaws.com`).
    pub audience: String,
    /// Where the token is mounted.
    pub mount_path: String,
    /// The projected volume's name.
    pub volume_name: String,
    /// The token's file name inside the mount.
    pub token_path: String,
    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI` (the EKS Pod Identity agent).
    pub full_uri: String,
    /// (namespace, ServiceAccount) pairs that have an association.
    pub identities: BTreeSet<(String, String)>,
}

impl Default for ContainerCredentials {
    fn default() -> Self {
        Self {
            audience: "pods.eks.amazonaws.com".to_owned(),
            mount_path: "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount".to_owned(),
            volume_name: "eks-pod-identity-token".to_owned(),
            token_path: "eks-pod-identity-token".to_owned(),
            full_uri: "http://169.254.170.23/v1/credentials".to_owned(),
            identities: BTreeSet::new(),
        }
    }
}

/// What the webhook's ServiceAccount cache holds for one ServiceAccount: its annotations
/// parsed, with the flags as defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccountEntry {
    /// `eks.amazonaws.com/role-arn`, verbatim (empty: the annotation is absent or empty).
    pub role_arn: String,
    /// `eks.amazonaws.com/audience` verbatim when present (even empty), else the default.
    pub audience: String,
    /// `eks.amazonaws.com/sts-regional-endpoints` as a Go boolean, else the default.
    pub regional_sts: bool,
    /// `eks.amazonaws.com/token-expiration` as a Go integer (at least 600), else the default.
    pub token_expiration: i64,
}

fn key(name: &str) -> String {
    format!("{ANNOTATION_DOMAIN}/{name}")
}

impl ServiceAccountEntry {
    /// Parses a ServiceAccount's annotations the way the webhook's cache does: an unparsable
    /// boolean or number is ignored (the default stays), nothing is trimmed.
    pub fn of(sa: &ServiceAccount, options: &WebhookOptions) -> Self {
        let empty = BTreeMap::new();
        let annotations = sa.metadata.annotations.as_ref().unwrap_or(&empty);
        let get = |name: &str| annotations.get(&key(name));
        Self {
            role_arn: get("role-arn").cloned().unwrap_or_default(),
            audience: get("audience")
                .cloned()
                .unwrap_or_else(|| options.default_audience.clone()),
            regional_sts: get("sts-regional-endpoints")
                .and_then(|v| parse_go_bool(v))
                .unwrap_or(options.sts_regional_endpoints),
            token_expiration: get("token-expiration")
                .and_then(|v| v.parse::<i64>().ok())
                .map_or(options.default_token_expiration, at_least_minimum),
        }
    }
}

/// Go's `strconv.ParseBool`: exactly these spellings, nothing else (no trimming).
pub fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn at_least_minimum(seconds: i64) -> i64 {
    seconds.max(MIN_TOKEN_EXPIRATION)
}

/// The credentials mechanism the webhook gives a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    /// IRSA: `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE`.
    WebIdentity {
        /// The role from the ServiceAccount's annotation.
        role_arn: String,
    },
    /// EKS Pod Identity: `AWS_CONTAINER_CREDENTIALS_FULL_URI` and
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`.
    ContainerCredentials {
        /// The credentials endpoint.
        full_uri: String,
    },
}

/// Everything one pod's mutation needs, merged from the flags, the ServiceAccount and the
/// pod's own annotations (token lifetime: pod > ServiceAccount > flag; audience and regional
/// STS: ServiceAccount > flag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodPlan {
    /// The mechanism in effect.
    pub mechanism: Mechanism,
    /// Containers the pod asks to skip.
    pub skip: BTreeSet<String>,
    /// The projected token's lifetime.
    pub token_expiration: i64,
    /// Whether to inject `AWS_STS_REGIONAL_ENDPOINTS=regional`.
    pub regional_sts: bool,
    /// The projected token's audience (empty: the API server's own).
    pub audience: String,
    /// Where the token is mounted.
    pub mount_path: String,
    /// The projected volume's name.
    pub volume_name: String,
    /// The token's file name inside the mount.
    pub token_path: String,
}

/// Decides what the webhook does with `pod` (`None`: nothing). `sa` is the ServiceAccount as
/// the webhook's cache sees it (`None`: not in the cache).
pub fn plan(pod: &Pod, sa: Option<&ServiceAccount>, options: &WebhookOptions) -> Option<PodPlan> {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let sa_name = pod
        .spec
        .as_ref()
        .and_then(|s| s.service_account_name.clone())
        .unwrap_or_default();
    let entry = sa.map(|sa| ServiceAccountEntry::of(sa, options));
    let annotations = pod.metadata.annotations.clone().unwrap_or_default();
    let skip = containers_to_skip(&annotations);

    let cc = &options.container_credentials;
    if cc.identities.contains(&(namespace, sa_name)) {
        // The ServiceAccount still contributes regional STS and the lifetime; without it in
        // the cache, regional STS is off (not the flag) and the lifetime the default.
        let (regional_sts, sa_expiration) = entry
            .as_ref()
            .map_or((false, DEFAULT_TOKEN_EXPIRATION), |e| {
                (e.regional_sts, e.token_expiration)
            });
        let token_expiration = with_jitter(pod_expiration(&annotations, sa_expiration));
        return Some(PodPlan {
            mechanism: Mechanism::ContainerCredentials {
                full_uri: cc.full_uri.clone(),
            },
            skip,
            token_expiration,
            regional_sts,
            audience: cc.audience.clone(),
            mount_path: cc.mount_path.clone(),
            volume_name: cc.volume_name.clone(),
            token_path: cc.token_path.clone(),
        });
    }

    let entry = entry.filter(|e| !e.role_arn.is_empty())?;
    Some(PodPlan {
        token_expiration: pod_expiration(&annotations, entry.token_expiration),
        mechanism: Mechanism::WebIdentity {
            role_arn: entry.role_arn,
        },
        skip,
        regional_sts: entry.regional_sts,
        audience: entry.audience,
        mount_path: MOUNT_PATH.to_owned(),
        volume_name: VOLUME_NAME.to_owned(),
        token_path: TOKEN_FILE.to_owned(),
    })
}

/// The pod's own `token-expiration` overrides the ServiceAccount's when it parses.
fn pod_expiration(annotations: &BTreeMap<String, String>, sa_expiration: i64) -> i64 {
    annotations
        .get(&key("token-expiration"))
        .and_then(|v| v.parse::<i64>().ok())
        .map_or(sa_expiration, at_least_minimum)
}

/// The default lifetime is spread over [22h, 24h] so that pods do not all refresh at once.
fn with_jitter(expiration: i64) -> i64 {
    if expiration == DEFAULT_TOKEN_EXPIRATION {
        rand::random_range(DEFAULT_MIN_TOKEN_EXPIRATION..=DEFAULT_TOKEN_EXPIRATION)
    } else {
        expiration
    }
}

/// Mutates `pod` as the webhook would when it is created under `sa` (`None`: the
/// ServiceAccount is not in the webhook's cache). Returns whether anything changed.
pub fn mutate(pod: &mut Pod, sa: Option<&ServiceAccount>, options: &WebhookOptions) -> bool {
    if options.faults.has(Fault::WebhookDisabled) {
        return false;
    }
    match plan(pod, sa, options) {
        Some(plan) => apply(pod, &plan, options),
        None => false,
    }
}

/// Applies a plan to a pod; returns whether anything changed.
pub fn apply(pod: &mut Pod, plan: &PodPlan, options: &WebhookOptions) -> bool {
    let web_identity = matches!(plan.mechanism, Mechanism::WebIdentity { .. });
    let faults = &options.faults;
    let token_file = if web_identity && faults.has(Fault::WrongTokenPath) {
        WRONG_TOKEN_PATH.to_owned()
    } else {
        windows_aware_path(pod, &join_path(&plan.mount_path, &plan.token_path))
    };
    let with_volume = !(web_identity && faults.has(Fault::TokenVolumeMissing));
    let env = EnvPlan {
        plan,
        token_file: &token_file,
        region: options.default_region.as_deref().filter(|r| !r.is_empty()),
        omit_role_arn: faults.has(Fault::EnvVarMissing),
        mount: with_volume,
    };

    let mut changed = false;
    if !web_identity {
        pod.metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(POD_IDENTITY_LABEL.to_owned(), "enabled".to_owned());
        changed = true;
    }
    let Some(spec) = pod.spec.as_mut() else {
        return changed;
    };
    for container in spec
        .init_containers
        .iter_mut()
        .flatten()
        .chain(spec.containers.iter_mut())
    {
        if !plan.skip.contains(&container.name) {
            changed |= env.apply(container);
        }
    }

    if with_volume {
        let volumes = spec.volumes.get_or_insert_with(Vec::new);
        if !volumes.iter().any(|v| v.name == plan.volume_name) {
            let audience = if web_identity && faults.has(Fault::WrongTokenAudience) {
                WRONG_AUDIENCE.to_owned()
            } else {
                plan.audience.clone()
            };
            volumes.insert(0, token_volume(plan, audience));
            changed = true;
        }
    }
    changed
}

/// The env vars and mount to add to each container.
struct EnvPlan<'a> {
    plan: &'a PodPlan,
    token_file: &'a str,
    region: Option<&'a str>,
    omit_role_arn: bool,
    mount: bool,
}

impl EnvPlan<'_> {
    fn apply(&self, container: &mut Container) -> bool {
        let existing = container.env.as_deref().unwrap_or_default();
        let defines = |names: &[&str]| existing.iter().any(|e| names.contains(&e.name.as_str()));
        let mode_vars: [&str; 2] = match self.plan.mechanism {
            Mechanism::WebIdentity { .. } => ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"],
            Mechanism::ContainerCredentials { .. } => [
                CONTAINER_CREDENTIALS_FULL_URI,
                CONTAINER_AUTHORIZATION_TOKEN_FILE,
            ],
        };
        let mode_defined = defines(&mode_vars);
        let region_defined = defines(&["AWS_REGION", "AWS_DEFAULT_REGION"]);
        let sts_defined = defines(&["AWS_STS_REGIONAL_ENDPOINTS"]);
        if mode_defined && region_defined && sts_defined {
            return false;
        }

        let mut added: Vec<(&str, &str)> = Vec::new();
        if self.plan.regional_sts && !sts_defined {
            added.push(("AWS_STS_REGIONAL_ENDPOINTS", "regional"));
        }
        if let Some(region) = self.region.filter(|_| !region_defined) {
            added.push(("AWS_DEFAULT_REGION", region));
            added.push(("AWS_REGION", region));
        }
        if !mode_defined {
            match &self.plan.mechanism {
                Mechanism::WebIdentity { role_arn } => {
                    if !self.omit_role_arn {
                        added.push(("AWS_ROLE_ARN", role_arn.as_str()));
                    }
                    added.push(("AWS_WEB_IDENTITY_TOKEN_FILE", self.token_file));
                }
                Mechanism::ContainerCredentials { full_uri } => {
                    added.push((CONTAINER_CREDENTIALS_FULL_URI, full_uri.as_str()));
                    added.push((CONTAINER_AUTHORIZATION_TOKEN_FILE, self.token_file));
                }
            }
        }
        let mut changed = !added.is_empty();
        if changed {
            container
                .env
                .get_or_insert_with(Vec::new)
                .extend(added.into_iter().map(|(name, value)| EnvVar {
                    name: name.to_owned(),
                    value: Some(value.to_owned()),
                    value_from: None,
                }));
        }

        if self.mount {
            let mounts = container.volume_mounts.get_or_insert_with(Vec::new);
            if !mounts.iter().any(|m| m.name == self.plan.volume_name) {
                mounts.push(VolumeMount {
                    name: self.plan.volume_name.clone(),
                    mount_path: self.plan.mount_path.clone(),
                    read_only: Some(true),
                    ..VolumeMount::default()
                });
                changed = true;
            }
        }
        changed
    }
}

/// Container names in the pod's skip-containers annotation: its first CSV record, read as
/// Go's `encoding/csv` reads it (fields are not trimmed; a malformed record skips nothing).
fn containers_to_skip(annotations: &BTreeMap<String, String>) -> BTreeSet<String> {
    annotations
        .get(&key("skip-containers"))
        .and_then(|v| first_csv_record(v))
        .map(|fields| fields.into_iter().collect())
        .unwrap_or_default()
}

/// The first record of a CSV text with Go's `csv.Reader` defaults (comma-separated, `"`
/// quoting with `""` as an escaped quote, no trimming, empty lines skipped, no lazy quotes);
/// `None` where Go's reader returns an error (no record, a bare or misplaced quote).
pub fn first_csv_record(text: &str) -> Option<Vec<String>> {
    let mut rest = text;
    // Empty lines before the first record are skipped.
    loop {
        if let Some(r) = rest.strip_prefix("\r\n") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix('\n') {
            rest = r;
        } else {
            break;
        }
    }
    if rest.is_empty() {
        return None;
    }
    let mut chars = rest.chars().peekable();
    let mut fields = Vec::new();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return None,
                    Some('"') => match chars.peek() {
                        Some('"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some(',') | Some('\n') | None => break,
                        Some('\r') => {
                            chars.next();
                            if chars.peek().is_some_and(|c| *c != '\n') {
                                return None;
                            }
                            break;
                        }
                        Some(_) => return None,
                    },
                    Some('\r') if chars.peek() == Some(&'\n') => {}
                    Some(c) => field.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                match c {
                    ',' | '\n' => break,
                    '"' => return None,
                    '\r' => {
                        chars.next();
                        if chars.peek().is_none_or(|c| *c == '\n') {
                            break;
                        }
                        field.push('\r');
                        continue;
                    }
                    _ => field.push(c),
                }
                chars.next();
            }
        }
        fields.push(field);
        match chars.next() {
            Some(',') => {}
            _ => return Some(fields),
        }
    }
}

/// `filepath.Join` for the two parts the webhook joins.
fn join_path(dir: &str, file: &str) -> String {
    let dir = dir.trim_end_matches('/');
    let file = file.trim_start_matches('/');
    match (dir.is_empty(), file.is_empty()) {
        (true, _) => format!("/{file}"),
        (false, true) => dir.to_owned(),
        (false, false) => format!("{dir}/{file}"),
    }
}

/// Windows pods get `C:\var\run\...` like the real webhook.
fn windows_aware_path(pod: &Pod, path: &str) -> String {
    let windows = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_selector.as_ref())
        .is_some_and(|sel| {
            ["kubernetes.io/os", "beta.kubernetes.io/os"]
                .iter()
                .any(|k| sel.get(*k).is_some_and(|v| v == "windows"))
        });
    if windows {
        format!("C:{}", path.replace('/', "\\"))
    } else {
        path.to_owned()
    }
}

fn token_volume(plan: &PodPlan, audience: String) -> Volume {
    Volume {
        name: plan.volume_name.clone(),
        projected: Some(ProjectedVolumeSource {
            sources: Some(vec![VolumeProjection {
                service_account_token: Some(ServiceAccountTokenProjection {
                    // Go's `omitempty`: an empty audience is left out (the API server's own).
                    audience: Some(audience).filter(|a| !a.is_empty()),
                    expiration_seconds: Some(plan.token_expiration),
                    path: plan.token_path.clone(),
                    ..ServiceAccountTokenProjection::default()
                }),
                ..VolumeProjection::default()
            }]),
            ..ProjectedVolumeSource::default()
        }),
        ..Volume::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::{Value, json};

    const ARN: &str = "arn:aws:iam::210987654321:role/airflow-reader";

    fn sa(annotations: Value) -> ServiceAccount {
        serde_json::from_value(
            json!({"metadata": {"name": "runner", "namespace": "team-a", "annotations": annotations}}),
        )
        .unwrap()
    }

    /// A pod in `team-a` under ServiceAccount `runner`, one container `app` unless `spec`
    /// says otherwise (its fields replace the defaults).
    fn pod(annotations: Value, spec: Value) -> Pod {
        let mut full = json!({
            "serviceAccountName": "runner",
            "containers": [{"name": "app", "image": "airflow"}],
        });
        for (k, v) in spec.as_object().unwrap() {
            full[k] = v.clone();
        }
        serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "team-a", "annotations": annotations},
            "spec": full,
        }))
        .unwrap()
    }

    /// The parts of a pod the webhook touches, one line each.
    fn render(pod: &Pod, changed: bool) -> Vec<String> {
        let mut out = Vec::new();
        if !changed {
            out.push("unchanged".to_owned());
        }
        for (k, v) in pod.metadata.labels.iter().flatten() {
            out.push(format!("label {k}={v}"));
        }
        let spec = pod.spec.as_ref().unwrap();
        for v in spec.volumes.iter().flatten() {
            match v
                .projected
                .as_ref()
                .and_then(|p| p.sources.as_ref())
                .and_then(|s| s[0].service_account_token.as_ref())
            {
                Some(t) => out.push(format!(
                    "volume {} aud={} exp={} path={}",
                    v.name,
                    t.audience.as_deref().unwrap_or("<none>"),
                    t.expiration_seconds.unwrap_or(0),
                    t.path
                )),
                None => out.push(format!("volume {}", v.name)),
            }
        }
        for c in spec
            .init_containers
            .iter()
            .flatten()
            .chain(&spec.containers)
        {
            for e in c.env.iter().flatten() {
                out.push(format!(
                    "{}: {}={}",
                    c.name,
                    e.name,
                    e.value.as_deref().unwrap_or("")
                ));
            }
            for m in c.volume_mounts.iter().flatten() {
                let ro = if m.read_only == Some(true) { " ro" } else { "" };
                out.push(format!("{}: mount {} {}{ro}", c.name, m.name, m.mount_path));
            }
        }
        out
    }

    /// Option sets of the table.
    #[derive(Debug, Clone, Copy)]
    enum Opts {
        Default,
        Region,
        EmptyRegion,
        RegionalDefault,
        /// `team-a/runner` has a Pod Identity association.
        Associated,
        AssociatedRegion,
        /// Another ServiceAccount of the namespace has the association.
        OtherAssociated,
        Fault(Fault),
    }

    fn options(opts: Opts) -> WebhookOptions {
        let mut o = WebhookOptions::default();
        let associate = |o: &mut WebhookOptions, sa: &str| {
            o.container_credentials
                .identities
                .insert(("team-a".to_owned(), sa.to_owned()));
        };
        match opts {
            Opts::Default => {}
            Opts::Region => o.default_region = Some("eu-north-1".to_owned()),
            Opts::EmptyRegion => o.default_region = Some(String::new()),
            Opts::RegionalDefault => o.sts_regional_endpoints = true,
            Opts::Associated => associate(&mut o, "runner"),
            Opts::AssociatedRegion => {
                associate(&mut o, "runner");
                o.default_region = Some("eu-north-1".to_owned());
            }
            Opts::OtherAssociated => associate(&mut o, "someone-else"),
            Opts::Fault(f) => o.faults = FaultSet::only(f),
        }
        o
    }

    const IRSA: &[&str] = &[
        "volume aws-iam-token aud=sts.amazonaws.com exp=86400 path=token",
        "app: AWS_ROLE_ARN=arn:aws:iam::210987654321:role/airflow-reader",
        "app: AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
        "app: mount aws-iam-token /var/run/secrets/eks.amazonaws.com/serviceaccount ro",
    ];
    const POD_IDENTITY: &[&str] = &[
        "label eks.amazonaws.com/pod-identity=enabled",
        "volume eks-pod-identity-token aud=pods.eks.amazonaws.com exp=5000 path=eks-pod-identity-token",
        "app: AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials",
        "app: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token",
        "app: mount eks-pod-identity-token /var/run/secrets/pods.eks.amazonaws.com/serviceaccount ro",
    ];

    /// IRSA's lines with one line replaced (by prefix) or dropped (`None`).
    fn irsa_with(prefix: &str, line: Option<&str>) -> Vec<String> {
        IRSA.iter()
            .filter_map(|l| {
                if l.starts_with(prefix) {
                    line.map(str::to_owned)
                } else {
                    Some((*l).to_owned())
                }
            })
            .collect()
    }

    #[rstest]
    // Which ServiceAccounts get web identity.
    #[case::role_annotation(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}), json!({}), Opts::Default, IRSA.iter().map(|s| s.to_string()).collect())]
    #[case::no_role_annotation(json!({"eks.amazonaws.com/audience": "x"}), json!({}), json!({}), Opts::Default, vec!["unchanged".to_owned()])]
    #[case::empty_role(json!({"eks.amazonaws.com/role-arn": ""}), json!({}), json!({}), Opts::Default, vec!["unchanged".to_owned()])]
    #[case::role_not_trimmed(json!({"eks.amazonaws.com/role-arn": format!(" {ARN}")}), json!({}), json!({}), Opts::Default,
        irsa_with("app: AWS_ROLE_ARN", Some("app: AWS_ROLE_ARN= arn:aws:iam::210987654321:role/airflow-reader")))]
    #[case::sa_not_in_cache(Value::Null, json!({}), json!({}), Opts::Default, vec!["unchanged".to_owned()])]
    // Audience.
    #[case::audience_annotation(json!({"eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/audience": "vault"}), json!({}), json!({}), Opts::Default,
        irsa_with("volume", Some("volume aws-iam-token aud=vault exp=86400 path=token")))]
    #[case::audience_empty_is_the_api_servers(json!({"eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/audience": ""}), json!({}), json!({}), Opts::Default,
        irsa_with("volume", Some("volume aws-iam-token aud=<none> exp=86400 path=token")))]
    // Token lifetime: pod > ServiceAccount > default, Go integers, at least 600.
    #[case::sa_expiration(json!({"eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/token-expiration": "4000"}), json!({}), json!({}), Opts::Default,
        irsa_with("volume", Some("volume aws-iam-token aud=sts.amazonaws.com exp=4000 path=token")))]
    #[case::sa_expiration_signed(json!({"eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/token-expiration": "+4000"}), json!({}), json!({}), Opts::Default,
        irsa_with("volume", Some("volume aws-iam-token aud=sts.amazonaws.com exp=4000 path=token")))]
    #[case::sa_expiration_not_trimmed(json!({"eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/token-expiration": "4000 "}), json!({}), json!({}), Opts::Default,
        IRSA.iter().map(|s| s.to_string()).collect())]
    #[case::sa_expiration_minimum(json!({"eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/token-expiration": "-5"}), json!({}), json!({}), Opts::Default,
        irsa_with("volume", Some("volume aws-iam-token aud=sts.amazonaws.com exp=600 path=token")))]
    #[case::pod_expiration_wins(json!({"eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/token-expiration": "4000"}), json!({"eks.amazonaws.com/token-expiration": "5000"}), json!({}), Opts::Default,
        irsa_with("volume", Some("volume aws-iam-token aud=sts.amazonaws.com exp=5000 path=token")))]
    #[case::pod_expiration_unparsable_keeps_sas(json!({"eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/token-expiration": "4000"}), json!({"eks.amazonaws.com/token-expiration": "2h"}), json!({}), Opts::Default,
        irsa_with("volume", Some("volume aws-iam-token aud=sts.amazonaws.com exp=4000 path=token")))]
    #[case::pod_expiration_minimum(json!({"eks.amazonaws.com/role-arn": ARN}), json!({"eks.amazonaws.com/token-expiration": "0"}), json!({}), Opts::Default,
        irsa_with("volume", Some("volume aws-iam-token aud=sts.amazonaws.com exp=600 path=token")))]
    // Regional STS: ServiceAccount (a Go boolean) > flag.
    #[case::regional_true_capitalised(json!({"eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/sts-regional-endpoints": "True"}), json!({}), json!({}), Opts::Default,
        with_lines(IRSA, &["app: AWS_STS_REGIONAL_ENDPOINTS=regional"], 1))]
    #[case::regional_one(json!({"eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/sts-regional-endpoints": "1"}), json!({}), json!({}), Opts::Default,
        with_lines(IRSA, &["app: AWS_STS_REGIONAL_ENDPOINTS=regional"], 1))]
    #[case::regional_t(json!({"eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/sts-regional-endpoints": "t"}), json!({}), json!({}), Opts::Default,
        with_lines(IRSA, &["app: AWS_STS_REGIONAL_ENDPOINTS=regional"], 1))]
    #[case::regional_yes_is_not_a_bool(json!({"eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/sts-regional-endpoints": "yes"}), json!({}), json!({}), Opts::Default,
        IRSA.iter().map(|s| s.to_string()).collect())]
    #[case::regional_padded_is_not_a_bool(json!({"eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/sts-regional-endpoints": " true"}), json!({}), json!({}), Opts::Default,
        IRSA.iter().map(|s| s.to_string()).collect())]
    #[case::regional_flag(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}), json!({}), Opts::RegionalDefault,
        with_lines(IRSA, &["app: AWS_STS_REGIONAL_ENDPOINTS=regional"], 1))]
    #[case::regional_sa_false_beats_flag(json!({"eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/sts-regional-endpoints": "F"}), json!({}), json!({}), Opts::RegionalDefault,
        IRSA.iter().map(|s| s.to_string()).collect())]
    #[case::regional_invalid_keeps_flag(json!({"eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/sts-regional-endpoints": "no"}), json!({}), json!({}), Opts::RegionalDefault,
        with_lines(IRSA, &["app: AWS_STS_REGIONAL_ENDPOINTS=regional"], 1))]
    // Region flag.
    #[case::region_flag(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}), json!({}), Opts::Region,
        with_lines(IRSA, &["app: AWS_DEFAULT_REGION=eu-north-1", "app: AWS_REGION=eu-north-1"], 1))]
    #[case::region_flag_empty(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}), json!({}), Opts::EmptyRegion,
        IRSA.iter().map(|s| s.to_string()).collect())]
    #[case::region_already_defined(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}),
        json!({"containers": [{"name": "app", "env": [{"name": "AWS_DEFAULT_REGION", "value": "sa-east-1"}]}]}), Opts::Region,
        with_lines(IRSA, &["app: AWS_DEFAULT_REGION=sa-east-1"], 1))]
    // Variables the container already defines.
    #[case::all_defined_left_untouched(json!({"eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/sts-regional-endpoints": "true"}), json!({}),
        json!({"containers": [{"name": "app", "env": [
            {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/mine"},
            {"name": "AWS_REGION", "value": "sa-east-1"},
            {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "legacy"}]}]}), Opts::Region,
        vec!["volume aws-iam-token aud=sts.amazonaws.com exp=86400 path=token".into(),
             "app: AWS_WEB_IDENTITY_TOKEN_FILE=/mine".into(), "app: AWS_REGION=sa-east-1".into(),
             "app: AWS_STS_REGIONAL_ENDPOINTS=legacy".into()])]
    #[case::role_defined_region_missing(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}),
        json!({"containers": [{"name": "app", "env": [{"name": "AWS_ROLE_ARN", "value": "arn:mine"}]}]}), Opts::Region,
        vec!["volume aws-iam-token aud=sts.amazonaws.com exp=86400 path=token".into(),
             "app: AWS_ROLE_ARN=arn:mine".into(), "app: AWS_DEFAULT_REGION=eu-north-1".into(), "app: AWS_REGION=eu-north-1".into(),
             "app: mount aws-iam-token /var/run/secrets/eks.amazonaws.com/serviceaccount ro".into()])]
    #[case::existing_mount_and_volume_kept(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}),
        json!({"volumes": [{"name": "aws-iam-token", "emptyDir": {}}],
               "containers": [{"name": "app", "volumeMounts": [{"name": "aws-iam-token", "mountPath": "/elsewhere"}]}]}), Opts::Default,
        vec!["volume aws-iam-token".into(),
             "app: AWS_ROLE_ARN=arn:aws:iam::210987654321:role/airflow-reader".into(),
             "app: AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token".into(),
             "app: mount aws-iam-token /elsewhere".into()])]
    #[case::token_volume_goes_first(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}), json!({"volumes": [{"name": "data", "emptyDir": {}}]}), Opts::Default,
        with_lines(IRSA, &["volume data"], 1))]
    // Containers: init containers too, skip-containers from the pod only, as a CSV record.
    #[case::init_containers(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}), json!({"initContainers": [{"name": "wait"}]}), Opts::Default,
        with_lines(IRSA, &[
            "wait: AWS_ROLE_ARN=arn:aws:iam::210987654321:role/airflow-reader",
            "wait: AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
            "wait: mount aws-iam-token /var/run/secrets/eks.amazonaws.com/serviceaccount ro"], 1))]
    #[case::skip_init_container(json!({"eks.amazonaws.com/role-arn": ARN}), json!({"eks.amazonaws.com/skip-containers": "wait"}), json!({"initContainers": [{"name": "wait"}]}), Opts::Default,
        IRSA.iter().map(|s| s.to_string()).collect())]
    #[case::skip_is_not_trimmed(json!({"eks.amazonaws.com/role-arn": ARN}), json!({"eks.amazonaws.com/skip-containers": "other, app"}), json!({}), Opts::Default,
        IRSA.iter().map(|s| s.to_string()).collect())]
    #[case::skip_second_field(json!({"eks.amazonaws.com/role-arn": ARN}), json!({"eks.amazonaws.com/skip-containers": "other,app"}), json!({}), Opts::Default,
        vec!["volume aws-iam-token aud=sts.amazonaws.com exp=86400 path=token".into()])]
    #[case::skip_quoted(json!({"eks.amazonaws.com/role-arn": ARN}), json!({"eks.amazonaws.com/skip-containers": "\"app\""}), json!({}), Opts::Default,
        vec!["volume aws-iam-token aud=sts.amazonaws.com exp=86400 path=token".into()])]
    #[case::skip_malformed_skips_nothing(json!({"eks.amazonaws.com/role-arn": ARN}), json!({"eks.amazonaws.com/skip-containers": "app,x\"y"}), json!({}), Opts::Default,
        IRSA.iter().map(|s| s.to_string()).collect())]
    #[case::skip_on_service_account_ignored(json!({"eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/skip-containers": "app"}), json!({}), json!({}), Opts::Default,
        IRSA.iter().map(|s| s.to_string()).collect())]
    // Windows nodes.
    #[case::windows(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}), json!({"nodeSelector": {"kubernetes.io/os": "windows"}}), Opts::Default,
        irsa_with("app: AWS_WEB", Some("app: AWS_WEB_IDENTITY_TOKEN_FILE=C:\\var\\run\\secrets\\eks.amazonaws.com\\serviceaccount\\token")))]
    #[case::windows_beta_label(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}), json!({"nodeSelector": {"beta.kubernetes.io/os": "windows"}}), Opts::Default,
        irsa_with("app: AWS_WEB", Some("app: AWS_WEB_IDENTITY_TOKEN_FILE=C:\\var\\run\\secrets\\eks.amazonaws.com\\serviceaccount\\token")))]
    // EKS Pod Identity (container credentials), which takes precedence over the role.
    #[case::pod_identity(json!({"eks.amazonaws.com/token-expiration": "5000"}), json!({}), json!({}), Opts::Associated,
        POD_IDENTITY.iter().map(|s| s.to_string()).collect())]
    #[case::pod_identity_shadows_role(json!({"eks.amazonaws.com/role-arn": ARN, "eks.amazonaws.com/token-expiration": "5000"}), json!({}), json!({}), Opts::Associated,
        POD_IDENTITY.iter().map(|s| s.to_string()).collect())]
    #[case::pod_identity_region_and_regional_sts_from_sa(json!({"eks.amazonaws.com/token-expiration": "5000", "eks.amazonaws.com/sts-regional-endpoints": "TRUE"}), json!({}), json!({}), Opts::AssociatedRegion,
        with_lines(POD_IDENTITY, &["app: AWS_STS_REGIONAL_ENDPOINTS=regional", "app: AWS_DEFAULT_REGION=eu-north-1", "app: AWS_REGION=eu-north-1"], 2))]
    #[case::pod_identity_pod_expiration(json!({"eks.amazonaws.com/token-expiration": "4000"}), json!({"eks.amazonaws.com/token-expiration": "5000"}), json!({}), Opts::Associated,
        POD_IDENTITY.iter().map(|s| s.to_string()).collect())]
    #[case::pod_identity_ignores_web_identity_vars(json!({"eks.amazonaws.com/token-expiration": "5000"}), json!({}),
        json!({"containers": [{"name": "app", "env": [{"name": "AWS_ROLE_ARN", "value": "arn:mine"}]}]}), Opts::Associated,
        with_lines(POD_IDENTITY, &["app: AWS_ROLE_ARN=arn:mine"], 2))]
    #[case::pod_identity_all_defined_left_untouched(json!({"eks.amazonaws.com/token-expiration": "5000"}), json!({}),
        json!({"containers": [{"name": "app", "env": [
            {"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://mine"},
            {"name": "AWS_DEFAULT_REGION", "value": "sa-east-1"},
            {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"}]}]}), Opts::Associated,
        vec!["label eks.amazonaws.com/pod-identity=enabled".into(),
             "volume eks-pod-identity-token aud=pods.eks.amazonaws.com exp=5000 path=eks-pod-identity-token".into(),
             "app: AWS_CONTAINER_CREDENTIALS_FULL_URI=http://mine".into(), "app: AWS_DEFAULT_REGION=sa-east-1".into(),
             "app: AWS_STS_REGIONAL_ENDPOINTS=regional".into()])]
    #[case::pod_identity_skip(json!({"eks.amazonaws.com/token-expiration": "5000"}), json!({"eks.amazonaws.com/skip-containers": "app"}), json!({}), Opts::Associated,
        POD_IDENTITY[..2].iter().map(|s| s.to_string()).collect())]
    #[case::other_sa_associated(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}), json!({}), Opts::OtherAssociated,
        IRSA.iter().map(|s| s.to_string()).collect())]
    // Fault switches.
    #[case::fault_disabled(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}), json!({}), Opts::Fault(Fault::WebhookDisabled), vec!["unchanged".to_owned()])]
    #[case::fault_env_var_missing(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}), json!({}), Opts::Fault(Fault::EnvVarMissing), irsa_with("app: AWS_ROLE_ARN", None))]
    #[case::fault_wrong_token_path(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}), json!({}), Opts::Fault(Fault::WrongTokenPath),
        irsa_with("app: AWS_WEB", Some("app: AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/kubernetes.io/serviceaccount/token")))]
    #[case::fault_volume_missing(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}), json!({}), Opts::Fault(Fault::TokenVolumeMissing),
        IRSA[1..3].iter().map(|s| s.to_string()).collect())]
    #[case::fault_wrong_audience(json!({"eks.amazonaws.com/role-arn": ARN}), json!({}), json!({}), Opts::Fault(Fault::WrongTokenAudience),
        irsa_with("volume", Some("volume aws-iam-token aud=https://kubernetes.default.svc exp=86400 path=token")))]
    fn webhook_cases(
        #[case] sa_annotations: Value,
        #[case] pod_annotations: Value,
        #[case] spec: Value,
        #[case] opts: Opts,
        #[case] expected: Vec<String>,
    ) {
        let account = (!sa_annotations.is_null()).then(|| sa(sa_annotations));
        let mut p = pod(pod_annotations, spec);
        let changed = mutate(&mut p, account.as_ref(), &options(opts));
        assert_eq!(render(&p, changed), expected);
    }

    /// `base` with `extra` inserted at index `at`.
    fn with_lines(base: &[&str], extra: &[&str], at: usize) -> Vec<String> {
        let mut out: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        for (i, line) in extra.iter().enumerate() {
            out.insert(at + i, (*line).to_owned());
        }
        out
    }

    fn pod_identity_expiration(sa_annotations: Option<Value>, pod_annotations: Value) -> i64 {
        let account = sa_annotations.map(sa);
        let mut p = pod(pod_annotations, json!({}));
        assert!(mutate(&mut p, account.as_ref(), &options(Opts::Associated)));
        p.spec.unwrap().volumes.unwrap()[0]
            .projected
            .clone()
            .unwrap()
            .sources
            .unwrap()[0]
            .service_account_token
            .clone()
            .unwrap()
            .expiration_seconds
            .unwrap()
    }

    #[rstest]
    #[case::no_annotation(Some(json!({})), json!({}))]
    #[case::sa_not_in_cache(None, json!({}))]
    #[case::sa_says_the_default(Some(json!({"eks.amazonaws.com/token-expiration": "86400"})), json!({}))]
    #[case::pod_says_the_default(Some(json!({"eks.amazonaws.com/token-expiration": "4000"})), json!({"eks.amazonaws.com/token-expiration": "86400"}))]
    fn pod_identity_default_lifetime_is_jittered(
        #[case] sa_annotations: Option<Value>,
        #[case] pod_annotations: Value,
    ) {
        let seen: BTreeSet<i64> = (0..64)
            .map(|_| pod_identity_expiration(sa_annotations.clone(), pod_annotations.clone()))
            .collect();
        for e in &seen {
            assert!(
                (DEFAULT_MIN_TOKEN_EXPIRATION..=DEFAULT_TOKEN_EXPIRATION).contains(e),
                "{e} outside [22h, 24h]"
            );
        }
        // 64 draws from 7201 values: all equal would mean no jitter.
        assert!(seen.len() > 1, "no jitter: {seen:?}");
    }

    #[test]
    fn web_identity_default_lifetime_is_not_jittered() {
        let account = sa(json!({"eks.amazonaws.com/role-arn": ARN}));
        for _ in 0..16 {
            let mut p = pod(json!({}), json!({}));
            mutate(&mut p, Some(&account), &WebhookOptions::default());
            assert_eq!(
                render(&p, true)[0],
                "volume aws-iam-token aud=sts.amazonaws.com exp=86400 path=token"
            );
        }
    }

    #[test]
    fn pod_identity_without_cached_sa_ignores_the_regional_flag() {
        let mut o = options(Opts::Associated);
        o.sts_regional_endpoints = true;
        let mut p = pod(json!({}), json!({}));
        assert!(mutate(&mut p, None, &o));
        assert!(
            !render(&p, true)
                .iter()
                .any(|l| l.contains("AWS_STS_REGIONAL_ENDPOINTS"))
        );
    }

    #[test]
    fn pod_identity_label_joins_existing_labels() {
        let mut p = pod(json!({}), json!({}));
        p.metadata.labels = Some(BTreeMap::from([("app".to_owned(), "x".to_owned())]));
        mutate(&mut p, None, &options(Opts::Associated));
        let labels = p.metadata.labels.unwrap();
        assert_eq!(labels["app"], "x");
        assert_eq!(labels[POD_IDENTITY_LABEL], "enabled");
    }

    #[rstest]
    #[case::one("app", Some(vec!["app"]))]
    #[case::two("a,b", Some(vec!["a", "b"]))]
    #[case::spaces_kept("a, b ", Some(vec!["a", " b "]))]
    #[case::quoted_comma("\"a,b\",c", Some(vec!["a,b", "c"]))]
    #[case::escaped_quote("\"a\"\"b\"", Some(vec!["a\"b"]))]
    #[case::first_record_only("a\nb", Some(vec!["a"]))]
    #[case::leading_empty_lines("\n\r\na", Some(vec!["a"]))]
    #[case::trailing_comma("a,", Some(vec!["a", ""]))]
    #[case::crlf("a,b\r\n", Some(vec!["a", "b"]))]
    #[case::empty("", None)]
    #[case::only_newlines("\n\n", None)]
    #[case::bare_quote("a\"b", None)]
    #[case::space_then_quote(" \"a\"", None)]
    #[case::unterminated("\"a", None)]
    #[case::text_after_quote("\"a\"b", None)]
    fn csv_first_record(#[case] text: &str, #[case] expected: Option<Vec<&str>>) {
        let expected = expected.map(|v| v.into_iter().map(str::to_owned).collect::<Vec<_>>());
        assert_eq!(first_csv_record(text), expected);
    }

    #[rstest]
    #[case("1", Some(true))]
    #[case("t", Some(true))]
    #[case("T", Some(true))]
    #[case("TRUE", Some(true))]
    #[case("true", Some(true))]
    #[case("True", Some(true))]
    #[case("0", Some(false))]
    #[case("f", Some(false))]
    #[case("F", Some(false))]
    #[case("FALSE", Some(false))]
    #[case("false", Some(false))]
    #[case("False", Some(false))]
    #[case("tRUE", None)]
    #[case("yes", None)]
    #[case(" true", None)]
    #[case("", None)]
    fn go_booleans(#[case] text: &str, #[case] expected: Option<bool>) {
        assert_eq!(parse_go_bool(text), expected);
    }

    /// What the webhook does not touch stays as it was: probes (gRPC included), security
    /// contexts, a restartable init container's policy.
    #[test]
    fn other_container_fields_are_kept() {
        let spec = json!({
            "initContainers": [{"name": "proxy", "restartPolicy": "Always"}],
            "containers": [{"name": "app", "image": "airflow",
                "readinessProbe": {"grpc": {"port": 5000}},
                "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}],
        });
        let account = sa(json!({"eks.amazonaws.com/role-arn": ARN}));
        let mut p = pod(json!({}), spec);
        assert!(mutate(&mut p, Some(&account), &WebhookOptions::default()));
        let after = serde_json::to_value(&p).unwrap();
        assert_eq!(
            after["spec"]["containers"][0]["readinessProbe"],
            json!({"grpc": {"port": 5000}})
        );
        assert_eq!(
            after["spec"]["containers"][0]["securityContext"],
            json!({"seccompProfile": {"type": "RuntimeDefault"}})
        );
        assert_eq!(
            after["spec"]["initContainers"][0]["restartPolicy"],
            "Always"
        );
        assert_eq!(
            after["spec"]["initContainers"][0]["env"][0]["name"],
            "AWS_ROLE_ARN"
        );
    }

    #[test]
    fn mutating_twice_changes_nothing_more() {
        let s = sa(json!({"eks.amazonaws.com/role-arn": ARN}));
        let mut p = pod(json!({}), json!({}));
        assert!(mutate(&mut p, Some(&s), &WebhookOptions::default()));
        let once = p.clone();
        assert!(!mutate(&mut p, Some(&s), &WebhookOptions::default()));
        assert_eq!(p, once);
    }
}

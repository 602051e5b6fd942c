//! Reading a target profile's YAML into a [`Profile`]: every key checked, every problem
//! recorded with its `file:line:column` (the scenario loader's positioned reader and field
//! helpers), nothing defaulted silently.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{
    AwsSource, IssuerSource, KubeSource, LocalStackStart, OidcSource, PlatformSource, Profile,
    REAL_AWS_IAM_PROPAGATION, RoleSource, S3Buckets, SimSettings, TokenEnv,
};
use crate::capability::Capability;
use crate::namespaces::ReleaseNamespaces;
use crate::source::LoadErrors;
use crate::source::decode::{Ctx, Fields, is_null};
use crate::source::yaml::{self, Node, NodeKind, Pos, ScalarType};

impl Profile {
    /// Parses a profile's text; `file` is what errors name.
    pub fn parse(text: &str, file: &Path) -> Result<Profile, LoadErrors> {
        let mut ctx = Ctx::new(file);
        let parsed = match yaml::parse(text) {
            Ok(parsed) => parsed,
            Err(e) => {
                ctx.error(e.pos, e.message);
                return Err(LoadErrors(ctx.errors));
            }
        };
        for problem in parsed.problems {
            ctx.error(problem.pos, problem.message);
        }
        let Some(root) = parsed.root else {
            ctx.error(Pos::START, "the profile is empty");
            return Err(LoadErrors(ctx.errors));
        };
        let profile = decode_profile(&mut ctx, &root, file);
        match profile {
            Some(p) if ctx.errors.is_empty() => Ok(p),
            _ => Err(LoadErrors(ctx.errors)),
        }
    }
}

const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "kubernetes",
    "aws",
    "platform",
    "oidc",
    "account",
    "role",
    "s3",
    "step_timeout",
    "jobs",
    "cleanup_timeout",
    "capabilities",
    "why_not",
    "sim",
];

fn decode_profile(ctx: &mut Ctx<'_>, root: &Node, file: &Path) -> Option<Profile> {
    let fields = Fields::new(ctx, root, "the profile", TOP_KEYS)?;
    let name = fields.required(ctx, "name").and_then(|n| {
        let name = ctx.string(n, "name")?;
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            ctx.error(
                n.pos,
                format!("name `{name}` must be lower-case letters, digits and `-`"),
            );
            return None;
        }
        Some(name)
    });
    let description = match fields.get("description") {
        Some(n) => ctx.string(n, "description"),
        None => Some(String::new()),
    };
    let kubernetes = fields
        .required(ctx, "kubernetes")
        .and_then(|n| kube_source(ctx, n));
    let aws = fields.required(ctx, "aws").and_then(|n| aws_source(ctx, n));
    let (platform, namespaces) = match fields
        .required(ctx, "platform")
        .and_then(|n| platform_source(ctx, n))
    {
        Some((platform, namespaces)) => (Some(platform), Some(namespaces)),
        None => (None, None),
    };
    let oidc = fields
        .required(ctx, "oidc")
        .and_then(|n| oidc_source(ctx, n));
    let account = match fields.get("account") {
        None => Some(None),
        Some(n) => ctx.string(n, "account").and_then(|a| {
            if a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()) {
                Some(Some(a))
            } else {
                ctx.error(
                    n.pos,
                    format!("account `{a}` must be 12 digits (quote it: \"123456789012\")"),
                );
                None
            }
        }),
    };
    let role = fields
        .required(ctx, "role")
        .and_then(|n| role_source(ctx, n));
    let s3 = match fields.get("s3") {
        None => Some(None),
        Some(n) => s3_buckets(ctx, n).map(Some),
    };
    let step_timeout = match fields.get("step_timeout") {
        None => Some(None),
        Some(n) => ctx.duration(n, "step_timeout").map(Some),
    };
    let jobs = match fields.get("jobs") {
        None => Some(None),
        Some(n) => ctx
            .positive_integer(n, "jobs")
            .map(|j| Some(usize::try_from(j).unwrap_or(usize::MAX))),
    };
    let cleanup_timeout = match fields.get("cleanup_timeout") {
        None => Some(None),
        Some(n) => ctx.duration(n, "cleanup_timeout").map(Some),
    };
    let capabilities = fields
        .required(ctx, "capabilities")
        .and_then(|n| capabilities(ctx, n));
    if let (Some(caps), Some(None)) = (&capabilities, &s3)
        && caps.contains(&Capability::S3)
        && let Some(n) = fields.get("capabilities")
    {
        ctx.error(
            n.pos,
            "capability `s3` needs the buckets: add `s3: {bucket: <yours>, other_bucket: <another of yours>}` (bucket names are global)",
        );
    }
    let why_not = match fields.get("why_not") {
        None => Some(BTreeMap::new()),
        Some(n) => why_not(ctx, n, capabilities.as_ref()),
    };
    let sim = match fields.get("sim") {
        None => Some(SimSettings::default()),
        Some(n) => sim_settings(ctx, n),
    };

    // Combinations that cannot work.
    if let (Some(KubeSource::Kubeconfig { .. }), Some(PlatformSource::Sim)) =
        (&kubernetes, &platform)
        && let Some(n) = fields.get("platform")
    {
        ctx.error(
            n.pos,
            "platform `sim` needs `kubernetes: {source: sim}` or `{source: local}` (the sim's platform drives the sim's cluster or the local one)",
        );
    }
    if let (Some(oidc), Some(KubeSource::Kubeconfig { .. } | KubeSource::Local)) =
        (&oidc, &kubernetes)
        && oidc.issuer == IssuerSource::Sim
        && let Some(n) = fields.get("oidc")
    {
        ctx.error(
            n.pos,
            "oidc issuer `sim` needs `kubernetes: {source: sim}` (the sim signs the tokens)",
        );
    }

    let iam_propagation = role.as_ref().and_then(|(_, p)| *p).unwrap_or(match &aws {
        Some(AwsSource::RealAws { .. }) => REAL_AWS_IAM_PROPAGATION,
        _ => Duration::ZERO,
    });
    Some(Profile {
        name: name?,
        description: description?,
        file: file.to_path_buf(),
        kubernetes: kubernetes?,
        aws: aws?,
        platform: platform?,
        namespaces: namespaces?,
        oidc: oidc?,
        account: account?,
        iam_propagation,
        role: role?.0,
        s3: s3?,
        step_timeout: step_timeout?,
        jobs: jobs?,
        cleanup_timeout: cleanup_timeout?,
        capabilities: capabilities?,
        why_not: why_not?,
        sim: sim?,
    })
}

fn sim_settings(ctx: &mut Ctx<'_>, node: &Node) -> Option<SimSettings> {
    let fields = Fields::new(
        ctx,
        node,
        "sim",
        &["manual_release_names", "worker_persistence"],
    )?;
    let setting = |ctx: &mut Ctx<'_>, key: &str| match fields.get(key) {
        None => Some(None),
        Some(n) => boolean(ctx, n, key).map(Some),
    };
    let manual_release_names = setting(ctx, "manual_release_names");
    let worker_persistence = setting(ctx, "worker_persistence");
    Some(SimSettings {
        manual_release_names: manual_release_names?,
        worker_persistence: worker_persistence?,
    })
}

fn optional_string(ctx: &mut Ctx<'_>, fields: &Fields<'_>, key: &str) -> Option<Option<String>> {
    match fields.get(key) {
        None => Some(None),
        Some(n) if is_null(n) => Some(None),
        Some(n) => ctx.string(n, key).map(Some),
    }
}

fn kube_source(ctx: &mut Ctx<'_>, node: &Node) -> Option<KubeSource> {
    let fields = Fields::new(
        ctx,
        node,
        "kubernetes",
        &["source", "kubeconfig", "context"],
    )?;
    let source = fields.required(ctx, "source").and_then(|n| {
        ctx.choice(
            n,
            "kubernetes source",
            &[
                ("sim", KubeKind::Sim),
                ("local", KubeKind::Local),
                ("kubeconfig", KubeKind::Kubeconfig),
            ],
        )
    })?;
    let path = optional_string(ctx, &fields, "kubeconfig")?;
    let context = optional_string(ctx, &fields, "context")?;
    if source != KubeKind::Kubeconfig {
        for key in ["kubeconfig", "context"] {
            if let Some((k, _)) = fields.entry(key) {
                ctx.error(
                    k.pos,
                    format!("`{key}` only applies to `source: kubeconfig`"),
                );
            }
        }
        return Some(match source {
            KubeKind::Local => KubeSource::Local,
            _ => KubeSource::Sim,
        });
    }
    Some(KubeSource::Kubeconfig {
        path: path.map(|p| expand_home(&p)),
        context,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KubeKind {
    Sim,
    Local,
    Kubeconfig,
}

/// The `key` of `fields` as an endpoint URL: `http://` or `https://` with a host. Anything
/// else is refused where it stands (a typo here would otherwise surface as a connection error
/// in the middle of a run). With `env_allowed`, `env:NAME` names the environment variable
/// that holds the URL (checked when the target is assembled).
fn endpoint_url(
    ctx: &mut Ctx<'_>,
    fields: &Fields<'_>,
    key: &str,
    env_allowed: bool,
) -> Option<String> {
    let node = fields.get(key)?;
    let text = ctx.string(node, key)?;
    if env_allowed && let Some(var) = text.strip_prefix("env:") {
        if !var.is_empty() && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Some(text);
        }
        ctx.error(
            node.pos,
            format!("{key} `{text}`: `env:` must be followed by an environment variable name"),
        );
        return None;
    }
    match endpoint_url_problem(&text) {
        None => Some(text),
        Some(why) => {
            ctx.error(
                node.pos,
                format!(
                    "{key} `{text}` is not an endpoint URL ({why}; expected e.g. http://127.0.0.1:4566)"
                ),
            );
            None
        }
    }
}

/// Why `text` is not an endpoint URL (`http://` or `https://` with a host), or `None` when it is.
pub(crate) fn endpoint_url_problem(text: &str) -> Option<String> {
    match reqwest::Url::parse(text) {
        Ok(url) if !matches!(url.scheme(), "http" | "https") => {
            Some(format!("scheme `{}` is not http or https", url.scheme()))
        }
        Ok(url) if url.host_str().is_none_or(str::is_empty) => Some("it names no host".to_owned()),
        Ok(_) => None,
        Err(e) => Some(e.to_string()),
    }
}

/// `~/x` as `$HOME/x`.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Service {
    Sim,
    Moto,
    LocalStack,
    Endpoint,
    Aws,
}

fn aws_source(ctx: &mut Ctx<'_>, node: &Node) -> Option<AwsSource> {
    let fields = Fields::new(
        ctx,
        node,
        "aws",
        &[
            "service",
            "endpoint",
            "region",
            "start",
            "venv",
            "rehearsal",
        ],
    )?;
    let service = fields.required(ctx, "service").and_then(|n| {
        ctx.choice(
            n,
            "aws service",
            &[
                ("sim", Service::Sim),
                ("moto", Service::Moto),
                ("localstack", Service::LocalStack),
                ("endpoint", Service::Endpoint),
                ("aws", Service::Aws),
            ],
        )
    })?;
    let endpoint = optional_string(ctx, &fields, "endpoint")?;
    if endpoint.is_some() {
        endpoint_url(ctx, &fields, "endpoint", false)?;
    }
    let region = optional_string(ctx, &fields, "region")?;
    let venv = optional_string(ctx, &fields, "venv")?;
    let start = match fields.get("start") {
        None => None,
        Some(n) => Some(ctx.choice(
            n,
            "localstack start",
            &[
                ("process", LocalStackStart::Process),
                ("container", LocalStackStart::Container),
                ("external", LocalStackStart::External),
            ],
        )?),
    };
    let refuse = |ctx: &mut Ctx<'_>, key: &str, why: &str| {
        if let Some((k, _)) = fields.entry(key) {
            ctx.error(k.pos, format!("`{key}` {why}"));
        }
    };
    if service != Service::LocalStack {
        refuse(ctx, "start", "only applies to `service: localstack`");
    }
    if service != Service::Aws {
        refuse(ctx, "rehearsal", "only applies to `service: aws`");
    }
    let rehearsal = match fields.get("rehearsal") {
        None => false,
        Some(n) => boolean(ctx, n, "aws rehearsal")?,
    };
    if !matches!(service, Service::Moto | Service::LocalStack) {
        refuse(
            ctx,
            "venv",
            "only applies to `service: moto` or `localstack`",
        );
    }
    let region_or_default = region.clone().unwrap_or_else(|| "us-east-1".to_owned());
    match service {
        Service::Sim => {
            for key in ["endpoint", "region"] {
                refuse(
                    ctx,
                    key,
                    "does not apply to `service: sim` (the sim sets it)",
                );
            }
            Some(AwsSource::Sim)
        }
        Service::Moto => {
            refuse(
                ctx,
                "endpoint",
                "does not apply to `service: moto` (a random port is used)",
            );
            Some(AwsSource::Moto {
                venv: PathBuf::from(venv.unwrap_or_else(|| ".venv-moto".to_owned())),
                region: region_or_default,
            })
        }
        Service::LocalStack => {
            let start = start.unwrap_or(LocalStackStart::Process);
            match (start, &endpoint) {
                (LocalStackStart::External, None) => {
                    ctx.error(
                        fields.pos(),
                        "missing required field `endpoint` in aws (`start: external`)",
                    );
                    return None;
                }
                (LocalStackStart::Process | LocalStackStart::Container, Some(_)) => {
                    refuse(ctx, "endpoint", "only applies to `start: external`");
                }
                _ => {}
            }
            Some(AwsSource::LocalStack {
                start,
                venv: PathBuf::from(venv.unwrap_or_else(|| ".venv-localstack".to_owned())),
                endpoint,
                region: region_or_default,
            })
        }
        Service::Endpoint => match endpoint {
            Some(url) => Some(AwsSource::Endpoint {
                url,
                region: region_or_default,
            }),
            None => {
                ctx.error(
                    fields.pos(),
                    "missing required field `endpoint` in aws (`service: endpoint`)",
                );
                None
            }
        },
        Service::Aws => {
            refuse(
                ctx,
                "endpoint",
                "does not apply to `service: aws` (the SDK's regional endpoints are used)",
            );
            Some(AwsSource::RealAws { region, rehearsal })
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Driver {
    Sim,
    Houston,
    Astro,
    Manifest,
    None,
}

fn platform_source(ctx: &mut Ctx<'_>, node: &Node) -> Option<(PlatformSource, ReleaseNamespaces)> {
    let fields = Fields::new(
        ctx,
        node,
        "platform",
        &[
            "driver",
            "namespace",
            "url",
            "workspace",
            "tokens",
            "cli",
            "annotation_key",
            "image",
        ],
    )?;
    let driver = fields.required(ctx, "driver").and_then(|n| {
        ctx.choice(
            n,
            "platform driver",
            &[
                ("sim", Driver::Sim),
                ("houston", Driver::Houston),
                ("astro", Driver::Astro),
                ("manifest", Driver::Manifest),
                ("none", Driver::None),
            ],
        )
    })?;
    let allowed: &[&str] = match driver {
        Driver::Sim | Driver::None => &[],
        Driver::Houston => &["url", "workspace", "tokens"],
        Driver::Astro => &["cli", "workspace"],
        Driver::Manifest => &["annotation_key", "image"],
    };
    for key in [
        "url",
        "workspace",
        "tokens",
        "cli",
        "annotation_key",
        "image",
    ] {
        if !allowed.contains(&key)
            && let Some((k, _)) = fields.entry(key)
        {
            ctx.error(
                k.pos,
                format!("`{key}` does not apply to this platform driver"),
            );
        }
    }
    let namespaces = match fields.get("namespace") {
        None => ReleaseNamespaces::default(),
        Some(n) => {
            let name = ctx.string(n, "namespace")?;
            if !is_dns_label(&name) {
                ctx.error(
                    n.pos,
                    format!(
                        "platform namespace `{name}` must be a DNS label (lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit)"
                    ),
                );
                return None;
            }
            ReleaseNamespaces::new(name)
        }
    };
    let source = match driver {
        Driver::Sim => Some(PlatformSource::Sim),
        Driver::None => Some(PlatformSource::None),
        Driver::Houston => {
            let url = fields
                .required(ctx, "url")
                .and_then(|_| endpoint_url(ctx, &fields, "url", true));
            let workspace = fields
                .required(ctx, "workspace")
                .and_then(|n| ctx.string(n, "workspace"));
            let tokens = fields
                .required(ctx, "tokens")
                .and_then(|n| token_env(ctx, n));
            Some(PlatformSource::Houston {
                url: url?,
                workspace: workspace?,
                tokens: tokens?,
            })
        }
        Driver::Astro => Some(PlatformSource::Astro {
            cli: PathBuf::from(
                optional_string(ctx, &fields, "cli")?.unwrap_or_else(|| "astro".to_owned()),
            ),
            workspace: optional_string(ctx, &fields, "workspace")?,
        }),
        Driver::Manifest => Some(PlatformSource::Manifest {
            annotation_key: optional_string(ctx, &fields, "annotation_key")?
                .unwrap_or_else(|| crate::chart::ROLE_ANNOTATION_KEY.to_owned()),
            image: optional_string(ctx, &fields, "image")?
                .unwrap_or_else(|| "registry.k8s.io/pause:3.10".to_owned()),
        }),
    }?;
    Some((source, namespaces))
}

fn token_env(ctx: &mut Ctx<'_>, node: &Node) -> Option<TokenEnv> {
    let fields = Fields::new(ctx, node, "tokens", &["admin", "editor", "viewer"])?;
    let admin = fields.required(ctx, "admin").and_then(|n| env_name(ctx, n));
    let editor = match fields.get("editor") {
        Some(n) => Some(env_name(ctx, n)?),
        None => None,
    };
    let viewer = match fields.get("viewer") {
        Some(n) => Some(env_name(ctx, n)?),
        None => None,
    };
    Some(TokenEnv {
        admin: Some(admin?),
        editor,
        viewer,
    })
}

fn env_name(ctx: &mut Ctx<'_>, node: &Node) -> Option<String> {
    let name = ctx.string(node, "token environment variable")?;
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Some(name)
    } else {
        ctx.error(
            node.pos,
            format!(
                "`{name}` is not an environment variable name (tokens are never written in profiles: name the variable that holds one)"
            ),
        );
        None
    }
}

fn oidc_source(ctx: &mut Ctx<'_>, node: &Node) -> Option<OidcSource> {
    let fields = Fields::new(ctx, node, "oidc", &["issuer", "register"])?;
    let issuer = fields.required(ctx, "issuer").and_then(|n| {
        let text = ctx.string(n, "issuer")?;
        match text.as_str() {
            "sim" => Some(IssuerSource::Sim),
            "cluster" => Some(IssuerSource::Cluster),
            url if url.starts_with("https://") => Some(IssuerSource::Url(url.to_owned())),
            other => {
                ctx.error(
                    n.pos,
                    format!(
                        "issuer `{other}`{}: expected `sim`, `cluster` or an https:// URL",
                        crate::suggest::did_you_mean(other, ["sim", "cluster"])
                    ),
                );
                None
            }
        }
    });
    let register = match fields.get("register") {
        None => Some(false),
        Some(n) => boolean(ctx, n, "oidc register"),
    };
    Some(OidcSource {
        issuer: issuer?,
        register: register?,
    })
}

fn boolean(ctx: &mut Ctx<'_>, node: &Node, what: &str) -> Option<bool> {
    match &node.kind {
        NodeKind::Scalar(s) if s.resolved() == ScalarType::Bool => {
            Some(s.text.eq_ignore_ascii_case("true"))
        }
        _ => {
            ctx.error(
                node.pos,
                format!(
                    "{what}: expected `true` or `false`, found {}",
                    node.describe()
                ),
            );
            None
        }
    }
}

fn role_source(ctx: &mut Ctx<'_>, node: &Node) -> Option<(RoleSource, Option<Duration>)> {
    let fields = Fields::new(ctx, node, "role", &["create", "use", "propagation"])?;
    let propagation = match fields.get("propagation") {
        None => None,
        Some(n) => Some(ctx.duration(n, "role propagation")?),
    };
    let source = match (fields.get("create"), fields.get("use")) {
        (Some(n), None) => {
            let name = ctx.string(n, "role name")?;
            if !name.starts_with("rolecheck-") {
                ctx.error(
                    n.pos,
                    format!(
                        "role name `{name}` must start with `rolecheck-` (so `rolecheck gc` can find leftovers)"
                    ),
                );
                return None;
            }
            if !name.contains("{run_id}") {
                ctx.error(
                    n.pos,
                    format!(
                        "role name `{name}` must contain `{{run_id}}` (a fixed name collides with the role a killed run left behind)"
                    ),
                );
                return None;
            }
            RoleSource::Create(name)
        }
        (None, Some(n)) => {
            let arn = ctx.string(n, "role ARN")?;
            if arn.starts_with("arn:aws:iam::") && arn.contains(":role/") {
                RoleSource::Use(arn)
            } else {
                ctx.error(
                    n.pos,
                    format!("`{arn}` is not a role ARN (arn:aws:iam::<account>:role/<name>)"),
                );
                return None;
            }
        }
        (Some(_), Some(_)) => {
            ctx.error(
                fields.pos(),
                "role: give either `create` or `use`, not both",
            );
            return None;
        }
        (None, None) => {
            ctx.error(fields.pos(), "role: give `create: <name>` or `use: <arn>`");
            return None;
        }
    };
    Some((source, propagation))
}

fn s3_buckets(ctx: &mut Ctx<'_>, node: &Node) -> Option<S3Buckets> {
    let fields = Fields::new(ctx, node, "s3", &["bucket", "other_bucket"])?;
    let mut name = |key: &str| {
        let n = fields.required(ctx, key)?;
        let name = ctx.string(n, key)?;
        let ok = (3..=63).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if ok {
            Some(name)
        } else {
            ctx.error(
                n.pos,
                format!(
                    "`{name}` is not an S3 bucket name (3-63 lower-case letters, digits, `-`, `.`)"
                ),
            );
            None
        }
    };
    let bucket = name("bucket");
    let other_bucket = name("other_bucket");
    let (bucket, other_bucket) = (bucket?, other_bucket?);
    if bucket == other_bucket {
        ctx.error(fields.pos(), "s3: `other_bucket` must differ from `bucket`");
        return None;
    }
    Some(S3Buckets {
        bucket,
        other_bucket,
    })
}

fn capabilities(ctx: &mut Ctx<'_>, node: &Node) -> Option<BTreeSet<Capability>> {
    let items = ctx.seq(node, "capabilities")?;
    let names: Vec<(&str, Capability)> = Capability::ALL.iter().map(|c| (c.name(), *c)).collect();
    let mut set = BTreeSet::new();
    let mut ok = true;
    for item in items {
        match ctx.choice(item, "capability", &names) {
            Some(c) => {
                if !set.insert(c) {
                    ctx.error(item.pos, format!("capability `{c}` is listed twice"));
                    ok = false;
                }
            }
            None => ok = false,
        }
    }
    ok.then_some(set)
}

fn why_not(
    ctx: &mut Ctx<'_>,
    node: &Node,
    has: Option<&BTreeSet<Capability>>,
) -> Option<BTreeMap<Capability, String>> {
    let entries = ctx.map(node, "why_not")?;
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (key, value) in entries {
        let Ok(capability) = key.text.parse::<Capability>() else {
            let names = Capability::ALL.iter().map(|c| c.name());
            ctx.error(
                key.pos,
                format!(
                    "unknown capability `{}`{} in why_not",
                    key.text,
                    crate::suggest::did_you_mean(&key.text, names)
                ),
            );
            ok = false;
            continue;
        };
        if has.is_some_and(|set| set.contains(&capability)) {
            ctx.error(
                key.pos,
                format!("why_not explains `{capability}`, but the target lists it as a capability"),
            );
            ok = false;
            continue;
        }
        match ctx.string(value, "why_not reason") {
            Some(reason) => {
                out.insert(capability, reason);
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// Whether `name` is a DNS-1123 label, as Kubernetes requires of a namespace.
fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

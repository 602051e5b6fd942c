//! Decoding of one step: a one-key mapping naming its kind, whose value holds the kind's
//! fields plus the common `timeout` and `expect`.

use std::collections::BTreeMap;

use super::attribution;
use super::decode::{Ctx, Fields, Scope, is_null};
use super::error::{did_you_mean, one_of};
use super::model::{
    Action, Actor, AdvanceClock, AnnotateServiceAccount, AssumeRole, Component, CreateDeployment,
    CreatePod, CreateServiceAccount, DeleteDeployment, Executor, Expect, ExpectCredentials,
    ExpectDeploymentConfig, ExpectPackages, ExpectPod, ExpectPods, ExpectSdkCredentials,
    ExpectServerVersion, ExpectServiceAccounts, KubeVersion, MinVersion, PlatformErrorKind,
    RoleInput, RuleId, Step, Template, TokenSource, TokenTamper, TokenVolumeExpectation,
    UpdateDeployment,
};
use super::model::{S3Access, S3Action, S3Expect, S3Operation};
use super::template;
use super::yaml::{Node, NodeKind};

/// Every step kind, as written in scenario files.
pub const STEP_KINDS: &[&str] = &[
    "create_deployment",
    "update_deployment",
    "delete_deployment",
    "expect_service_accounts",
    "expect_pods",
    "expect_credentials",
    "assume_role",
    "create_service_account",
    "expect_server_version",
    "expect_deployment_config",
    "create_pod",
    "expect_pod",
    "annotate_service_account",
    "advance_clock",
    "expect_packages",
    "s3_access",
    "expect_sdk_credentials",
];

/// Which `expect` values a step kind accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExpectScope {
    /// Only success: the step is a check or a set-up action outside the platform.
    SuccessOnly,
    /// Success or a platform refusal (`{error: ...}`).
    Platform,
    /// Success or an STS refusal (`{sts_error: ...}`).
    Sts,
}

const COMPONENTS: &[(&str, Component)] = &[
    ("webserver", Component::Webserver),
    ("scheduler", Component::Scheduler),
    ("worker", Component::Worker),
];
const EXECUTORS: &[(&str, Executor)] = &[
    ("celery", Executor::Celery),
    ("local", Executor::Local),
    ("kubernetes", Executor::Kubernetes),
];
const ACTORS: &[(&str, Actor)] = &[
    ("admin", Actor::Admin),
    ("editor", Actor::Editor),
    ("viewer", Actor::Viewer),
];
const PLATFORM_ERRORS: &[(&str, PlatformErrorKind)] = &[
    ("permission_denied", PlatformErrorKind::PermissionDenied),
    ("invalid_request", PlatformErrorKind::InvalidRequest),
    ("any", PlatformErrorKind::Any),
];
const TAMPERS: &[(&str, TokenTamper)] = &[
    ("none", TokenTamper::None),
    ("resign_with_foreign_key", TokenTamper::ResignWithForeignKey),
];

/// Where a step is written, for deciding which rules it checks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StepScope<'s> {
    /// The scenario's `rules`, when they decoded.
    pub scenario_rules: Option<&'s [RuleId]>,
    /// Whether the step is in `finally` (set-up only, no `rules:`).
    pub finally: bool,
}

/// Decode one item of `steps` or `finally`.
pub(crate) fn step(ctx: &mut Ctx<'_>, node: &Node, scope_of: StepScope<'_>) -> Option<Step> {
    let entries = match &node.kind {
        NodeKind::Map(entries) => entries,
        NodeKind::Scalar(s) if STEP_KINDS.contains(&s.text.as_str()) => {
            ctx.error(
                node.pos,
                format!(
                    "step `{}` needs its fields: write `{}: {{...}}`",
                    s.text, s.text
                ),
            );
            return None;
        }
        _ => {
            ctx.error(
                node.pos,
                format!(
                    "a step is a one-key mapping naming its kind (e.g. `delete_deployment: {{release: \"{{{{release}}}}\"}}`), found {}",
                    node.describe()
                ),
            );
            return None;
        }
    };
    let (kind_key, body) = match entries.as_slice() {
        [] => {
            ctx.error(
                node.pos,
                format!(
                    "a step names its kind; expected {}",
                    one_of(STEP_KINDS.iter().copied())
                ),
            );
            return None;
        }
        [(key, body)] => (key, body),
        [(first, _), (second, _), ..] => {
            ctx.error(
                second.pos,
                format!(
                    "a step is a one-key mapping, but this one has `{}` and `{}` (indent `{}` under `{}` if it is one of its fields)",
                    first.text, second.text, second.text, first.text
                ),
            );
            return None;
        }
    };
    let kind = kind_key.text.as_str();
    if !STEP_KINDS.contains(&kind) {
        ctx.error(
            kind_key.pos,
            format!(
                "unknown step kind `{kind}`{}; expected {}",
                did_you_mean(kind, STEP_KINDS.iter().copied()),
                one_of(STEP_KINDS.iter().copied())
            ),
        );
        return None;
    }
    // `kind:` with nothing after it is a step with no fields.
    let empty = Node {
        pos: kind_key.pos,
        kind: NodeKind::Map(Vec::new()),
    };
    let body = if is_null(body) { &empty } else { body };
    let what = format!("step `{kind}`");

    let (allowed, scope): (&[&str], ExpectScope) = match kind {
        "create_deployment" => (
            &[
                "release",
                "executor",
                "cloud_role",
                "as",
                "timeout",
                "expect",
            ],
            ExpectScope::Platform,
        ),
        "update_deployment" => (
            &["release", "cloud_role", "as", "timeout", "expect"],
            ExpectScope::Platform,
        ),
        "delete_deployment" => (
            &["release", "as", "timeout", "expect"],
            ExpectScope::Platform,
        ),
        "expect_service_accounts" => (
            &[
                "release",
                "components",
                "annotations",
                "absent",
                "timeout",
                "expect",
            ],
            ExpectScope::SuccessOnly,
        ),
        "expect_pods" => (
            &[
                "release",
                "components",
                "env",
                "env_absent",
                "token_volume",
                "timeout",
                "expect",
            ],
            ExpectScope::SuccessOnly,
        ),
        "expect_credentials" => (
            &["release", "components", "role", "timeout", "expect"],
            ExpectScope::SuccessOnly,
        ),
        "assume_role" => (
            &[
                "release",
                "component",
                "service_account",
                "role",
                "audience",
                "expiration_seconds",
                "tamper",
                "session_name",
                "token",
                "timeout",
                "expect",
            ],
            ExpectScope::Sts,
        ),
        "expect_server_version" => (&["min", "timeout", "expect"], ExpectScope::SuccessOnly),
        "expect_deployment_config" => (
            &["release", "annotations", "absent", "timeout", "expect"],
            ExpectScope::SuccessOnly,
        ),
        "create_pod" => (
            &["release", "component", "name", "timeout", "expect"],
            ExpectScope::SuccessOnly,
        ),
        "expect_pod" => (
            &[
                "namespace",
                "name",
                "env",
                "env_absent",
                "timeout",
                "expect",
            ],
            ExpectScope::SuccessOnly,
        ),
        "annotate_service_account" => (
            &["release", "component", "annotations", "timeout", "expect"],
            ExpectScope::SuccessOnly,
        ),
        "advance_clock" => (&["by", "timeout", "expect"], ExpectScope::SuccessOnly),
        "expect_packages" => (
            &["release", "component", "packages", "timeout", "expect"],
            ExpectScope::SuccessOnly,
        ),
        "s3_access" => (
            &[
                "release",
                "component",
                "service_account",
                "role",
                "session_name",
                "operations",
                "timeout",
                "expect",
            ],
            ExpectScope::SuccessOnly,
        ),
        "expect_sdk_credentials" => (
            &["release", "component", "role", "timeout", "expect"],
            ExpectScope::SuccessOnly,
        ),
        _ => (
            &["namespace", "name", "timeout", "expect"],
            ExpectScope::SuccessOnly,
        ),
    };
    let allowed: Vec<&str> = allowed.iter().copied().chain(["rules"]).collect();
    let fields = Fields::new(ctx, body, &what, &allowed)?;

    let timeout = fields
        .get("timeout")
        .map(|node| ctx.duration(node, "timeout"));
    let expect = match fields.get("expect") {
        Some(node) => expect(ctx, node, kind, scope),
        None => Some(Expect::Success),
    };
    let action = match kind {
        "create_deployment" => create_deployment(ctx, &fields),
        "update_deployment" => update_deployment(ctx, &fields),
        "delete_deployment" => delete_deployment(ctx, &fields),
        "expect_service_accounts" => expect_service_accounts(ctx, &fields),
        "expect_pods" => expect_pods(ctx, &fields),
        "expect_credentials" => expect_credentials(ctx, &fields),
        "assume_role" => assume_role(ctx, &fields),
        "expect_server_version" => expect_server_version(ctx, &fields),
        "expect_deployment_config" => expect_deployment_config(ctx, &fields),
        "create_pod" => create_pod(ctx, &fields),
        "expect_pod" => expect_pod(ctx, &fields),
        "annotate_service_account" => annotate_service_account(ctx, &fields),
        "advance_clock" => advance_clock(ctx, &fields),
        "expect_packages" => expect_packages(ctx, &fields),
        "s3_access" => s3_access(ctx, &fields),
        "expect_sdk_credentials" => expect_sdk_credentials(ctx, &fields),
        _ => create_service_account(ctx, &fields),
    };
    let written = fields
        .get("rules")
        .map(|node| step_rules(ctx, node, scope_of));
    let timeout = match timeout {
        Some(parsed) => Some(parsed?),
        None => None,
    };
    let (action, expect) = (action?, expect?);
    let rules = match written {
        Some(rules) => rules?,
        None if scope_of.finally => Vec::new(),
        None => attribution::default_rules(
            &action,
            &expect,
            scope_of.scenario_rules.unwrap_or_default(),
        ),
    };
    Some(Step {
        action,
        timeout,
        expect,
        rules,
        location: ctx.location(node.pos),
    })
}

/// A step's `rules:`: rules of the scenario, each once; `[]` makes the step set-up.
fn step_rules(ctx: &mut Ctx<'_>, node: &Node, scope: StepScope<'_>) -> Option<Vec<RuleId>> {
    if scope.finally {
        ctx.error(
            node.pos,
            "rules: a `finally` step checks no rule (it tidies up); move the check to `steps`",
        );
        return None;
    }
    let items = ctx.seq(node, "rules")?;
    let mut out = Vec::new();
    let mut ok = true;
    for item in items {
        let Some(text) = ctx.string(item, "rule") else {
            ok = false;
            continue;
        };
        match text.parse::<RuleId>() {
            Ok(rule) if out.contains(&rule) => {
                ctx.error(item.pos, format!("rule `{rule}` is listed twice"));
                ok = false;
            }
            Ok(rule) => match scope.scenario_rules {
                Some(listed) if !listed.contains(&rule) => {
                    let listed: Vec<String> = listed.iter().map(ToString::to_string).collect();
                    ctx.error(
                        item.pos,
                        format!(
                            "rule `{rule}` is not one the scenario checks (its `rules` are [{}]); add it there or check another",
                            listed.join(", ")
                        ),
                    );
                    ok = false;
                }
                _ => out.push(rule),
            },
            Err(message) => {
                ctx.error(item.pos, message);
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// `expect: success | allowed | accepted_or_refused | {error: kind} | {sts_error: Code}`;
/// platform refusals only on platform steps, STS refusals only on `assume_role`.
fn expect(ctx: &mut Ctx<'_>, node: &Node, kind: &str, scope: ExpectScope) -> Option<Expect> {
    let allowed_forms = match scope {
        ExpectScope::SuccessOnly => "`success`",
        ExpectScope::Platform => "`success`, `allowed`, `accepted_or_refused` or `{error: ...}`",
        ExpectScope::Sts => "`success`, `allowed` or `{sts_error: ...}`",
    };
    match &node.kind {
        NodeKind::Scalar(s) => match s.text.as_str() {
            "success" => Some(Expect::Success),
            "allowed" if scope != ExpectScope::SuccessOnly => Some(Expect::Success),
            "accepted_or_refused" if scope == ExpectScope::Platform => {
                Some(Expect::AcceptedOrRefused)
            }
            other => {
                let names: &[&str] = match scope {
                    ExpectScope::SuccessOnly => &["success"],
                    ExpectScope::Platform => &["success", "allowed", "accepted_or_refused"],
                    ExpectScope::Sts => &["success", "allowed"],
                };
                ctx.error(
                    node.pos,
                    format!(
                        "unknown expect value `{other}`{} for step `{kind}`; expected {allowed_forms}",
                        did_you_mean(other, names.iter().copied())
                    ),
                );
                None
            }
        },
        NodeKind::Map(entries) => {
            let [(key, value)] = entries.as_slice() else {
                ctx.error(
                    node.pos,
                    format!("`expect` mapping has exactly one key; expected {allowed_forms}"),
                );
                return None;
            };
            match (key.text.as_str(), scope) {
                ("error", ExpectScope::Platform) => ctx
                    .choice(value, "platform error", PLATFORM_ERRORS)
                    .map(Expect::PlatformError),
                ("sts_error", ExpectScope::Sts) => {
                    let code = ctx.string(value, "sts_error")?;
                    if code.is_empty() || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
                        ctx.error(
                            value.pos,
                            format!(
                                "invalid STS error code `{code}`: expected a code such as `AccessDenied` or `InvalidIdentityToken`"
                            ),
                        );
                        return None;
                    }
                    Some(Expect::StsError(code))
                }
                ("error" | "sts_error", _) => {
                    ctx.error(
                        key.pos,
                        format!(
                            "`expect: {{{}: ...}}` does not apply to step `{kind}`; expected {allowed_forms}",
                            key.text
                        ),
                    );
                    None
                }
                (other, _) => {
                    ctx.error(
                        key.pos,
                        format!(
                            "unknown expect key `{other}`{}; expected {allowed_forms}",
                            did_you_mean(other, ["error", "sts_error"])
                        ),
                    );
                    None
                }
            }
        }
        NodeKind::Seq(_) => {
            ctx.error(
                node.pos,
                format!("expect: expected {allowed_forms}, found a list"),
            );
            None
        }
    }
}

fn required_template(ctx: &mut Ctx<'_>, fields: &Fields<'_>, key: &str) -> Option<Template> {
    let node = fields.required(ctx, key)?;
    ctx.template(node, key, Scope::All)
}

fn optional_template(
    ctx: &mut Ctx<'_>,
    fields: &Fields<'_>,
    key: &str,
) -> Result<Option<Template>, ()> {
    match fields.get(key) {
        Some(node) => ctx.template(node, key, Scope::All).map(Some).ok_or(()),
        None => Ok(None),
    }
}

fn actor(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Actor> {
    match fields.get("as") {
        Some(node) => ctx.choice(node, "actor", ACTORS),
        None => Some(Actor::default()),
    }
}

fn cloud_role(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<RoleInput> {
    match fields.get("cloud_role") {
        None => Some(RoleInput::Omitted),
        Some(node) if is_null(node) => Some(RoleInput::Null),
        Some(node) => ctx
            .template(node, "cloud_role", Scope::All)
            .map(RoleInput::Value),
    }
}

fn create_deployment(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Action> {
    let release = required_template(ctx, fields, "release");
    let executor = match fields.get("executor") {
        Some(node) => ctx.choice(node, "executor", EXECUTORS),
        None => Some(Executor::Celery),
    };
    let cloud_role = cloud_role(ctx, fields);
    let actor = actor(ctx, fields);
    Some(Action::CreateDeployment(CreateDeployment {
        release: release?,
        executor: executor?,
        cloud_role: cloud_role?,
        actor: actor?,
    }))
}

fn update_deployment(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Action> {
    let release = required_template(ctx, fields, "release");
    let cloud_role = cloud_role(ctx, fields);
    let actor = actor(ctx, fields);
    Some(Action::UpdateDeployment(UpdateDeployment {
        release: release?,
        cloud_role: cloud_role?,
        actor: actor?,
    }))
}

fn delete_deployment(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Action> {
    let release = required_template(ctx, fields, "release");
    let actor = actor(ctx, fields);
    Some(Action::DeleteDeployment(DeleteDeployment {
        release: release?,
        actor: actor?,
    }))
}

/// `components: [...]`: non-empty, no repeats; all three when absent.
fn components(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Vec<Component>> {
    let Some(node) = fields.get("components") else {
        return Some(Component::ALL.to_vec());
    };
    let items = ctx.seq(node, "components")?;
    if items.is_empty() {
        ctx.error(
            node.pos,
            "components: the list is empty; leave the key out to check all components",
        );
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for item in items {
        match ctx.choice(item, "component", COMPONENTS) {
            Some(c) if out.contains(&c) => {
                ctx.error(item.pos, format!("component `{c}` is listed twice"));
                ok = false;
            }
            Some(c) => out.push(c),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// A mapping of template keys to template values (`annotations`, `env`); empty when absent.
fn template_map(
    ctx: &mut Ctx<'_>,
    fields: &Fields<'_>,
    key: &str,
) -> Option<BTreeMap<Template, Template>> {
    let Some(node) = fields.get(key) else {
        return Some(BTreeMap::new());
    };
    let entries = ctx.map(node, key)?;
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (k, v) in entries {
        let name = ctx.key_template(k, Scope::All);
        let value = ctx.template(v, &format!("{key}.{}", k.text), Scope::All);
        match (name, value) {
            (Some(name), Some(value)) => {
                out.insert(name, value);
            }
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

/// A list of templates (`absent`, `env_absent`); empty when absent.
fn template_list(ctx: &mut Ctx<'_>, fields: &Fields<'_>, key: &str) -> Option<Vec<Template>> {
    let Some(node) = fields.get(key) else {
        return Some(Vec::new());
    };
    let items = ctx.seq(node, key)?;
    let out: Vec<Option<Template>> = items
        .iter()
        .map(|item| ctx.template(item, key, Scope::All))
        .collect();
    out.into_iter().collect()
}

fn expect_service_accounts(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Action> {
    let release = required_template(ctx, fields, "release");
    let components = components(ctx, fields);
    let annotations = template_map(ctx, fields, "annotations");
    let absent = template_list(ctx, fields, "absent");
    Some(Action::ExpectServiceAccounts(ExpectServiceAccounts {
        release: release?,
        components: components?,
        annotations: annotations?,
        absent: absent?,
    }))
}

fn expect_pods(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Action> {
    let release = required_template(ctx, fields, "release");
    let components = components(ctx, fields);
    let env = template_map(ctx, fields, "env");
    let env_absent = template_list(ctx, fields, "env_absent");
    let token_volume = match fields.get("token_volume") {
        Some(node) => token_volume(ctx, node).map(Some),
        None => Some(None),
    };
    Some(Action::ExpectPods(ExpectPods {
        release: release?,
        components: components?,
        env: env?,
        env_absent: env_absent?,
        token_volume: token_volume?,
    }))
}

fn expect_credentials(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Action> {
    let release = required_template(ctx, fields, "release");
    let components = components(ctx, fields);
    let role = required_template(ctx, fields, "role");
    Some(Action::ExpectCredentials(ExpectCredentials {
        release: release?,
        components: components?,
        role: role?,
    }))
}

/// `{name, audience, mount_path}` or `{absent: name}`.
fn token_volume(ctx: &mut Ctx<'_>, node: &Node) -> Option<TokenVolumeExpectation> {
    let absent_form =
        matches!(&node.kind, NodeKind::Map(e) if e.iter().any(|(k, _)| k.text == "absent"));
    if absent_form {
        let fields = Fields::new(ctx, node, "token_volume `{absent: ...}`", &["absent"])?;
        let name = required_template(ctx, &fields, "absent")?;
        return Some(TokenVolumeExpectation::Absent { name });
    }
    let fields = Fields::new(
        ctx,
        node,
        "token_volume",
        &["name", "audience", "mount_path", "absent"],
    )?;
    let name = required_template(ctx, &fields, "name");
    let audience = required_template(ctx, &fields, "audience");
    let mount_path = required_template(ctx, &fields, "mount_path");
    Some(TokenVolumeExpectation::Present {
        name: name?,
        audience: audience?,
        mount_path: mount_path?,
    })
}

fn assume_role(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Action> {
    let token = token_source(ctx, fields);
    let role = required_template(ctx, fields, "role");
    let audience = optional_template(ctx, fields, "audience");
    let expiration_seconds = match fields.get("expiration_seconds") {
        Some(node) => ctx
            .positive_integer(node, "expiration_seconds")
            .map(Some)
            .ok_or(()),
        None => Ok(None),
    };
    let tamper = match fields.get("tamper") {
        Some(node) => ctx.choice(node, "tamper", TAMPERS),
        None => Some(TokenTamper::None),
    };
    let session_name = optional_template(ctx, fields, "session_name");
    Some(Action::AssumeRole(AssumeRole {
        token: token?,
        role: role?,
        audience: audience.ok()?,
        expiration_seconds: expiration_seconds.ok()?,
        tamper: tamper?,
        session_name: session_name.ok()?,
    }))
}

/// Exactly one of `release` + `component`, `service_account: {namespace, name}` or
/// `token: previous`.
fn token_source(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<TokenSource> {
    let pod_keys: Vec<_> = ["release", "component"]
        .iter()
        .filter_map(|k| fields.entry(k))
        .collect();
    if let Some((token_key, token)) = fields.entry("token") {
        if let Some((other, _)) = fields
            .entry("service_account")
            .or(pod_keys.first().copied())
        {
            ctx.error(
                token_key.pos,
                format!(
                    "{}: `token: previous` presents the previous step's token; leave out `{}`",
                    fields.what(),
                    other.text
                ),
            );
            return None;
        }
        return ctx.choice(token, "token", &[("previous", TokenSource::Previous)]);
    }
    match (fields.entry("service_account"), pod_keys.first()) {
        (Some((sa_key, _)), Some((pod_key, _))) => {
            ctx.error(
                sa_key.pos,
                format!(
                    "{}: give either `release` + `component` or `service_account`, not both (`{}` is also set)",
                    fields.what(),
                    pod_key.text
                ),
            );
            None
        }
        (Some((_, sa)), None) => {
            let sa_fields = Fields::new(ctx, sa, "service_account", &["namespace", "name"])?;
            let namespace = required_template(ctx, &sa_fields, "namespace");
            let name = required_template(ctx, &sa_fields, "name");
            Some(TokenSource::ServiceAccount {
                namespace: namespace?,
                name: name?,
            })
        }
        (None, Some(_)) => {
            let release = required_template(ctx, fields, "release");
            let component = fields
                .required(ctx, "component")
                .and_then(|node| ctx.choice(node, "component", COMPONENTS));
            Some(TokenSource::Pod {
                release: release?,
                component: component?,
            })
        }
        (None, None) => {
            ctx.error(
                fields.pos(),
                format!(
                    "missing token source in {}: give `release` + `component` or `service_account`",
                    fields.what()
                ),
            );
            None
        }
    }
}

fn create_service_account(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Action> {
    let namespace = required_template(ctx, fields, "namespace");
    let name = required_template(ctx, fields, "name");
    Some(Action::CreateServiceAccount(CreateServiceAccount {
        namespace: namespace?,
        name: name?,
    }))
}

fn expect_server_version(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Action> {
    let node = fields.required(ctx, "min")?;
    let text = ctx.string(node, "min")?;
    match text.parse::<KubeVersion>() {
        Ok(min) => Some(Action::ExpectServerVersion(ExpectServerVersion { min })),
        Err(message) => {
            ctx.error(node.pos, format!("min: {message}"));
            None
        }
    }
}

fn expect_deployment_config(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Action> {
    let release = required_template(ctx, fields, "release");
    let annotations = template_map(ctx, fields, "annotations");
    let absent = template_list(ctx, fields, "absent");
    Some(Action::ExpectDeploymentConfig(ExpectDeploymentConfig {
        release: release?,
        annotations: annotations?,
        absent: absent?,
    }))
}

/// The required `component` field.
fn component(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Component> {
    fields
        .required(ctx, "component")
        .and_then(|node| ctx.choice(node, "component", COMPONENTS))
}

fn create_pod(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Action> {
    let release = required_template(ctx, fields, "release");
    let component = component(ctx, fields);
    let name = required_template(ctx, fields, "name");
    Some(Action::CreatePod(CreatePod {
        release: release?,
        component: component?,
        name: name?,
    }))
}

fn expect_pod(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Action> {
    let namespace = required_template(ctx, fields, "namespace");
    let name = required_template(ctx, fields, "name");
    let env = template_map(ctx, fields, "env");
    let env_absent = template_list(ctx, fields, "env_absent");
    Some(Action::ExpectPod(ExpectPod {
        namespace: namespace?,
        name: name?,
        env: env?,
        env_absent: env_absent?,
    }))
}

fn annotate_service_account(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Action> {
    let release = required_template(ctx, fields, "release");
    let component = component(ctx, fields);
    let annotations = match fields.get("annotations") {
        Some(node) if matches!(&node.kind, NodeKind::Map(e) if e.is_empty()) => {
            ctx.error(
                node.pos,
                "annotations: the mapping is empty; name at least one annotation to set",
            );
            None
        }
        Some(_) => template_map(ctx, fields, "annotations"),
        None => {
            fields.required(ctx, "annotations");
            None
        }
    };
    Some(Action::AnnotateServiceAccount(AnnotateServiceAccount {
        release: release?,
        component: component?,
        annotations: annotations?,
    }))
}

fn advance_clock(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Action> {
    let node = fields.required(ctx, "by")?;
    let by = ctx.duration(node, "by")?;
    if by.is_zero() {
        ctx.error(node.pos, "by: must be longer than zero");
        return None;
    }
    Some(Action::AdvanceClock(AdvanceClock { by }))
}

fn expect_packages(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Action> {
    let release = required_template(ctx, fields, "release");
    let component = component(ctx, fields);
    let packages = fields.required(ctx, "packages").and_then(|node| {
        let entries = ctx.map(node, "packages")?;
        if entries.is_empty() {
            ctx.error(
                node.pos,
                "packages: the mapping is empty; name at least one package",
            );
            return None;
        }
        let mut out = BTreeMap::new();
        let mut ok = true;
        for (key, value) in entries {
            let requirement = ctx
                .string(value, &format!("packages.{}", key.text))
                .and_then(|text| match text.parse::<MinVersion>() {
                    Ok(req) => Some(req),
                    Err(message) => {
                        ctx.error(value.pos, format!("packages.{}: {message}", key.text));
                        None
                    }
                });
            match requirement {
                Some(req) => {
                    out.insert(key.text.clone(), req);
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    });
    Some(Action::ExpectPackages(ExpectPackages {
        release: release?,
        component: component?,
        packages: packages?,
    }))
}

fn expect_sdk_credentials(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Action> {
    let release = required_template(ctx, fields, "release");
    let component = component(ctx, fields);
    let role = required_template(ctx, fields, "role");
    Some(Action::ExpectSdkCredentials(ExpectSdkCredentials {
        release: release?,
        component: component?,
        role: role?,
    }))
}

const S3_ACTIONS: &[(&str, S3Action)] = &[
    ("put_object", S3Action::PutObject),
    ("get_object", S3Action::GetObject),
    ("head_object", S3Action::HeadObject),
    ("delete_object", S3Action::DeleteObject),
    ("list_bucket", S3Action::ListBucket),
    ("get_bucket_location", S3Action::GetBucketLocation),
];
const S3_EXPECTS: &[(&str, S3Expect)] =
    &[("allowed", S3Expect::Allowed), ("denied", S3Expect::Denied)];

/// `s3_access`: a token source (as `assume_role`), the role, and a non-empty list of operations.
fn s3_access(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Action> {
    let token = token_source(ctx, fields);
    let role = required_template(ctx, fields, "role");
    let session_name = optional_template(ctx, fields, "session_name");
    let operations = fields.required(ctx, "operations").and_then(|node| {
        let items = ctx.seq(node, "operations")?;
        if items.is_empty() {
            ctx.error(
                node.pos,
                "operations: the list is empty; name at least one S3 operation",
            );
            return None;
        }
        let decoded: Vec<Option<S3Operation>> =
            items.iter().map(|item| s3_operation(ctx, item)).collect();
        decoded.into_iter().collect::<Option<Vec<_>>>()
    });
    Some(Action::S3Access(S3Access {
        token: token?,
        role: role?,
        session_name: session_name.ok()?,
        operations: operations?,
    }))
}

/// `{action, bucket, key?, expect}`: `key` exactly for object actions; a `put_object` or
/// `delete_object` key must name `{{run_id}}`: a run writes only objects recognisable as its
/// own, and deletes nothing else (a key without the run id could be someone's data).
fn s3_operation(ctx: &mut Ctx<'_>, node: &Node) -> Option<S3Operation> {
    let fields = Fields::new(
        ctx,
        node,
        "S3 operation",
        &["action", "bucket", "key", "expect"],
    )?;
    let action = fields
        .required(ctx, "action")
        .and_then(|n| ctx.choice(n, "S3 action", S3_ACTIONS));
    let bucket = required_template(ctx, &fields, "bucket");
    let expect = fields
        .required(ctx, "expect")
        .and_then(|n| ctx.choice(n, "S3 expectation", S3_EXPECTS));
    let action = action?;
    let key = match (fields.entry("key"), action.on_object()) {
        (Some((_, value)), true) => {
            let key = ctx.template(value, "key", Scope::All)?;
            if action.changes_object() && !template::has_placeholder(&key, "run_id") {
                ctx.error(
                    value.pos,
                    format!(
                        "key `{key}` of `{action}` must contain `{{{{run_id}}}}`, so that a run writes and deletes only objects of its own"
                    ),
                );
                return None;
            }
            Some(key)
        }
        (None, true) => {
            ctx.error(
                fields.pos(),
                format!("missing required field `key` in S3 operation `{action}`"),
            );
            return None;
        }
        (Some((key, _)), false) => {
            ctx.error(
                key.pos,
                format!("S3 operation `{action}` is on a bucket and takes no `key`"),
            );
            return None;
        }
        (None, false) => None,
    };
    Some(S3Operation {
        action,
        bucket: bucket?,
        key,
        expect: expect?,
        location: ctx.location(node.pos),
    })
}

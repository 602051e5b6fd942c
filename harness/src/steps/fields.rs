//! The values of the fields several step kinds share (the expected outcome, a cloud role
//! input, the token source of `assume_role` and `s3_access`) and their readers (`release`,
//! `components`, `as`, `cloud_role`, annotation maps, the token source), each reader
//! recording problems with their position and returning `None` after one.

use std::collections::BTreeMap;

use crate::capability::Capability;
use crate::chart::Component;
use crate::platform::{Actor, Executor, PlatformErrorKind};
use crate::source::decode::{Ctx, Fields, Scope, is_null};
use crate::source::yaml::NodeKind;
use crate::template::Template;

/// The outcome a step expects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Expect {
    /// The action succeeds (and its checks hold).
    #[default]
    Success,
    /// The platform refuses the action with this kind of error.
    PlatformError(PlatformErrorKind),
    /// STS refuses with this error code (e.g. `InvalidIdentityToken`, `AccessDenied`).
    StsError(String),
    /// The platform may accept or refuse (`accepted_or_refused`); the documents allow both and
    /// later steps check the effect (R10: removing the role is refused or leaves it in place).
    AcceptedOrRefused,
}

/// How a step's cloud role is given: a value, explicitly empty, or left out of the request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RoleInput {
    /// The field is not sent at all.
    #[default]
    Omitted,
    /// The field is sent as JSON `null`.
    Null,
    /// The field is sent with this value (which may render to the empty string).
    Value(Template),
}

/// Whose token `assume_role` presents.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenSource {
    /// The projected token of a running pod of a deployment's component: requested through
    /// TokenRequest for the pod's ServiceAccount with the audience of the pod's projected volume.
    Pod {
        /// Release name.
        release: Template,
        /// Component whose pod is used.
        component: Component,
    },
    /// A token of a ServiceAccount named directly.
    ServiceAccount {
        /// Namespace.
        namespace: Template,
        /// ServiceAccount name.
        name: Template,
    },
    /// The very token the scenario's previous `assume_role` step presented (`token:
    /// previous`), e.g. again after `advance_clock`.
    Previous,
}

impl TokenSource {
    /// The capabilities presenting this token needs: a pod's projected token is the
    /// pod-identity webhook's doing.
    pub fn needs(&self) -> Vec<Capability> {
        match self {
            TokenSource::Pod { .. } => vec![Capability::Webhook],
            TokenSource::ServiceAccount { .. } | TokenSource::Previous => Vec::new(),
        }
    }
}

impl RoleInput {
    /// Whether the input sends a role (a value that is not written as empty).
    pub fn sends_a_role(&self) -> bool {
        matches!(self, RoleInput::Value(t) if !t.raw().trim().is_empty())
    }
}

/// The components, by their names in scenario files.
pub(crate) const COMPONENTS: &[(&str, Component)] = &[
    ("webserver", Component::Webserver),
    ("scheduler", Component::Scheduler),
    ("worker", Component::Worker),
];
/// The components' names, for schemas.
pub(crate) const COMPONENT_NAMES: &[&str] = &["webserver", "scheduler", "worker"];
/// The executors, by their names in scenario files.
pub(crate) const EXECUTORS: &[(&str, Executor)] = &[
    ("celery", Executor::Celery),
    ("local", Executor::Local),
    ("kubernetes", Executor::Kubernetes),
];
/// The executors' names, for schemas.
pub(crate) const EXECUTOR_NAMES: &[&str] = &["celery", "local", "kubernetes"];
/// The platform users, by their names in scenario files.
pub(crate) const ACTORS: &[(&str, Actor)] = &[
    ("admin", Actor::Admin),
    ("editor", Actor::Editor),
    ("viewer", Actor::Viewer),
];
/// The platform users' names, for schemas.
pub(crate) const ACTOR_NAMES: &[&str] = &["admin", "editor", "viewer"];

/// The release a step is about: its `release`, or the scenario's own (`{{release}}`).
pub(crate) fn release(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Template> {
    match fields.get("release") {
        Some(node) => ctx.template(node, "release", Scope::All),
        None => Some(Template("{{release}}".to_owned())),
    }
}

/// A required field holding a template.
pub(crate) fn required_template(
    ctx: &mut Ctx<'_>,
    fields: &Fields<'_>,
    key: &str,
) -> Option<Template> {
    let node = fields.required(ctx, key)?;
    ctx.template(node, key, Scope::All)
}

/// An optional field holding a template; `Err` after an error.
pub(crate) fn optional_template(
    ctx: &mut Ctx<'_>,
    fields: &Fields<'_>,
    key: &str,
) -> Result<Option<Template>, ()> {
    match fields.get(key) {
        Some(node) => ctx.template(node, key, Scope::All).map(Some).ok_or(()),
        None => Ok(None),
    }
}

/// `as: admin|editor|viewer`; an admin when absent.
pub(crate) fn actor(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Actor> {
    match fields.get("as") {
        Some(node) => ctx.choice(node, "actor", ACTORS),
        None => Some(Actor::default()),
    }
}

/// `executor`; `celery` when absent.
pub(crate) fn executor(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Executor> {
    match fields.get("executor") {
        Some(node) => ctx.choice(node, "executor", EXECUTORS),
        None => Some(Executor::Celery),
    }
}

/// `cloud_role`: a value, `""`, `null`, or left out (three different requests).
pub(crate) fn cloud_role(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<RoleInput> {
    match fields.get("cloud_role") {
        None => Some(RoleInput::Omitted),
        Some(node) if is_null(node) => Some(RoleInput::Null),
        Some(node) => ctx
            .template(node, "cloud_role", Scope::All)
            .map(RoleInput::Value),
    }
}

/// `components: [...]`: non-empty, no repeats; all three when absent.
pub(crate) fn components(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Vec<Component>> {
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

/// The required `component` field.
pub(crate) fn component(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Component> {
    fields
        .required(ctx, "component")
        .and_then(|node| ctx.choice(node, "component", COMPONENTS))
}

/// The `release` (default the scenario's own) and the required `component` of a kind about
/// one component; both are read, so both report their problems.
pub(crate) fn release_and_component(
    ctx: &mut Ctx<'_>,
    fields: &Fields<'_>,
) -> Option<(Template, Component)> {
    let release = release(ctx, fields);
    let component = component(ctx, fields);
    Some((release?, component?))
}

/// A mapping of template keys to template values (`annotations`, `env`); empty when absent.
pub(crate) fn template_map(
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
pub(crate) fn template_list(
    ctx: &mut Ctx<'_>,
    fields: &Fields<'_>,
    key: &str,
) -> Option<Vec<Template>> {
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

/// Whose token `assume_role` and `s3_access` present: exactly one of `component` (with
/// `release`, the scenario's own when left out), `service_account: {namespace, name}` or
/// `token: previous`.
pub(crate) fn token_source(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<TokenSource> {
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
            let release = release(ctx, fields);
            let component = component(ctx, fields);
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

/// A required mapping that must not be empty (`annotations` of a hand edit, `packages`).
pub(crate) fn non_empty_map<'n>(
    ctx: &mut Ctx<'_>,
    fields: &Fields<'n>,
    key: &str,
    hint: &str,
) -> Option<&'n crate::source::yaml::Node> {
    let node = fields.required(ctx, key)?;
    if matches!(&node.kind, NodeKind::Map(e) if e.is_empty()) {
        ctx.error(node.pos, format!("{key}: the mapping is empty; {hint}"));
        return None;
    }
    Some(node)
}

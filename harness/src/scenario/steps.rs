//! Decoding of one step: a one-key mapping naming its kind, whose value holds the kind's
//! fields plus the common `timeout`, `expect` and `rules`. The kinds, their keys and which
//! `expect` forms apply come from the registry ([`crate::steps::registry`]).

use super::attribution;
use crate::platform::PlatformErrorKind;
use crate::rules::RuleId;
use crate::source::decode::{Ctx, Fields, is_null};
use crate::source::yaml::{Node, NodeKind};
use crate::steps::fields::Expect;
use crate::steps::kind::Refusals;
use crate::steps::registry::{self, Action, Step};
use crate::suggest::{did_you_mean, one_of};

const PLATFORM_ERRORS: &[(&str, PlatformErrorKind)] = &[
    ("permission_denied", PlatformErrorKind::PermissionDenied),
    ("invalid_request", PlatformErrorKind::InvalidRequest),
    ("any", PlatformErrorKind::Any),
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
        NodeKind::Scalar(s) if registry::kind_info(&s.text).is_some() => {
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
                    one_of(registry::kind_names())
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
    let Some(info) = registry::kind_info(kind) else {
        ctx.error(
            kind_key.pos,
            format!(
                "unknown step kind `{kind}`{}; expected {}",
                did_you_mean(kind, registry::kind_names()),
                one_of(registry::kind_names())
            ),
        );
        return None;
    };
    // `kind:` with nothing after it is a step with no fields.
    let empty = Node {
        pos: kind_key.pos,
        kind: NodeKind::Map(Vec::new()),
    };
    let body = if is_null(body) { &empty } else { body };
    let what = format!("step `{kind}`");

    let allowed = info.allowed_keys();
    let fields = Fields::new(ctx, body, &what, &allowed)?;

    let timeout = fields
        .get("timeout")
        .map(|node| ctx.duration(node, "timeout"));
    let expect = match fields.get("expect") {
        Some(node) => expect(ctx, node, kind, info.refusals),
        None => Some(Expect::Success),
    };
    let action = Action::decode(kind, ctx, &fields);
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
fn expect(ctx: &mut Ctx<'_>, node: &Node, kind: &str, scope: Refusals) -> Option<Expect> {
    let allowed_forms = match scope {
        Refusals::None => "`success`",
        Refusals::Platform => "`success`, `allowed`, `accepted_or_refused` or `{error: ...}`",
        Refusals::Sts => "`success`, `allowed` or `{sts_error: ...}`",
    };
    match &node.kind {
        NodeKind::Scalar(s) => match s.text.as_str() {
            "success" => Some(Expect::Success),
            "allowed" if scope != Refusals::None => Some(Expect::Success),
            "accepted_or_refused" if scope == Refusals::Platform => Some(Expect::AcceptedOrRefused),
            other => {
                let names: &[&str] = match scope {
                    Refusals::None => &["success"],
                    Refusals::Platform => &["success", "allowed", "accepted_or_refused"],
                    Refusals::Sts => &["success", "allowed"],
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
                ("error", Refusals::Platform) => ctx
                    .choice(value, "platform error", PLATFORM_ERRORS)
                    .map(Expect::PlatformError),
                ("sts_error", Refusals::Sts) => {
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

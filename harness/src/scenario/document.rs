//! Decoding of one scenario file's top-level mapping into a [`Scenario`].

use std::collections::{BTreeMap, BTreeSet};

use super::loaded::Scenario;
use super::steps;
use crate::capability::Capability;
use crate::rules::RuleId;
use crate::source::Location;
use crate::source::decode::{Ctx, Fields, Scope};
use crate::source::yaml::{Node, Pos};
use crate::steps::registry::Step;
use crate::suggest::one_of;
use crate::template::BUILTINS;

/// The top-level keys of a scenario file.
pub const TOP_LEVEL_KEYS: &[&str] = &[
    "name",
    "description",
    "rules",
    "tags",
    "requires",
    "vars",
    "steps",
    "finally",
];

/// A decoded scenario and where its name was written (for duplicate-name errors).
pub(crate) struct Decoded {
    /// The scenario.
    pub scenario: Scenario,
    /// Where its `name` value is.
    pub name_location: Location,
}

/// Decode a file's root node; every problem is recorded in `ctx`.
pub(crate) fn scenario(ctx: &mut Ctx<'_>, root: &Node) -> Option<Decoded> {
    let fields = Fields::new(ctx, root, "the scenario", TOP_LEVEL_KEYS)?;

    let name_node = fields.required(ctx, "name");
    let name = name_node.and_then(|node| scenario_name(ctx, node));
    let description = fields.required(ctx, "description").and_then(|node| {
        let text = ctx.string(node, "description")?;
        if text.trim().is_empty() {
            ctx.error(node.pos, "description: must not be empty");
            return None;
        }
        Some(text)
    });
    let rules = fields
        .required(ctx, "rules")
        .and_then(|node| rules(ctx, node));
    let tags = match fields.get("tags") {
        Some(node) => tags(ctx, node),
        None => Some(Vec::new()),
    };
    let requires = match fields.get("requires") {
        Some(node) => requires(ctx, node),
        None => Some(Vec::new()),
    };
    let vars = match fields.get("vars") {
        Some(node) => vars(ctx, node),
        None => Some(BTreeMap::new()),
    };
    let scenario_rules: Option<Vec<RuleId>> = rules
        .as_ref()
        .map(|list| list.iter().map(|(rule, _)| *rule).collect());
    let in_steps = steps::StepScope {
        scenario_rules: scenario_rules.as_deref(),
        finally: false,
    };
    let steps = fields
        .required(ctx, "steps")
        .and_then(|node| step_list(ctx, node, "steps", in_steps));
    let finally = match fields.get("finally") {
        Some(node) => step_list(
            ctx,
            node,
            "finally",
            steps::StepScope {
                finally: true,
                ..in_steps
            },
        ),
        None => Some(Vec::new()),
    };
    // Only for an otherwise sound file: one mistake should not cascade into another error.
    if let (Some(rules), Some(steps), true) = (&rules, &steps, ctx.errors.is_empty()) {
        every_rule_checked(ctx, rules, steps);
    }

    let name_location = ctx.location(name_node?.pos);
    Some(Decoded {
        scenario: Scenario {
            name: name?,
            description: description?,
            rules: scenario_rules?,
            tags: tags?,
            requires: requires?,
            vars: vars?,
            steps: steps?,
            finally: finally?,
            location: ctx.location(Pos::START),
        },
        name_location,
    })
}

/// `name`: `[a-z0-9-]+`.
fn scenario_name(ctx: &mut Ctx<'_>, node: &Node) -> Option<String> {
    let name = ctx.string(node, "name")?;
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        ctx.error(
            node.pos,
            format!("invalid scenario name `{name}`: use lower-case letters, digits and `-` only"),
        );
        return None;
    }
    Some(name)
}

/// `rules`: a non-empty list of `R1`..`R16`, each once (with where each is written).
fn rules(ctx: &mut Ctx<'_>, node: &Node) -> Option<Vec<(RuleId, Pos)>> {
    let items = ctx.seq(node, "rules")?;
    if items.is_empty() {
        ctx.error(
            node.pos,
            "rules: list at least one rule the scenario checks",
        );
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for item in items {
        let Some(text) = ctx.string(item, "rule") else {
            ok = false;
            continue;
        };
        match text.parse::<RuleId>() {
            Ok(rule) if out.iter().any(|(r, _)| *r == rule) => {
                ctx.error(item.pos, format!("rule `{rule}` is listed twice"));
                ok = false;
            }
            Ok(rule) => out.push((rule, item.pos)),
            Err(message) => {
                ctx.error(item.pos, message);
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// `tags`: a list of non-empty strings.
fn tags(ctx: &mut Ctx<'_>, node: &Node) -> Option<Vec<String>> {
    let items = ctx.seq(node, "tags")?;
    let mut out = Vec::new();
    let mut ok = true;
    for item in items {
        match ctx.string(item, "tag") {
            Some(tag) if tag.trim().is_empty() => {
                ctx.error(item.pos, "tag: must not be empty");
                ok = false;
            }
            Some(tag) => out.push(tag),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// `requires`: a list of capability names, each once.
fn requires(ctx: &mut Ctx<'_>, node: &Node) -> Option<Vec<Capability>> {
    let items = ctx.seq(node, "requires")?;
    let choices: Vec<(&str, Capability)> = Capability::ALL.iter().map(|c| (c.name(), *c)).collect();
    let mut out = Vec::new();
    let mut ok = true;
    for item in items {
        match ctx.choice(item, "capability", &choices) {
            Some(c) if out.contains(&c) => {
                ctx.error(item.pos, format!("capability `{c}` is listed twice"));
                ok = false;
            }
            Some(c) => out.push(c),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// `vars`: names of letters, digits and `_` that do not shadow a built-in; values are
/// templates over the built-ins only. The names are declared to `ctx` for the steps, even
/// when a value is wrong, so one mistake does not cascade into "unknown variable" errors.
fn vars(ctx: &mut Ctx<'_>, node: &Node) -> Option<BTreeMap<String, crate::template::Template>> {
    let entries = ctx.map(node, "vars")?;
    let names: BTreeSet<String> = entries.iter().map(|(k, _)| k.text.clone()).collect();
    ctx.declare_vars(names);
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (key, value) in entries {
        let name_ok = !key.text.is_empty()
            && key
                .text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !name_ok {
            ctx.error(
                key.pos,
                format!(
                    "invalid var name `{}`: use letters, digits and `_` only",
                    key.text
                ),
            );
            ok = false;
            continue;
        }
        if BUILTINS.contains(&key.text.as_str()) {
            ctx.error(
                key.pos,
                format!(
                    "var `{}` would shadow the built-in of that name; built-ins are {}",
                    key.text,
                    one_of(BUILTINS.iter().copied())
                ),
            );
            ok = false;
            continue;
        }
        match ctx.template(value, &format!("vars.{}", key.text), Scope::Builtins) {
            Some(t) => {
                out.insert(key.text.clone(), t);
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// Every rule the scenario lists is checked by at least one of its steps: a rule no step
/// checks would pass without evidence.
fn every_rule_checked(ctx: &mut Ctx<'_>, rules: &[(RuleId, Pos)], steps: &[Step]) {
    for (rule, pos) in rules {
        if !steps.iter().any(|s| s.rules.contains(rule)) {
            ctx.error(
                *pos,
                format!(
                    "rule `{rule}` is checked by no step: no step's kind checks it by default; write `rules: [{rule}]` in the step that shows it"
                ),
            );
        }
    }
}

/// `steps` (non-empty) or `finally` (may be empty).
fn step_list(
    ctx: &mut Ctx<'_>,
    node: &Node,
    what: &str,
    scope: steps::StepScope<'_>,
) -> Option<Vec<Step>> {
    let may_be_empty = scope.finally;
    let items = ctx.seq(node, what)?;
    if items.is_empty() && !may_be_empty {
        ctx.error(
            node.pos,
            format!("{what}: a scenario needs at least one step"),
        );
        return None;
    }
    let decoded: Vec<Option<Step>> = items
        .iter()
        .map(|item| steps::step(ctx, item, scope))
        .collect();
    decoded.into_iter().collect()
}

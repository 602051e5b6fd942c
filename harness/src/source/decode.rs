//! Readers from positioned YAML nodes to typed values, recording every problem with its position.
//!
//! Each reader returns `None` after recording an error, so the caller can carry on and
//! report the file's other problems too.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use super::Location;
use super::error::LoadError;
use super::yaml::{Key, Node, NodeKind, Pos, Scalar, ScalarType};
use crate::suggest::{closest, did_you_mean, one_of};
use crate::template::{self, Segment, Template, TemplateError};

/// The decoding state of one file: where it is, what placeholder names it may use, and the
/// problems found so far.
pub(crate) struct Ctx<'f> {
    file: &'f Path,
    /// Names a step's placeholders may use: the built-ins and the scenario's vars (a set, so
    /// a file with many vars and placeholders is checked in n log n).
    names: BTreeSet<String>,
    /// Names of the scenario's vars (for the "vars may not use vars" message).
    var_names: BTreeSet<String>,
    /// Problems found so far.
    pub errors: Vec<LoadError>,
}

/// Which names a template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// A `vars` value: built-ins only.
    Builtins,
    /// A step field: built-ins and vars.
    All,
}

impl<'f> Ctx<'f> {
    /// A fresh context for `file`, knowing only the built-ins.
    pub fn new(file: &'f Path) -> Self {
        Ctx {
            file,
            names: template::BUILTINS.iter().map(|s| (*s).to_owned()).collect(),
            var_names: BTreeSet::new(),
            errors: Vec::new(),
        }
    }

    /// Let step templates use these vars from now on.
    pub fn declare_vars(&mut self, vars: impl IntoIterator<Item = String>) {
        for var in vars {
            self.var_names.insert(var.clone());
            self.names.insert(var);
        }
    }

    /// The model location of a position in this file.
    pub fn location(&self, pos: Pos) -> Location {
        Location {
            file: self.file.to_path_buf(),
            line: pos.line,
            column: pos.column,
        }
    }

    /// Record a problem at `pos`.
    pub fn error(&mut self, pos: Pos, message: impl Into<String>) {
        let location = self.location(pos);
        self.errors.push(LoadError::at(location, message));
    }

    /// A scalar's text if `node` is a string-like scalar (a string or a number), else an error
    /// naming what `what` expected.
    pub fn text<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n Scalar> {
        match &node.kind {
            NodeKind::Scalar(s)
                if matches!(
                    s.resolved(),
                    ScalarType::Str | ScalarType::Int | ScalarType::Float
                ) =>
            {
                Some(s)
            }
            _ => {
                self.error(
                    node.pos,
                    format!("{what}: expected a string, found {}", node.describe()),
                );
                None
            }
        }
    }

    /// A string-like scalar's text as an owned string.
    pub fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        self.text(node, what).map(|s| s.text.clone())
    }

    /// A template: a string whose placeholders are well formed and name known variables.
    pub fn template(&mut self, node: &Node, what: &str, scope: Scope) -> Option<Template> {
        let scalar = self.text(node, what)?;
        let ok = self.check_template(&scalar.text, scope, |offset| {
            placeholder_pos(node.pos, scalar, offset)
        });
        ok.then(|| Template(scalar.text.clone()))
    }

    /// A mapping key used as a template (annotation keys, env var names).
    pub fn key_template(&mut self, key: &Key, scope: Scope) -> Option<Template> {
        let ok = self.check_template(&key.text, scope, |_| key.pos);
        ok.then(|| Template(key.text.clone()))
    }

    fn check_template(&mut self, text: &str, scope: Scope, at: impl Fn(usize) -> Pos) -> bool {
        let segments = match template::parse(text) {
            Ok(segments) => segments,
            Err(e) => {
                let offset = match &e {
                    TemplateError::Unterminated { offset }
                    | TemplateError::InvalidName { offset, .. } => *offset,
                    TemplateError::Unknown { .. } => 0,
                };
                self.error(at(offset), e.to_string());
                return false;
            }
        };
        let mut ok = true;
        for segment in segments {
            let Segment::Placeholder { name, offset } = segment else {
                continue;
            };
            let known = match scope {
                Scope::All => self.names.contains(name),
                Scope::Builtins => template::BUILTINS.contains(&name),
            };
            if known {
                continue;
            }
            ok = false;
            let message = if scope == Scope::Builtins && self.var_names.contains(name) {
                format!(
                    "`{{{{{name}}}}}` names another var; a var's value may only use the built-ins ({})",
                    one_of(template::BUILTINS.iter().copied())
                )
            } else {
                let candidates: Vec<&str> = match scope {
                    Scope::All => self.names.iter().map(String::as_str).collect(),
                    Scope::Builtins => template::BUILTINS.to_vec(),
                };
                TemplateError::Unknown {
                    name: name.to_owned(),
                    suggestion: did_you_mean(name, candidates),
                }
                .to_string()
            };
            self.error(at(offset), message);
        }
        ok
    }

    /// The items of a list.
    pub fn seq<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [Node]> {
        match &node.kind {
            NodeKind::Seq(items) => Some(items),
            _ => {
                self.error(
                    node.pos,
                    format!("{what}: expected a list, found {}", node.describe()),
                );
                None
            }
        }
    }

    /// The entries of a mapping.
    pub fn map<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [(Key, Node)]> {
        match &node.kind {
            NodeKind::Map(entries) => Some(entries),
            _ => {
                self.error(
                    node.pos,
                    format!("{what}: expected a mapping, found {}", node.describe()),
                );
                None
            }
        }
    }

    /// One of a fixed set of names, mapped to its value.
    pub fn choice<T: Clone>(
        &mut self,
        node: &Node,
        what: &str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let text = self.text(node, what)?.text.clone();
        if let Some((_, value)) = choices.iter().find(|(name, _)| *name == text) {
            return Some(value.clone());
        }
        let names = choices.iter().map(|(name, _)| *name);
        self.error(
            node.pos,
            format!(
                "unknown {what} `{text}`{}; expected {}",
                did_you_mean(&text, names.clone()),
                one_of(names)
            ),
        );
        None
    }

    /// A duration with a unit, such as `30s` or `2m`, of at most
    /// [`crate::duration::MAX_TIMEOUT`].
    pub fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        let scalar = self.text(node, what)?;
        if scalar.resolved() != ScalarType::Str {
            self.error(
                node.pos,
                format!(
                    "{what}: expected a duration with a unit such as `30s` or `2m`, found `{}`",
                    scalar.text
                ),
            );
            return None;
        }
        match crate::duration::parse_timeout(&scalar.text) {
            Ok(d) => Some(d),
            Err(message) => {
                self.error(node.pos, format!("{what}: {message}"));
                None
            }
        }
    }

    /// A positive integer written as a plain YAML integer.
    pub fn positive_integer(&mut self, node: &Node, what: &str) -> Option<i64> {
        let value = match &node.kind {
            NodeKind::Scalar(s) if s.resolved() == ScalarType::Int => s.text.parse::<i64>().ok(),
            _ => None,
        };
        match value {
            Some(n) if n > 0 => Some(n),
            Some(n) => {
                self.error(node.pos, format!("{what}: must be positive, found {n}"));
                None
            }
            None => {
                let found = match &node.kind {
                    NodeKind::Scalar(s) => format!("{} `{}`", node.describe(), s.text),
                    _ => node.describe().to_owned(),
                };
                self.error(
                    node.pos,
                    format!("{what}: expected an integer, found {found}"),
                );
                None
            }
        }
    }
}

/// Where the placeholder at byte `offset` of a scalar's text is in the file.
///
/// The scalar's raw source is searched for the same `{{` (escapes never produce braces), so
/// the column is exact for plain, quoted and block scalars; the scalar's start is the fallback.
fn placeholder_pos(start: Pos, scalar: &Scalar, offset: usize) -> Pos {
    let nth = scalar
        .text
        .match_indices("{{")
        .position(|(i, _)| i == offset);
    let raw_index = nth.and_then(|n| {
        scalar
            .raw
            .as_deref()
            .and_then(|raw| raw.match_indices("{{").nth(n).map(|(i, _)| (raw, i)))
    });
    let Some((raw, index)) = raw_index else {
        return start;
    };
    let before = &raw[..index];
    match before.rfind('\n') {
        None => Pos {
            line: start.line,
            column: start.column + before.chars().count(),
        },
        Some(nl) => Pos {
            line: start.line + before.matches('\n').count(),
            column: before[nl + 1..].chars().count() + 1,
        },
    }
}

/// The fields of one mapping: unknown keys are reported once, on construction.
pub(crate) struct Fields<'n> {
    pos: Pos,
    entries: &'n [(Key, Node)],
    what: String,
    /// Allowed keys that an unknown key was taken for a misspelling of: their absence is
    /// not reported again.
    misspelt: Vec<String>,
}

impl<'n> Fields<'n> {
    /// The fields of `node` (a mapping), reporting keys not in `allowed` with a did-you-mean.
    pub fn new(ctx: &mut Ctx<'_>, node: &'n Node, what: &str, allowed: &[&str]) -> Option<Self> {
        let entries = ctx.map(node, what)?;
        let mut misspelt = Vec::new();
        for (key, _) in entries {
            if !allowed.contains(&key.text.as_str()) {
                let suggestion = closest(&key.text, allowed.iter().copied());
                let hint = suggestion
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                ctx.error(
                    key.pos,
                    format!(
                        "unknown key `{}` in {what}{hint}; expected {}",
                        key.text,
                        one_of(allowed.iter().copied())
                    ),
                );
                misspelt.extend(suggestion.map(str::to_owned));
            }
        }
        Some(Fields {
            pos: node.pos,
            entries,
            what: what.to_owned(),
            misspelt,
        })
    }

    /// Where the mapping starts.
    pub fn pos(&self) -> Pos {
        self.pos
    }

    /// The value of `key`, if given.
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key and value of `key`, if given.
    pub fn entry(&self, key: &str) -> Option<&'n (Key, Node)> {
        self.entries.iter().find(|(k, _)| k.text == key)
    }

    /// The value of `key`, or an error at the mapping if it is missing.
    pub fn required(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<&'n Node> {
        let value = self.get(key);
        if value.is_none() && !self.misspelt.iter().any(|m| m == key) {
            ctx.error(
                self.pos,
                format!("missing required field `{key}` in {}", self.what),
            );
        }
        value
    }

    /// What the mapping is, for messages.
    pub fn what(&self) -> &str {
        &self.what
    }
}

/// Whether `node` is a YAML null (`null`, `~` or nothing).
pub(crate) fn is_null(node: &Node) -> bool {
    matches!(&node.kind, NodeKind::Scalar(s) if s.resolved() == ScalarType::Null)
}

//! `{{name}}` placeholders: parsing (used by the loader to check names) and rendering per run.
//!
//! A placeholder is `{{`, optional spaces, a name of ASCII letters, digits and `_`, optional
//! spaces, `}}`. Everything else is literal text; a lone `{` or `}` is fine, but a `{{` must
//! be closed. Names are the [`BUILTINS`] or the scenario's own `vars`. A var's value may use
//! built-ins but not other vars, so the order vars are written in never matters.

use std::collections::BTreeMap;
use std::fmt;

use crate::namespaces::ReleaseNamespaces;
use crate::suggest::did_you_mean;

/// A string that may hold `{{name}}` placeholders, filled in per run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Template(pub String);

impl Template {
    /// The raw text, placeholders included.
    pub fn raw(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The names every scenario can use without declaring them.
///
/// `release` is the scenario's own release name (see [`release_name`]), `namespace` is
/// `astronomer-<release>`, `run_id` identifies the run, and `account`, `region`, `role_arn`,
/// `oidc_provider_arn`, `bucket` and `other_bucket` come from the target profile.
pub const BUILTINS: &[&str] = &[
    "release",
    "namespace",
    "run_id",
    "account",
    "region",
    "role_arn",
    "oidc_provider_arn",
    "bucket",
    "other_bucket",
];

/// A problem with a template's text or with filling it in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A `{{` with no `}}` after it.
    #[error("unterminated placeholder: `{{{{` at offset {offset} has no closing `}}}}`")]
    Unterminated {
        /// Byte offset of the `{{` in the template text.
        offset: usize,
    },
    /// `{{}}` or a name with characters other than letters, digits and `_`.
    #[error("invalid placeholder `{{{{{name}}}}}`: a name is letters, digits and `_`")]
    InvalidName {
        /// The text between the braces, trimmed.
        name: String,
        /// Byte offset of the `{{` in the template text.
        offset: usize,
    },
    /// A name that is neither a built-in nor a var of the scenario.
    #[error("unknown variable `{name}`{suggestion}")]
    Unknown {
        /// The name used.
        name: String,
        /// " (did you mean `x`?)" or empty.
        suggestion: String,
    },
}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Text copied as is.
    Literal(&'a str),
    /// A placeholder to fill in.
    Placeholder {
        /// The variable's name.
        name: &'a str,
        /// Byte offset of the placeholder's `{{` in the template text.
        offset: usize,
    },
}

/// Split a template's text into literal text and placeholders, checking its syntax.
pub fn parse(text: &str) -> Result<Vec<Segment<'_>>, TemplateError> {
    let mut segments = Vec::new();
    let mut rest = 0;
    while let Some(found) = text[rest..].find("{{") {
        let open = rest + found;
        if open > rest {
            segments.push(Segment::Literal(&text[rest..open]));
        }
        let inner_start = open + 2;
        let close = text[inner_start..]
            .find("}}")
            .map(|c| inner_start + c)
            .ok_or(TemplateError::Unterminated { offset: open })?;
        let name = text[inner_start..close].trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(TemplateError::InvalidName {
                name: name.to_owned(),
                offset: open,
            });
        }
        segments.push(Segment::Placeholder { name, offset: open });
        rest = close + 2;
    }
    if rest < text.len() {
        segments.push(Segment::Literal(&text[rest..]));
    }
    Ok(segments)
}

/// Whether `template` has a placeholder for `name`, written with or without spaces inside
/// the braces (`{{run_id}}`, `{{ run_id }}`), exactly as rendering reads it.
pub fn has_placeholder(template: &Template, name: &str) -> bool {
    parse(template.raw()).is_ok_and(|segments| {
        segments
            .iter()
            .any(|s| matches!(s, Segment::Placeholder { name: n, .. } if *n == name))
    })
}

/// Facts about a target that scenarios use as built-in template values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetFacts {
    /// AWS account id.
    pub account: String,
    /// AWS region.
    pub region: String,
    /// ARN of the role the run set up with the documented trust policy.
    pub role_arn: String,
    /// ARN of the cluster's IAM OIDC provider.
    pub oidc_provider_arn: String,
    /// The S3 bucket the role's permission policy grants (`{{bucket}}`; empty without `s3`).
    pub bucket: String,
    /// An S3 bucket the policy does not grant (`{{other_bucket}}`; empty without `s3`).
    pub other_bucket: String,
}

/// Built-in values for one scenario in one run; `namespace` is derived from `release`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltinValues {
    /// The run's id.
    pub run_id: String,
    /// The scenario's release name (see [`release_name`]).
    pub release: String,
    /// What the target offers (account, region, role, OIDC provider, buckets).
    pub facts: TargetFacts,
    /// Where the platform puts each release (`{{namespace}}` is the release's).
    pub namespaces: ReleaseNamespaces,
}

impl BuiltinValues {
    /// The namespace the platform creates for the release: `<platform namespace>-<release>`.
    pub fn namespace(&self) -> String {
        self.namespaces.of(&self.release)
    }

    /// Every built-in by name (the keys are exactly [`BUILTINS`]).
    pub fn to_map(&self) -> BTreeMap<String, String> {
        [
            ("release", self.release.clone()),
            ("namespace", self.namespace()),
            ("run_id", self.run_id.clone()),
            ("account", self.facts.account.clone()),
            ("region", self.facts.region.clone()),
            ("role_arn", self.facts.role_arn.clone()),
            ("oidc_provider_arn", self.facts.oidc_provider_arn.clone()),
            ("bucket", self.facts.bucket.clone()),
            ("other_bucket", self.facts.other_bucket.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

/// The values placeholders are filled with for one scenario in one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateContext {
    builtins: BTreeMap<String, String>,
    vars: BTreeMap<String, String>,
}

impl TemplateContext {
    /// The context for a set of vars (rendered against the built-ins only).
    pub fn with_vars(
        vars: &BTreeMap<String, Template>,
        builtins: &BuiltinValues,
    ) -> Result<Self, TemplateError> {
        let base = TemplateContext {
            builtins: builtins.to_map(),
            vars: BTreeMap::new(),
        };
        let vars = vars
            .iter()
            .map(|(name, t)| Ok((name.clone(), base.render(t)?)))
            .collect::<Result<_, TemplateError>>()?;
        Ok(TemplateContext { vars, ..base })
    }

    /// The value of a built-in or var.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .or_else(|| self.builtins.get(name))
            .map(String::as_str)
    }

    /// Fill in every placeholder of `template`.
    pub fn render(&self, template: &Template) -> Result<String, TemplateError> {
        let mut out = String::with_capacity(template.raw().len());
        for segment in parse(template.raw())? {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Placeholder { name, .. } => match self.get(name) {
                    Some(value) => out.push_str(value),
                    None => {
                        return Err(TemplateError::Unknown {
                            name: name.to_owned(),
                            suggestion: did_you_mean(
                                name,
                                self.builtins
                                    .keys()
                                    .chain(self.vars.keys())
                                    .map(String::as_str),
                            ),
                        });
                    }
                },
            }
        }
        Ok(out)
    }
}

/// How many characters of the run id a release name keeps.
const RUN_ID_CHARS: usize = 8;

/// The release name of the `scenario_index`-th scenario of a run: `rc-<run id>-<index>`.
///
/// The result is a DNS label of at most 40 characters (`[a-z0-9-]`, starting with a letter):
/// the run id is reduced to its first eight lower-case letters and digits. The platform's
/// namespace for it, `astronomer-<release>`, stays within the 63-character label limit.
pub fn release_name(run_id: &str, scenario_index: usize) -> String {
    let short: String = run_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(RUN_ID_CHARS)
        .collect();
    let short = if short.is_empty() {
        "run".to_owned()
    } else {
        short
    };
    format!("rc-{short}-{scenario_index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_literals_and_placeholders() {
        assert_eq!(
            parse("arn:{{ account }}:x{y}}").unwrap(),
            vec![
                Segment::Literal("arn:"),
                Segment::Placeholder {
                    name: "account",
                    offset: 4
                },
                Segment::Literal(":x{y}}"),
            ]
        );
    }

    #[test]
    fn finds_placeholders_with_or_without_spaces() {
        for text in ["k-{{run_id}}", "k-{{ run_id }}", "{{  run_id}}/x"] {
            assert!(
                has_placeholder(&Template(text.to_owned()), "run_id"),
                "{text}"
            );
        }
        for text in ["k-run_id", "{{run_idx}}", "{run_id}", "{{release}}"] {
            assert!(
                !has_placeholder(&Template(text.to_owned()), "run_id"),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_bad_placeholders() {
        assert_eq!(
            parse("a{{b").unwrap_err(),
            TemplateError::Unterminated { offset: 1 }
        );
        assert!(matches!(
            parse("{{a-b}}").unwrap_err(),
            TemplateError::InvalidName { .. }
        ));
        assert!(matches!(
            parse("{{}}").unwrap_err(),
            TemplateError::InvalidName { .. }
        ));
    }
}

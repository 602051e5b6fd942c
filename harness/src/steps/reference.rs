//! The README's step reference, made from the registry ([`super::registry::KINDS`]), so that
//! it lists exactly the kinds, keys and `expect` forms the loader accepts.

use super::kind::{Key, KindInfo, Refusals, Shape};
use super::registry::KINDS;

/// The line before the generated reference in the README.
pub const BEGIN: &str = "<!-- step reference: generated from harness/src/steps/registry.rs; `ROLECHECK_BLESS=1 cargo test -p rolecheck --test schema` rewrites it -->";
/// The line after it.
pub const END: &str = "<!-- end of the generated step reference -->";

/// The reference: one bullet per kind, its keys, and the `expect` forms it accepts.
pub fn markdown() -> String {
    let mut out = wrap(
        "Step kinds (each a one-key map whose value holds its keys; every kind also takes \
         `timeout`, `expect` and `rules`; a `release` left out is the scenario's own, \
         `components` left out are all three):",
        "",
        "",
    );
    out.push('\n');
    for kind in KINDS {
        out.push_str(&wrap(&bullet(kind), "- ", "  "));
    }
    out.push('\n');
    out.push_str(&wrap(
        "`expect` means the same on every kind: `success` (the default) is that the action \
         succeeds and its checks hold; `allowed` is the same, on kinds that can be refused; \
         `{error: permission_denied|invalid_request|any}` and `accepted_or_refused` name a \
         platform refusal (platform kinds), `{sts_error: <Code>}` an STS refusal \
         (`assume_role`).",
        "",
        "",
    ));
    out
}

/// `text` wrapped at 95 columns, the first line after `first`, the others after `rest`.
fn wrap(text: &str, first: &str, rest: &str) -> String {
    let mut out = String::new();
    let mut line = first.to_owned();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.len() + 1 + word.len() > 95 {
            out.push_str(line.trim_end());
            out.push('\n');
            line = rest.to_owned();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

fn bullet(kind: &KindInfo) -> String {
    let keys: Vec<String> = kind.keys.iter().map(key).collect();
    let expect = match kind.refusals {
        Refusals::None => "`success`".to_owned(),
        Refusals::Platform => {
            "`success`, `allowed`, `accepted_or_refused` or `{error: ...}`".to_owned()
        }
        Refusals::Sts => "`success`, `allowed` or `{sts_error: ...}`".to_owned(),
    };
    format!(
        "`{}`: {} Keys: {}. `expect`: {expect}.",
        kind.name,
        kind.about,
        keys.join("; ")
    )
}

fn key(key: &Key) -> String {
    let required = if key.required { ", required" } else { "" };
    format!(
        "`{}` ({}{required}): {}",
        key.name,
        shape(key.shape),
        key.doc
    )
}

fn shape(shape: Shape) -> String {
    match shape {
        Shape::Text => "text".to_owned(),
        Shape::TextOrNull => "text or `null`".to_owned(),
        Shape::OneOf(names) => names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join("|"),
        Shape::Components => "list of `webserver`|`scheduler`|`worker`".to_owned(),
        Shape::TextMap => "map".to_owned(),
        Shape::TextList => "list".to_owned(),
        Shape::Duration => "duration".to_owned(),
        Shape::PositiveInteger => "positive integer".to_owned(),
        Shape::KubeVersion => "version".to_owned(),
        Shape::Requirements => "map of requirements".to_owned(),
        Shape::Object(keys) => format!("`{{{}}}`", names(keys)),
        Shape::AnyOf(forms) => forms
            .iter()
            .map(|keys| format!("`{{{}}}`", names(keys)))
            .collect::<Vec<_>>()
            .join(" or "),
        Shape::ListOf(keys) => format!("list of `{{{}}}`", names(keys)),
    }
}

fn names(keys: &[Key]) -> String {
    keys.iter()
        .map(|k| {
            if k.required {
                k.name.to_owned()
            } else {
                format!("{}?", k.name)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

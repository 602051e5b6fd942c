//! A small YAML tree with a position on every node, built from the parser's events.
//!
//! serde-based deserialization loses positions as soon as a value is inside an untagged or
//! flattened type, and cannot say where a *missing* field should have been. Walking the
//! parser's events instead gives every key and value its own line and column, so the
//! decoder can point each error at exactly what is wrong.
//!
//! An alias copies its anchored node, so a few hundred bytes of nested aliases ("billion
//! laughs") would expand into gigabytes. What aliases copy is therefore counted, in nodes
//! and in bytes of scalar text, and a document copying more than [`MAX_ALIAS_NODES`] or
//! [`MAX_ALIAS_BYTES`] is refused at the alias that goes over.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, ScanError, Span, StrInput};

/// The most nodes all aliases of one document may copy together.
pub(crate) const MAX_ALIAS_NODES: usize = 100_000;

/// The most bytes of scalar text all aliases of one document may copy together.
pub(crate) const MAX_ALIAS_BYTES: usize = 10 * 1024 * 1024;

/// A 1-based line and column inside one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
}

impl Pos {
    /// The start of a file.
    pub const START: Pos = Pos { line: 1, column: 1 };

    fn of(span: &Span) -> Pos {
        Pos {
            line: span.start.line(),
            column: span.start.col() + 1,
        }
    }
}

/// A YAML node with the position where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// Where the node starts.
    pub pos: Pos,
    /// What the node is.
    pub kind: NodeKind,
}

/// The three shapes of YAML nodes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeKind {
    /// A scalar: its text after escapes, whether it was quoted, and its raw source text.
    Scalar(Scalar),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping with scalar keys, in source order (duplicate keys are refused while parsing).
    Map(Vec<(Key, Node)>),
}

/// A scalar value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scalar {
    /// The text after YAML escape processing.
    pub text: String,
    /// Whether it was written quoted or as a block scalar (and so is always a string).
    pub quoted: bool,
    /// The source text exactly as written (quotes included), when it is known.
    pub raw: Option<String>,
}

impl Scalar {
    /// The YAML 1.2 core-schema type of the scalar.
    pub fn resolved(&self) -> ScalarType {
        if self.quoted {
            return ScalarType::Str;
        }
        match self.text.as_str() {
            "" | "~" | "null" | "Null" | "NULL" => ScalarType::Null,
            "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => ScalarType::Bool,
            t if t.parse::<i64>().is_ok() => ScalarType::Int,
            t if is_float(t) => ScalarType::Float,
            _ => ScalarType::Str,
        }
    }
}

fn is_float(t: &str) -> bool {
    matches!(
        t,
        ".inf" | ".Inf" | ".INF" | "-.inf" | "-.Inf" | "-.INF" | "+.inf" | ".nan" | ".NaN" | ".NAN"
    ) || (t.chars().any(|c| c.is_ascii_digit())
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        && t.parse::<f64>().is_ok())
}

/// The core-schema type of a plain scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScalarType {
    /// `null`, `~` or nothing at all.
    Null,
    /// `true` / `false`.
    Bool,
    /// An integer.
    Int,
    /// A floating-point number.
    Float,
    /// Anything else, or anything quoted.
    Str,
}

impl ScalarType {
    /// How the type is named in messages.
    pub fn describe(self) -> &'static str {
        match self {
            ScalarType::Null => "null",
            ScalarType::Bool => "a boolean",
            ScalarType::Int => "an integer",
            ScalarType::Float => "a number",
            ScalarType::Str => "a string",
        }
    }
}

/// A mapping key: its text and position.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Key {
    /// The key's text.
    pub text: String,
    /// Where the key starts.
    pub pos: Pos,
}

impl Node {
    /// How the node's shape is named in messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar(s) => s.resolved().describe(),
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }
}

/// A YAML document that could not be read: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// Where the problem is.
    pub pos: Pos,
    /// What the problem is.
    pub message: String,
}

impl SyntaxError {
    fn new(pos: Pos, message: impl Into<String>) -> Self {
        SyntaxError {
            pos,
            message: message.into(),
        }
    }
}

impl From<ScanError> for SyntaxError {
    fn from(e: ScanError) -> Self {
        let info = e.info();
        let message = if info.is_empty() {
            "YAML syntax error".to_owned()
        } else {
            format!("YAML syntax error: {info}")
        };
        SyntaxError::new(
            Pos {
                line: e.marker().line(),
                column: e.marker().col() + 1,
            },
            message,
        )
    }
}

/// A parsed document and the problems that did not stop parsing (duplicate keys, tags).
#[derive(Debug)]
pub(crate) struct Parsed {
    /// The document's root, `None` for a file without a document.
    pub root: Option<Node>,
    /// Problems found on the way; the tree keeps the first of duplicate keys.
    pub problems: Vec<SyntaxError>,
}

/// Parse one YAML document into a positioned tree.
pub(crate) fn parse(source: &str) -> Result<Parsed, SyntaxError> {
    let mut builder = Builder {
        source,
        parser: Parser::new_from_str(source),
        anchors: HashMap::new(),
        copied: Size::default(),
        problems: Vec::new(),
    };
    let root = builder.stream()?;
    Ok(Parsed {
        root,
        problems: builder.problems,
    })
}

struct Builder<'a> {
    source: &'a str,
    parser: Parser<'a, StrInput<'a>>,
    /// Anchored nodes by anchor id, with their size, for aliases.
    anchors: HashMap<usize, (Node, Size)>,
    /// What aliases have copied so far.
    copied: Size,
    /// Problems that do not stop parsing.
    problems: Vec<SyntaxError>,
}

impl<'a> Builder<'a> {
    /// The next event that matters (comments and anchor metadata are skipped).
    fn event(&mut self) -> Result<(Event<'a>, Span), SyntaxError> {
        loop {
            match self.parser.next_event() {
                Some(Ok((event, span))) => match event {
                    Event::StreamStart
                    | Event::StreamEnd
                    | Event::DocumentStart(..)
                    | Event::DocumentEnd
                    | Event::Alias(_)
                    | Event::Scalar(..)
                    | Event::SequenceStart(..)
                    | Event::SequenceEnd
                    | Event::MappingStart(..)
                    | Event::MappingEnd => return Ok((event, span)),
                    // Comments and anchor metadata carry no data.
                    _ => {}
                },
                Some(Err(e)) => return Err(e.into()),
                None => {
                    return Err(SyntaxError::new(
                        Pos::START,
                        "YAML syntax error: unexpected end of input",
                    ));
                }
            }
        }
    }

    fn stream(&mut self) -> Result<Option<Node>, SyntaxError> {
        let mut root = None;
        loop {
            let (event, span) = self.event()?;
            match event {
                Event::StreamStart | Event::DocumentEnd => {}
                Event::StreamEnd => return Ok(root),
                Event::DocumentStart(..) => {
                    if root.is_some() {
                        return Err(SyntaxError::new(
                            Pos::of(&span),
                            "a scenario file holds exactly one YAML document (found a second one)",
                        ));
                    }
                }
                other => {
                    if root.is_some() {
                        return Err(SyntaxError::new(
                            Pos::of(&span),
                            "YAML syntax error: unexpected content after the document",
                        ));
                    }
                    root = Some(self.node(other, span)?);
                }
            }
        }
    }

    /// Build the node that starts with `event`, consuming its children.
    fn node(&mut self, event: Event<'a>, span: Span) -> Result<Node, SyntaxError> {
        let pos = Pos::of(&span);
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                if tag.is_some() {
                    self.problems.push(tag_error(&span));
                }
                let scalar = Scalar {
                    text: text.into_owned(),
                    quoted: !matches!(style, ScalarStyle::Plain),
                    raw: span.slice(self.source).map(str::to_owned),
                };
                (
                    Node {
                        pos,
                        kind: NodeKind::Scalar(scalar),
                    },
                    anchor,
                )
            }
            Event::SequenceStart(_, anchor, tag) => {
                if tag.is_some() {
                    self.problems.push(tag_error(&span));
                }
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.event()?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(event, span)?);
                }
                (
                    Node {
                        pos,
                        kind: NodeKind::Seq(items),
                    },
                    anchor,
                )
            }
            Event::MappingStart(_, anchor, tag) => {
                if tag.is_some() {
                    self.problems.push(tag_error(&span));
                }
                (
                    Node {
                        pos,
                        kind: NodeKind::Map(self.map_entries()?),
                    },
                    anchor,
                )
            }
            Event::Alias(id) => {
                let Some((node, size)) = self.anchors.get(&id) else {
                    return Err(SyntaxError::new(
                        pos,
                        "YAML syntax error: alias to an unknown anchor",
                    ));
                };
                let copied = self.copied.plus(*size);
                if copied.nodes > MAX_ALIAS_NODES || copied.bytes > MAX_ALIAS_BYTES {
                    return Err(SyntaxError::new(
                        pos,
                        format!(
                            "YAML aliases expand too much: with this alias they copy more than {MAX_ALIAS_NODES} nodes or {} MiB of text; write the values out instead",
                            MAX_ALIAS_BYTES / (1024 * 1024)
                        ),
                    ));
                }
                self.copied = copied;
                return Ok(node.clone());
            }
            _ => {
                return Err(SyntaxError::new(
                    pos,
                    "YAML syntax error: unexpected structure",
                ));
            }
        };
        if anchor != 0 {
            let size = Size::of(&node);
            self.anchors.insert(anchor, (node.clone(), size));
        }
        Ok(node)
    }

    /// The entries of a mapping whose start event was just read, up to its end.
    fn map_entries(&mut self) -> Result<Vec<(Key, Node)>, SyntaxError> {
        let mut entries: Vec<(Key, Node)> = Vec::new();
        // Where each key was first seen: duplicate keys are found in linear time.
        let mut seen: HashMap<String, Pos> = HashMap::new();
        loop {
            let (event, span) = self.event()?;
            if matches!(event, Event::MappingEnd) {
                return Ok(entries);
            }
            let key_node = self.node(event, span)?;
            let key = match key_node.kind {
                NodeKind::Scalar(s) => Key {
                    text: s.text,
                    pos: key_node.pos,
                },
                _ => {
                    return Err(SyntaxError::new(
                        key_node.pos,
                        "mapping keys must be plain strings",
                    ));
                }
            };
            let (event, span) = self.event()?;
            let value = self.node(event, span)?;
            match seen.entry(key.text.clone()) {
                Entry::Occupied(first) => {
                    let first = *first.get();
                    self.problems.push(SyntaxError::new(
                        key.pos,
                        format!(
                            "duplicate key `{}` (first at line {}, column {})",
                            key.text, first.line, first.column
                        ),
                    ));
                }
                Entry::Vacant(slot) => {
                    slot.insert(key.pos);
                    entries.push((key, value));
                }
            }
        }
    }
}

/// How much an alias of a node copies: its nodes and the bytes of its text.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    nodes: usize,
    bytes: usize,
}

impl Size {
    fn of(node: &Node) -> Size {
        match &node.kind {
            NodeKind::Scalar(s) => Size {
                nodes: 1,
                bytes: s.text.len() + s.raw.as_ref().map_or(0, String::len),
            },
            NodeKind::Seq(items) => items.iter().fold(Size { nodes: 1, bytes: 0 }, |sum, item| {
                sum.plus(Size::of(item))
            }),
            NodeKind::Map(entries) => {
                entries
                    .iter()
                    .fold(Size { nodes: 1, bytes: 0 }, |sum, (key, value)| {
                        sum.plus(Size {
                            nodes: 1,
                            bytes: key.text.len(),
                        })
                        .plus(Size::of(value))
                    })
            }
        }
    }

    fn plus(self, other: Size) -> Size {
        Size {
            nodes: self.nodes.saturating_add(other.nodes),
            bytes: self.bytes.saturating_add(other.bytes),
        }
    }
}

fn tag_error(span: &Span) -> SyntaxError {
    let pos = span.tag_start.map_or_else(
        || Pos::of(span),
        |m| Pos {
            line: m.line(),
            column: m.col() + 1,
        },
    );
    SyntaxError::new(pos, "YAML tags (`!...`) are not used in scenario files")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(node: &Node) -> &Scalar {
        match &node.kind {
            NodeKind::Scalar(s) => s,
            other => panic!("not a scalar: {other:?}"),
        }
    }

    #[test]
    fn positions_and_types_of_nodes() {
        let parsed = parse("# c\na: 5\nb: [\"5\", x]\nc:\n").unwrap();
        let Some(Node {
            pos,
            kind: NodeKind::Map(entries),
        }) = parsed.root
        else {
            panic!("not a map");
        };
        assert_eq!(pos, Pos { line: 2, column: 1 });
        assert_eq!(entries[0].0.text, "a");
        assert_eq!(entries[0].1.pos, Pos { line: 2, column: 4 });
        assert_eq!(scalar(&entries[0].1).resolved(), ScalarType::Int);
        let NodeKind::Seq(items) = &entries[1].1.kind else {
            panic!("not a seq");
        };
        assert_eq!(scalar(&items[0]).resolved(), ScalarType::Str);
        assert_eq!(scalar(&items[0]).raw.as_deref(), Some("\"5\""));
        assert_eq!(
            items[1].pos,
            Pos {
                line: 3,
                column: 10
            }
        );
        assert_eq!(scalar(&entries[2].1).resolved(), ScalarType::Null);
    }

    #[test]
    fn aliases_copy_the_anchored_node() {
        let parsed = parse("a: &x {k: v}\nb: *x\n").unwrap();
        let Some(Node {
            kind: NodeKind::Map(entries),
            ..
        }) = parsed.root
        else {
            panic!("not a map");
        };
        assert_eq!(entries[0].1.kind, entries[1].1.kind);
    }

    #[test]
    fn duplicate_keys_and_second_documents_are_reported() {
        let parsed = parse("a: 1\na: 2\n").unwrap();
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].pos, Pos { line: 2, column: 1 });
        let err = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(err.pos, Pos { line: 2, column: 1 });
    }

    #[test]
    fn alias_expansion_is_bounded() {
        // Each level doubles what the last alias copies: ten levels of ten aliases would
        // be 10^10 nodes.
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let prev = level - 1;
            let aliases = vec![format!("*a{prev}"); 10].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{aliases}]\n"));
        }
        let err = parse(&text).unwrap_err();
        assert!(
            err.message.contains("YAML aliases expand too much"),
            "{err:?}"
        );
        assert!(err.pos.line > 1, "{err:?}");
        // A few aliases of a small node are fine.
        assert!(parse("a: &x {k: v}\nb: *x\nc: *x\n").is_ok());
    }

    #[test]
    fn an_empty_file_has_no_root() {
        assert_eq!(parse("# only a comment\n").unwrap().root, None);
    }
}

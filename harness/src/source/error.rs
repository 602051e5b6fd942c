//! Errors found while loading a scenario or target profile file, each with the file and
//! (usually) a position, shown as `file:line:column: message` and then the lines around it
//! with a caret under the position.

use std::fmt;
use std::path::{Path, PathBuf};

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource};

use super::Location;

/// One problem in one scenario file (or with a path given on the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// Where the problem is, when it is inside a file.
    pub location: Option<Location>,
    /// The file or directory the problem is about.
    pub path: PathBuf,
    /// What is wrong, in one line.
    pub message: String,
}

impl LoadError {
    /// A problem at a position in a file.
    pub fn at(location: Location, message: impl Into<String>) -> Self {
        LoadError {
            path: location.file.clone(),
            location: Some(location),
            message: message.into(),
        }
    }

    /// A problem with a path as a whole (missing, unreadable, empty directory).
    pub fn for_path(path: &Path, message: impl Into<String>) -> Self {
        LoadError {
            location: None,
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

impl LoadError {
    /// The lines around the problem with a caret under its position (miette's rendering,
    /// without colours), read from the file again; `None` without a position or when the
    /// file cannot be read any more.
    pub fn excerpt(&self) -> Option<String> {
        let location = self.location.as_ref()?;
        let bytes = std::fs::read(&location.file).ok()?;
        let source = String::from_utf8_lossy(&bytes).into_owned();
        let offset = byte_offset(&source, location.line, location.column);
        let len = source[offset..].chars().next().map_or(0, char::len_utf8);
        let diagnostic = MietteDiagnostic::new(self.message.clone())
            .with_label(LabeledSpan::new_with_span(None, offset..offset + len));
        let report = miette::Report::new(diagnostic).with_source_code(NamedSource::new(
            location.file.display().to_string(),
            source,
        ));
        let mut out = String::new();
        GraphicalReportHandler::new_themed(GraphicalTheme::none())
            .with_links(false)
            .with_context_lines(1)
            .with_width(100)
            .render_report(&mut out, report.as_ref())
            .ok()?;
        // miette's header repeats the message, which the first line already says.
        let lines: Vec<&str> = out
            .lines()
            .skip_while(|l| !l.trim_start().starts_with(",-["))
            .map(str::trim_end)
            .collect();
        (!lines.is_empty()).then(|| lines.join("\n"))
    }
}

/// The byte offset of a 1-based line and column (in characters); the end of the text when
/// the position is beyond it.
fn byte_offset(source: &str, line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match source[start..].find('\n') {
            Some(nl) => start += nl + 1,
            None => return source.len(),
        }
    }
    let rest = &source[start..];
    let line_end = rest.find('\n').unwrap_or(rest.len());
    rest[..line_end]
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(start + line_end, |(i, _)| start + i)
}

/// `file:line:column: message` (`{:#}` adds the excerpt with a caret below it).
impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(location) => write!(f, "{location}: {}", self.message)?,
            None => write!(f, "{}: {}", self.path.display(), self.message)?,
        }
        if f.alternate()
            && let Some(excerpt) = self.excerpt()
        {
            write!(f, "\n{excerpt}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// Every problem found in a set of scenario files; nothing runs while there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadErrors(pub Vec<LoadError>);

impl LoadErrors {
    /// The problems, in file order and then position order.
    pub fn iter(&self) -> std::slice::Iter<'_, LoadError> {
        self.0.iter()
    }

    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no problem (never the case for a returned error).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a LoadErrors {
    type Item = &'a LoadError;
    type IntoIter = std::slice::Iter<'a, LoadError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// One problem per line; with `{:#}`, each followed by its excerpt (see
/// [`LoadError::excerpt`]), so the first line is still `file:line:column: message`.
impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if f.alternate() {
                write!(f, "{error:#}")?;
            } else {
                write!(f, "{error}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for LoadErrors {}

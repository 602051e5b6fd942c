//! Input files read with positions, shared by scenario files and target profiles: a YAML tree
//! with a position on every node (`yaml`), typed readers that record every problem where it
//! is (`decode`), and load errors shown as `file:line:column: message` with the lines around
//! the position and a caret under it ([`error`]).

pub(crate) mod decode;
pub mod error;
pub(crate) mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};

pub use error::{LoadError, LoadErrors};

use crate::input::{self, ReadError};

/// Where something was written: a file, line and column (1-based).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The file, as it was given on the command line or found in the directory.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// The text of a scenario or profile file, or why it cannot be had: not a regular file, too
/// large, or not UTF-8 (then at the position of the first bad byte).
pub(crate) fn read_source(file: &Path) -> Result<String, LoadError> {
    input::read_text(file, input::MAX_FILE_BYTES).map_err(|e| match e {
        ReadError::InvalidUtf8 { line, column, .. } => LoadError::at(
            Location {
                file: file.to_path_buf(),
                line,
                column,
            },
            e.to_string(),
        ),
        other => LoadError::for_path(file, format!("cannot read: {other}")),
    })
}

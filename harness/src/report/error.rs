//! What can go wrong while writing or reading a report file.

use std::path::PathBuf;

/// An error of a file reporter (JUnit, JSON).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The directory the report goes into could not be created.
    #[error("cannot create the report directory {}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The report file could not be written.
    #[error("cannot write the report {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The report file could not be read.
    #[error("cannot read the report {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why (also: not a regular file, or larger than the cap).
        source: crate::input::ReadError,
    },
    /// The file is not a JSON run report.
    #[error("{} is not a rolecheck JSON run report", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// The report could not be serialised as JSON.
    #[error("cannot serialise the run report as JSON")]
    Serialize {
        /// Why.
        source: serde_json::Error,
    },
    /// The run's start time is not an RFC 3339 timestamp.
    #[error("the run's started_at `{value}` is not an RFC 3339 timestamp")]
    Timestamp {
        /// The value found.
        value: String,
        /// Why.
        source: chrono::ParseError,
    },
}

/// Creates the parent directory of `path` if it has one.
pub(crate) fn create_parent(path: &std::path::Path) -> Result<(), ReportError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| ReportError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })
        }
        _ => Ok(()),
    }
}

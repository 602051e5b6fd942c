//! The JSON report: the whole [`RunReport`], pretty-printed, readable back (`--rerun-failed`).

use std::io::Write;
use std::path::Path;

use super::error::{ReportError, create_parent};
use super::model::RunReport;

/// Writes the report as pretty JSON to `path`, creating its parent directories.
pub fn write_json(report: &RunReport, path: &Path) -> Result<(), ReportError> {
    let mut json =
        serde_json::to_vec_pretty(report).map_err(|source| ReportError::Serialize { source })?;
    json.push(b'\n');
    create_parent(path)?;
    let write_err = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::create(path).map_err(write_err)?;
    file.write_all(&json).map_err(write_err)?;
    file.sync_all().map_err(write_err)
}

/// The largest JSON report read back (a run of thousands of scenarios stays far below it).
const MAX_REPORT_BYTES: u64 = 256 * 1024 * 1024;

/// Reads a report written by [`write_json`] (a regular file of at most 256 MiB).
pub fn read_json(path: &Path) -> Result<RunReport, ReportError> {
    let bytes =
        crate::input::read_bytes(path, MAX_REPORT_BYTES).map_err(|source| ReportError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    serde_json::from_slice(&bytes).map_err(|source| ReportError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

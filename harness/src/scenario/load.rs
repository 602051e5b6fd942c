//! Finding scenario files, reading them, and checking the set as a whole.
//!
//! Every file is read and checked even after a problem, so one run of the loader reports
//! every error of every file; nothing runs while there is one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::document::{self, Decoded};
use super::loaded::Scenario;
use crate::source::decode::Ctx;
pub use crate::source::{LoadError, LoadErrors};
use crate::source::{Location, read_source, yaml};

/// Load and check the scenarios in `paths`, in order.
///
/// Each path is a scenario file or a directory; a directory contributes its `*.yaml` and
/// `*.yml` files (not those of sub-directories), sorted by file name. Scenario names must be
/// unique across the whole set. On any problem, every problem found is returned.
pub fn load_paths(paths: &[PathBuf]) -> Result<Vec<Scenario>, LoadErrors> {
    let mut errors = Vec::new();
    let mut files = Vec::new();
    for path in paths {
        match scenario_files(path) {
            Ok(found) => files.extend(found),
            Err(e) => errors.push(e),
        }
    }

    let mut scenarios = Vec::new();
    let mut first_seen: BTreeMap<String, Location> = BTreeMap::new();
    for file in &files {
        let (decoded, file_errors) = load_file(file);
        errors.extend(file_errors);
        let Some(Decoded {
            scenario,
            name_location,
        }) = decoded
        else {
            continue;
        };
        if let Some(first) = first_seen.get(&scenario.name) {
            errors.push(LoadError::at(
                name_location,
                format!(
                    "duplicate scenario name `{}` (first defined at {first})",
                    scenario.name
                ),
            ));
            continue;
        }
        first_seen.insert(scenario.name.clone(), name_location);
        scenarios.push(scenario);
    }

    if errors.is_empty() {
        Ok(scenarios)
    } else {
        Err(LoadErrors(errors))
    }
}

/// Load and check a single scenario text, as if read from `file`.
pub fn load_str(file: &Path, source: &str) -> Result<Scenario, LoadErrors> {
    match decode_source(file, source) {
        (Some(decoded), errors) if errors.is_empty() => Ok(decoded.scenario),
        (_, errors) => Err(LoadErrors(errors)),
    }
}

/// The scenario files a command-line path stands for.
fn scenario_files(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let metadata = std::fs::metadata(path)
        .map_err(|e| LoadError::for_path(path, format!("cannot read: {e}")))?;
    if !metadata.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path)
        .map_err(|e| LoadError::for_path(path, format!("cannot list directory: {e}")))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry =
            entry.map_err(|e| LoadError::for_path(path, format!("cannot list directory: {e}")))?;
        let file = entry.path();
        let is_yaml = file
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml");
        if is_yaml && !file.is_dir() {
            files.push(file);
        }
    }
    if files.is_empty() {
        return Err(LoadError::for_path(
            path,
            "no scenario files (`*.yaml` or `*.yml`) in this directory",
        ));
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// Read and decode one file (a regular file of at most [`crate::input::MAX_FILE_BYTES`]).
fn load_file(file: &Path) -> (Option<Decoded>, Vec<LoadError>) {
    match read_source(file) {
        Ok(source) => decode_source(file, &source),
        Err(e) => (None, vec![e]),
    }
}

/// Parse and decode one file's text; the errors come sorted by position.
fn decode_source(file: &Path, source: &str) -> (Option<Decoded>, Vec<LoadError>) {
    let mut ctx = Ctx::new(file);
    let parsed = match yaml::parse(source) {
        Ok(parsed) => parsed,
        Err(e) => {
            ctx.error(e.pos, e.message);
            return (None, ctx.errors);
        }
    };
    for problem in parsed.problems {
        ctx.error(problem.pos, problem.message);
    }
    let decoded = match &parsed.root {
        Some(root) => document::scenario(&mut ctx, root),
        None => {
            ctx.error(
                yaml::Pos::START,
                "the file is empty; a scenario needs `name`, `description`, `rules` and `steps`",
            );
            None
        }
    };
    let mut errors = ctx.errors;
    errors.sort_by(|a, b| a.location.cmp(&b.location));
    let decoded = if errors.is_empty() { decoded } else { None };
    (decoded, errors)
}

//! Joining several JSON run reports (the shards of a `--partition` run) into one.
//!
//! The merged report holds every scenario of every input, sorted by file and name, with the
//! rule verdicts recomputed from them (a rule that passed in one shard and failed in another
//! fails). Run ids are joined with `+`, the start time is the earliest, the duration the
//! longest (shards run side by side), leftovers and re-runs are concatenated.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::model::RunReport;
use super::verdict::rule_verdicts;

/// Why reports could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no report to merge")]
    Empty,
    /// The reports come from different targets.
    #[error("{} is a run on target `{found}`, but {} is one on `{expected}`", found_in.display(), first.display())]
    Targets {
        /// The first report.
        first: PathBuf,
        /// Its target.
        expected: String,
        /// The report on another target.
        found_in: PathBuf,
        /// That target.
        found: String,
    },
    /// The same scenario appears in two reports (overlapping shards).
    #[error("scenario `{name}` is in both {} and {}", first.display(), second.display())]
    Duplicate {
        /// The scenario.
        name: String,
        /// The first report holding it.
        first: PathBuf,
        /// The second.
        second: PathBuf,
    },
}

/// Merges reports read from the given files (the paths only name them in errors).
pub fn merge(reports: Vec<(PathBuf, RunReport)>) -> Result<RunReport, MergeError> {
    let mut iter = reports.into_iter();
    let (first_path, mut merged) = iter.next().ok_or(MergeError::Empty)?;
    let mut owners: BTreeMap<String, PathBuf> = merged
        .scenarios
        .iter()
        .map(|s| (s.name.clone(), first_path.clone()))
        .collect();
    for (path, report) in iter {
        if report.target != merged.target {
            return Err(MergeError::Targets {
                first: first_path,
                expected: merged.target,
                found_in: path,
                found: report.target,
            });
        }
        for s in &report.scenarios {
            if let Some(owner) = owners.get(&s.name) {
                return Err(MergeError::Duplicate {
                    name: s.name.clone(),
                    first: owner.clone(),
                    second: path,
                });
            }
            owners.insert(s.name.clone(), path.clone());
        }
        merged.run_id = format!("{}+{}", merged.run_id, report.run_id);
        if earlier(&report.started_at, &merged.started_at) {
            merged.started_at = report.started_at;
        }
        merged.duration = merged.duration.max(report.duration);
        merged.scenarios.extend(report.scenarios);
        merged.leftovers.extend(report.leftovers);
        merged.reruns.extend(report.reruns);
        merged.interrupted |= report.interrupted;
    }
    merged
        .scenarios
        .sort_by(|a, b| (&a.file, &a.name).cmp(&(&b.file, &b.name)));
    merged.rules = rule_verdicts(&merged.scenarios);
    Ok(merged)
}

/// Whether RFC 3339 time `a` is before `b` (as text when either does not parse).
fn earlier(a: &str, b: &str) -> bool {
    match (
        chrono::DateTime::parse_from_rfc3339(a),
        chrono::DateTime::parse_from_rfc3339(b),
    ) {
        (Ok(a), Ok(b)) => a < b,
        _ => a < b,
    }
}

/// The files a merged report is written to inside its output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedPaths {
    /// `OUT_DIR/junit.xml`.
    pub junit: PathBuf,
    /// `OUT_DIR/results.json`.
    pub json: PathBuf,
    /// `OUT_DIR/index.html`.
    pub html: PathBuf,
}

impl MergedPaths {
    /// The report files inside `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            junit: dir.join("junit.xml"),
            json: dir.join("results.json"),
            html: dir.join("index.html"),
        }
    }
}

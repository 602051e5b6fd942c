//! One run at a time per reports directory: a run holds an exclusive lock on
//! `<dir>/.rolecheck.lock` in every directory it writes reports to, from before the target
//! starts until its reports are written. A second run in the same directory stops at once
//! with a clear message (exit 2) instead of overwriting the first run's reports.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

/// The name of the lock file in a reports directory.
pub const LOCK_FILE: &str = ".rolecheck.lock";

/// Why the reports directories could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds the lock.
    #[error(
        "another rolecheck run{holder} is writing reports to {}; wait for it to finish, or give this run other report paths (--junit, --json, --html)",
        dir.display()
    )]
    Busy {
        /// The directory.
        dir: PathBuf,
        /// ` (pid N)` when the holder wrote its pid, else empty.
        holder: String,
    },
    /// The lock file could not be created or locked.
    #[error("cannot lock the reports directory {}: {source}", dir.display())]
    Io {
        /// The directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Held locks; released when dropped (and by the system when the process ends, however).
#[derive(Debug)]
pub struct ReportsLock {
    _files: Vec<File>,
}

impl ReportsLock {
    /// Locks the directories of `reports` (each once), creating them when missing.
    pub fn take<'a>(reports: impl IntoIterator<Item = &'a Path>) -> Result<Self, LockError> {
        let dirs: BTreeSet<PathBuf> = reports
            .into_iter()
            .map(|p| match p.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
                _ => PathBuf::from("."),
            })
            .collect();
        let mut files = Vec::new();
        for dir in dirs {
            files.push(lock_dir(&dir)?);
        }
        Ok(Self { _files: files })
    }
}

fn lock_dir(dir: &Path) -> Result<File, LockError> {
    let io = |source| LockError::Io {
        dir: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(LOCK_FILE))
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            let holder = match file.read_to_string(&mut text) {
                Ok(_) if !text.trim().is_empty() => format!(" (pid {})", text.trim()),
                _ => String::new(),
            };
            return Err(LockError::Busy {
                dir: dir.to_path_buf(),
                holder,
            });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    write!(file, "{}", std::process::id()).map_err(io)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_directory_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("results.json");
        let junit = dir.path().join("junit.xml");
        let first = ReportsLock::take([json.as_path(), junit.as_path()]).unwrap();
        let err = ReportsLock::take([json.as_path()]).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, LockError::Busy { .. }), "{text}");
        assert!(text.contains(&dir.path().display().to_string()), "{text}");
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(first);
        ReportsLock::take([json.as_path()]).unwrap();
    }
}

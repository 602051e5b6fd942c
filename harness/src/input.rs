//! Reading the files a user hands the harness (scenario files, target profiles, JSON
//! reports): regular files only, never more than a size cap, and text checked as UTF-8.
//!
//! `std::fs::read` on a FIFO blocks until a writer appears, and on `/dev/zero` (or a symlink
//! to it) never ends. Every user-named file is therefore opened without blocking, checked to
//! be a regular file on the opened handle, and read through a cap.

use std::fs::{File, Metadata, OpenOptions};
use std::io::Read as _;
use std::path::Path;

/// The largest scenario or profile file read (10 MiB): far more than any real one.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Not a regular file (a directory, FIFO, socket or device).
    #[error("not a regular file ({kind}); only regular files are read")]
    NotRegular {
        /// What it is instead.
        kind: &'static str,
    },
    /// Larger than the cap.
    #[error("the file is larger than {} MiB, the most that is read", limit / (1024 * 1024))]
    TooLarge {
        /// The cap in bytes.
        limit: u64,
    },
    /// The text is not UTF-8.
    #[error(
        "invalid UTF-8 at byte offset {offset} (line {line}, column {column}); the file must be UTF-8 text"
    )]
    InvalidUtf8 {
        /// Byte offset of the first byte that is not UTF-8.
        offset: usize,
        /// 1-based line of that byte.
        line: usize,
        /// 1-based column (in characters) of that byte.
        column: usize,
    },
    /// The operating system refused.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The bytes of the regular file at `path` (symlinks followed), at most `limit` of them.
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    // A FIFO or device is refused before it is even opened; the opened handle is checked
    // again, since the path may have changed in between.
    check_regular(&std::fs::metadata(path)?)?;
    let file = open_nonblocking(path)?;
    let metadata = file.metadata()?;
    check_regular(&metadata)?;
    if metadata.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// The UTF-8 text of the regular file at `path`, at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    let bytes = read_bytes(path, limit)?;
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let valid = &e.as_bytes()[..offset];
        // The prefix is valid UTF-8 by definition of `valid_up_to`.
        let before = std::str::from_utf8(valid).unwrap_or_default();
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        ReadError::InvalidUtf8 {
            offset,
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    })
}

fn check_regular(metadata: &Metadata) -> Result<(), ReadError> {
    let file_type = metadata.file_type();
    if file_type.is_file() {
        return Ok(());
    }
    let kind = if file_type.is_dir() {
        "a directory"
    } else {
        special_kind(&file_type)
    };
    Err(ReadError::NotRegular { kind })
}

#[cfg(unix)]
fn special_kind(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "a special file"
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    // O_NONBLOCK: opening a FIFO that replaced the file does not wait for a writer.
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().read(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_regular_file_within_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.yaml");
        std::fs::write(&path, "name: a\n").unwrap();
        assert_eq!(read_text(&path, 100).unwrap(), "name: a\n");
        assert!(matches!(
            read_text(&path, 4),
            Err(ReadError::TooLarge { limit: 4 })
        ));
    }

    #[test]
    fn invalid_utf8_names_its_offset_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.yaml");
        std::fs::write(&path, b"a: 1\nbb: \xc3\x28\n").unwrap();
        let err = read_text(&path, 100).unwrap_err();
        assert!(
            matches!(
                err,
                ReadError::InvalidUtf8 {
                    offset: 9,
                    line: 2,
                    column: 5
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_directory_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_text(dir.path(), 100).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not a regular file (a directory); only regular files are read"
        );
    }
}

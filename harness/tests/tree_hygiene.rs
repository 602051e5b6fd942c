//! The tree names no development machine's absolute path: a path such as `/work/...` or
//! `/root/...` in a source comment or a fixture only holds on the machine that wrote it
//! (issue 10). Paths under `/tmp`, `/var/run` or `/etc` that the product itself uses are fine.

use std::path::{Path, PathBuf};

/// Prefixes of home and work directories of development machines.
const MACHINE_PATHS: &[&str] = &["/work/", "/root/", "/home/", "/Users/"];

/// Directories that are not the project's own text (build output, virtualenvs, VCS data).
fn skipped(dir: &Path) -> bool {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    name == "target" || name == "reports" || name.starts_with('.')
}

fn text_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !skipped(&path) {
                text_files(&path, out);
            }
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("rs" | "toml" | "md" | "sh" | "yaml" | "yml" | "json" | "err")
        ) || path.file_name().is_some_and(|n| n == "Makefile")
        {
            out.push(path);
        }
    }
}

#[test]
fn no_file_names_a_development_machines_path() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    text_files(&root, &mut files);
    assert!(
        files.len() > 100,
        "the walk found the tree ({} files)",
        files.len()
    );
    let this_file = Path::new(file!()).file_name().unwrap();
    let mut found = Vec::new();
    for file in files.iter().filter(|f| f.file_name() != Some(this_file)) {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            if MACHINE_PATHS.iter().any(|p| line.contains(p)) {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "machine paths:\n{}", found.join("\n"));
}

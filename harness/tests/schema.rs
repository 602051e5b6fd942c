//! The JSON Schemas and the README's step reference, made from the step registry: the
//! checked-in copies are current, the schema accepts the suite and refuses the bad fixtures.
//!
//! `ROLECHECK_BLESS=1 cargo test -p rolecheck --test schema` rewrites the checked-in schemas
//! and the README's step reference from the registry.

use std::path::{Path, PathBuf};

use rolecheck::schema::{
    PROFILE_SCHEMA_PATH, SCENARIO_SCHEMA_PATH, profile_schema, scenario_schema, to_text,
};
use rolecheck::steps::reference;
use serde_json::Value;

/// Bad fixtures the schema cannot refuse, and why: only the loader knows these.
const ONLY_THE_LOADER_REFUSES: &[(&str, &str)] = &[
    (
        "huge-durations.yaml",
        "a duration's size (at most 24h) is a number, not a form",
    ),
    (
        "rule-without-step.yaml",
        "which rules a step checks depends on its kind, expectation and role",
    ),
    (
        "unknown-var.yaml",
        "a placeholder's name is checked against the file's own vars",
    ),
];

/// Bad fixtures that are not a YAML document at all: refused before any schema applies.
const NOT_YAML: &[&str] = &[
    "billion-laughs.yaml",
    "deep-nesting.yaml",
    "invalid-utf8.yaml",
    "syntax.yaml",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no YAML files in {dir}");
    files
}

fn blessing() -> bool {
    std::env::var_os("ROLECHECK_BLESS").is_some_and(|v| v == "1")
}

/// The checked-in `path` holds `expected`, or is rewritten to it when blessing.
fn check_current(path: &Path, expected: &str) {
    if blessing() {
        std::fs::write(path, expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is not current; run `ROLECHECK_BLESS=1 cargo test -p rolecheck --test schema`",
        path.display()
    );
}

#[test]
fn checked_in_schemas_are_current() {
    check_current(
        &root().join(SCENARIO_SCHEMA_PATH),
        &to_text(&scenario_schema()),
    );
    check_current(
        &root().join(PROFILE_SCHEMA_PATH),
        &to_text(&profile_schema()),
    );
}

#[test]
fn readme_step_reference_is_current() {
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let begin = readme
        .find(reference::BEGIN)
        .expect("the README has the BEGIN marker");
    let end = readme
        .find(reference::END)
        .expect("the README has the END marker");
    assert!(begin < end);
    let expected = format!(
        "{}{}\n{}{}",
        &readme[..begin + reference::BEGIN.len() + 1],
        reference::markdown(),
        reference::END,
        &readme[end + reference::END.len()..]
    );
    check_current(&path, &expected);
}

fn as_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read(path).map_err(|e| e.to_string())?;
    let text = String::from_utf8(text).map_err(|e| e.to_string())?;
    serde_saphyr::from_str::<Value>(&text).map_err(|e| e.to_string())
}

fn schema_errors(validator: &jsonschema::Validator, path: &Path) -> Vec<String> {
    let value = as_json(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    validator
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema() {
    for schema in [scenario_schema(), profile_schema()] {
        jsonschema::draft202012::meta::validate(&schema).unwrap();
    }
}

#[test]
fn the_scenario_schema_accepts_every_scenario_of_the_suite_and_the_good_fixtures() {
    let validator = jsonschema::draft202012::new(&scenario_schema()).unwrap();
    let mut files = yaml_files("scenarios");
    files.extend(yaml_files("fixtures/scenarios-good"));
    let refused: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let errors = schema_errors(&validator, path);
            (!errors.is_empty()).then(|| format!("{}: {}", path.display(), errors.join("; ")))
        })
        .collect();
    assert!(refused.is_empty(), "{}", refused.join("\n"));
}

#[test]
fn the_scenario_schema_refuses_every_bad_fixture_that_is_a_yaml_document() {
    let validator = jsonschema::draft202012::new(&scenario_schema()).unwrap();
    let mut wrong = Vec::new();
    for path in yaml_files("fixtures/scenarios-bad") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Ok(value) = as_json(&path) else {
            if !NOT_YAML.contains(&name.as_str()) {
                wrong.push(format!(
                    "{name}: not a YAML document, but not listed in NOT_YAML"
                ));
            }
            continue;
        };
        if NOT_YAML.contains(&name.as_str()) {
            wrong.push(format!("{name}: listed in NOT_YAML but parses"));
        }
        let refused = !validator.is_valid(&value);
        let loader_only = ONLY_THE_LOADER_REFUSES.iter().any(|(n, _)| *n == name);
        match (refused, loader_only) {
            (true, false) | (false, true) => {}
            (false, false) => wrong.push(format!("{name}: the schema accepts it")),
            (true, true) => wrong.push(format!(
                "{name}: the schema refuses it; take it out of ONLY_THE_LOADER_REFUSES"
            )),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_profile_schema_accepts_every_built_in_profile() {
    let validator = jsonschema::draft202012::new(&profile_schema()).unwrap();
    let refused: Vec<String> = yaml_files("fixtures/targets")
        .iter()
        .filter_map(|path| {
            let errors = schema_errors(&validator, path);
            (!errors.is_empty()).then(|| format!("{}: {}", path.display(), errors.join("; ")))
        })
        .collect();
    assert!(refused.is_empty(), "{}", refused.join("\n"));
}

#[test]
fn every_scenario_names_the_schema_for_editors() {
    let line = format!("# yaml-language-server: $schema=../{SCENARIO_SCHEMA_PATH}");
    for path in yaml_files("scenarios") {
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines().next(),
            Some(line.as_str()),
            "{} does not start with the schema line",
            path.display()
        );
    }
}

#[test]
fn the_schema_command_prints_the_scenario_schema() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .arg("schema")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        to_text(&scenario_schema())
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .args(["schema", "profile"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        to_text(&profile_schema())
    );
}

//! Every kind of bad scenario file is refused with the exact position and a clear message.

use std::path::{Path, PathBuf};

use rolecheck::scenario::{LoadErrors, load_paths};
use rstest::rstest;

/// The first lines of a valid scenario: `steps:` is on line 4, the first step on line 5.
const HEAD: &str = "name: t\ndescription: d\nrules: [R1]\n";

/// A valid scenario whose steps are `steps` (each line indented under `steps:`).
fn with_steps(steps: &str) -> String {
    format!("{HEAD}steps:\n{steps}")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn load_text(text: &str) -> (PathBuf, LoadErrors, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "s.yaml", text);
    let errors = load_paths(std::slice::from_ref(&path)).unwrap_err();
    (path, errors, dir)
}

#[rstest]
#[case::yaml_syntax("name: \"abc\ndescription: d\n", "1:7", "YAML syntax error")]
#[case::yaml_bad_indent("name: t\n  description: d\n", "2:14", "YAML syntax error")]
#[case::empty_file("# nothing here\n", "1:1", "the file is empty")]
#[case::second_document(&format!("{HEAD}steps: []\n---\nname: u\n"), "5:1", "exactly one YAML document")]
#[case::not_a_mapping("- a\n- b\n", "1:1", "the scenario: expected a mapping, found a list")]
#[case::unknown_top_level_key(&format!("{HEAD}step:\n  - delete_deployment: {{release: x}}\n"), "4:1", "unknown key `step` in the scenario (did you mean `steps`?)")]
#[case::duplicate_key(
    "name: t\nname: u\ndescription: d\nrules: [R1]\nsteps: [{delete_deployment: {release: x}}]\n",
    "2:1",
    "duplicate key `name` (first at line 1, column 1)"
)]
#[case::missing_description(
    "name: t\nrules: [R1]\nsteps: [{delete_deployment: {release: x}}]\n",
    "1:1",
    "missing required field `description` in the scenario"
)]
#[case::missing_steps(HEAD, "1:1", "missing required field `steps`")]
#[case::empty_steps(&format!("{HEAD}steps: []\n"), "4:8", "steps: a scenario needs at least one step")]
#[case::bad_name(
    "name: Not_Valid\ndescription: d\nrules: [R1]\nsteps: [{delete_deployment: {release: x}}]\n",
    "1:7",
    "invalid scenario name `Not_Valid`"
)]
#[case::rules_not_a_list(
    "name: t\ndescription: d\nrules: R2\nsteps: [{delete_deployment: {release: x}}]\n",
    "3:8",
    "rules: expected a list, found a string"
)]
#[case::rules_empty(
    "name: t\ndescription: d\nrules: []\nsteps: [{delete_deployment: {release: x}}]\n",
    "3:8",
    "list at least one rule"
)]
#[case::rule_r0(
    "name: t\ndescription: d\nrules: [R2, R0]\nsteps: [{delete_deployment: {release: x}}]\n",
    "3:13",
    "unknown rule id `R0`"
)]
#[case::rule_r17(
    "name: t\ndescription: d\nrules: [R17]\nsteps: [{delete_deployment: {release: x}}]\n",
    "3:9",
    "unknown rule id `R17`"
)]
#[case::rule_x1(
    "name: t\ndescription: d\nrules: [X1]\nsteps: [{delete_deployment: {release: x}}]\n",
    "3:9",
    "unknown rule id `X1`"
)]
#[case::rule_twice(
    "name: t\ndescription: d\nrules: [R1, R1]\nsteps: [{delete_deployment: {release: x}}]\n",
    "3:13",
    "rule `R1` is listed twice"
)]
#[case::unknown_capability(&format!("{HEAD}requires: [platform-api, webhok]\nsteps: [{{delete_deployment: {{release: x}}}}]\n"), "4:26", "unknown capability `webhok` (did you mean `webhook`?)")]
#[case::unknown_step_kind(&with_steps("  - create_deploy: {release: x}\n"), "5:5", "unknown step kind `create_deploy` (did you mean `create_deployment`?)")]
#[case::step_with_two_keys(&with_steps("  - delete_deployment: {release: x}\n    timeout: 5s\n"), "6:5", "a step is a one-key mapping, but this one has `delete_deployment` and `timeout`")]
#[case::step_not_a_mapping(&with_steps("  - 42\n"), "5:5", "a step is a one-key mapping naming its kind")]
#[case::step_without_fields(&with_steps("  - delete_deployment\n"), "5:5", "step `delete_deployment` needs its fields")]
#[case::unknown_step_field(&with_steps("  - delete_deployment: {relase: x}\n"), "5:25", "unknown key `relase` in step `delete_deployment` (did you mean `release`?)")]
#[case::missing_step_field(&with_steps("  - expect_credentials: {components: [worker]}\n"), "5:25", "missing required field `role` in step `expect_credentials`")]
#[case::missing_field_block(&with_steps("  - create_service_account:\n      namespace: ns\n"), "6:7", "missing required field `name` in step `create_service_account`")]
#[case::timeout_without_unit(&with_steps("  - delete_deployment: {release: x, timeout: 5}\n"), "5:46", "timeout: expected a duration with a unit such as `30s`")]
#[case::timeout_bad_unit(&with_steps("  - delete_deployment: {release: x, timeout: 5 parsecs}\n"), "5:46", "invalid duration `5 parsecs`")]
#[case::expiration_not_integer(&with_steps("  - assume_role: {release: x, component: worker, role: r, expiration_seconds: abc}\n"), "5:79", "expiration_seconds: expected an integer, found a string `abc`")]
#[case::expiration_negative(&with_steps("  - assume_role: {release: x, component: worker, role: r, expiration_seconds: -5}\n"), "5:79", "must be positive")]
#[case::unknown_component(&with_steps("  - expect_pods: {release: x, components: [webserver, workr]}\n"), "5:55", "unknown component `workr` (did you mean `worker`?)")]
#[case::empty_components(&with_steps("  - expect_pods: {release: x, components: []}\n"), "5:43", "components: the list is empty")]
#[case::unknown_executor(&with_steps("  - create_deployment: {release: x, executor: celry}\n"), "5:47", "unknown executor `celry` (did you mean `celery`?)")]
#[case::unknown_actor(&with_steps("  - delete_deployment: {release: x, as: root}\n"), "5:41", "unknown actor `root`; expected `admin`, `editor` or `viewer`")]
#[case::unknown_expect_value(&with_steps("  - delete_deployment: {release: x, expect: succes}\n"), "5:45", "unknown expect value `succes` (did you mean `success`?)")]
#[case::unknown_platform_error(&with_steps("  - delete_deployment: {release: x, expect: {error: forbiden}}\n"), "5:53", "unknown platform error `forbiden`")]
#[case::sts_error_on_platform_step(&with_steps("  - delete_deployment: {release: x, expect: {sts_error: AccessDenied}}\n"), "5:46", "`expect: {sts_error: ...}` does not apply to step `delete_deployment`")]
#[case::error_on_check_step(&with_steps("  - expect_pods: {release: x, expect: allowed}\n"), "5:39", "unknown expect value `allowed`")]
#[case::unknown_tamper(&with_steps("  - assume_role: {release: x, component: worker, role: r, tamper: yes}\n"), "5:67", "unknown tamper `yes`")]
#[case::assume_role_two_sources(&with_steps("  - assume_role: {release: x, component: worker, service_account: {namespace: n, name: s}, role: r}\n"), "5:50", "give either `release` + `component` or `service_account`, not both")]
#[case::assume_role_no_source(&with_steps("  - assume_role: {role: r}\n"), "5:18", "missing token source")]
#[case::assume_role_no_component(&with_steps("  - assume_role: {release: x, role: r}\n"), "5:18", "missing required field `component`")]
#[case::token_volume_missing_audience(&with_steps("  - expect_pods: {release: x, token_volume: {name: v, mount_path: /p}}\n"), "5:45", "missing required field `audience` in token_volume")]
#[case::token_volume_absent_mixed(&with_steps("  - expect_pods: {release: x, token_volume: {absent: v, name: v}}\n"), "5:57", "unknown key `name` in token_volume `{absent: ...}`")]
#[case::unknown_placeholder(&with_steps("  - delete_deployment: {release: \"rc-{{relaese}}\"}\n"), "5:38", "unknown variable `relaese` (did you mean `release`?)")]
#[case::unknown_placeholder_block(&with_steps("  - delete_deployment:\n      release: >-\n        a\n        {{nope}}\n"), "8:9", "unknown variable `nope`")]
#[case::unterminated_placeholder(&with_steps("  - delete_deployment: {release: \"a{{release\"}\n"), "5:36", "unterminated placeholder")]
#[case::invalid_placeholder(&with_steps("  - delete_deployment: {release: \"{{rel-ease}}\"}\n"), "5:35", "invalid placeholder `{{rel-ease}}`")]
#[case::var_uses_var(&format!("{HEAD}vars:\n  a: x\n  b: \"{{{{a}}}}-y\"\nsteps: [{{delete_deployment: {{release: \"{{{{b}}}}\"}}}}]\n"), "6:7", "`{{a}}` names another var; a var's value may only use the built-ins")]
#[case::var_shadows_builtin(&format!("{HEAD}vars:\n  release: x\nsteps: [{{delete_deployment: {{release: x}}}}]\n"), "5:3", "var `release` would shadow the built-in")]
#[case::var_unknown_builtin(&format!("{HEAD}vars:\n  r: \"{{{{acount}}}}\"\nsteps: [{{delete_deployment: {{release: x}}}}]\n"), "5:7", "unknown variable `acount` (did you mean `account`?)")]
#[case::template_not_a_string(&with_steps("  - delete_deployment: {release: [a]}\n"), "5:34", "release: expected a string, found a list")]
#[case::cloud_role_boolean(&with_steps("  - update_deployment: {release: x, cloud_role: true}\n"), "5:49", "cloud_role: expected a string, found a boolean")]
#[case::expect_server_version_bad_min(&with_steps("  - expect_server_version: {min: \"1\"}\n"), "5:34", "min: invalid Kubernetes version `1`")]
#[case::expect_server_version_typo(&with_steps("  - expect_server_versoin: {min: \"1.14\"}\n"), "5:5", "unknown step kind `expect_server_versoin` (did you mean `expect_server_version`?)")]
#[case::advance_clock_without_unit(&with_steps("  - advance_clock: {by: 2}\n"), "5:25", "by: expected a duration with a unit")]
#[case::advance_clock_zero(&with_steps("  - advance_clock: {by: 0s}\n"), "5:25", "by: must be longer than zero")]
#[case::advance_clock_missing_by(&with_steps("  - advance_clock: {timeout: 5s}\n"), "5:20", "missing required field `by` in step `advance_clock`")]
#[case::expect_pod_unknown_field(&with_steps("  - expect_pod: {namespace: n, name: p, env_absnt: [A]}\n"), "5:41", "unknown key `env_absnt` in step `expect_pod` (did you mean `env_absent`?)")]
#[case::create_pod_missing_name(&with_steps("  - create_pod: {release: x, component: worker}\n"), "5:17", "missing required field `name` in step `create_pod`")]
#[case::create_pod_unknown_component(&with_steps("  - create_pod: {release: x, component: workers, name: p}\n"), "5:41", "unknown component `workers` (did you mean `worker`?)")]
#[case::token_previous_with_release(&with_steps("  - assume_role: {token: previous, release: x, role: r}\n"), "5:19", "`token: previous` presents the previous step's token; leave out `release`")]
#[case::token_unknown_source(&with_steps("  - assume_role: {token: last, role: r}\n"), "5:26", "unknown token `last`")]
#[case::packages_bad_requirement(&with_steps("  - expect_packages: {release: x, component: worker, packages: {boto3: \"1.9\"}}\n"), "5:72", "packages.boto3: invalid version requirement `1.9`")]
#[case::packages_empty(&with_steps("  - expect_packages: {release: x, component: worker, packages: {}}\n"), "5:64", "packages: the mapping is empty")]
#[case::annotate_empty(&with_steps("  - annotate_service_account: {release: x, component: worker, annotations: {}}\n"), "5:76", "annotations: the mapping is empty")]
#[case::deployment_config_unknown_field(&with_steps("  - expect_deployment_config: {release: x, annotation: {a: b}}\n"), "5:44", "unknown key `annotation` in step `expect_deployment_config` (did you mean `annotations`?)")]
#[case::unknown_capability_clock(&format!("{HEAD}requires: [clock-contrl]\nsteps: [{{advance_clock: {{by: 1h}}}}]\n"), "4:12", "unknown capability `clock-contrl` (did you mean `clock-control`?)")]
#[case::yaml_tag(&with_steps("  - delete_deployment: {release: !!str x}\n"), "5:34", "YAML tags")]
#[case::s3_unknown_action(&with_steps("  - s3_access: {release: x, component: worker, role: r, operations: [{action: put_objct, bucket: b, key: \"k{{run_id}}\", expect: allowed}]}\n"), "5:79", "unknown S3 action `put_objct` (did you mean `put_object`?)")]
#[case::s3_put_key_without_run_id(&with_steps("  - s3_access: {release: x, component: worker, role: r, operations: [{action: put_object, bucket: b, key: k.txt, expect: allowed}]}\n"), "5:107", "key `k.txt` of `put_object` must contain `{{run_id}}`")]
#[case::s3_delete_key_without_run_id(&with_steps("  - s3_access: {release: x, component: worker, role: r, operations: [{action: delete_object, bucket: b, key: k.txt, expect: allowed}]}\n"), "5:110", "key `k.txt` of `delete_object` must contain `{{run_id}}`, so that a run writes and deletes only objects of its own")]
#[case::s3_key_on_bucket_action(&with_steps("  - s3_access: {release: x, component: worker, role: r, operations: [{action: list_bucket, bucket: b, key: k, expect: denied}]}\n"), "5:103", "S3 operation `list_bucket` is on a bucket and takes no `key`")]
#[case::s3_unknown_expectation(&with_steps("  - s3_access: {release: x, component: worker, role: r, operations: [{action: list_bucket, bucket: b, expect: deny}]}\n"), "5:111", "unknown S3 expectation `deny` (did you mean `denied`?)")]
#[case::s3_object_action_without_key(&with_steps("  - s3_access: {release: x, component: worker, role: r, operations: [{action: get_object, bucket: b, expect: allowed}]}\n"), "5:70", "missing required field `key` in S3 operation `get_object`")]
#[case::s3_without_operations(&with_steps("  - s3_access: {release: x, component: worker, role: r}\n"), "5:16", "missing required field `operations` in step `s3_access`")]
fn bad_scenario_is_refused_with_position(
    #[case] text: &str,
    #[case] position: &str,
    #[case] message: &str,
) {
    let (path, errors, _dir) = load_text(text);
    let expected = format!("{}:{position}: ", path.display());
    assert_eq!(
        errors.len(),
        1,
        "expected exactly one error, got:\n{errors}"
    );
    let rendered = errors.to_string();
    assert!(
        rendered.starts_with(&expected) && rendered.contains(message),
        "expected `{expected}...{message}...`, got:\n{rendered}"
    );
}

#[test]
fn every_error_of_every_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.yaml",
        "name: a\ndescription: d\nrules: [R0]\nsteps:\n  - delete_deployment: {release: x, as: root}\n",
    );
    let b = write(dir.path(), "b.yaml", "name: b\nrules: [R1]\nstep: []\n");
    let errors = load_paths(&[a.clone(), b.clone()]).unwrap_err();
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let (a, b) = (a.display(), b.display());
    assert_eq!(
        lines
            .iter()
            .map(|l| l.split(": ").next().unwrap())
            .collect::<Vec<_>>(),
        vec![
            format!("{a}:3:9"),
            format!("{a}:5:41"),
            format!("{b}:1:1"),
            format!("{b}:3:1"),
        ],
        "{errors}"
    );
    assert_eq!(errors.to_string().lines().count(), 4);
}

#[test]
fn duplicate_names_across_files_point_at_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let body =
        "description: d\nrules: [R1]\nsteps: [{delete_deployment: {release: x, rules: [R1]}}]\n";
    let a = write(dir.path(), "a.yaml", &format!("name: same\n{body}"));
    let b = write(
        dir.path(),
        "b.yaml",
        &format!("# second\nname: same\n{body}"),
    );
    let errors = load_paths(&[dir.path().to_path_buf()]).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors}");
    assert_eq!(
        errors.to_string(),
        format!(
            "{}:2:7: duplicate scenario name `same` (first defined at {}:1:7)",
            b.display(),
            a.display()
        )
    );
}

#[test]
fn missing_path_is_refused_without_position() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.yaml");
    let errors = load_paths(std::slice::from_ref(&missing)).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors.0[0].location, None);
    assert_eq!(errors.0[0].path, missing);
    assert!(
        errors
            .to_string()
            .starts_with(&format!("{}: cannot read: ", missing.display())),
        "{errors}"
    );
}

#[test]
fn directory_without_scenarios_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "notes.txt", "nothing");
    let errors = load_paths(&[dir.path().to_path_buf()]).unwrap_err();
    assert!(errors.to_string().contains("no scenario files"), "{errors}");
}

/// Every file in `fixtures/scenarios-bad/` is refused by `rolecheck validate` with exactly the
/// output in the `.stderr` file beside it (as trybuild does): each error's
/// `file:line:column: message` first, then the lines around it with a caret; exit code 2.
/// `ROLECHECK_BLESS=1 cargo test -p rolecheck --test scenario_errors` rewrites the `.stderr`
/// files from what the command prints.
#[test]
fn bad_fixtures_are_refused_as_their_stderr_files_say() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = root.join("fixtures/scenarios-bad");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "{files:?}");
    let bless = std::env::var_os("ROLECHECK_BLESS").is_some_and(|v| v == "1");
    let mut mismatches = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let relative = format!("fixtures/scenarios-bad/{name}");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rolecheck"))
            .args(["validate", &relative])
            .current_dir(&root)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.code() != Some(2) {
            mismatches.push(format!(
                "{relative}: exit {:?}, not 2\n{stderr}",
                out.status
            ));
            continue;
        }
        // Tools read the position on the first line.
        let first = stderr.lines().next().unwrap_or_default();
        if !first.starts_with(&format!("error: {relative}:")) {
            mismatches.push(format!("{relative}: first line `{first}` has no position"));
        }
        let expected_file = path.with_extension("stderr");
        if bless {
            std::fs::write(&expected_file, &stderr).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_file)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_file.display()));
        if stderr != expected {
            mismatches.push(format!(
                "{relative}:\n  expected:\n{expected}\n  got:\n{stderr}"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{}\n(if the change is intended: ROLECHECK_BLESS=1 cargo test -p rolecheck --test scenario_errors)",
        mismatches.join("\n")
    );
}

/// The excerpt under each error shows the line with a caret under the position.
#[test]
fn errors_are_shown_with_the_line_and_a_caret() {
    let (path, errors, _dir) = load_text(&with_steps("  - delete_deployment: {relase: x}\n"));
    let rendered = format!("{errors:#}");
    let mut lines = rendered.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with(&format!("{}:5:25: unknown key `relase`", path.display())),
        "{rendered}"
    );
    let source_line = rendered
        .lines()
        .find(|l| l.contains("delete_deployment: {relase: x}"))
        .unwrap_or_else(|| panic!("no source line in\n{rendered}"));
    let caret = rendered
        .lines()
        .skip_while(|l| *l != source_line)
        .nth(1)
        .unwrap_or_else(|| panic!("no caret line in\n{rendered}"));
    let column = source_line.find("relase").unwrap();
    assert_eq!(caret.find('^'), Some(column), "{rendered}");
    // Without `#`, one line per error, as before.
    assert_eq!(errors.to_string().lines().count(), 1);
}

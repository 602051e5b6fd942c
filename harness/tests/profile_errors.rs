//! Target profiles: strict parsing with `file:line:column` errors (exit 2), shown with the
//! lines around them as scenario errors are (`fixtures/profiles-bad/*.stderr`), `--profile`,
//! `rolecheck targets`, and a missing stand-in virtualenv naming its make target.

use std::path::{Path, PathBuf};
use std::process::Command;

use rolecheck::target::profile::{AwsSource, KubeSource, PlatformSource, Profile, RoleSource};
use rstest::rstest;

fn rolecheck(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env_remove("ROLECHECK_ALLOW_REAL_AWS")
        .output()
        .unwrap()
}

const GOOD: &str = "\
name: mine
kubernetes: {source: kubeconfig, context: kind-x}
aws: {service: endpoint, endpoint: 'http://127.0.0.1:4566', region: eu-west-1}
platform: {driver: manifest}
oidc: {issuer: cluster, register: true}
role: {create: 'rolecheck-r-{run_id}'}
capabilities: [webhook]
";

#[test]
fn a_good_profile_parses_into_its_parts() {
    let p = Profile::parse(GOOD, Path::new("mine.yaml")).unwrap();
    assert_eq!(p.name, "mine");
    assert_eq!(
        p.kubernetes,
        KubeSource::Kubeconfig {
            path: None,
            context: Some("kind-x".to_owned())
        }
    );
    assert_eq!(
        p.aws,
        AwsSource::Endpoint {
            url: "http://127.0.0.1:4566".to_owned(),
            region: "eu-west-1".to_owned()
        }
    );
    assert!(matches!(p.platform, PlatformSource::Manifest { .. }));
    assert_eq!(
        p.role,
        RoleSource::Create("rolecheck-r-{run_id}".to_owned())
    );
    assert_eq!(p.capabilities.len(), 1);
    // The platform namespace the documents show, unless the profile names another.
    assert_eq!(p.namespaces.of("r"), "astronomer-r");
    let other = GOOD.replace(
        "platform: {driver: manifest}",
        "platform: {driver: manifest, namespace: astro-qa}",
    );
    let p = Profile::parse(&other, Path::new("mine.yaml")).unwrap();
    assert_eq!(p.namespaces.of("r"), "astro-qa-r");
}

#[rstest]
#[case::unknown_top_key(
    "naem: x\n",
    "1:1",
    "unknown key `naem` in the profile (did you mean `name`?)"
)]
#[case::unknown_capability(
    "capabilities: [webhok]\n",
    "7:16",
    "unknown capability `webhok` (did you mean `webhook`?)"
)]
#[case::unknown_driver(
    "platform: {driver: houstn}\n",
    "4:20",
    "unknown platform driver `houstn` (did you mean `houston`?)"
)]
#[case::missing_endpoint(
    "aws: {service: endpoint}\n",
    "3:6",
    "missing required field `endpoint` in aws"
)]
#[case::role_prefix("role: {create: my-role}\n", "6:16", "must start with `rolecheck-`")]
#[case::role_without_run_id(
    "role: {create: rolecheck-fixed}\n",
    "6:16",
    "must contain `{run_id}` (a fixed name collides"
)]
#[case::s3_capability_without_buckets(
    "capabilities: [webhook, s3]\n",
    "7:15",
    "capability `s3` needs the buckets"
)]
#[case::step_timeout_unit("step_timeout: 10\n", "8:15", "expected a duration with a unit")]
#[case::token_in_profile(
    "platform: {driver: houston, url: 'https://h/v1', workspace: w, tokens: {admin: abc.def}}\n",
    "4:80",
    "is not an environment variable name"
)]
#[case::jobs_zero("jobs: 0\n", "8:7", "jobs: must be positive")]
#[case::jobs_not_a_number("jobs: many\n", "8:7", "jobs: expected an integer")]
#[case::cleanup_timeout_unit("cleanup_timeout: 3\n", "8:18", "expected a duration with a unit")]
#[case::account_digits("account: 12345\n", "8:10", "must be 12 digits")]
#[case::endpoint_not_a_url(
    "aws: {service: endpoint, endpoint: '127.0.0.1:4566', region: eu-west-1}\n",
    "3:36",
    "endpoint `127.0.0.1:4566` is not an endpoint URL"
)]
#[case::endpoint_other_scheme(
    "aws: {service: endpoint, endpoint: 'ftp://127.0.0.1:4566', region: eu-west-1}\n",
    "3:36",
    "scheme `ftp` is not http or https"
)]
#[case::platform_url_not_a_url(
    "platform: {driver: houston, url: 'houston.example/v1', workspace: w, tokens: {admin: A}}\n",
    "4:34",
    "url `houston.example/v1` is not an endpoint URL"
)]
#[case::platform_namespace_not_a_label(
    "platform: {driver: manifest, namespace: Astro_QA}\n",
    "4:41",
    "platform namespace `Astro_QA` must be a DNS label"
)]
fn broken_profiles_name_the_position(
    #[case] replacement: &str,
    #[case] at: &str,
    #[case] message: &str,
) {
    // Replace the line with the same key (or add the line) so positions are predictable.
    let key = replacement.split(':').next().unwrap();
    let mut lines: Vec<String> = GOOD.lines().map(str::to_owned).collect();
    match lines.iter().position(|l| l.starts_with(&format!("{key}:"))) {
        Some(i) => lines[i] = replacement.trim_end().to_owned(),
        None if key == "naem" => lines.insert(0, replacement.trim_end().to_owned()),
        None => lines.push(replacement.trim_end().to_owned()),
    }
    let text = lines.join("\n") + "\n";
    let err = Profile::parse(&text, Path::new("p.yaml")).unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains(&format!("p.yaml:{at}: ")),
        "{shown}\n---\n{text}"
    );
    assert!(shown.contains(message), "{shown}");
}

#[test]
fn a_bad_profile_file_exits_2_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        GOOD.replace("source: kubeconfig", "source: kubeconfg"),
    )
    .unwrap();
    let out = rolecheck(&["run", "--profile", file.to_str().unwrap(), "../scenarios"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "bad.yaml:2:22: unknown kubernetes source `kubeconfg` (did you mean `kubeconfig`?)"
        ),
        "{stderr}"
    );
}

#[test]
fn an_unknown_target_exits_2_with_a_suggestion() {
    let out = rolecheck(&["run", "--target", "locastack", "../scenarios"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("did you mean `localstack`?"), "{stderr}");
}

#[test]
fn targets_lists_every_built_in_target_with_its_capabilities() {
    let out = rolecheck(&["targets"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for name in ["sim", "moto", "localstack", "kind", "eks"] {
        assert!(
            stdout.lines().any(|l| l.starts_with(&format!("{name} "))),
            "{name} missing:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("capabilities: platform-api, admin-roles"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[real AWS: needs --allow-real-aws]"),
        "{stdout}"
    );
}

#[test]
fn a_missing_stand_in_virtualenv_exits_2_naming_the_make_target() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("moto.yaml");
    let text = std::fs::read_to_string("../fixtures/targets/moto.yaml")
        .unwrap()
        .replace("venv: .venv-moto", "venv: /nonexistent/.venv-moto");
    std::fs::write(&file, text).unwrap();
    let out = rolecheck(&["run", "--profile", file.to_str().unwrap(), "../scenarios"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("run `make moto` first"), "{stderr}");
}

/// Every file in `fixtures/profiles-bad/` is refused by `rolecheck doctor --profile FILE`
/// (which loads the profile before it checks anything, and creates nothing) with exactly the
/// output in the `.stderr` file beside it, as the bad scenario fixtures are: each error's
/// `file:line:column: message` on its first line, then the lines around it with a caret;
/// exit code 2. `ROLECHECK_BLESS=1 cargo test -p rolecheck --test profile_errors` rewrites
/// the `.stderr` files from what the command prints.
#[test]
fn bad_profile_fixtures_are_refused_as_their_stderr_files_say() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = root.join("fixtures/profiles-bad");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    let bless = std::env::var_os("ROLECHECK_BLESS").is_some_and(|v| v == "1");
    let mut mismatches = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let relative = format!("fixtures/profiles-bad/{name}");
        let out = Command::new(env!("CARGO_BIN_EXE_rolecheck"))
            .args(["doctor", "--profile", &relative])
            .current_dir(&root)
            .env("NO_COLOR", "1")
            .env_remove("ROLECHECK_ALLOW_REAL_AWS")
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
        // Tools read the position on the first line; the excerpt follows with a caret.
        let first = stderr.lines().next().unwrap_or_default();
        if !first.contains(&format!(" {relative}:")) {
            mismatches.push(format!("{relative}: first line `{first}` has no position"));
        }
        if !stderr
            .lines()
            .any(|l| l.trim_start().starts_with(':') && l.contains('^'))
        {
            mismatches.push(format!("{relative}: no caret under the position\n{stderr}"));
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
        "{}\n(if the change is intended: ROLECHECK_BLESS=1 cargo test -p rolecheck --test profile_errors)",
        mismatches.join("\n")
    );
}

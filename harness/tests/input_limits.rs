//! Bounded input: no option, path or file makes the loader or the binary panic, hang or eat
//! memory. Durations stop at a day, only regular files of at most 10 MiB are read, YAML
//! aliases cannot multiply a file, loading is linear, and `{{ run_id }}` means `{{run_id}}`.
//!
//! Time and memory bounds here are generous safety limits, not benchmarks.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rolecheck::scenario::Action;
use rolecheck::scenario::load_paths;
use rstest::rstest;

/// Runs the binary; a run that has not ended after `limit` is killed and the test fails.
fn rolecheck_within(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            let mut stderr = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut stderr);
            }
            let _ = child.wait();
            panic!("rolecheck {args:?} did not end within {limit:?}; stderr:\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

const LIMIT: Duration = Duration::from_secs(60);

#[rstest]
#[case::run_step_timeout(&["run", "--step-timeout", "18446744073709551615s"])]
#[case::run_step_timeout_25h(&["run", "--step-timeout", "25h"])]
#[case::run_cleanup_timeout(&["run", "--cleanup-timeout", "18446744073709551615s"])]
#[case::selfcheck_step_timeout(&["selfcheck", "--step-timeout", "18446744073709551615s"])]
#[case::gc_timeout(&["gc", "--timeout", "18446744073709551615s"])]
#[case::gc_older_than(&["gc", "--older-than", "18446744073709551615s"])]
fn durations_beyond_the_maximum_are_usage_errors(#[case] args: &[&str]) {
    let out = rolecheck_within(args, LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is longer than the maximum of"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

#[rstest]
#[case::fifo_named_yaml("x.yaml", "not a regular file (a FIFO)")]
#[case::fifo_in_a_directory("", "not a regular file (a FIFO)")]
fn validate_refuses_a_fifo_instead_of_waiting_on_it(#[case] arg: &str, #[case] message: &str) {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("x.yaml");
    mkfifo(&fifo);
    let target = dir.path().join(arg);
    let out = rolecheck_within(&["validate", target.to_str().unwrap()], LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}: cannot read: {message}", fifo.display())),
        "{stderr}"
    );
}

#[test]
fn validate_refuses_a_symlink_to_dev_zero() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("zero.yaml");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    let out = rolecheck_within(&["validate", link.to_str().unwrap()], LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot read: not a regular file (a character device)"),
        "{stderr}"
    );
}

#[test]
fn a_file_over_the_size_cap_is_refused_with_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.yaml");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(10 * 1024 * 1024 + 1).unwrap();
    let errors = load_paths(std::slice::from_ref(&big)).unwrap_err();
    assert_eq!(
        errors.to_string(),
        format!(
            "{}: cannot read: the file is larger than 10 MiB, the most that is read",
            big.display()
        )
    );
}

#[test]
fn a_profile_that_is_a_fifo_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("p.yaml");
    mkfifo(&fifo);
    let out = rolecheck_within(
        &["run", "--profile", fifo.to_str().unwrap(), "../scenarios"],
        LIMIT,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not a regular file (a FIFO)"), "{stderr}");
}

/// The peak resident memory of this test process, from `/proc/self/status`.
fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[test]
fn billion_laughs_is_refused_in_bounded_memory() {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scenarios-bad/billion-laughs.yaml");
    assert!(std::fs::metadata(&file).unwrap().len() < 512);
    let errors = load_paths(std::slice::from_ref(&file)).unwrap_err();
    assert!(
        errors.to_string().contains("YAML aliases expand too much"),
        "{errors}"
    );
    let peak = peak_rss_bytes();
    assert!(peak < 1024 * 1024 * 1024, "peak RSS {peak} bytes");
}

/// A scenario of about 1.5 MB: 40,000 vars and 10,000 steps, each step naming a var.
fn large_scenario() -> String {
    let mut text =
        String::from("name: large\ndescription: Many vars and steps.\nrules: [R1]\nvars:\n");
    for i in 0..40_000 {
        text.push_str(&format!("  var_{i}: value-{i}\n"));
    }
    // The scenario's rule is checked by the first step (a scenario whose rules no step checks
    // is refused); the rest are plain steps.
    text.push_str("steps:\n  - delete_deployment: {release: \"{{var_0}}\", rules: [R1]}\n");
    for i in 1..10_000 {
        text.push_str(&format!(
            "  - delete_deployment: {{release: \"{{{{var_{}}}}}\"}}\n",
            i * 4
        ));
    }
    text
}

#[test]
fn loading_is_linear_a_large_file_loads_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("large.yaml");
    let text = large_scenario();
    assert!(text.len() > 1_000_000, "{}", text.len());
    std::fs::write(&path, &text).unwrap();
    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    let loading = path.clone();
    std::thread::spawn(move || {
        let _ = tx.send(load_paths(std::slice::from_ref(&loading)).map(|s| s.len()));
    });
    // A quadratic check took 21 s for the vars alone; a linear load takes well under a
    // second in a release build. The bound is generous (debug build, loaded machine).
    let loaded = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("loading 1.5 MB of scenario YAML took more than 20 s");
    assert_eq!(loaded, Ok(1));
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[rstest]
#[case::no_spaces("k-{{run_id}}.txt")]
#[case::spaces("k-{{ run_id }}.txt")]
#[case::spaces_one_side("{{run_id }}/k.txt")]
fn put_object_keys_may_write_run_id_with_or_without_spaces(#[case] key: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s3.yaml");
    std::fs::write(
        &path,
        format!(
            "name: s3\ndescription: d\nrules: [R13]\nsteps:\n  - s3_access: {{release: x, component: worker, role: r, operations: [{{action: put_object, bucket: b, key: \"{key}\", expect: allowed}}]}}\n"
        ),
    )
    .unwrap();
    let scenarios = load_paths(std::slice::from_ref(&path)).unwrap_or_else(|e| panic!("{e}"));
    let Action::S3Access(s3) = &scenarios[0].steps[0].action else {
        panic!("not s3_access");
    };
    assert_eq!(s3.operations[0].key.as_ref().unwrap().raw(), key);
}

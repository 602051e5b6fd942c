//! The suite against `--target moto`: the sim's cluster and platform, STS/IAM from moto's
//! server as a child process (`make moto` installs it; `make test` depends on it).

mod target_common;

#[test]
fn the_suite_passes_on_moto_with_sts_verification_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr, report) = target_common::run_suite("moto", dir.path());
    target_common::assert_stand_in_run("moto", "moto's STS", code, &stderr, &report);
}

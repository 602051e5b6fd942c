//! The suite against `--target localstack`: the sim's cluster and platform, STS/IAM from
//! LocalStack's runtime as a child process (`make localstack` installs it; `make test`
//! depends on it).

mod target_common;

#[test]
fn the_suite_passes_on_localstack_with_sts_verification_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr, report) = target_common::run_suite("localstack", dir.path());
    target_common::assert_stand_in_run("localstack", "LocalStack's STS", code, &stderr, &report);
}

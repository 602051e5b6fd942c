//! The real-AWS interlock: a run or `gc` against a real-AWS profile refuses to start (exit 2)
//! without `--allow-real-aws` or `ROLECHECK_ALLOW_REAL_AWS=1`, before any network call.

use std::process::Command;

fn rolecheck(args: &[&str], allow_env: Option<&str>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rolecheck"));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env_remove("ROLECHECK_ALLOW_REAL_AWS")
        // Were a call made, it would go nowhere: no credentials, no metadata service.
        .env("AWS_ACCESS_KEY_ID", "AKIAINTERLOCKTEST")
        .env("AWS_SECRET_ACCESS_KEY", "interlock")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    if let Some(value) = allow_env {
        command.env("ROLECHECK_ALLOW_REAL_AWS", value);
    }
    command.output().unwrap()
}

#[test]
fn a_run_against_real_aws_is_refused_without_the_flag() {
    let out = rolecheck(&["run", "--target", "eks", "../scenarios"], None);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("target `eks` uses real AWS: refusing to start without --allow-real-aws or ROLECHECK_ALLOW_REAL_AWS=1"),
        "{stderr}"
    );
}

#[test]
fn an_env_value_other_than_1_does_not_allow_real_aws() {
    let out = rolecheck(&["run", "--target", "eks", "../scenarios"], Some("0"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to start"));
}

#[test]
fn gc_against_real_aws_is_refused_without_the_flag() {
    let out = rolecheck(&["gc", "--target", "eks"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to start"));
}

#[test]
fn with_the_flag_the_run_goes_on_to_ask_who_it_is() {
    // Allowed: the interlock passes and the run asks STS (here: a closed local port) who
    // the credentials are, which fails as an infrastructure error, not as the interlock.
    let out = rolecheck(
        &["run", "--target", "eks", "--allow-real-aws", "../scenarios"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("refusing to start"), "{stderr}");
    assert!(stderr.contains("default credential chain"), "{stderr}");
}

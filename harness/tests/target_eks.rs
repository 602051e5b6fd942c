//! The `eks` target: a real EKS cluster and AWS account. Needs credentials in the default
//! chain, a kubeconfig context, and a profile (`ROLECHECK_EKS_PROFILE`, default
//! `fixtures/targets/eks.yaml` filled in): `make test-eks` runs it with the interlock open.

use std::process::Command;

#[test]
#[ignore = "needs an EKS cluster and AWS credentials: run make test-eks"]
fn the_suite_passes_on_real_eks_and_says_what_it_touches() {
    let profile = std::env::var("ROLECHECK_EKS_PROFILE")
        .unwrap_or_else(|_| "fixtures/targets/eks.yaml".to_owned());
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("results.json");
    let out = Command::new(env!("CARGO_BIN_EXE_rolecheck"))
        .args(["run", "--profile", &profile, "--allow-real-aws", "--json"])
        .arg(&json)
        .arg("--junit")
        .arg(dir.path().join("junit.xml"))
        .arg("scenarios")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("real AWS: account "), "{stderr}");
    assert!(stderr.contains("cluster: context "), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report = rolecheck::report::json::read_json(&json).unwrap();
    assert!(report.leftovers.is_empty(), "{:?}", report.leftovers);
    let r15 = report
        .scenarios
        .iter()
        .find(|s| s.name == "airflow-images-ship-boto3-and-botocore")
        .unwrap();
    assert_eq!(r15.outcome, rolecheck::report::model::Outcome::Passed);
}

//! The suite on the embedded sim with the platform settings the defaults do not cover:
//! `manualReleaseNames` on (the platform keeps the names scenarios ask for) and worker
//! persistence off (Celery workers are a Deployment, not a StatefulSet). The defaults
//! (Houston's generated names, StatefulSet workers) are covered by `run_sim.rs`.

use std::path::PathBuf;
use std::time::Duration;

use rolecheck::cli::{RunArgs, RunCommand, TargetArgs};
use rolecheck::report::console::{ConsoleOptions, ConsoleReporter};
use rolecheck::report::model::Outcome;
use rolecheck::session::{self, RunResult};
use rolecheck::signals::Signals;
use rstest::rstest;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The built-in `sim` profile plus a `sim:` section, its platform installed in
/// `platform_namespace`.
fn profile(dir: &tempfile::TempDir, settings: &str, platform_namespace: &str) -> PathBuf {
    let sim = std::fs::read_to_string(repo().join("fixtures/targets/sim.yaml"))
        .unwrap()
        .replace(
            "platform: {driver: sim}",
            &format!("platform: {{driver: sim, namespace: {platform_namespace}}}"),
        );
    assert!(sim.contains(platform_namespace));
    let path = dir.path().join("sim-settings.yaml");
    std::fs::write(&path, format!("{sim}\nsim: {settings}\n")).unwrap();
    path
}

#[rstest]
#[case::manual_names_ephemeral_workers(
    "{manual_release_names: true, worker_persistence: false}",
    "astronomer"
)]
#[case::generated_names_ephemeral_workers(
    "{manual_release_names: false, worker_persistence: false}",
    "astronomer"
)]
#[case::manual_names_statefulset_workers("{manual_release_names: true}", "astronomer")]
// A platform installed in another namespace than the documents' `astronomer`: releases
// live in `astro-qa-<release>`, and the documented trust policy admits `astro-qa-*`.
#[case::another_platform_namespace("{}", "astro-qa")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_passes_with_the_platform_setting(
    #[case] settings: &str,
    #[case] platform_namespace: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let command = RunCommand {
        args: RunArgs {
            target: "sim".to_owned(),
            jobs: Some(4),
            filter: Vec::new(),
            junit: dir.path().join("junit.xml"),
            json: dir.path().join("results.json"),
            fault: Vec::new(),
            step_timeout: Some(Duration::from_secs(20)),
            cleanup_timeout: Some(Duration::from_secs(30)),
            paths: vec![repo().join("scenarios")],
        },
        suite: Default::default(),
        output: Default::default(),
        access: TargetArgs {
            profile: Some(profile(&dir, settings, platform_namespace)),
            allow_real_aws: false,
            request_timeout: None,
        },
    };
    let quiet = ConsoleReporter::new(Box::new(std::io::sink()), ConsoleOptions::plain());
    let signals = Signals::watch();
    let RunResult::Ran(report) = session::run_command(&command.resolve().unwrap(), quiet, &signals)
        .await
        .unwrap()
    else {
        panic!("the suite did not run");
    };
    for s in &report.scenarios {
        // Only what needs real images (R15's packages, the SDK run inside a pod) is skipped.
        let skipped_for_images = matches!(&s.outcome, Outcome::Skipped { reason }
            if reason.contains("real-images") || reason.contains("sdk-in-pods"));
        assert!(
            s.outcome == Outcome::Passed || skipped_for_images,
            "{settings}: {}: {:?} {:#?}",
            s.name,
            s.outcome,
            s.steps
        );
    }
    assert!(report.scenarios.len() >= 25);
    assert!(report.leftovers.is_empty(), "{:?}", report.leftovers);
    // The steps looked where the platform put the releases.
    let json = std::fs::read_to_string(dir.path().join("results.json")).unwrap();
    assert!(
        json.contains(&format!("\"{platform_namespace}-")),
        "no {platform_namespace}-* namespace in the report"
    );
}

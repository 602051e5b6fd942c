//! Every fault switch of the embedded sim is detected: a run of the scenarios for the rule a
//! switch breaks, with the switch on, fails that rule in a scenario written for it (and exits
//! 1, and cleans up). The healthy-sim counterpart is `run_sim.rs`.

use std::path::PathBuf;

use clap::Parser as _;
use rolecheck::cli::{Cli, Command, RunArgs};
use rolecheck::exit::ExitStatus;
use rolecheck::report::console::{ConsoleOptions, ConsoleReporter};
use rolecheck::report::model::{Outcome, RunReport};
use rolecheck::session;
use rolecheck_sim::Fault;
use rstest::rstest;

fn suite_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// `rolecheck run --fault <fault> --filter <rule>` over the real suite, parsed like the
/// command line so that options added later keep their defaults.
fn args(reports: &tempfile::TempDir, fault: Fault) -> RunArgs {
    let junit = reports.path().join("junit.xml");
    let json = reports.path().join("results.json");
    let argv = [
        "rolecheck".to_owned(),
        "run".to_owned(),
        "--target=sim".to_owned(),
        "--jobs=8".to_owned(),
        format!("--fault={}", fault.name()),
        format!("--filter={}", fault.rule()),
        "--step-timeout=10s".to_owned(),
        format!("--junit={}", junit.display()),
        format!("--json={}", json.display()),
        suite_dir().display().to_string(),
    ];
    match Cli::try_parse_from(argv) {
        Ok(Cli {
            command: Command::Run(run),
            ..
        }) => run.args,
        Ok(other) => panic!("not a run command: {other:?}"),
        Err(err) => panic!("{err}"),
    }
}

fn quiet() -> ConsoleReporter {
    ConsoleReporter::new(Box::new(std::io::sink()), ConsoleOptions::plain())
}

fn summary(report: &RunReport) -> String {
    report
        .scenarios
        .iter()
        .map(|s| format!("{} [{}]: {:?}", s.name, s.rules.join(","), s.outcome))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Names every switch; a new [`Fault`] does not compile until it is listed here, as a
/// reminder to add its case to [`fault_switch_is_detected`].
fn listed(fault: Fault) -> bool {
    match fault {
        Fault::AnnotationNeverWritten
        | Fault::CreateIgnoresRole
        | Fault::UpdateIgnoresRole
        | Fault::WrongAnnotationKey
        | Fault::PartialComponents
        | Fault::AnnotationRemovable
        | Fault::NonAdminAccepted
        | Fault::CrossDeploymentLeak
        | Fault::RoleAppended
        | Fault::ConfigNotStored
        | Fault::IgnoreAnnotationKeyConfig
        | Fault::WebhookDisabled
        | Fault::EnvVarMissing
        | Fault::WrongTokenPath
        | Fault::TokenVolumeMissing
        | Fault::WrongTokenAudience
        | Fault::PodIdentityShadowsRole
        | Fault::MutateExistingPods
        | Fault::StsAcceptsAnySignature
        | Fault::StsIgnoresSubCondition
        | Fault::StsIgnoresExpiry
        | Fault::StsIgnoresAudience
        | Fault::OldServerVersion => true,
    }
}

#[test]
fn every_fault_switch_is_listed() {
    assert!(Fault::ALL.iter().all(|f| listed(*f)));
    assert_eq!(Fault::ALL.len(), 23, "add a case for the new fault below");
}

#[rstest]
#[case::annotation_never_written(Fault::AnnotationNeverWritten)]
#[case::create_ignores_role(Fault::CreateIgnoresRole)]
#[case::update_ignores_role(Fault::UpdateIgnoresRole)]
#[case::wrong_annotation_key(Fault::WrongAnnotationKey)]
#[case::partial_components(Fault::PartialComponents)]
#[case::annotation_removable(Fault::AnnotationRemovable)]
#[case::non_admin_accepted(Fault::NonAdminAccepted)]
#[case::cross_deployment_leak(Fault::CrossDeploymentLeak)]
#[case::role_appended(Fault::RoleAppended)]
#[case::config_not_stored(Fault::ConfigNotStored)]
#[case::ignore_annotation_key_config(Fault::IgnoreAnnotationKeyConfig)]
#[case::webhook_disabled(Fault::WebhookDisabled)]
#[case::env_var_missing(Fault::EnvVarMissing)]
#[case::wrong_token_path(Fault::WrongTokenPath)]
#[case::token_volume_missing(Fault::TokenVolumeMissing)]
#[case::wrong_token_audience(Fault::WrongTokenAudience)]
#[case::pod_identity_shadows_role(Fault::PodIdentityShadowsRole)]
#[case::mutate_existing_pods(Fault::MutateExistingPods)]
#[case::sts_accepts_any_signature(Fault::StsAcceptsAnySignature)]
#[case::sts_ignores_sub_condition(Fault::StsIgnoresSubCondition)]
#[case::sts_ignores_expiry(Fault::StsIgnoresExpiry)]
#[case::sts_ignores_audience(Fault::StsIgnoresAudience)]
#[case::old_server_version(Fault::OldServerVersion)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_switch_is_detected(#[case] fault: Fault) {
    let reports = tempfile::tempdir().unwrap();
    let rule = fault.rule();
    let report = session::run(&args(&reports, fault).resolve().unwrap(), quiet())
        .await
        .unwrap();
    let all = summary(&report);

    let verdict = report
        .rules
        .iter()
        .find(|r| r.id == rule)
        .unwrap_or_else(|| panic!("no verdict for {rule}"));
    assert!(
        matches!(verdict.outcome, Outcome::Failed { .. }),
        "{fault}: {rule} is {:?}, expected failed\n{all}",
        verdict.outcome
    );
    let failed: Vec<&str> = report
        .scenarios
        .iter()
        .filter(|s| s.rules.iter().any(|r| r == rule))
        .filter(|s| matches!(s.outcome, Outcome::Failed { .. }))
        .map(|s| s.name.as_str())
        .collect();
    assert!(
        !failed.is_empty(),
        "{fault}: no scenario for {rule} failed (an error is not a detection)\n{all}"
    );
    assert_eq!(ExitStatus::of_run(&report).code(), 1, "{fault}\n{all}");
    assert!(
        report.leftovers.is_empty(),
        "{fault}: left behind {:?}",
        report.leftovers
    );
}

/// The Pod Identity scenario names the shadowing, and passes on the healthy sim.
#[rstest]
#[case::shadowed(Some(Fault::PodIdentityShadowsRole))]
#[case::healthy(None)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_identity_shadowing_is_named(#[case] fault: Option<Fault>) {
    let reports = tempfile::tempdir().unwrap();
    let mut run = args(&reports, Fault::PodIdentityShadowsRole);
    run.fault = fault.map(|f| vec![f.name().to_owned()]).unwrap_or_default();
    run.filter = vec!["irsa-in-effect-not-shadowed-by-pod-identity".to_owned()];
    let report = session::run(&run.resolve().unwrap(), quiet())
        .await
        .unwrap();
    let all = summary(&report);
    let [scenario] = report.scenarios.as_slice() else {
        panic!("expected one scenario\n{all}");
    };
    match (fault, &scenario.outcome) {
        (None, Outcome::Passed) => {}
        (
            Some(_),
            Outcome::Failed {
                message, actual, ..
            },
        ) => {
            assert!(
                message.contains("EKS Pod Identity shadows the documented IRSA role"),
                "{message}"
            );
            for component in ["webserver", "scheduler", "worker"] {
                assert!(
                    actual.contains(component),
                    "{component} not named: {actual}"
                );
            }
            assert!(
                actual.contains("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
                "{actual}"
            );
        }
        (_, other) => panic!("{fault:?}: {other:?}\n{all}"),
    }
}

/// A failure's message is one line that states each promised value once, with every object
/// showing the same difference named after it (issue 13, item 4).
#[rstest]
#[case::service_accounts(
    Fault::AnnotationRemovable,
    "role-annotation-cannot-be-removed",
    "3 ServiceAccounts: eks.amazonaws.com/role-arn expected "
)]
#[case::stored_config(
    Fault::ConfigNotStored,
    "stored-config-without-role",
    "1 stored config: "
)]
#[case::pods(
    Fault::WrongTokenPath,
    "create-with-role-injects-web-identity",
    "3 pods: AWS_WEB_IDENTITY_TOKEN_FILE expected /var/run/secrets/eks.amazonaws.com/serviceaccount/token, got "
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_text_states_each_promise_once(
    #[case] fault: Fault,
    #[case] scenario: &str,
    #[case] starts: &str,
) {
    let reports = tempfile::tempdir().unwrap();
    let mut run = args(&reports, fault);
    run.filter = vec![scenario.to_owned()];
    let report = session::run(&run.resolve().unwrap(), quiet())
        .await
        .unwrap();
    let all = summary(&report);
    let [result] = report.scenarios.as_slice() else {
        panic!("expected one scenario\n{all}");
    };
    let failed = result
        .steps
        .iter()
        .find_map(|s| match &s.outcome {
            Outcome::Failed { message, .. } => Some(message.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no failed step\n{all}"));
    assert!(!failed.contains('\n'), "not one line: {failed}");
    assert!(failed.starts_with(starts), "{failed}");
    assert_eq!(
        failed.matches(" expected ").count(),
        1,
        "a promised value stated more than once: {failed}"
    );
}

//! Precision of the verdicts: every fault switch of the sim over the whole suite. Each fault
//! must fail its own rule, and the other rules its run fails (its collateral) must stay
//! within one per fault on average: a dashboard shows what broke, not everything.
//!
//! This is `rolecheck selfcheck` through the library; the table it prints is the one
//! `make selfcheck` shows. It runs in `make test` (about 1.5 minutes on two busy cores).

use std::path::PathBuf;
use std::time::Duration;

use rolecheck::scenario::load_paths;
use rolecheck::selfcheck::{SelfcheckOptions, selfcheck};
use rolecheck_sim::Fault;
use tokio_util::sync::CancellationToken;

fn suite_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// At most this many failed rule verdicts besides the faults' own, over all fault switches:
/// one consequence per fault on average.
fn collateral_budget() -> usize {
    Fault::ALL.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_fails_its_own_rule_with_little_collateral() {
    let scenarios = load_paths(&[suite_dir()]).expect("the suite loads");
    let options = SelfcheckOptions {
        jobs: 8,
        runs_at_once: 2,
        // Generous: a wait that times out on a loaded machine would fail a rule that holds.
        step_timeout: Duration::from_secs(20),
        ..SelfcheckOptions::default()
    };
    let mut progress = Vec::new();
    let report = selfcheck(
        scenarios,
        &options,
        &mut progress,
        &CancellationToken::new(),
    )
    .await
    .expect("self-check ran");
    let table = report.render();
    println!("{table}");
    assert!(report.healthy.clean(), "{table}");
    assert_eq!(report.faults.len(), Fault::ALL.len());
    let missed: Vec<&str> = report
        .faults
        .iter()
        .filter(|f| !f.detected)
        .map(|f| f.fault.as_str())
        .collect();
    assert!(
        missed.is_empty(),
        "own rule not failed: {missed:?}\n{table}"
    );
    assert!(
        report.total_collateral() <= collateral_budget(),
        "collateral {} over {} faults exceeds {}\n{table}",
        report.total_collateral(),
        report.faults.len(),
        collateral_budget()
    );
    assert!(report.passed(), "{table}");
}

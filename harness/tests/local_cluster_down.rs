//! After `rolecheck env down local` the machine is as `env up local` found it: no process of
//! the cluster's programs, no container or volume mount, no kubepods cgroup, the kubelet's
//! sysctls restored, no host directory or run directory left, no cluster port listening.
//!
//! The Makefile runs this after `make cluster-down` with `ROLECHECK_LOCAL_CLUSTER_DOWN=1`;
//! with it set, a missing snapshot from `env up` fails the test. Without it, the test prints
//! why it does not run and returns.

use rolecheck::target::local::host::{self, HostState};
use rolecheck::target::local::{lifecycle, run_dir};

const GATE: &str = "ROLECHECK_LOCAL_CLUSTER_DOWN";

#[test]
fn env_down_left_the_host_as_env_up_found_it() {
    if std::env::var(GATE).as_deref() != Ok("1") {
        eprintln!("skipped: {GATE}=1 is not set (`make test` sets it after `make cluster-down`)");
        return;
    }
    let before = lifecycle::load_host_state().unwrap_or_else(|| {
        panic!(
            "{GATE}=1 but there is no snapshot from `env up local` at {}",
            host::before_path().display()
        )
    });
    let now = HostState::capture(&run_dir(), &lifecycle::cache_dir());
    assert_eq!(now.differences(&before), Vec::<String>::new());
    // And in absolute terms: nothing of the cluster is left.
    assert!(!run_dir().exists(), "{} still exists", run_dir().display());
    let cache_bin = lifecycle::cache_dir().join("bin").display().to_string();
    assert!(
        !now.processes.keys().any(|exe| exe.starts_with(&cache_bin)),
        "{:?}",
        now.processes
    );
    assert!(
        now.mounts
            .iter()
            .all(|m| !m.starts_with(&run_dir().display().to_string())),
        "{:?}",
        now.mounts
    );
}

//! Clean-up ownership: the one place that knows what a run created, or asked a target to
//! create, and so may remove.
//!
//! The rule: a run removes only what it created itself, that is, an object whose create it
//! saw succeed, a platform deployment it asked for (recorded *before* the request is sent, so
//! a create whose answer never came is still known), or an object carrying its
//! `rolecheck.io/run-id` label. Anything else a step touched (a namespace that existed
//! before, someone's ServiceAccount) is left alone, never deleted.
//!
//! Steps record what they create in the run's [`Ledger`] under their scenario's name; the
//! runner removes each scenario's entries at the end of the scenario ([`remove_scenario`])
//! and then sweeps what still carries the run's label ([`sweep`]). What the ledger still holds
//! is what the run knows it has not removed (printed when a second signal ends the run).

use std::time::Duration;

use crate::drivers::deadline::Deadline;
use crate::drivers::kube::RUN_ID_LABEL;
use crate::ledger::{Ledger, Owned};
use crate::platform::Actor;
use crate::target::Target;

/// What removing one scenario's objects did: a log line per object, and what is left.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removal {
    /// What was done, one line each.
    pub log: Vec<String>,
    /// What could not be removed, `kind name` each.
    pub left: Vec<String>,
}

/// Removes what scenario `scope` created, each object within `timeout`; what is removed is
/// forgotten by the ledger, what is not stays in it and is returned as left.
pub async fn remove_scenario(
    target: &Target,
    ledger: &Ledger,
    scope: &str,
    timeout: Duration,
) -> Removal {
    let owned = ledger.of(scope);
    let namespaces: Vec<String> = owned
        .iter()
        .filter_map(|o| match o {
            Owned::Namespace(n) => Some(n.clone()),
            _ => None,
        })
        .collect();
    let mut removal = Removal::default();
    for item in owned {
        // Objects inside a namespace the run removes go with it.
        if item
            .namespace()
            .is_some_and(|ns| namespaces.iter().any(|n| n == ns))
        {
            ledger.forget(scope, &item);
            continue;
        }
        match remove(target, &item, timeout).await {
            Ok(done) => {
                removal.log.push(done);
                ledger.forget(scope, &item);
            }
            Err(why) => {
                removal.log.push(format!("{item}: {why}"));
                removal.left.push(item.to_string());
            }
        }
    }
    removal
}

/// Removes one object; `Ok` says what was done.
async fn remove(target: &Target, item: &Owned, timeout: Duration) -> Result<String, String> {
    let bounded = |what: &str| {
        format!(
            "{what}: not done within {}",
            humantime::format_duration(timeout)
        )
    };
    match item {
        Owned::Release {
            installation,
            release,
            answered,
        } => {
            let Some(platform) = target.platform_of(*installation) else {
                return Err("the target has no such platform".to_owned());
            };
            let asked = async {
                if *answered {
                    platform
                        .delete_deployment(Actor::Admin, release)
                        .await
                        .map(|answer| answer.map(|()| true))
                } else {
                    platform.delete_unanswered(release).await
                }
            };
            match tokio::time::timeout(timeout, asked).await {
                Ok(Ok(Ok(true))) => Ok(format!("deleted deployment {release}")),
                Ok(Ok(Ok(false))) => Ok(format!(
                    "deployment {release}: the platform has no such deployment (its create never arrived)"
                )),
                Ok(Ok(Err(refusal))) => Err(format!("refused: {}", refusal.message)),
                Ok(Err(err)) => Err(err.to_string()),
                Err(_) => Err(bounded("deleting the deployment")),
            }
        }
        Owned::Pod { namespace, name } => target
            .kube
            .delete_pod(namespace, name, &Deadline::after(timeout))
            .await
            .map(|()| format!("pod {namespace}/{name} removed"))
            .map_err(|e| e.to_string()),
        Owned::ServiceAccount { namespace, name } => target
            .kube
            .delete_service_account(namespace, name)
            .await
            .map(|()| format!("serviceaccount {namespace}/{name} removed"))
            .map_err(|e| e.to_string()),
        Owned::Namespace(name) => target
            .kube
            .delete_namespace(name, &Deadline::after(timeout))
            .await
            .map(|()| format!("namespace {name} removed"))
            .map_err(|e| e.to_string()),
        Owned::IamRole(_) | Owned::OidcProvider(_) => {
            Err("removed by the target's teardown, not by a scenario".to_owned())
        }
    }
}

/// Removes whatever still carries this run's label; returns what could not be removed.
pub async fn sweep(target: &Target, run_id: &str, timeout: Duration) -> Vec<String> {
    let deadline = Deadline::after(timeout);
    let removals = match target
        .kube
        .remove_namespaces_labelled(RUN_ID_LABEL, run_id, &deadline)
        .await
    {
        Ok(removals) => removals,
        Err(err) => {
            return vec![format!(
                "namespaces labelled {run_id}: could not be listed: {err}"
            )];
        }
    };
    let mut leftovers = Vec::new();
    for (name, removed) in removals {
        if let Err(err) = removed {
            tracing::warn!(%err, namespace = %name, "could not remove namespace");
            leftovers.push(format!("namespace {name}"));
        }
    }
    leftovers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::Installation;

    #[test]
    fn a_release_is_one_entry_answered_or_not_and_goes_first() {
        let ledger = Ledger::new();
        ledger.record("s", Owned::Namespace("astronomer-r".to_owned()));
        let asked = Owned::Release {
            installation: Installation::Documented,
            release: "r".to_owned(),
            answered: false,
        };
        ledger.record("s", asked.clone());
        ledger.record(
            "s",
            Owned::Release {
                installation: Installation::Documented,
                release: "r".to_owned(),
                answered: true,
            },
        );
        ledger.record("other", Owned::Namespace("n".to_owned()));
        let mine = ledger.of("s");
        assert_eq!(mine.len(), 2, "{mine:?}");
        assert!(matches!(mine[0], Owned::Release { answered: true, .. }));
        ledger.forget("s", &asked);
        assert_eq!(
            ledger.of("s"),
            vec![Owned::Namespace("astronomer-r".to_owned())]
        );
        assert_eq!(
            ledger.pending(),
            vec!["namespace astronomer-r", "namespace n"]
        );
    }
}

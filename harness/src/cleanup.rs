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

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::drivers::deadline::Deadline;
use crate::scenario::model::Actor;
use crate::target::{Installation, Target};

/// Something the run created (or asked the platform to create) and must remove.
///
/// The variants are ordered the way clean-up removes them: platform deployments first (the
/// platform removes what it made for them), then single objects, then whole namespaces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Owned {
    /// A platform deployment. `answered` is false while (or when) its create has not been
    /// answered: the request may or may not have reached the platform.
    Release {
        /// Which of the target's platform installations it was sent to.
        installation: Installation,
        /// Its release name.
        release: String,
        /// Whether the platform's answer to the create arrived (and accepted it).
        answered: bool,
    },
    /// A pod the run created in a namespace it does not own.
    Pod {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// A ServiceAccount the run created in a namespace it does not own.
    ServiceAccount {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// A namespace the run created, or that the platform made for a deployment of the run.
    Namespace(String),
    /// An IAM role the target's set-up created (removed by the target's teardown).
    IamRole(String),
    /// An IAM OIDC provider the target's set-up registered (removed by its teardown).
    OidcProvider(String),
}

/// The ledger scope of what the target's set-up created.
pub const TARGET_SCOPE: &str = "(target)";

impl Owned {
    /// Whether two entries name the same object (a release is one object, answered or not).
    fn same(&self, other: &Owned) -> bool {
        match (self, other) {
            (
                Owned::Release {
                    installation: a,
                    release: r,
                    ..
                },
                Owned::Release {
                    installation: b,
                    release: s,
                    ..
                },
            ) => a == b && r == s,
            (a, b) => a == b,
        }
    }

    /// The namespace this object lives in, for namespaced single objects.
    fn namespace(&self) -> Option<&str> {
        match self {
            Owned::Pod { namespace, .. } | Owned::ServiceAccount { namespace, .. } => {
                Some(namespace)
            }
            Owned::Release { .. }
            | Owned::Namespace(_)
            | Owned::IamRole(_)
            | Owned::OidcProvider(_) => None,
        }
    }
}

impl fmt::Display for Owned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owned::Release {
                release,
                answered: true,
                ..
            } => write!(f, "deployment {release}"),
            Owned::Release {
                release,
                answered: false,
                ..
            } => write!(
                f,
                "deployment {release} (create not answered; its namespace ends in -{release})"
            ),
            Owned::Pod { namespace, name } => write!(f, "pod {namespace}/{name}"),
            Owned::ServiceAccount { namespace, name } => {
                write!(f, "serviceaccount {namespace}/{name}")
            }
            Owned::Namespace(name) => write!(f, "namespace {name}"),
            Owned::IamRole(name) => write!(f, "iam-role {name}"),
            Owned::OidcProvider(arn) => write!(f, "iam-oidc-provider {arn}"),
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    scope: String,
    owned: Owned,
}

/// What a run created and has not removed yet, by scenario. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    entries: Arc<Mutex<Vec<Entry>>>,
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that scenario `scope` created (or is about to ask for) `owned`. Recording a
    /// release again replaces its entry (a create that was answered).
    pub fn record(&self, scope: &str, owned: Owned) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|e| !(e.scope == scope && e.owned.same(&owned)));
            entries.push(Entry {
                scope: scope.to_owned(),
                owned,
            });
        }
    }

    /// Forgets an entry (removed, or removed by a step such as `delete_deployment`).
    pub fn forget(&self, scope: &str, owned: &Owned) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|e| !(e.scope == scope && e.owned.same(owned)));
        }
    }

    /// What scenario `scope` still owns, in removal order.
    pub fn of(&self, scope: &str) -> Vec<Owned> {
        let mut list: Vec<Owned> = self
            .entries
            .lock()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e.scope == scope)
                    .map(|e| e.owned.clone())
                    .collect()
            })
            .unwrap_or_default();
        list.sort();
        list
    }

    /// Everything not removed yet, one `kind name` line each.
    pub fn pending(&self) -> Vec<String> {
        let mut list: Vec<String> = self
            .entries
            .lock()
            .map(|entries| entries.iter().map(|e| e.owned.to_string()).collect())
            .unwrap_or_default();
        list.sort();
        list.dedup();
        list
    }
}

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
    let namespaces = match target.kube.labelled_namespaces(Some(run_id)).await {
        Ok(list) => list,
        Err(err) => {
            return vec![format!(
                "namespaces labelled {run_id}: could not be listed: {err}"
            )];
        }
    };
    let names = namespaces
        .into_iter()
        .filter_map(|ns| ns.metadata.name)
        .collect();
    let mut leftovers = Vec::new();
    for (name, removed) in target
        .kube
        .delete_namespaces(names, &Deadline::after(timeout))
        .await
    {
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

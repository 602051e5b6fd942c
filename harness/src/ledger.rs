//! The ledger: what a run created, or asked a target to create, and has not removed yet, by
//! scenario. Steps and the target's set-up record here; [`crate::cleanup`] removes what it
//! lists, and only that.

use std::fmt;
use std::sync::{Arc, Mutex};

use crate::platform::Installation;

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
    pub(crate) fn namespace(&self) -> Option<&str> {
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

//! STS (2011-06-15): `AssumeRoleWithWebIdentity` against the issuers' keys and the roles'
//! trust policies, `GetCallerIdentity`, the sessions it issued, and the account state the
//! AWS endpoint's services share ([`AwsState`]: IAM, keys, sessions, the administrator's
//! key, the clock). The listener that routes requests here is [`crate::aws_endpoint`].

pub mod api;
pub mod sessions;
pub mod verify;

use std::sync::Arc;

use crate::faults::FaultSet;
use crate::iam::Iam;
use sessions::Sessions;
pub use verify::{KeySource, StaticKeys};

pub use crate::clock::Clock;

/// What the AWS endpoint's services share: IAM, the issuers' keys, fault switches, the
/// sessions STS issued, the administrator's key and the clock.
pub struct AwsState {
    iam: Arc<Iam>,
    keys: Arc<dyn KeySource>,
    faults: FaultSet,
    sessions: Sessions,
    clock: Clock,
    admin: AdminKey,
}

/// The long-term access key of the account's administrator: what IAM requests must be
/// signed with (the sim has no IAM users; this one stands for the operator's credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminKey {
    /// `AKIA…` access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
}

impl AdminKey {
    /// A fresh random key.
    pub fn random() -> Self {
        let (_, secret, _) = sessions::new_credentials();
        Self {
            access_key_id: crate::iam::store::unique_id("AKIA", 16),
            secret_access_key: secret,
        }
    }
}

impl AwsState {
    /// The state with any key source (e.g. [`StaticKeys`]).
    pub fn with_keys(faults: FaultSet, iam: Arc<Iam>, keys: Arc<dyn KeySource>) -> Self {
        Self {
            iam,
            keys,
            faults,
            sessions: Sessions::default(),
            clock: Arc::new(chrono::Utc::now),
            admin: AdminKey::random(),
        }
    }

    /// Replaces the clock.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The administrator's access key, which IAM requests must be signed with.
    pub fn admin_key(&self) -> &AdminKey {
        &self.admin
    }

    /// The IAM behind this endpoint.
    pub fn iam(&self) -> &Arc<Iam> {
        &self.iam
    }

    /// The sessions STS issued.
    pub(crate) fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The time now, by this state's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        (self.clock)()
    }
}

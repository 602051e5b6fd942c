//! The part of the EKS API the sim models: **Pod Identity associations**.
//!
//! An association binds (namespace, ServiceAccount) of the cluster to an IAM role. On EKS,
//! the cluster's pod-identity webhook reads them (as its container-credentials config) and
//! gives pods under an associated ServiceAccount EKS Pod Identity credentials instead of the
//! IRSA web identity of the role annotation. The store is shared by the Kubernetes API (its
//! webhook) and the EKS-shaped REST surface in [`api`] (`CreatePodIdentityAssociation`,
//! `ListPodIdentityAssociations`, `DescribePodIdentityAssociation`,
//! `DeletePodIdentityAssociation` under `/clusters/<name>/pod-identity-associations`), which
//! any EKS client can read.

pub mod api;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// The cluster name the sim's EKS API answers for.
pub const CLUSTER_NAME: &str = "rolecheck-sim";

/// One Pod Identity association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Association {
    /// `a-` and 17 lower-case alphanumerics, like EKS's ids.
    pub id: String,
    /// `arn:aws:eks:<region>:<account>:podidentityassociation/<cluster>/<id>`.
    pub arn: String,
    /// The Kubernetes namespace.
    pub namespace: String,
    /// The ServiceAccount's name.
    pub service_account: String,
    /// The IAM role pods under that ServiceAccount get.
    pub role_arn: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// Why an association could not be created or found, as EKS names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssociationError {
    /// `ResourceNotFoundException` (404).
    #[error("{0}")]
    NotFound(String),
    /// `ResourceInUseException` (409): the ServiceAccount already has one.
    #[error("{0}")]
    InUse(String),
    /// `InvalidParameterException` (400).
    #[error("{0}")]
    InvalidParameter(String),
}

/// The cluster's associations.
#[derive(Debug)]
pub struct Associations {
    account_id: String,
    region: String,
    by_id: Mutex<BTreeMap<String, Association>>,
}

impl Associations {
    /// An empty store for a cluster in `account_id`/`region`.
    pub fn new(account_id: &str, region: &str) -> Self {
        Self {
            account_id: account_id.to_owned(),
            region: region.to_owned(),
            by_id: Mutex::new(BTreeMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Association>> {
        self.by_id
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Creates an association; a ServiceAccount has at most one.
    pub fn create(
        &self,
        namespace: &str,
        service_account: &str,
        role_arn: &str,
        now: DateTime<Utc>,
    ) -> Result<Association, AssociationError> {
        for (field, value) in [
            ("namespace", namespace),
            ("serviceAccount", service_account),
            ("roleArn", role_arn),
        ] {
            if value.is_empty() {
                return Err(AssociationError::InvalidParameter(format!(
                    "{field} must not be empty"
                )));
            }
        }
        if !role_arn.starts_with("arn:aws") || !role_arn.contains(":role/") {
            return Err(AssociationError::InvalidParameter(format!(
                "roleArn {role_arn} is not a valid IAM role ARN"
            )));
        }
        let mut by_id = self.lock();
        if let Some(existing) = by_id
            .values()
            .find(|a| a.namespace == namespace && a.service_account == service_account)
        {
            return Err(AssociationError::InUse(format!(
                "Association already exists: {}",
                existing.id
            )));
        }
        let id = format!("a-{}", random_id(17));
        let association = Association {
            arn: format!(
                "arn:aws:eks:{}:{}:podidentityassociation/{CLUSTER_NAME}/{id}",
                self.region, self.account_id
            ),
            id: id.clone(),
            namespace: namespace.to_owned(),
            service_account: service_account.to_owned(),
            role_arn: role_arn.to_owned(),
            created_at: now,
        };
        by_id.insert(id, association.clone());
        Ok(association)
    }

    /// One association by id.
    pub fn describe(&self, id: &str) -> Result<Association, AssociationError> {
        self.lock().get(id).cloned().ok_or_else(|| not_found(id))
    }

    /// Deletes an association, returning it.
    pub fn delete(&self, id: &str) -> Result<Association, AssociationError> {
        self.lock().remove(id).ok_or_else(|| not_found(id))
    }

    /// Associations, optionally only those of a namespace and/or ServiceAccount.
    pub fn list(&self, namespace: Option<&str>, service_account: Option<&str>) -> Vec<Association> {
        self.lock()
            .values()
            .filter(|a| namespace.is_none_or(|n| a.namespace == n))
            .filter(|a| service_account.is_none_or(|s| a.service_account == s))
            .cloned()
            .collect()
    }

    /// The (namespace, ServiceAccount) pairs with an association: the webhook's
    /// container-credentials identities.
    pub fn identities(&self) -> BTreeSet<(String, String)> {
        self.lock()
            .values()
            .map(|a| (a.namespace.clone(), a.service_account.clone()))
            .collect()
    }
}

fn not_found(id: &str) -> AssociationError {
    AssociationError::NotFound(format!("No Pod Identity Association found with id: {id}"))
}

fn random_id(len: usize) -> String {
    use rand::Rng as _;
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::111111111111:role/r";

    #[test]
    fn one_association_per_service_account() {
        let store = Associations::new("111111111111", "eu-west-1");
        let a = store.create("ns", "sa", ROLE, Utc::now()).unwrap();
        assert!(a.id.starts_with("a-") && a.id.len() == 19);
        assert!(
            a.arn
                .ends_with(&format!("podidentityassociation/{CLUSTER_NAME}/{}", a.id))
        );
        assert!(matches!(
            store.create("ns", "sa", ROLE, Utc::now()),
            Err(AssociationError::InUse(_))
        ));
        store.create("ns", "other", ROLE, Utc::now()).unwrap();
        assert_eq!(store.list(Some("ns"), Some("sa")), vec![a.clone()]);
        assert_eq!(store.list(Some("ns"), None).len(), 2);
        assert_eq!(store.identities().len(), 2);
        assert_eq!(store.delete(&a.id).unwrap(), a);
        assert!(matches!(
            store.describe(&a.id),
            Err(AssociationError::NotFound(_))
        ));
    }

    #[test]
    fn parameters_are_checked() {
        let store = Associations::new("111111111111", "eu-west-1");
        for (ns, sa, role) in [("", "sa", ROLE), ("ns", "", ROLE), ("ns", "sa", "r")] {
            assert!(matches!(
                store.create(ns, sa, role, Utc::now()),
                Err(AssociationError::InvalidParameter(_))
            ));
        }
    }
}

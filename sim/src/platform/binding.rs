//! How a `cloudRole` argument becomes the deployment's `serviceAccountAnnotations`.
//!
//! Houston, when `deployments.serviceAccountAnnotationKey` is configured, stores
//! `{<key>: <cloudRole>}` in the deployment's config for a non-empty role (R1, R2, R11).
//!
//! **Update semantics (R6, R10).** A non-empty `cloudRole` replaces the value under the key:
//! a deployment has one role at a time. An empty string, an explicit `null` or an omitted
//! `cloudRole` leaves the stored annotation exactly as it is: Houston only ever writes
//! non-empty annotations, and the documents say the annotation cannot be deleted. The sim
//! therefore accepts such an update (it may change other settings) and keeps the role.
//!
//! The fault switches that change this mapping are applied here, one rule each.

use std::collections::BTreeMap;

use crate::faults::{Fault, FaultSet};

/// ServiceAccount annotations, key to value.
pub type Annotations = BTreeMap<String, String>;

/// The key written by [`Fault::WrongAnnotationKey`] instead of the configured one.
pub const WRONG_ANNOTATION_KEY: &str = "eks.amazonaws.com/role";

/// The key Houston's own default would use; written by [`Fault::IgnoreAnnotationKeyConfig`]
/// although the platform config does not set a key.
pub const UNCONFIGURED_FALLBACK_KEY: &str = "eks.amazonaws.com/role-arn";

/// The `cloudRole` argument as the request carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleArg {
    /// The argument was not sent.
    Omitted,
    /// The argument was sent as `null`.
    Null,
    /// The argument was sent as a string (possibly empty).
    Value(String),
}

impl RoleArg {
    /// The role when it is a non-empty string: the only case that needs `workspace.iam.update`.
    pub fn non_empty(&self) -> Option<&str> {
        match self {
            Self::Value(role) if !role.trim().is_empty() => Some(role.trim()),
            _ => None,
        }
    }

    /// Whether the argument was sent but carries no role (`""` or `null`).
    fn is_explicitly_empty(&self) -> bool {
        match self {
            Self::Null => true,
            Self::Value(role) => role.trim().is_empty(),
            Self::Omitted => false,
        }
    }
}

impl From<Option<String>> for RoleArg {
    fn from(value: Option<String>) -> Self {
        value.map_or(Self::Null, Self::Value)
    }
}

/// The result of applying an update's `cloudRole` to the stored annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleUpdate {
    /// The annotations after the update.
    pub annotations: Annotations,
    /// Whether a role was written (the pods must be rolled even if the value is the same).
    pub role_written: bool,
}

impl RoleUpdate {
    /// Whether the annotations differ from `before`.
    pub fn changed(&self, before: &Annotations) -> bool {
        &self.annotations != before
    }
}

/// The platform's mapping from `cloudRole` to annotations, given its config and faults.
#[derive(Debug, Clone)]
pub struct AnnotationPolicy {
    key: Option<String>,
    faults: FaultSet,
}

impl AnnotationPolicy {
    /// Builds the policy from the configured `serviceAccountAnnotationKey` (None = unset).
    pub fn new(configured_key: Option<&str>, faults: &FaultSet) -> Self {
        let configured = configured_key.map(str::trim).filter(|k| !k.is_empty());
        let key = match configured {
            Some(_) if faults.has(Fault::WrongAnnotationKey) => Some(WRONG_ANNOTATION_KEY),
            Some(key) => Some(key),
            None if faults.has(Fault::IgnoreAnnotationKeyConfig) => Some(UNCONFIGURED_FALLBACK_KEY),
            None => None,
        };
        Self {
            key: key.map(str::to_owned),
            faults: faults.clone(),
        }
    }

    /// The annotation key the platform writes, if the feature is on.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The annotations of a deployment created with `cloud_role`.
    pub fn on_create(&self, cloud_role: &RoleArg) -> Annotations {
        let mut annotations = Annotations::new();
        if self.faults.has(Fault::CreateIgnoresRole) {
            return annotations;
        }
        if let (Some(key), Some(role)) = (self.key(), cloud_role.non_empty()) {
            annotations.insert(key.to_owned(), role.to_owned());
        }
        annotations
    }

    /// The annotations after an update with `cloud_role` (see the module docs).
    pub fn on_update(&self, current: &Annotations, cloud_role: &RoleArg) -> RoleUpdate {
        let unchanged = RoleUpdate {
            annotations: current.clone(),
            role_written: false,
        };
        if self.faults.has(Fault::UpdateIgnoresRole) {
            return unchanged;
        }
        if cloud_role.is_explicitly_empty() && self.faults.has(Fault::AnnotationRemovable) {
            return RoleUpdate {
                annotations: Annotations::new(),
                role_written: false,
            };
        }
        let (Some(key), Some(role)) = (self.key(), cloud_role.non_empty()) else {
            return unchanged;
        };
        let mut annotations = current.clone();
        let value = match annotations.get(key) {
            Some(previous) if self.faults.has(Fault::RoleAppended) && previous != role => {
                format!("{previous},{role}")
            }
            _ => role.to_owned(),
        };
        annotations.insert(key.to_owned(), value);
        RoleUpdate {
            annotations,
            role_written: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    const KEY: &str = "eks.amazonaws.com/role-arn";
    const A: &str = "arn:aws:iam::123456789012:role/a";
    const B: &str = "arn:aws:iam::123456789012:role/b";

    fn faults(list: &[Fault]) -> FaultSet {
        list.iter().copied().collect()
    }

    fn ann(pairs: &[(&str, &str)]) -> Annotations {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn value(s: &str) -> RoleArg {
        RoleArg::Value(s.to_owned())
    }

    #[rstest]
    #[case(Some(KEY), &[], Some(KEY))]
    #[case(None, &[], None)]
    #[case(Some("  "), &[], None)]
    #[case(Some(KEY), &[Fault::WrongAnnotationKey], Some(WRONG_ANNOTATION_KEY))]
    #[case(None, &[Fault::WrongAnnotationKey], None)]
    #[case(None, &[Fault::IgnoreAnnotationKeyConfig], Some(UNCONFIGURED_FALLBACK_KEY))]
    #[case(Some("custom/key"), &[Fault::IgnoreAnnotationKeyConfig], Some("custom/key"))]
    fn effective_key(
        #[case] configured: Option<&str>,
        #[case] on: &[Fault],
        #[case] expected: Option<&str>,
    ) {
        assert_eq!(
            AnnotationPolicy::new(configured, &faults(on)).key(),
            expected
        );
    }

    #[rstest]
    #[case(Some(KEY), &[], value(A), ann(&[(KEY, A)]))]
    #[case(Some(KEY), &[], value(""), ann(&[]))]
    #[case(Some(KEY), &[], RoleArg::Null, ann(&[]))]
    #[case(Some(KEY), &[], RoleArg::Omitted, ann(&[]))]
    #[case(None, &[], value(A), ann(&[]))]
    #[case(Some(KEY), &[Fault::CreateIgnoresRole], value(A), ann(&[]))]
    #[case(Some(KEY), &[Fault::UpdateIgnoresRole], value(A), ann(&[(KEY, A)]))]
    #[case(Some(KEY), &[Fault::WrongAnnotationKey], value(A), ann(&[(WRONG_ANNOTATION_KEY, A)]))]
    #[case(None, &[Fault::IgnoreAnnotationKeyConfig], value(A), ann(&[(UNCONFIGURED_FALLBACK_KEY, A)]))]
    fn create(
        #[case] key: Option<&str>,
        #[case] on: &[Fault],
        #[case] role: RoleArg,
        #[case] expected: Annotations,
    ) {
        assert_eq!(
            AnnotationPolicy::new(key, &faults(on)).on_create(&role),
            expected
        );
    }

    #[rstest]
    // healthy: a new role replaces, empty/null/omitted keep (R6, R10)
    #[case(&[], ann(&[(KEY, A)]), value(B), ann(&[(KEY, B)]), true)]
    #[case(&[], ann(&[(KEY, A)]), value(A), ann(&[(KEY, A)]), true)]
    #[case(&[], ann(&[]), value(A), ann(&[(KEY, A)]), true)]
    #[case(&[], ann(&[(KEY, A)]), value(""), ann(&[(KEY, A)]), false)]
    #[case(&[], ann(&[(KEY, A)]), value("   "), ann(&[(KEY, A)]), false)]
    #[case(&[], ann(&[(KEY, A)]), RoleArg::Null, ann(&[(KEY, A)]), false)]
    #[case(&[], ann(&[(KEY, A)]), RoleArg::Omitted, ann(&[(KEY, A)]), false)]
    // faults, one rule each
    #[case(&[Fault::UpdateIgnoresRole], ann(&[(KEY, A)]), value(B), ann(&[(KEY, A)]), false)]
    #[case(&[Fault::CreateIgnoresRole], ann(&[]), value(B), ann(&[(KEY, B)]), true)]
    #[case(&[Fault::AnnotationRemovable], ann(&[(KEY, A)]), value(""), ann(&[]), false)]
    #[case(&[Fault::AnnotationRemovable], ann(&[(KEY, A)]), RoleArg::Null, ann(&[]), false)]
    #[case(&[Fault::AnnotationRemovable], ann(&[(KEY, A)]), RoleArg::Omitted, ann(&[(KEY, A)]), false)]
    #[case(&[Fault::AnnotationRemovable], ann(&[(KEY, A)]), value(B), ann(&[(KEY, B)]), true)]
    #[case(&[Fault::RoleAppended], ann(&[(KEY, A)]), value(B), ann(&[(KEY, "arn:aws:iam::123456789012:role/a,arn:aws:iam::123456789012:role/b")]), true)]
    #[case(&[Fault::RoleAppended], ann(&[(KEY, A)]), value(A), ann(&[(KEY, A)]), true)]
    #[case(&[Fault::RoleAppended], ann(&[]), value(A), ann(&[(KEY, A)]), true)]
    fn update(
        #[case] on: &[Fault],
        #[case] current: Annotations,
        #[case] role: RoleArg,
        #[case] expected: Annotations,
        #[case] written: bool,
    ) {
        let policy = AnnotationPolicy::new(Some(KEY), &faults(on));
        let update = policy.on_update(&current, &role);
        assert_eq!(update.annotations, expected);
        assert_eq!(update.role_written, written);
        assert_eq!(update.changed(&current), expected != current);
    }

    #[test]
    fn update_without_key_writes_nothing() {
        let policy = AnnotationPolicy::new(None, &FaultSet::none());
        let update = policy.on_update(&Annotations::new(), &value(A));
        assert!(update.annotations.is_empty());
        assert!(!update.role_written);
    }

    #[rstest]
    #[case(value(A), Some(A))]
    #[case(value(" x "), Some("x"))]
    #[case(value(""), None)]
    #[case(RoleArg::Null, None)]
    #[case(RoleArg::Omitted, None)]
    fn non_empty_role(#[case] role: RoleArg, #[case] expected: Option<&str>) {
        assert_eq!(role.non_empty(), expected);
    }
}

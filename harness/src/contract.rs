//! The documented contract under test: rules R1..R16 as data.
//!
//! The full text of each rule is in `contract.md`; here each rule has a title of a few words,
//! used by the reporters (`R5  FAIL  ...`, the JUnit `rules` suite).

use crate::rules::RuleId;

/// One rule of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// `R1`..`R16`.
    pub id: RuleId,
    /// The rule in a few words.
    pub title: &'static str,
}

/// The rule titles, indexed by rule number minus one.
const TITLES: [&str; RuleId::MAX as usize] = [
    "Feature enabled by serviceAccountAnnotationKey",
    "create --cloud-role binds the role",
    "update --cloud-role binds or re-binds the role",
    "Deployment pods run under the annotated ServiceAccount",
    "Pods get AWS_ROLE_ARN, the token file and the projected token",
    "One IAM role per deployment",
    "Role scope is per deployment",
    "Roles are passed through the platform API",
    "Only Workspace Admins may pass IAM roles",
    "The role annotation cannot be deleted",
    "The platform database stores the annotation",
    "Trust policy admits only astronomer-* service accounts",
    "Assumed-role credentials reach what the policy allows",
    "Kubernetes 1.14 or newer",
    "Airflow images ship boto3>=1.9 and botocore>=1.12",
    "Only pods created after the annotation get the env vars",
];

/// Every rule of the contract, R1..R16 in order.
pub fn rules() -> impl Iterator<Item = Rule> {
    RuleId::all().map(|id| Rule {
        id,
        title: title(id),
    })
}

/// The title of a rule.
pub fn title(id: RuleId) -> &'static str {
    usize::from(id.number())
        .checked_sub(1)
        .and_then(|i| TITLES.get(i))
        .copied()
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_a_distinct_non_empty_title() {
        let all: Vec<Rule> = rules().collect();
        assert_eq!(all.len(), usize::from(RuleId::MAX));
        for (i, rule) in all.iter().enumerate() {
            assert_eq!(usize::from(rule.id.number()), i + 1);
            assert!(!rule.title.is_empty(), "{} has no title", rule.id);
        }
        let mut titles: Vec<&str> = all.iter().map(|r| r.title).collect();
        titles.sort_unstable();
        titles.dedup();
        assert_eq!(titles.len(), all.len());
    }

    #[test]
    fn title_looks_up_by_number() {
        let r2 = RuleId::new(2).expect("R2 exists");
        assert_eq!(title(r2), "create --cloud-role binds the role");
        let r16 = RuleId::new(16).expect("R16 exists");
        assert!(title(r16).starts_with("Only pods created after"));
    }
}

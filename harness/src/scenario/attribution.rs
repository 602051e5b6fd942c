//! Which contract rules a step checks: the default per step kind and scenario.
//!
//! A step either **asserts** rules (its failure is a failure of those rules) or is
//! **set-up** for the rules under test (it checks none: creating a deployment so that R9 can
//! be checked). A step's rules are written with `rules: [R4]` inside the step; without that,
//! they are the rules its kind can show evidence for ([`evidence`]) that the scenario also
//! lists. A kind that can show nothing about the scenario's rules is set-up there.
//!
//! Steps of `finally` are always set-up: they tidy up after the scenario.

use crate::rules::RuleId;
use crate::steps::fields::Expect;
use crate::steps::registry::Action;

/// The rules a step checks when it names none: [`evidence`] kept in the scenario's order
/// and narrowed to the scenario's `rules`.
pub fn default_rules(action: &Action, expect: &Expect, scenario_rules: &[RuleId]) -> Vec<RuleId> {
    let shows = evidence(action, expect);
    scenario_rules
        .iter()
        .copied()
        .filter(|r| shows.contains(&r.number()))
        .collect()
}

/// The numbers of the rules a step of this kind (with this expectation) can show evidence
/// for; each kind says so in its module (`StepKind::evidence`), so a new kind has to.
pub fn evidence(action: &Action, expect: &Expect) -> &'static [u8] {
    action.evidence(expect)
}

/// Whether a failed assertion of this kind leaves later steps something to check: a step
/// that only observes the target changes nothing later steps rely on, so the scenario goes
/// on after it fails (later failures then name it as their likely cause). After any other
/// failed step, and after a failed set-up step of any kind (a precondition the rest needs),
/// the scenario's remaining steps are blocked. Each kind says so in its module
/// (`StepKind::ONLY_OBSERVES`; `assume_role` keeps its token for `token: previous`).
pub fn only_observes(action: &Action) -> bool {
    action.only_observes()
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::scenario::load_str;

    fn rules(list: &[u8]) -> Vec<RuleId> {
        list.iter().filter_map(|n| RuleId::new(*n)).collect()
    }

    fn first_step_rules(step: &str, scenario_rules: &str) -> Vec<RuleId> {
        let yaml = format!(
            "name: a\ndescription: d\nrules: {scenario_rules}\nsteps:\n  - {step}\n  - expect_server_version: {{min: \"1.14\", rules: {scenario_rules}}}\n"
        );
        let scenario = load_str(std::path::Path::new("a.yaml"), &yaml)
            .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        scenario.steps[0].rules.clone()
    }

    #[rstest]
    #[case("create_deployment: {release: r, cloud_role: x}", "[R2, R4]", &[2])]
    #[case("create_deployment: {release: r, cloud_role: x, as: editor, expect: {error: permission_denied}}", "[R9]", &[9])]
    #[case("update_deployment: {release: r, cloud_role: x}", "[R3, R6]", &[3])]
    #[case("update_deployment: {release: r, cloud_role: \"\", expect: accepted_or_refused}", "[R10]", &[10])]
    #[case("expect_service_accounts: {release: r, absent: [k]}", "[R2, R4, R5]", &[2, 4])]
    #[case("expect_pods: {release: r, env_absent: [A]}", "[R2, R4, R5]", &[5])]
    #[case("expect_deployment_config: {release: r, absent: [k]}", "[R11, R3]", &[11, 3])]
    #[case("expect_server_version: {min: \"1.14\"}", "[R14]", &[14])]
    #[case("expect_server_version: {min: \"1.14\", rules: [R14]}", "[R14, R2]", &[14])]
    fn defaults_follow_the_kind_and_the_scenario(
        #[case] step: &str,
        #[case] scenario_rules: &str,
        #[case] expected: &[u8],
    ) {
        assert_eq!(first_step_rules(step, scenario_rules), rules(expected));
    }

    #[test]
    fn a_step_without_a_role_is_set_up() {
        assert!(first_step_rules("create_deployment: {release: r}", "[R2, R14]").is_empty());
        assert!(
            first_step_rules(
                "create_deployment: {release: r, cloud_role: \"\"}",
                "[R2, R14]"
            )
            .is_empty()
        );
    }

    #[test]
    fn a_written_list_replaces_the_default() {
        assert_eq!(
            first_step_rules(
                "expect_service_accounts: {release: r, absent: [k], rules: [R4]}",
                "[R2, R4]"
            ),
            rules(&[4])
        );
        assert!(
            first_step_rules(
                "expect_service_accounts: {release: r, absent: [k], rules: []}",
                "[R2, R4, R14]"
            )
            .is_empty()
        );
    }
}

//! Planning: which scenarios a run selects, and which of those the target cannot run (skipped
//! with the reason, never passed).

use std::collections::BTreeSet;

use crate::capability::Capability;
use crate::rules::RuleId;
use crate::scenario::Scenario;
use crate::target::Target;

/// A selected scenario with its place in the suite and, if it cannot run here, why.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The scenario.
    pub scenario: Scenario,
    /// Its 0-based position in the suite (gives it its own release name).
    pub index: usize,
    /// Why it is skipped on this target, if it is.
    pub skip: Option<String>,
}

/// A selection filter: a rule id (`R5`) or a substring of scenario names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// Scenarios that check this rule.
    Rule(RuleId),
    /// Scenarios whose name contains this text.
    Name(String),
}

impl Filter {
    /// Parses a `--filter` value: `R<n>` is a rule, anything else a name substring.
    pub fn parse(text: &str) -> Filter {
        match text.parse::<RuleId>() {
            Ok(rule) => Filter::Rule(rule),
            Err(_) => Filter::Name(text.to_owned()),
        }
    }

    fn matches(&self, scenario: &Scenario) -> bool {
        match self {
            Filter::Rule(rule) => scenario.rules.contains(rule),
            Filter::Name(text) => scenario.name.contains(text.as_str()),
        }
    }
}

/// The capabilities a scenario needs: those it declares, those its rules imply (platform
/// rules need the platform API, see [`crate::rules::PLATFORM_RULES`]) and those its steps
/// imply (each step kind says which in its module).
pub fn needs(scenario: &Scenario) -> BTreeSet<Capability> {
    let mut needs: BTreeSet<Capability> = scenario.requires.iter().copied().collect();
    if scenario.rules.iter().any(|r| r.is_about_the_platform()) {
        needs.insert(Capability::PlatformApi);
    }
    for step in scenario.steps.iter().chain(&scenario.finally) {
        needs.extend(step.action.needs(&step.expect));
    }
    needs
}

/// Whether a scenario must run alone: moving the target's clock (`clock-control`) would
/// expire the tokens of scenarios running at the same time.
pub fn runs_alone(scenario: &Scenario) -> bool {
    needs(scenario).contains(&Capability::ClockControl)
}

/// Selects scenarios (any filter matching; all when there is none) and marks those needing a
/// capability the target lacks as skipped.
pub fn plan(
    scenarios: Vec<Scenario>,
    filters: &[Filter],
    target: &str,
    capabilities: &BTreeSet<Capability>,
) -> Vec<Planned> {
    scenarios
        .into_iter()
        .enumerate()
        .filter(|(_, s)| filters.is_empty() || filters.iter().any(|f| f.matches(s)))
        .map(|(index, scenario)| {
            let missing: Vec<&str> = needs(&scenario)
                .difference(capabilities)
                .map(|c| c.name())
                .collect();
            let skip = (!missing.is_empty())
                .then(|| format!("target `{target}` lacks capability {}", missing.join(", ")));
            Planned {
                scenario,
                index,
                skip,
            }
        })
        .collect()
}

/// Adds the target's reasons for lacking a capability to the skips it causes, so a skip
/// says not only what is missing but why (e.g. moto's STS does not verify tokens).
pub fn explain_skips(planned: &mut [Planned], target: &Target) {
    for p in planned.iter_mut() {
        let Some(reason) = p.skip.as_mut() else {
            continue;
        };
        let why: Vec<String> = needs(&p.scenario)
            .difference(&target.capabilities)
            .filter_map(|c| target.why_not.get(c).map(|w| format!("{c}: {w}")))
            .collect();
        if !why.is_empty() {
            reason.push_str(&format!(" ({})", why.join("; ")));
        }
    }
}

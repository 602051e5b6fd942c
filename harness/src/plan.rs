//! Planning: which scenarios a run selects, and which of those the target cannot run (skipped
//! with the reason, never passed).

use std::collections::BTreeSet;

use crate::scenario::model::{Action, Actor, Capability, RuleId, Scenario};

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

/// Rules about what the platform itself does (the CLI's commands, the annotation it writes,
/// its permissions and its database). A verdict on them needs the real platform API: a
/// stand-in that writes the objects itself (the `manifest` driver) would only check itself.
pub const PLATFORM_RULES: &[u8] = &[1, 2, 3, 4, 6, 7, 8, 9, 10, 11];

/// The capabilities a scenario needs: those it declares, those its rules imply (platform
/// rules need the platform API) and those its steps imply.
pub fn needs(scenario: &Scenario) -> BTreeSet<Capability> {
    let mut needs: BTreeSet<Capability> = scenario.requires.iter().copied().collect();
    if scenario
        .rules
        .iter()
        .any(|r| PLATFORM_RULES.contains(&r.number()))
    {
        needs.insert(Capability::PlatformApi);
    }
    for step in scenario.steps.iter().chain(&scenario.finally) {
        let actor = match &step.action {
            Action::CreateDeployment(s) => Some(s.actor),
            Action::UpdateDeployment(s) => Some(s.actor),
            Action::DeleteDeployment(s) => Some(s.actor),
            _ => None,
        };
        if let Some(actor) = actor {
            needs.insert(Capability::Deployments);
            if actor != Actor::Admin {
                needs.insert(Capability::AdminRoles);
            }
        }
        match &step.action {
            Action::ExpectDeploymentConfig(_) => {
                needs.extend([Capability::PlatformApi, Capability::PlatformDb]);
            }
            Action::AdvanceClock(_) => {
                needs.insert(Capability::ClockControl);
            }
            Action::ExpectPackages(_) => {
                needs.insert(Capability::RealImages);
            }
            Action::S3Access(_) => {
                needs.insert(Capability::S3);
            }
            Action::ExpectSdkCredentials(_) => {
                needs.insert(Capability::SdkInPods);
            }
            _ => {}
        }
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

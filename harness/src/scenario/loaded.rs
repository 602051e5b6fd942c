//! A loaded scenario: the header of a scenario file and its steps, checked.

use std::collections::BTreeMap;

use crate::capability::Capability;
use crate::platform::Installation;
use crate::rules::RuleId;
use crate::source::Location;
use crate::steps::registry::Step;
use crate::template::{BuiltinValues, Template, TemplateContext, TemplateError};

/// One scenario file, loaded and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Unique name across the suite.
    pub name: String,
    /// What the scenario shows, in one or two sentences.
    pub description: String,
    /// The contract rules this scenario checks.
    pub rules: Vec<RuleId>,
    /// Free-form tags for filtering.
    pub tags: Vec<String>,
    /// Capabilities the target must have.
    pub requires: Vec<Capability>,
    /// Scenario variables, themselves templates (they may use built-ins such as `{{account}}`).
    pub vars: BTreeMap<String, Template>,
    /// The steps, run in order until one fails.
    pub steps: Vec<Step>,
    /// Steps that always run after `steps`, whatever happened.
    pub finally: Vec<Step>,
    /// Where the scenario starts (its file, line 1 column 1 for a whole file).
    pub location: Location,
}

// What a loaded scenario decides for the run, next to the types it decides (`impl` blocks of
// the platform's and the templates' own types, so they need not know what a scenario is).

impl Installation {
    /// The installation a scenario's platform steps use.
    pub fn for_scenario(scenario: &Scenario) -> Self {
        Installation::for_requires(&scenario.requires)
    }
}

impl TemplateContext {
    /// The context for `scenario`: its vars are rendered first, against the built-ins only.
    pub fn new(scenario: &Scenario, builtins: &BuiltinValues) -> Result<Self, TemplateError> {
        Self::with_vars(&scenario.vars, builtins)
    }
}

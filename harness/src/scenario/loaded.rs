//! A loaded scenario: the header of a scenario file and its steps, checked.

use std::collections::BTreeMap;

use super::model::{Capability, Location, RuleId, Template};
use crate::steps::registry::Step;

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

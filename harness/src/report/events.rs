//! Events the runner emits while a run goes on; the console reporter shows them live.

use super::model::{Outcome, RunReport, ScenarioResult, StepResult};

/// Something that happened during a run.
#[derive(Debug, Clone)]
pub enum Event {
    /// The run starts with this many scenarios selected.
    RunStarted {
        /// Run id.
        run_id: String,
        /// Target name.
        target: String,
        /// Number of scenarios that will be reported.
        total: usize,
    },
    /// A scenario started.
    ScenarioStarted {
        /// Its name.
        name: String,
    },
    /// A step of a scenario finished.
    StepFinished {
        /// The scenario's name.
        scenario: String,
        /// The step.
        step: StepResult,
    },
    /// A scenario finished (or was skipped).
    ScenarioFinished(ScenarioResult),
    /// A scenario that failed was run again (`--suite qualify`).
    Rerun {
        /// The scenario's name.
        scenario: String,
        /// Which re-run this was, from 1.
        attempt: u32,
        /// How many re-runs there are.
        of: u32,
        /// Its outcome this time.
        outcome: Outcome,
    },
    /// The run finished.
    RunFinished(RunReport),
}

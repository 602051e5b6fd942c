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
    /// A scenario that failed was attempted again (`--suite qualify`); sent after its
    /// [`Event::ScenarioFinished`], once per re-run.
    Rerun {
        /// The scenario's name.
        scenario: String,
        /// The re-run's own run id (what it created is labelled with it and swept after it).
        run_id: String,
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

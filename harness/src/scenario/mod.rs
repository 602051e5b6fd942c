//! Scenario files: the typed model, loading with positions, validation and templating.

pub mod model;

//! `rolecheck`: an end-to-end conformance harness for "IAM roles for Airflow deployments".
//!
//! The flow reads top-down, one module per arrow:
//! scenario files -> [`scenario`] (model, loading, templating) -> [`plan`] (selection,
//! capability skips) -> [`runner`] (parallelism, timeouts, clean-up) -> [`steps`] (one file per
//! step kind) -> [`drivers`] (Kubernetes, STS/IAM, platform) -> [`report`] (events, console,
//! JUnit, JSON). [`target`] says what a target is and which capabilities it has.

pub mod app;
pub mod cli;
pub mod contract;
pub mod drivers;
pub mod plan;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod sim_serve;
pub mod steps;
pub mod target;

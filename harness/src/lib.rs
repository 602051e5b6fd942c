//! `rolecheck`: an end-to-end conformance harness for "IAM roles for Airflow deployments".
//!
//! The flow reads top-down, one module per arrow:
//! scenario files -> [`scenario`] (model, loading, templating) -> [`plan`] (selection,
//! capability skips) -> [`runner`] (parallelism, timeouts, clean-up) -> [`steps`] (one file per
//! step kind) -> [`drivers`] (Kubernetes, STS/IAM, platform) -> [`report`] (events, console,
//! JUnit, JSON, HTML). [`target`] says what a target is and which capabilities it has;
//! [`target::doctor`] checks, before anything is created, that a target has what a run needs.
//! [`suite`] adds suites and CI selection (shards, re-runs) on top of a plan, and
//! [`selfcheck`] proves by fault injection that the suite notices breakage.
//!
//! Shared vocabulary has one home each, in leaf modules the others import: [`rules`],
//! [`capability`], [`platform`], [`chart`], [`ledger`], [`source`] (files read with positions,
//! load errors), [`template`] and [`suggest`].
//!
//! Around that flow: [`cli`] parses the command line and resolves it once into
//! [`settings`] (a [`commands::Invocation`]); [`commands`] does each subcommand's work,
//! [`session`] one run (its id, the target's start and stop, the sweep, cancellation),
//! [`render`] the commands' text output, and [`exit`] maps how a command ended to its exit
//! code, in one place.

pub mod capability;
pub mod chart;
pub mod cleanup;
pub mod cli;
pub mod commands;
pub mod contract;
pub mod drivers;
pub mod duration;
pub mod exit;
pub mod input;
pub mod ledger;
pub mod namespaces;
pub mod plan;
pub mod platform;
pub mod render;
pub mod report;
pub mod rules;
pub mod runner;
pub mod scenario;
pub mod schema;
pub mod selfcheck;
pub mod session;
pub mod settings;
pub mod signals;
pub mod sim_serve;
pub mod source;
pub mod steps;
pub mod suggest;
pub mod suite;
pub mod target;
pub mod template;

//! Reporters: they only consume events and results.
//!
//! [`model`] and [`events`] are what the runner produces; [`verdict`] turns scenario results
//! into per-rule verdicts; [`console`], [`junit`] and [`json`] present a run; [`text`] holds
//! the plain-text pieces they share.

pub mod console;
pub mod error;
pub mod events;
pub mod json;
pub mod junit;
pub mod model;
pub mod text;
pub mod verdict;

pub use error::ReportError;

//! Reporters: they only consume events and results.
//!
//! [`model`] and [`events`] are what the runner produces; [`verdict`] turns scenario results
//! into per-rule verdicts; [`console`], [`junit`], [`json`] and [`html`] present a run;
//! [`text`] holds the plain-text pieces they share, [`redact`] masks secrets in them, and
//! [`junit_writer`] writes JUnit XML. [`merge`] joins the JSON reports of
//! several shards; [`coverage`] traces rules to scenarios without running anything;
//! [`lock`] keeps a second run from writing into the same reports directory.
pub mod console;
pub mod coverage;
pub mod differential;
pub mod error;
pub mod events;
pub mod html;
pub mod json;
pub mod junit;
pub mod junit_writer;
pub mod lock;
pub mod merge;
pub mod model;
pub mod redact;
pub mod text;
pub mod verdict;

pub use error::ReportError;

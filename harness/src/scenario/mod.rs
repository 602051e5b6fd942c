//! Scenario files: loading with positions, validation, and the loaded scenarios.
//!
//! [`load_paths`] reads scenario files (or directories of them), checks every one strictly
//! and either returns the [`Scenario`]s or every problem found, each as
//! `file:line:column: message` (the reading and the errors are [`crate::source`]'s, shared
//! with target profiles). Each step is decoded by its kind's module (see
//! [`crate::steps::registry`]); [`template`] fills in `{{name}}` placeholders per run.

pub mod attribution;
mod document;
pub mod load;
pub mod loaded;
mod steps;

pub use crate::source::error;
pub use crate::steps::registry::{Action, Step};
pub use crate::template::{
    self, BUILTINS, BuiltinValues, TemplateContext, TemplateError, release_name,
};
pub use document::TOP_LEVEL_KEYS;
pub use error::{LoadError, LoadErrors};
pub use load::{load_paths, load_str};
pub use loaded::Scenario;

//! Scenario files: the typed model, loading with positions, validation and templating.
//!
//! [`load_paths`] reads scenario files (or directories of them), checks every one strictly
//! and either returns the [`model::Scenario`]s or every problem found, each as
//! `file:line:column: message`. [`template`] fills in `{{name}}` placeholders per run.

pub mod attribution;
pub(crate) mod decode;
mod document;
pub mod error;
pub(crate) mod fields;
pub mod load;
pub mod loaded;
pub mod model;
mod steps;
pub mod template;
pub(crate) mod yaml;

pub use crate::steps::registry::{Action, Step};
pub use document::TOP_LEVEL_KEYS;
pub use error::{LoadError, LoadErrors};
pub use load::{load_paths, load_str};
pub use loaded::Scenario;
pub use template::{BUILTINS, BuiltinValues, TemplateContext, TemplateError, release_name};

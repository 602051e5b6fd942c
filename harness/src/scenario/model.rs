//! The values scenario fields take, by the names the scenario format has always used for
//! them. Each is defined in its one home and only named here: positions in [`crate::source`],
//! templates in [`crate::template`], rule ids in [`crate::rules`], capabilities in
//! [`crate::capability`], the platform's vocabulary in [`crate::platform`], the chart's
//! components in [`crate::chart`], and the values of the fields step kinds share in
//! [`crate::steps::fields`]. A step kind's own field types live in its module
//! (`steps/<kind>.rs`); the loaded scenario is [`super::loaded::Scenario`].

pub use crate::capability::Capability;
pub use crate::chart::Component;
pub use crate::platform::{Actor, Executor, PlatformErrorKind};
pub use crate::rules::RuleId;
pub use crate::source::Location;
pub use crate::steps::fields::{Expect, RoleInput, TokenSource};
pub use crate::template::Template;

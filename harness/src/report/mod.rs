//! Reporters: they only consume events and results.

pub mod events;
pub mod model;

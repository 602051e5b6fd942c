//! Wire types shared by the rolecheck harness and its reference environment: payload shapes
//! only, never expected values.

pub mod houston;

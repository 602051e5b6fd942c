//! The `rolecheck` binary.
fn main() {}

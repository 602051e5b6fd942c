//! Random secrets the sim hands out: bearer tokens and passwords.

/// A random token of 40 URL-safe characters.
pub(crate) fn random_token() -> String {
    use rand::distr::{Alphanumeric, SampleString as _};
    Alphanumeric.sample_string(&mut rand::rng(), 40)
}

//! Release names: Houston generates `<adjective>-<noun>-<4 digits>` (for example
//! `arithmetic-radiation-6756`) when the user gives none, and every release name must be
//! usable as the suffix of the namespace `astronomer-<release>`.

use std::fmt;

use rand::Rng;
use rand::seq::IndexedRandom as _;

/// The namespace prefix the platform puts in front of a release name.
pub const NAMESPACE_PREFIX: &str = "astronomer-";

/// Longest release name whose namespace `astronomer-<release>` is still a DNS-1123 label
/// (63 characters).
pub const MAX_RELEASE_NAME_LEN: usize = 63 - NAMESPACE_PREFIX.len();

const ADJECTIVES: &[&str] = &[
    "arithmetic",
    "barren",
    "celestial",
    "dense",
    "electric",
    "frigid",
    "galactic",
    "heavenly",
    "infrared",
    "jovian",
    "kinetic",
    "lunar",
    "magnetic",
    "nebular",
    "orbital",
    "planetary",
    "quantum",
    "radiant",
    "sidereal",
    "terrestrial",
    "ultraviolet",
    "volcanic",
    "weightless",
    "zodiacal",
    "cosmic",
    "stellar",
    "spectral",
    "polar",
    "solar",
    "tidal",
];

const NOUNS: &[&str] = &[
    "radiation",
    "asteroid",
    "comet",
    "crater",
    "eclipse",
    "equinox",
    "galaxy",
    "horizon",
    "meteor",
    "nebula",
    "orbit",
    "parallax",
    "pulsar",
    "quasar",
    "satellite",
    "solstice",
    "supernova",
    "telescope",
    "universe",
    "zenith",
    "aurora",
    "corona",
    "magnetar",
    "photon",
    "rocket",
    "station",
    "spacecraft",
    "transit",
    "umbra",
    "wavelength",
];

/// A release name that is known to be a valid DNS-1123 label short enough for its namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReleaseName(String);

/// Why a requested release name cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidReleaseName {
    /// The name is empty.
    #[error("release name must not be empty")]
    Empty,
    /// The name is longer than [`MAX_RELEASE_NAME_LEN`].
    #[error("release name `{0}` is longer than {MAX_RELEASE_NAME_LEN} characters")]
    TooLong(String),
    /// The name is not a lower-case DNS label.
    #[error(
        "release name `{0}` must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
    )]
    NotDnsLabel(String),
}

impl ReleaseName {
    /// Validates a user-supplied release name.
    pub fn parse(name: &str) -> Result<Self, InvalidReleaseName> {
        if name.is_empty() {
            return Err(InvalidReleaseName::Empty);
        }
        if name.len() > MAX_RELEASE_NAME_LEN {
            return Err(InvalidReleaseName::TooLong(name.to_owned()));
        }
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        let edge_ok = |c: Option<char>| c.is_some_and(|c| c != '-');
        if !name.chars().all(allowed)
            || !edge_ok(name.chars().next())
            || !edge_ok(name.chars().last())
        {
            return Err(InvalidReleaseName::NotDnsLabel(name.to_owned()));
        }
        Ok(Self(name.to_owned()))
    }

    /// Generates a Houston-style name `<adjective>-<noun>-<4 digits>`.
    pub fn generate<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let adjective = ADJECTIVES.choose(rng).copied().unwrap_or("cosmic");
        let noun = NOUNS.choose(rng).copied().unwrap_or("nebula");
        let digits: u16 = rng.random_range(0..10_000);
        Self(format!("{adjective}-{noun}-{digits:04}"))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The deployment's namespace, `astronomer-<release>`.
    pub fn namespace(&self) -> String {
        format!("{NAMESPACE_PREFIX}{}", self.0)
    }
}

impl fmt::Display for ReleaseName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;
    use rand::rngs::StdRng;
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("arithmetic-radiation-6756")]
    #[case("a")]
    #[case("0abc")]
    #[case(&"x".repeat(MAX_RELEASE_NAME_LEN))]
    fn accepts_dns_labels(#[case] name: &str) {
        let parsed = ReleaseName::parse(name).unwrap();
        assert_eq!(parsed.as_str(), name);
        assert!(parsed.namespace().len() <= 63);
    }

    #[rstest]
    #[case("", InvalidReleaseName::Empty)]
    #[case("Upper", InvalidReleaseName::NotDnsLabel("Upper".into()))]
    #[case("-lead", InvalidReleaseName::NotDnsLabel("-lead".into()))]
    #[case("trail-", InvalidReleaseName::NotDnsLabel("trail-".into()))]
    #[case("dot.ted", InvalidReleaseName::NotDnsLabel("dot.ted".into()))]
    #[case("under_score", InvalidReleaseName::NotDnsLabel("under_score".into()))]
    #[case(&"x".repeat(MAX_RELEASE_NAME_LEN + 1), InvalidReleaseName::TooLong("x".repeat(MAX_RELEASE_NAME_LEN + 1)))]
    fn refuses_invalid_names(#[case] name: &str, #[case] expected: InvalidReleaseName) {
        assert_eq!(ReleaseName::parse(name).unwrap_err(), expected);
    }

    #[test]
    fn generated_names_have_houston_shape_and_are_valid() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let name = ReleaseName::generate(&mut rng);
            let parts: Vec<&str> = name.as_str().split('-').collect();
            assert_eq!(parts.len(), 3, "{name}");
            assert!(ADJECTIVES.contains(&parts[0]), "{name}");
            assert!(NOUNS.contains(&parts[1]), "{name}");
            assert_eq!(parts[2].len(), 4, "{name}");
            assert!(parts[2].chars().all(|c| c.is_ascii_digit()), "{name}");
            assert_eq!(ReleaseName::parse(name.as_str()).unwrap(), name);
        }
    }
}

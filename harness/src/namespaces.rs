//! The namespace the platform gives each release, in one place: Houston builds it from the
//! namespace the platform itself is installed in.

/// The platform's own namespace the documents show (`astronomer-<release>` namespaces):
/// the Astronomer platform chart's default.
pub const DEFAULT_PLATFORM_NAMESPACE: &str = "astronomer";

/// Where the platform puts each release: `<platform namespace>-<release>`, as Houston builds
/// it from the namespace the platform itself is installed in (a profile's
/// `platform: {namespace: ...}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseNamespaces {
    platform_namespace: String,
}

impl Default for ReleaseNamespaces {
    fn default() -> Self {
        Self::new(DEFAULT_PLATFORM_NAMESPACE)
    }
}

impl ReleaseNamespaces {
    /// The release namespaces of a platform installed in `platform_namespace`.
    pub fn new(platform_namespace: impl Into<String>) -> Self {
        Self {
            platform_namespace: platform_namespace.into(),
        }
    }

    /// The namespace the platform itself is installed in.
    pub fn platform_namespace(&self) -> &str {
        &self.platform_namespace
    }

    /// The namespace of `release`.
    pub fn of(&self, release: &str) -> String {
        format!("{}-{release}", self.platform_namespace)
    }

    /// What every release namespace starts with (`astronomer-`).
    pub fn prefix(&self) -> String {
        format!("{}-", self.platform_namespace)
    }

    /// Every release namespace as a pattern (`astronomer-*`), as the documented trust
    /// policy's `sub` condition writes it.
    pub fn pattern(&self) -> String {
        format!("{}-*", self.platform_namespace)
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::documents(
        DEFAULT_PLATFORM_NAMESPACE,
        "astronomer-arithmetic-radiation-6756",
        "astronomer-*"
    )]
    #[case::other_install("astro-qa", "astro-qa-arithmetic-radiation-6756", "astro-qa-*")]
    fn release_namespaces_follow_the_platform_namespace(
        #[case] platform: &str,
        #[case] namespace: &str,
        #[case] pattern: &str,
    ) {
        let namespaces = ReleaseNamespaces::new(platform);
        assert_eq!(namespaces.of("arithmetic-radiation-6756"), namespace);
        assert_eq!(namespaces.pattern(), pattern);
        assert!(namespace.starts_with(&namespaces.prefix()));
    }
}

//! The rules of the documented contract (`R1`..`R16`, see `../shared/contract.md`) and which of
//! them are about what the platform itself does.

use std::fmt;

/// A rule of the documented contract, `R1`..`R16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(u8);

impl RuleId {
    /// The highest rule number of the contract.
    pub const MAX: u8 = 16;

    /// A rule id from its number, if the contract has that rule.
    pub fn new(number: u8) -> Option<Self> {
        (1..=Self::MAX).contains(&number).then_some(Self(number))
    }

    /// Every rule of the contract, in order.
    pub fn all() -> impl Iterator<Item = RuleId> {
        (1..=Self::MAX).map(RuleId)
    }

    /// The rule's number.
    pub fn number(self) -> u8 {
        self.0
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "R{}", self.0)
    }
}

impl std::str::FromStr for RuleId {
    type Err = String;

    /// Exactly `R` and the rule's number as written in the contract: `R5`, not `R05`,
    /// `R+5`, `r5` or `R 5`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.strip_prefix('R')
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()) && !n.starts_with('0'))
            .and_then(|n| n.parse::<u8>().ok())
            .and_then(RuleId::new)
            .ok_or_else(|| {
                format!(
                    "unknown rule id `{s}` (the contract has R1..R{})",
                    Self::MAX
                )
            })
    }
}

/// Rules about what the platform itself does (the CLI's commands, the annotation it writes,
/// its permissions and its database). A verdict on them needs the real platform API: a
/// stand-in that writes the objects itself (the `manifest` driver) would only check itself.
pub const PLATFORM_RULES: &[u8] = &[1, 2, 3, 4, 6, 7, 8, 9, 10, 11];

impl RuleId {
    /// Whether the rule is about what the platform itself does ([`PLATFORM_RULES`]).
    pub fn is_about_the_platform(self) -> bool {
        PLATFORM_RULES.contains(&self.0)
    }
}

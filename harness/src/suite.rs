//! Suites and CI selection on top of a plan: which suite a run is (`nightly`, `qualify`),
//! which share of the scenarios a CI shard runs (`--partition K/N`), and which scenarios a
//! previous run left failed (`--rerun-failed`).
//!
//! Partitions work like nextest's: the selected scenarios are sorted by name, and scenario
//! `i` of that list goes to shard `i mod N + 1` (`count:K/N`, the default), or a scenario
//! goes to shard `fnv1a(name) mod N + 1` (`hash:K/N`, stable when scenarios are added). Every
//! scenario lands in exactly one shard, so the shards of one `N` together are the suite.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use crate::plan::Planned;
use crate::report::model::RunReport;
pub use crate::report::model::Stability;

/// Which suite a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Suite {
    /// Everything the target can run, once (the default).
    #[default]
    Nightly,
    /// Everything, then every failed scenario re-run a few times to tell a flake (passes on
    /// some re-run) from a regression (fails every time).
    Qualify,
}

/// How a share of the suite is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionKind {
    /// By position in the name-sorted selection (even shares).
    Count,
    /// By a stable hash of the scenario name (shares stay put when scenarios are added).
    Hash,
}

/// One shard of the suite: `K/N`, `count:K/N` or `hash:K/N` with `1 <= K <= N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    kind: PartitionKind,
    shard: u32,
    total: u32,
}

/// A `--partition` value that is not `K/N` with `1 <= K <= N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad partition `{value}`: {why} (expected K/N, count:K/N or hash:K/N with 1 <= K <= N)")]
pub struct PartitionError {
    value: String,
    why: &'static str,
}

impl Partition {
    /// Shard `shard` of `total`, or `None` unless `1 <= shard <= total`.
    pub fn new(kind: PartitionKind, shard: u32, total: u32) -> Option<Self> {
        (shard >= 1 && shard <= total).then_some(Self { kind, shard, total })
    }

    /// The 1-based shard number `K`.
    pub fn shard(self) -> u32 {
        self.shard
    }

    /// The number of shards `N`.
    pub fn total(self) -> u32 {
        self.total
    }

    /// Keeps the planned scenarios that belong to this shard, in their suite order.
    pub fn select(self, planned: Vec<Planned>) -> Vec<Planned> {
        let mine: BTreeSet<String> = {
            let mut names: Vec<&str> = planned.iter().map(|p| p.scenario.name.as_str()).collect();
            names.sort_unstable();
            names
                .into_iter()
                .enumerate()
                .filter(|(i, name)| self.bucket(*i, name) == self.shard - 1)
                .map(|(_, name)| name.to_owned())
                .collect()
        };
        planned
            .into_iter()
            .filter(|p| mine.contains(&p.scenario.name))
            .collect()
    }

    /// The 0-based shard of the `position`-th name of the sorted selection.
    fn bucket(self, position: usize, name: &str) -> u32 {
        let total = u64::from(self.total);
        let key = match self.kind {
            PartitionKind::Count => position as u64,
            PartitionKind::Hash => fnv1a(name.as_bytes()),
        };
        // `key % total < total <= u32::MAX`.
        u32::try_from(key % total).unwrap_or(0)
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            PartitionKind::Count => "count",
            PartitionKind::Hash => "hash",
        };
        write!(f, "{kind}:{}/{}", self.shard, self.total)
    }
}

impl FromStr for Partition {
    type Err = PartitionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why| PartitionError {
            value: s.to_owned(),
            why,
        };
        let (kind, rest) = match s.split_once(':') {
            Some(("count", rest)) => (PartitionKind::Count, rest),
            Some(("hash", rest)) => (PartitionKind::Hash, rest),
            Some(_) => return Err(bad("unknown kind")),
            None => (PartitionKind::Count, s),
        };
        let (k, n) = rest.split_once('/').ok_or_else(|| bad("no `/`"))?;
        let number = |t: &str| t.trim().parse::<u32>().map_err(|_| bad("not a number"));
        let (k, n) = (number(k)?, number(n)?);
        if n == 0 {
            return Err(bad("N must be at least 1"));
        }
        Partition::new(kind, k, n).ok_or_else(|| bad("K must be between 1 and N"))
    }
}

/// 64-bit FNV-1a: a tiny hash whose values never change between Rust releases.
fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME))
}

/// Names of the scenarios that failed or errored in a previous run.
pub fn failed_names(report: &RunReport) -> BTreeSet<String> {
    report
        .scenarios
        .iter()
        .filter(|s| s.outcome.is_bad())
        .map(|s| s.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}

//! Durations a user writes (`30s`, `2m`, `1h`), on the command line and in scenario files.
//!
//! Every one is bounded: a timeout or a clock advance is added to an instant or a clock, and
//! `18446744073709551615s` would overflow that addition. Nothing the harness waits for takes
//! a day, so timeouts and clock advances stop at [`MAX_TIMEOUT`]; an age (`gc --older-than`)
//! stops at [`MAX_AGE`].

use std::time::Duration;

/// The longest timeout or clock advance accepted: 24 hours.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// The longest age accepted (`gc --older-than`): 365 days.
pub const MAX_AGE: Duration = Duration::from_secs(365 * 24 * 3600);

/// A duration of at most `max`, or a one-line reason.
pub fn parse_at_most(text: &str, max: Duration) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|e| format!("invalid duration `{text}` ({e}); write e.g. `30s` or `2m`"))?;
    if duration > max {
        return Err(format!(
            "duration `{text}` is longer than the maximum of {}",
            describe(max)
        ));
    }
    Ok(duration)
}

/// `24h` or `365 days`, as a person writes a limit.
fn describe(max: Duration) -> String {
    let secs = max.as_secs();
    if secs > 86_400 && secs.is_multiple_of(86_400) {
        format!("{} days", secs / 86_400)
    } else if secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else {
        humantime::format_duration(max).to_string()
    }
}

/// A timeout (clap value parser): at most [`MAX_TIMEOUT`].
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    parse_at_most(text, MAX_TIMEOUT)
}

/// An age (clap value parser): at most [`MAX_AGE`].
pub fn parse_age(text: &str) -> Result<Duration, String> {
    parse_at_most(text, MAX_AGE)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::seconds("30s", Ok(30))]
    #[case::a_day("24h", Ok(86_400))]
    #[case::zero("0s", Ok(0))]
    #[case::over_a_day("86401s", Err("longer than the maximum of 24h"))]
    #[case::u64_max("18446744073709551615s", Err("longer than the maximum of 24h"))]
    #[case::overflowing_number("99999999999999999999999s", Err("invalid duration"))]
    #[case::no_unit("5", Err("invalid duration `5`"))]
    fn timeouts_are_bounded(#[case] text: &str, #[case] expected: Result<u64, &str>) {
        match (parse_timeout(text), expected) {
            (Ok(d), Ok(secs)) => assert_eq!(d, Duration::from_secs(secs)),
            (Err(message), Err(part)) => assert!(message.contains(part), "{message}"),
            (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn ages_may_be_longer_than_timeouts() {
        assert_eq!(
            parse_age("30days").unwrap(),
            Duration::from_secs(30 * 86_400)
        );
        assert!(
            parse_age("366days")
                .unwrap_err()
                .ends_with("longer than the maximum of 365 days")
        );
    }
}

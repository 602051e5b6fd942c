//! IAM's eventual consistency, for the role and OIDC provider the run created: right after
//! `CreateRole` / `CreateOpenIDConnectProvider`, real STS refuses a valid token for several
//! seconds (the STS driver says which refusals those are:
//! [`StsRefusal::may_be_propagation`]). Within the profile's propagation window after the run
//! created them:
//!
//! - a call expected to succeed is retried on exactly those refusals, with bounded
//!   exponential backoff, and the step's log says how often and how long;
//! - a call expected to be refused is made only once the window has closed, so the refusal
//!   judged is IAM's stable answer, never a propagation artefact retried into a pass.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::drivers::DriverError;
use crate::drivers::sts::StsRefusal;
use crate::target::Propagation;

/// The first pause between attempts; each later one doubles, up to [`MAX_DELAY`].
const FIRST_DELAY: Duration = Duration::from_millis(500);
/// The longest pause between attempts.
const MAX_DELAY: Duration = Duration::from_secs(8);

/// What retrying took, for the step's log and report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retried {
    /// Refusals before the last answer.
    pub refusals: u32,
    /// The first refusal's code.
    pub first_code: String,
    /// How long the retries took.
    pub waited: Duration,
}

impl Retried {
    /// One line for the step log.
    pub fn describe(&self) -> String {
        format!(
            "IAM propagation: STS refused {} time(s) ({} first) right after the run created the role; retried for {}",
            self.refusals,
            self.first_code,
            humantime::format_duration(round(self.waited))
        )
    }
}

fn round(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A call expected to succeed: retries the refusals IAM propagation can cause while the propagation
/// window is open. Returns the last answer and, if there were retries, what they took.
pub async fn until_accepted<T, F, Fut>(
    propagation: Propagation,
    call: F,
) -> Result<(Result<T, StsRefusal>, Option<Retried>), DriverError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Result<T, StsRefusal>, DriverError>>,
{
    retry(propagation.until(), Instant::now, tokio::time::sleep, call).await
}

/// [`until_accepted`] with the clock and the pause given (tests use a clock of their own).
async fn retry<T, F, Fut, N, S, SF>(
    until: Option<Instant>,
    now: N,
    mut sleep: S,
    mut call: F,
) -> Result<(Result<T, StsRefusal>, Option<Retried>), DriverError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Result<T, StsRefusal>, DriverError>>,
    N: Fn() -> Instant,
    S: FnMut(Duration) -> SF,
    SF: Future<Output = ()>,
{
    let started = now();
    let mut delay = FIRST_DELAY;
    let mut retried: Option<Retried> = None;
    loop {
        let answer = call().await?;
        let refusal = match &answer {
            Err(refusal) if refusal.may_be_propagation() => refusal,
            _ => return Ok((answer, finish(retried, now() - started))),
        };
        if until.is_none_or(|until| now() + delay > until) {
            return Ok((answer, finish(retried, now() - started)));
        }
        let entry = retried.get_or_insert_with(|| Retried {
            refusals: 0,
            first_code: refusal.code.clone(),
            waited: Duration::ZERO,
        });
        entry.refusals += 1;
        sleep(delay).await;
        delay = (delay * 2).min(MAX_DELAY);
    }
}

fn finish(retried: Option<Retried>, waited: Duration) -> Option<Retried> {
    retried.map(|r| Retried { waited, ..r })
}

/// A call expected to be refused: waits until the propagation window has closed. Returns
/// how long it waited, if it did.
pub async fn settled(propagation: Propagation) -> Option<Duration> {
    settle(propagation.until(), Instant::now, tokio::time::sleep).await
}

async fn settle<N, S, SF>(until: Option<Instant>, now: N, mut sleep: S) -> Option<Duration>
where
    N: Fn() -> Instant,
    S: FnMut(Duration) -> SF,
    SF: Future<Output = ()>,
{
    let until = until?;
    let wait = until.saturating_duration_since(now());
    if wait.is_zero() {
        return None;
    }
    sleep(wait).await;
    Some(wait)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};

    fn refusal(code: &str) -> StsRefusal {
        StsRefusal {
            code: code.to_owned(),
            message: "m".to_owned(),
        }
    }

    /// A clock that only moves when something sleeps on it.
    struct FakeClock(Cell<Instant>);

    impl FakeClock {
        fn new() -> Self {
            Self(Cell::new(Instant::now()))
        }
        fn now(&self) -> Instant {
            self.0.get()
        }
        fn sleep(&self, d: Duration) -> std::future::Ready<()> {
            self.0.set(self.0.get() + d);
            std::future::ready(())
        }
    }

    /// A call that is refused with `code` `refusals` times, then accepted, within a window
    /// of `window` (`None`: the run created nothing) on a fake clock.
    async fn run(
        window: Option<Duration>,
        code: &str,
        refusals: u32,
    ) -> (Result<u32, StsRefusal>, Option<Retried>, u32) {
        let clock = FakeClock::new();
        let until = window.map(|w| clock.now() + w);
        let calls = RefCell::new(0u32);
        let (answer, retried) = retry(
            until,
            || clock.now(),
            |d| clock.sleep(d),
            || {
                let n = *calls.borrow();
                *calls.borrow_mut() += 1;
                let code = code.to_owned();
                async move {
                    Ok(if n < refusals {
                        Err(refusal(&code))
                    } else {
                        Ok(n)
                    })
                }
            },
        )
        .await
        .unwrap();
        let calls = *calls.borrow();
        (answer, retried, calls)
    }

    #[tokio::test]
    async fn propagation_refusals_are_retried_within_the_window_and_reported() {
        let (answer, retried, calls) =
            run(Some(Duration::from_secs(60)), "InvalidIdentityToken", 3).await;
        assert_eq!(answer, Ok(3));
        assert_eq!(calls, 4);
        let retried = retried.unwrap();
        assert_eq!(retried.refusals, 3);
        assert_eq!(retried.first_code, "InvalidIdentityToken");
        // Backoff 0.5 s, 1 s, 2 s.
        assert_eq!(retried.waited, Duration::from_millis(3500));
        assert!(retried.describe().contains("refused 3 time(s)"));
    }

    #[tokio::test]
    async fn retries_stop_when_the_window_closes() {
        let (answer, retried, calls) =
            run(Some(Duration::from_secs(10)), "AccessDenied", 1000).await;
        assert_eq!(answer, Err(refusal("AccessDenied")));
        // 0.5 + 1 + 2 + 4 = 7.5 s of pauses fit in 10 s, the next 8 s pause does not.
        assert_eq!(calls, 5);
        assert_eq!(retried.unwrap().waited, Duration::from_millis(7500));
    }

    #[tokio::test]
    async fn other_refusals_and_roles_not_just_created_are_never_retried() {
        let (answer, retried, calls) =
            run(Some(Duration::from_secs(60)), "ExpiredTokenException", 5).await;
        assert_eq!(answer, Err(refusal("ExpiredTokenException")));
        assert_eq!((retried, calls), (None, 1));
        let (answer, retried, calls) = run(None, "InvalidIdentityToken", 5).await;
        assert_eq!(answer, Err(refusal("InvalidIdentityToken")));
        assert_eq!((retried, calls), (None, 1));
    }

    #[tokio::test]
    async fn a_negative_check_waits_for_the_window_to_close_first() {
        let clock = FakeClock::new();
        let until = Some(clock.now() + Duration::from_secs(30));
        let waited = settle(until, || clock.now(), |d| clock.sleep(d)).await;
        assert_eq!(waited, Some(Duration::from_secs(30)));
        // Once closed (or when the run created nothing) there is nothing to wait for.
        assert_eq!(
            settle(until, || clock.now(), |d| clock.sleep(d)).await,
            None
        );
        assert_eq!(settle(None, || clock.now(), |d| clock.sleep(d)).await, None);
        assert_eq!(
            settled(Propagation {
                since: None,
                window: Duration::from_secs(60)
            })
            .await,
            None
        );
    }
}

//! Deadlines, kube-runtime style: the caller (the runner, for a step) sets one point in time
//! by which the work must be done, and every wait inside it waits until that point, never
//! for a budget of its own. Waits note what they last saw on the deadline, so that whoever
//! set it can say what a wait was looking at when time ran out.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::DriverError;

/// The point in time by which a piece of work (a step, the removal of an object) must be
/// done, with the budget it was set from and what its waits last saw.
#[derive(Debug, Clone)]
pub struct Deadline {
    at: Instant,
    budget: Duration,
    waits: Arc<Mutex<Waits>>,
}

/// The waits running under a deadline and what the latest of them last saw.
#[derive(Debug, Default)]
struct Waits {
    running: usize,
    last_seen: Option<String>,
}

impl Deadline {
    /// The deadline `budget` from now.
    pub fn after(budget: Duration) -> Self {
        Self {
            at: Instant::now() + budget,
            budget,
            waits: Arc::default(),
        }
    }

    /// The point in time.
    pub fn instant(&self) -> Instant {
        self.at
    }

    /// The budget the deadline was set from (what a timeout message names).
    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// How much time is left (zero once the deadline has passed).
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// The timeout error of a wait under this deadline that last saw `last_seen`.
    pub fn timed_out(&self, last_seen: impl Into<String>) -> DriverError {
        DriverError::Timeout {
            waited: self.budget,
            last_seen: last_seen.into(),
        }
    }

    /// Registers a wait under this deadline until the returned guard is dropped; what the
    /// wait notes on the guard is what [`Deadline::waiting_on`] answers meanwhile.
    pub fn wait(&self) -> Waiting {
        if let Ok(mut waits) = self.waits.lock() {
            waits.running += 1;
        }
        Waiting {
            waits: Arc::clone(&self.waits),
        }
    }

    /// What a wait still running under this deadline last saw (`None` when no wait runs,
    /// or the running ones have seen nothing yet).
    pub fn waiting_on(&self) -> Option<String> {
        self.waits.lock().ok().and_then(|w| {
            if w.running > 0 {
                w.last_seen.clone()
            } else {
                None
            }
        })
    }
}

/// A wait running under a [`Deadline`] (see [`Deadline::wait`]).
#[derive(Debug)]
pub struct Waiting {
    waits: Arc<Mutex<Waits>>,
}

impl Waiting {
    /// Notes what the wait saw last.
    pub fn saw(&self, what: &str) {
        if let Ok(mut waits) = self.waits.lock() {
            waits.last_seen = Some(what.to_owned());
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Ok(mut waits) = self.waits.lock() {
            waits.running = waits.running.saturating_sub(1);
            if waits.running == 0 {
                waits.last_seen = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_wait_saw_is_known_while_it_runs() {
        let deadline = Deadline::after(Duration::from_secs(5));
        assert_eq!(deadline.waiting_on(), None);
        let first = deadline.wait();
        assert_eq!(deadline.waiting_on(), None);
        first.saw("pod a/b is Pending");
        let second = deadline.wait();
        second.saw("no Deployment matches `x` in a");
        assert_eq!(
            deadline.waiting_on().as_deref(),
            Some("no Deployment matches `x` in a")
        );
        drop(second);
        assert!(deadline.waiting_on().is_some());
        drop(first);
        assert_eq!(deadline.waiting_on(), None);
    }

    #[test]
    fn a_timeout_names_the_budget_and_what_was_seen() {
        let deadline = Deadline::after(Duration::from_secs(3));
        let text = deadline.timed_out("pod a/b is Pending").to_string();
        assert_eq!(text, "timed out after 3s; last seen: pod a/b is Pending");
    }
}

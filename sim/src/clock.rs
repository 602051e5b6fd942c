//! The sim's clock: what the service-account token issuer and STS read as "now".
//!
//! Real API servers refuse TokenRequest lifetimes below ten minutes, so a test that needs an
//! expired, cluster-signed token has to let time pass. The sim shares one clock between its
//! issuer and STS and lets an administrator move it forward through an admin endpoint on the
//! Kubernetes listener:
//!
//! ```text
//! POST /_sim/clock   {"advance_seconds": 7200}   ->   {"offsetSeconds": 7200}
//! GET  /_sim/clock                               ->   {"offsetSeconds": 7200}
//! ```
//!
//! Both need the cluster admin's bearer token (none when the listener runs without
//! authentication). The clock never goes backwards: a negative advance is refused with 400.
//! Nor does it go further than [`MAX_OFFSET_SECONDS`] ahead in total: an advance past that is
//! refused with 400 and leaves the clock where it was, so every later "now" (plus any token
//! lifetime) stays a representable time. Everything else in the sim (object timestamps, pod
//! start-up) keeps reading real time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

/// A clock the AWS services read (injectable so tests can move time without sleeping).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The path of the admin endpoint.
pub const CLOCK_PATH: &str = "/_sim/clock";

/// The largest single advance accepted (100 years).
const MAX_ADVANCE_SECONDS: i64 = 100 * 365 * 24 * 3600;

/// How far ahead of real time the clock may be in total (200 years): far enough to expire
/// any token the sim issues (at most 2^32 seconds, about 136 years), near enough that "now"
/// plus any lifetime stays far inside what a timestamp can hold.
pub const MAX_OFFSET_SECONDS: i64 = 200 * 365 * 24 * 3600;

/// Real time plus an offset that only grows.
#[derive(Debug, Default)]
pub struct SimClock {
    offset_seconds: AtomicI64,
}

impl SimClock {
    /// A clock showing real time.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The sim's "now".
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + TimeDelta::seconds(self.offset_seconds())
    }

    /// How far the clock is ahead of real time, in seconds.
    pub fn offset_seconds(&self) -> i64 {
        self.offset_seconds.load(Ordering::SeqCst)
    }

    /// Moves the clock forward; returns the new offset, or, when that would put the clock
    /// more than [`MAX_OFFSET_SECONDS`] ahead, leaves it alone and returns the current offset
    /// as the error.
    pub fn advance(&self, seconds: u32) -> Result<i64, i64> {
        let by = i64::from(seconds);
        self.offset_seconds
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |offset| {
                offset
                    .checked_add(by)
                    .filter(|next| *next <= MAX_OFFSET_SECONDS)
            })
            .map(|previous| previous + by)
    }

    /// The clock as a function of no arguments, as the AWS services read it.
    pub fn sts_clock(self: &Arc<Self>) -> Clock {
        let clock = Arc::clone(self);
        Arc::new(move || clock.now())
    }
}

#[derive(Clone)]
struct Admin {
    clock: Arc<SimClock>,
    token: Arc<str>,
}

/// The admin routes (`GET`/`POST` [`CLOCK_PATH`]); `token` is the cluster admin's bearer
/// token (empty: no authentication, like the Kubernetes listener itself).
pub fn router(clock: Arc<SimClock>, token: String) -> Router {
    Router::new()
        .route(CLOCK_PATH, get(read).post(advance))
        .with_state(Admin {
            clock,
            token: Arc::from(token),
        })
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code.as_u16(),
    });
    (code, axum::Json(body)).into_response()
}

fn authorized(admin: &Admin, headers: &HeaderMap) -> bool {
    if admin.token.is_empty() {
        return true;
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t.trim() == &*admin.token)
}

fn offset(clock: &SimClock) -> Response {
    axum::Json(json!({"offsetSeconds": clock.offset_seconds()})).into_response()
}

async fn read(State(admin): State<Admin>, headers: HeaderMap) -> Response {
    if !authorized(&admin, &headers) {
        return status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    offset(&admin.clock)
}

async fn advance(
    State(admin): State<Admin>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Response {
    if !authorized(&admin, &headers) {
        return status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return status(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                "Request entity too large",
            );
        }
        Err(rejection) => {
            return status(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &rejection.body_text(),
            );
        }
    };
    let seconds = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("advance_seconds").and_then(Value::as_i64));
    match seconds {
        Some(s) if (0..=MAX_ADVANCE_SECONDS).contains(&s) => {
            match admin.clock.advance(u32::try_from(s).unwrap_or(u32::MAX)) {
                Ok(_) => offset(&admin.clock),
                Err(current) => status(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!(
                        "advancing by {s}s would put the clock more than {MAX_OFFSET_SECONDS}s ahead of real time (it is {current}s ahead); the clock was not moved"
                    ),
                ),
            }
        }
        Some(s) => status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!(
                "advance_seconds must be between 0 and {MAX_ADVANCE_SECONDS}, got {s}: the clock never goes backwards"
            ),
        ),
        None => status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "the body must be a JSON object with an integer `advance_seconds`",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_and_accumulates() {
        let clock = SimClock::new();
        let before = clock.now();
        assert_eq!(clock.advance(3600), Ok(3600));
        assert_eq!(clock.advance(60), Ok(3660));
        assert!(clock.now() - before >= TimeDelta::seconds(3660));
        let sts = clock.sts_clock();
        assert!(sts() - before >= TimeDelta::seconds(3660));
    }

    #[test]
    fn the_total_offset_is_capped_and_a_refused_advance_moves_nothing() {
        let clock = SimClock::new();
        let step = u32::try_from(MAX_ADVANCE_SECONDS).unwrap();
        assert_eq!(clock.advance(step), Ok(MAX_ADVANCE_SECONDS));
        assert_eq!(clock.advance(step), Ok(2 * MAX_ADVANCE_SECONDS));
        const { assert!(2 * MAX_ADVANCE_SECONDS <= MAX_OFFSET_SECONDS) };
        let at_cap = clock.offset_seconds();
        assert_eq!(clock.advance(step), Err(at_cap));
        assert_eq!(clock.offset_seconds(), at_cap);
        // "now" is still a time: nothing overflows.
        let _ = clock.now();
    }
}

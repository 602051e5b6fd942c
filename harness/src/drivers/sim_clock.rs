//! The sim's clock endpoint: moves the clock its token issuer and STS share forward
//! (`POST <kube>/_sim/clock {"advance_seconds": N}` with the cluster admin's token). Only the
//! embedded sim has it (capability `clock-control`); real clusters and STS keep real time.

use std::time::Duration;

use serde_json::{Value, json};

use super::DriverError;
use super::houston::http_error;
use super::timeouts::RequestTimeouts;

/// A client of the sim's clock endpoint.
pub struct SimClockDriver {
    url: String,
    token: String,
    http: reqwest::Client,
}

impl SimClockDriver {
    /// Builds the client (no network traffic).
    pub fn new(url: String, token: String) -> Result<Self, DriverError> {
        let http = RequestTimeouts::current()
            .http()
            .build()
            .map_err(|e| DriverError::Protocol(format!("HTTP client: {e}")))?;
        Ok(Self { url, token, http })
    }

    /// Moves the clock forward by `by` (whole seconds); returns how far it is now ahead of
    /// real time.
    pub async fn advance(&self, by: Duration) -> Result<Duration, DriverError> {
        let response = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(&json!({"advance_seconds": by.as_secs()}))
            .send()
            .await
            .map_err(|e| http_error("sim clock", &self.url, &e))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| {
            DriverError::Protocol(format!(
                "sim clock answered {status} with a body that is not JSON: {e}"
            ))
        })?;
        if !status.is_success() {
            return Err(DriverError::Api(format!(
                "sim clock answered {status}: {}",
                body.get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            )));
        }
        body.get("offsetSeconds")
            .and_then(Value::as_u64)
            .map(Duration::from_secs)
            .ok_or_else(|| {
                DriverError::Protocol(format!("sim clock answered without offsetSeconds: {body}"))
            })
    }
}

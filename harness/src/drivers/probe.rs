//! Start-up probes: before a run creates anything, each endpoint of the target must answer
//! one request within seconds (the probe bound of the [`RequestTimeouts`]). An endpoint that
//! refuses connections, or accepts them and never answers, is named at once (exit 2) instead
//! of failing a step in the middle of the run.

use super::DriverError;
use super::houston::http_error;
use super::timeouts::RequestTimeouts;

/// Sends `GET url` and accepts any HTTP answer (an error status included: the endpoint
/// answers). `what` names the endpoint in the error (`STS/IAM endpoint`).
pub async fn http(what: &str, url: &str) -> Result<(), DriverError> {
    let timeouts = RequestTimeouts::current();
    let bound = timeouts.probe();
    let client = reqwest::Client::builder()
        .connect_timeout(timeouts.connect.min(bound))
        .read_timeout(bound)
        .timeout(bound)
        .build()
        .map_err(|e| DriverError::Protocol(format!("HTTP client: {e}")))?;
    match client.get(url).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.is_timeout() => Err(DriverError::Unreachable(format!(
            "{what} at {url}: no answer within {} (it accepts connections but does not answer)",
            humantime::format_duration(bound)
        ))),
        Err(e) => Err(http_error(what, url, &e)),
    }
}

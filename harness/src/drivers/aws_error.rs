//! The AWS SDK's errors as every AWS driver (STS, IAM, S3) reports them: a refusal by the
//! service, with its code, or a failure to reach it that names the call, the endpoint and
//! what happened (`IAM CreateRole at http://127.0.0.1:4566: ... Connection refused`), never
//! the SDK's bare "dispatch failure" or an empty `Unknown: `.

use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

use super::DriverError;
use super::timeouts::RequestTimeouts;

/// A service's refusal of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// The AWS error code; for answers without one (a `HEAD` has no body) derived from the
    /// status: `AccessDenied` for 403, `NotFound` for 404, else `HTTP <status>`.
    pub code: String,
    /// The AWS error message (may be empty).
    pub message: String,
}

/// Where a call went: the endpoint URL, or the SDK's own regional endpoint.
pub(crate) fn endpoint_text(url: Option<&str>, region: &str) -> String {
    match url {
        Some(url) => url.to_owned(),
        None => format!("the AWS endpoint of region {region}"),
    }
}

/// Splits an SDK error of `call` (`"IAM CreateRole"`) sent to `endpoint` into a refusal by
/// the service or a driver error: unreachable when the service could not be asked (refused
/// or reset connection, no answer within the read timeout), protocol otherwise.
pub(crate) fn classify<E>(
    call: &str,
    endpoint: &str,
    err: SdkError<E, HttpResponse>,
) -> Result<Refusal, DriverError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let inner = service.err();
            let code = match (inner.code(), status) {
                (Some(code), _) => code.to_owned(),
                (None, 403) => "AccessDenied".to_owned(),
                (None, 404) => "NotFound".to_owned(),
                (None, other) => format!("HTTP {other}"),
            };
            Ok(Refusal {
                status,
                code,
                message: inner.message().unwrap_or_default().to_owned(),
            })
        }
        SdkError::TimeoutError(_) => Err(DriverError::Unreachable(format!(
            "{call} at {endpoint}: no answer within {} (the endpoint does not answer)",
            humantime::format_duration(RequestTimeouts::current().read)
        ))),
        SdkError::DispatchFailure(dispatch) => {
            let what = if dispatch.is_timeout() {
                format!(
                    "no answer within {} (the endpoint does not answer): {}",
                    humantime::format_duration(RequestTimeouts::current().read),
                    sources(&err)
                )
            } else {
                sources(&err)
            };
            Err(DriverError::Unreachable(format!(
                "{call} at {endpoint}: {what}"
            )))
        }
        SdkError::ResponseError(_) => Err(DriverError::Protocol(format!(
            "{call} at {endpoint}: an answer that is not {call}'s: {}",
            sources(&err)
        ))),
        _ => Err(DriverError::Protocol(format!(
            "{call} at {endpoint}: {}",
            super::error_chain(&err)
        ))),
    }
}

/// The causes of an SDK error without its own one-word summary.
fn sources(err: &(dyn std::error::Error + 'static)) -> String {
    match err.source() {
        Some(source) => super::error_chain(source),
        None => err.to_string(),
    }
}

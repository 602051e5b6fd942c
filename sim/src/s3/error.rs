//! S3's error shape: `<Error><Code>…</Code><Message>…</Message>…<RequestId>…</RequestId></Error>`
//! with the HTTP status S3 uses for each code (and no body at all for `HEAD`).

use std::fmt::Write as _;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::aws_protocol::query::escape;

/// An error as S3 reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} ({status}): {message}")]
pub struct S3Error {
    /// The error code (`AccessDenied`, `NoSuchKey`, ...).
    pub code: &'static str,
    /// The HTTP status.
    pub status: StatusCode,
    /// The human-readable message.
    pub message: String,
    /// Extra elements S3 adds for some codes (`BucketName`, `Key`, `Region`, ...).
    pub details: Vec<(&'static str, String)>,
}

impl S3Error {
    /// An error with a code, status and message.
    pub fn new(code: &'static str, status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            code,
            status,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// Adds an extra element to the error body.
    pub fn with(mut self, element: &'static str, value: impl Into<String>) -> Self {
        self.details.push((element, value.into()));
        self
    }

    /// `AccessDenied` (403): no policy allows the request, or one denies it.
    pub fn access_denied() -> Self {
        Self::new("AccessDenied", StatusCode::FORBIDDEN, "Access Denied")
    }

    /// `NoSuchBucket` (404).
    pub fn no_such_bucket(bucket: &str) -> Self {
        Self::new(
            "NoSuchBucket",
            StatusCode::NOT_FOUND,
            "The specified bucket does not exist",
        )
        .with("BucketName", bucket)
    }

    /// `NoSuchKey` (404).
    pub fn no_such_key(key: &str) -> Self {
        Self::new(
            "NoSuchKey",
            StatusCode::NOT_FOUND,
            "The specified key does not exist.",
        )
        .with("Key", key)
    }

    /// `InvalidAccessKeyId` (403): the access key id is unknown.
    pub fn invalid_access_key_id(access_key: &str) -> Self {
        Self::new(
            "InvalidAccessKeyId",
            StatusCode::FORBIDDEN,
            "The AWS Access Key Id you provided does not exist in our records.",
        )
        .with("AWSAccessKeyId", access_key)
    }

    /// `SignatureDoesNotMatch` (403).
    pub fn signature_does_not_match(access_key: &str) -> Self {
        Self::new(
            "SignatureDoesNotMatch",
            StatusCode::FORBIDDEN,
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        )
        .with("AWSAccessKeyId", access_key)
    }

    /// `InvalidToken` (400): the session token does not belong to the access key.
    pub fn invalid_token() -> Self {
        Self::new(
            "InvalidToken",
            StatusCode::BAD_REQUEST,
            "The provided token is malformed or otherwise invalid.",
        )
    }

    /// `ExpiredToken` (400).
    pub fn expired_token() -> Self {
        Self::new(
            "ExpiredToken",
            StatusCode::BAD_REQUEST,
            "The provided token has expired.",
        )
    }

    /// `AuthorizationHeaderMalformed` (400).
    pub fn authorization_header_malformed(message: impl Into<String>) -> Self {
        Self::new(
            "AuthorizationHeaderMalformed",
            StatusCode::BAD_REQUEST,
            message,
        )
    }

    /// `InvalidRequest` (400).
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new("InvalidRequest", StatusCode::BAD_REQUEST, message)
    }

    /// `InvalidArgument` (400) about one named argument.
    pub fn invalid_argument(message: impl Into<String>, name: &str, value: &str) -> Self {
        Self::new("InvalidArgument", StatusCode::BAD_REQUEST, message)
            .with("ArgumentName", name)
            .with("ArgumentValue", value)
    }

    /// `NotImplemented` (501): an S3 feature this sim does not serve.
    pub fn not_implemented() -> Self {
        Self::new(
            "NotImplemented",
            StatusCode::NOT_IMPLEMENTED,
            "A header you provided implies functionality that is not implemented",
        )
    }

    /// `MethodNotAllowed` (405).
    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(
            "MethodNotAllowed",
            StatusCode::METHOD_NOT_ALLOWED,
            "The specified method is not allowed against this resource.",
        )
        .with("Method", method)
    }

    /// `XAmzContentSHA256Mismatch` (400): the body does not hash to the signed value.
    pub fn content_sha256_mismatch(client: &str, computed: &str) -> Self {
        Self::new(
            "XAmzContentSHA256Mismatch",
            StatusCode::BAD_REQUEST,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
        .with("ClientComputedContentSHA256", client)
        .with("S3ComputedContentSHA256", computed)
    }

    /// `BadDigest` (400): a checksum the client sent does not match the body.
    pub fn bad_digest(algorithm: &str) -> Self {
        Self::new(
            "BadDigest",
            StatusCode::BAD_REQUEST,
            format!("The {algorithm} you specified did not match the calculated checksum."),
        )
    }

    /// `IncompleteBody` (400): an `aws-chunked` body that is cut short or malformed.
    pub fn incomplete_body() -> Self {
        Self::new(
            "IncompleteBody",
            StatusCode::BAD_REQUEST,
            "The request body terminated unexpectedly",
        )
    }

    /// `EntityTooLarge` (400): a body larger than the sim reads.
    pub fn entity_too_large(max: usize) -> Self {
        Self::new(
            "EntityTooLarge",
            StatusCode::BAD_REQUEST,
            "Your proposed upload exceeds the maximum allowed object size.",
        )
        .with("MaxSizeAllowed", max.to_string())
    }

    /// `RequestTimeTooSkewed` (403).
    pub fn time_too_skewed(request_time: &str, server_time: &str) -> Self {
        Self::new(
            "RequestTimeTooSkewed",
            StatusCode::FORBIDDEN,
            "The difference between the request time and the current time is too large.",
        )
        .with("RequestTime", request_time)
        .with("ServerTime", server_time)
        .with("MaxAllowedSkewMilliseconds", "900000")
    }

    /// `InvalidBucketName` (400).
    pub fn invalid_bucket_name(bucket: &str) -> Self {
        Self::new(
            "InvalidBucketName",
            StatusCode::BAD_REQUEST,
            "The specified bucket is not valid.",
        )
        .with("BucketName", bucket)
    }

    /// `BucketAlreadyOwnedByYou` (409).
    pub fn bucket_already_owned_by_you(bucket: &str) -> Self {
        Self::new(
            "BucketAlreadyOwnedByYou",
            StatusCode::CONFLICT,
            "Your previous request to create the named bucket succeeded and you already own it.",
        )
        .with("BucketName", bucket)
    }

    /// The XML body.
    pub fn body(&self, request_id: &str) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>");
        let _ = write!(
            out,
            "<Code>{}</Code><Message>{}</Message>",
            escape(self.code),
            escape(&self.message)
        );
        for (element, value) in &self.details {
            let _ = write!(out, "<{element}>{}</{element}>", escape(value));
        }
        let _ = write!(
            out,
            "<RequestId>{rid}</RequestId><HostId>{rid}</HostId></Error>",
            rid = escape(request_id)
        );
        out
    }

    /// The HTTP response; `HEAD` requests get the status and headers only, as from S3.
    pub fn response(&self, request_id: &str, head: bool) -> Response {
        if head {
            return self.status.into_response();
        }
        (
            self.status,
            [(header::CONTENT_TYPE, "application/xml")],
            self.body(request_id),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_denied_has_the_s3_shape() {
        assert_eq!(
            S3Error::access_denied().body("RID"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>RID</RequestId><HostId>RID</HostId></Error>"
        );
    }

    #[test]
    fn details_are_escaped() {
        let body = S3Error::no_such_key("a<b>&c").body("r");
        assert!(body.contains("<Key>a&lt;b&gt;&amp;c</Key>"), "{body}");
        assert_eq!(S3Error::no_such_key("k").status, StatusCode::NOT_FOUND);
    }
}

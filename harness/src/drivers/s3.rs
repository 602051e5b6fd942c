//! The S3 driver: aws-sdk-s3 (path-style addressing) signed with an assumed role's
//! temporary credentials. It reports what S3 answered; the step decides what that means.

use aws_sdk_s3::config::{BehaviorVersion, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;

use super::DriverError;
use super::sts::{AssumedRole, AwsEndpoint};

/// S3 refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Refusal {
    /// HTTP status (403 for `AccessDenied`, 404 for `NoSuchKey`, ...).
    pub status: u16,
    /// S3 error code; for `HEAD` requests, which carry no body, derived from the status
    /// (`AccessDenied` for 403, `NotFound` for 404).
    pub code: String,
    /// S3 error message.
    pub message: String,
}

/// The answer to one S3 request: what S3 sent back, or its refusal.
pub type S3Answer<T> = Result<Result<T, S3Refusal>, DriverError>;

/// An S3 client acting as one assumed role.
#[derive(Clone)]
pub struct S3Driver {
    client: aws_sdk_s3::Client,
}

impl S3Driver {
    /// Builds the client (no network traffic). A `None` endpoint URL uses the SDK's own
    /// endpoint resolution (real AWS); a set one is addressed path-style.
    pub fn new(endpoint: &AwsEndpoint, role: &AssumedRole) -> Self {
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(endpoint.region.clone()))
            .credentials_provider(role.credentials().clone());
        if let Some(url) = &endpoint.url {
            builder = builder.endpoint_url(url).force_path_style(true);
        }
        Self {
            client: aws_sdk_s3::Client::from_conf(builder.build()),
        }
    }

    /// `PutObject`.
    pub async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> S3Answer<()> {
        let answer = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await;
        settle(answer.map(|_| ()))
    }

    /// `GetObject`; returns the content.
    pub async fn get_object(&self, bucket: &str, key: &str) -> S3Answer<Vec<u8>> {
        let answer = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await;
        match answer {
            Ok(output) => match output.body.collect().await {
                Ok(data) => Ok(Ok(data.into_bytes().to_vec())),
                Err(err) => Err(DriverError::Protocol(format!("S3 GetObject body: {err}"))),
            },
            Err(err) => refusal_or_error(err).map(Err),
        }
    }

    /// `HeadObject`.
    pub async fn head_object(&self, bucket: &str, key: &str) -> S3Answer<()> {
        let answer = self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await;
        settle(answer.map(|_| ()))
    }

    /// `DeleteObject`.
    pub async fn delete_object(&self, bucket: &str, key: &str) -> S3Answer<()> {
        let answer = self
            .client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await;
        settle(answer.map(|_| ()))
    }

    /// `ListObjectsV2` (action `s3:ListBucket`); returns the keys of the first page.
    pub async fn list_objects(&self, bucket: &str) -> S3Answer<Vec<String>> {
        let answer = self.client.list_objects_v2().bucket(bucket).send().await;
        settle(answer.map(|output| {
            output
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned))
                .collect()
        }))
    }

    /// `GetBucketLocation`; returns the location constraint (empty for `us-east-1`).
    pub async fn get_bucket_location(&self, bucket: &str) -> S3Answer<String> {
        let answer = self
            .client
            .get_bucket_location()
            .bucket(bucket)
            .send()
            .await;
        settle(answer.map(|output| {
            output
                .location_constraint()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default()
        }))
    }
}

fn settle<T, E, R>(answer: Result<T, SdkError<E, R>>) -> S3Answer<T>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: HttpStatus + std::fmt::Debug,
{
    match answer {
        Ok(value) => Ok(Ok(value)),
        Err(err) => refusal_or_error(err).map(Err),
    }
}

/// The HTTP status of a raw response.
trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// Splits an SDK error into an S3 refusal or a driver error.
fn refusal_or_error<E, R>(err: SdkError<E, R>) -> Result<S3Refusal, DriverError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: HttpStatus + std::fmt::Debug,
{
    match &err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status_code();
            let inner = service.err();
            let code = match (inner.code(), status) {
                (Some(code), _) => code.to_owned(),
                (None, 403) => "AccessDenied".to_owned(),
                (None, 404) => "NotFound".to_owned(),
                (None, other) => format!("HTTP {other}"),
            };
            Ok(S3Refusal {
                status,
                code,
                message: inner.message().unwrap_or_default().to_owned(),
            })
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => Err(DriverError::Unreachable(
            format!("S3: {}", error_text(&err)),
        )),
        _ => Err(DriverError::Protocol(format!("S3: {}", error_text(&err)))),
    }
}

fn error_text(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

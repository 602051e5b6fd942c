//! The S3 driver: aws-sdk-s3 (path-style addressing) signed with an assumed role's
//! temporary credentials. It reports what S3 answered; the step decides what that means.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;

use super::DriverError;
use super::aws_error::{classify, endpoint_text};
use super::sts::{AssumedRole, AwsEndpoint};
use super::timeouts::RequestTimeouts;

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

impl S3Refusal {
    /// Whether S3 refused because the caller's policies do not grant the request
    /// (`AccessDenied`).
    pub fn is_access_denied(&self) -> bool {
        self.code == "AccessDenied"
    }
}

impl std::fmt::Display for S3Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (HTTP {}): {}", self.code, self.status, self.message)
    }
}

/// The answer to one S3 request: what S3 sent back, or its refusal.
pub type S3Answer<T> = Result<Result<T, S3Refusal>, DriverError>;

/// An S3 client acting as one assumed role.
#[derive(Clone)]
pub struct S3Driver {
    client: aws_sdk_s3::Client,
    /// Where requests go, named in errors.
    endpoint: String,
}

impl S3Driver {
    /// Builds the client (no network traffic). A `None` endpoint URL uses the SDK's own
    /// endpoint resolution (real AWS); a set one is addressed path-style.
    pub fn new(endpoint: &AwsEndpoint, role: &AssumedRole) -> Self {
        let builder = Self::config(endpoint).credentials_provider(role.credentials().clone());
        Self {
            client: aws_sdk_s3::Client::from_conf(builder.build()),
            endpoint: endpoint_text(endpoint.url_text(), &endpoint.region),
        }
    }

    /// A client acting as the operator: the default chain on real AWS, `credentials` on a
    /// local endpoint (the preflight's `HeadBucket`).
    pub fn for_operator(endpoint: &AwsEndpoint, credentials: Option<Credentials>) -> Self {
        let mut builder = Self::config(endpoint);
        if let Some(credentials) = credentials {
            builder = builder.credentials_provider(credentials);
        }
        Self {
            client: aws_sdk_s3::Client::from_conf(builder.build()),
            endpoint: endpoint_text(endpoint.url_text(), &endpoint.region),
        }
    }

    /// The shared configuration's settings on real AWS (path-style when the SDK's endpoint
    /// settings point elsewhere than AWS, as a local S3 needs), else the local endpoint.
    fn config(endpoint: &AwsEndpoint) -> aws_sdk_s3::config::Builder {
        if let Some(shared) = &endpoint.shared {
            let custom_endpoint = shared.endpoint_url().is_some()
                || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
            return aws_sdk_s3::config::Builder::from(shared).force_path_style(custom_endpoint);
        }
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .timeout_config(RequestTimeouts::current().aws())
            .region(Region::new(endpoint.region.clone()));
        if let Some(url) = &endpoint.url {
            builder = builder.endpoint_url(url).force_path_style(true);
        }
        builder
    }

    /// `HeadBucket`: whether the bucket exists and the caller may see it.
    pub async fn head_bucket(&self, bucket: &str) -> S3Answer<()> {
        let answer = self.client.head_bucket().bucket(bucket).send().await;
        self.settle("HeadBucket", answer.map(|_| ()))
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
        self.settle("PutObject", answer.map(|_| ()))
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
            Err(err) => self.refusal_or_error("GetObject", err).map(Err),
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
        self.settle("HeadObject", answer.map(|_| ()))
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
        self.settle("DeleteObject", answer.map(|_| ()))
    }

    /// `ListObjectsV2` (action `s3:ListBucket`); returns the keys of the first page.
    pub async fn list_objects(&self, bucket: &str) -> S3Answer<Vec<String>> {
        let answer = self.client.list_objects_v2().bucket(bucket).send().await;
        self.settle(
            "ListObjectsV2",
            answer.map(|output| {
                output
                    .contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned))
                    .collect()
            }),
        )
    }

    /// `GetBucketLocation`; returns the location constraint (empty for `us-east-1`).
    pub async fn get_bucket_location(&self, bucket: &str) -> S3Answer<String> {
        let answer = self
            .client
            .get_bucket_location()
            .bucket(bucket)
            .send()
            .await;
        self.settle(
            "GetBucketLocation",
            answer.map(|output| {
                output
                    .location_constraint()
                    .map(|c| c.as_str().to_owned())
                    .unwrap_or_default()
            }),
        )
    }
}

impl S3Driver {
    fn settle<T, E>(
        &self,
        operation: &str,
        answer: Result<T, SdkError<E, HttpResponse>>,
    ) -> S3Answer<T>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match answer {
            Ok(value) => Ok(Ok(value)),
            Err(err) => self.refusal_or_error(operation, err).map(Err),
        }
    }

    /// Splits an SDK error into an S3 refusal or a driver error naming the call and endpoint.
    fn refusal_or_error<E>(
        &self,
        operation: &str,
        err: SdkError<E, HttpResponse>,
    ) -> Result<S3Refusal, DriverError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        classify(&format!("S3 {operation}"), &self.endpoint, err).map(|r| S3Refusal {
            status: r.status,
            code: r.code,
            message: r.message,
        })
    }
}

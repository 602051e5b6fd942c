//! The STS driver: aws-sdk-sts against the target's STS endpoint.

use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

use super::DriverError;
use super::aws_error::{classify, endpoint_text};
use super::timeouts::RequestTimeouts;

/// Where STS is and which region to sign for.
#[derive(Debug, Clone)]
pub struct AwsEndpoint {
    /// Endpoint URL; `None` uses the SDK's default endpoint resolution (real AWS).
    pub url: Option<String>,
    /// Region.
    pub region: String,
}

/// Temporary credentials STS returned.
#[derive(Clone)]
pub struct AssumedRole {
    /// `AssumedRoleUser.Arn`.
    pub assumed_role_arn: String,
    /// The credentials (kept out of Debug output).
    credentials: Credentials,
}

impl AssumedRole {
    /// The temporary credentials, for signing requests to other services (S3).
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }
}

impl std::fmt::Debug for AssumedRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumedRole")
            .field("assumed_role_arn", &self.assumed_role_arn)
            .finish_non_exhaustive()
    }
}

/// STS refused the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsRefusal {
    /// AWS error code (`AccessDenied`, `InvalidIdentityToken`, ...).
    pub code: String,
    /// AWS error message.
    pub message: String,
}

/// An STS client.
#[derive(Clone)]
pub struct StsDriver {
    endpoint: AwsEndpoint,
    anonymous: aws_sdk_sts::Client,
}

impl StsDriver {
    /// Builds the client (no network traffic).
    pub fn new(endpoint: AwsEndpoint) -> Self {
        let anonymous =
            aws_sdk_sts::Client::from_conf(Self::config(&endpoint).allow_no_auth().build());
        Self {
            endpoint,
            anonymous,
        }
    }

    /// Where this driver reaches AWS. The sim serves STS, IAM and (path-style) S3 on one
    /// URL; with `url: None` every service resolves its own real endpoint.
    pub fn endpoint(&self) -> &AwsEndpoint {
        &self.endpoint
    }

    fn config(endpoint: &AwsEndpoint) -> aws_sdk_sts::config::Builder {
        let mut builder = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .timeout_config(RequestTimeouts::current().aws())
            .region(Region::new(endpoint.region.clone()));
        if let Some(url) = &endpoint.url {
            builder = builder.endpoint_url(url);
        }
        builder
    }

    /// `AssumeRoleWithWebIdentity` (an unsigned call). `Ok(Err(_))` is a refusal by STS;
    /// `Err(_)` means STS could not be asked.
    pub async fn assume_role_with_web_identity(
        &self,
        role_arn: &str,
        session_name: &str,
        token: &str,
    ) -> Result<Result<AssumedRole, StsRefusal>, DriverError> {
        let answer = self
            .anonymous
            .assume_role_with_web_identity()
            .role_arn(role_arn)
            .role_session_name(session_name)
            .web_identity_token(token)
            .send()
            .await;
        let output = match answer {
            Ok(output) => output,
            Err(err) => {
                return self
                    .refusal_or_error("AssumeRoleWithWebIdentity", err)
                    .map(Err);
            }
        };
        let arn = output
            .assumed_role_user()
            .map(|u| u.arn().to_owned())
            .ok_or_else(|| DriverError::Protocol("no AssumedRoleUser in the answer".to_owned()))?;
        let creds = output
            .credentials()
            .ok_or_else(|| DriverError::Protocol("no Credentials in the answer".to_owned()))?;
        let credentials = Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_owned()),
            None,
            "rolecheck-assumed-role",
        );
        Ok(Ok(AssumedRole {
            assumed_role_arn: arn,
            credentials,
        }))
    }

    /// `GetCallerIdentity` signed with the assumed role's credentials; returns the caller ARN.
    pub async fn caller_arn(
        &self,
        assumed: &AssumedRole,
    ) -> Result<Result<String, StsRefusal>, DriverError> {
        let client = aws_sdk_sts::Client::from_conf(
            Self::config(&self.endpoint)
                .credentials_provider(assumed.credentials.clone())
                .build(),
        );
        match client.get_caller_identity().send().await {
            Ok(output) => Ok(Ok(output.arn().unwrap_or_default().to_owned())),
            Err(err) => self.refusal_or_error("GetCallerIdentity", err).map(Err),
        }
    }

    /// Where requests go, for messages.
    fn endpoint_text(&self) -> String {
        endpoint_text(self.endpoint.url.as_deref(), &self.endpoint.region)
    }

    fn refusal_or_error<E>(
        &self,
        operation: &str,
        err: SdkError<E, HttpResponse>,
    ) -> Result<StsRefusal, DriverError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        refusal(&format!("STS {operation}"), &self.endpoint_text(), err)
    }
}

/// Who the SDK's default credential chain (env, profile, SSO, IMDS) is: `GetCallerIdentity`
/// against real AWS, for the real-AWS interlock. Returns (account, caller ARN).
pub async fn default_chain_identity(
    region: Option<&str>,
) -> Result<Result<(String, String), StsRefusal>, DriverError> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(RequestTimeouts::current().aws());
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    let shared = loader.load().await;
    let endpoint = endpoint_text(
        None,
        shared.region().map(|r| r.as_ref()).unwrap_or("(none)"),
    );
    let client = aws_sdk_sts::Client::new(&shared);
    match client.get_caller_identity().send().await {
        Ok(out) => Ok(Ok((
            out.account().unwrap_or_default().to_owned(),
            out.arn().unwrap_or_default().to_owned(),
        ))),
        Err(err) => refusal("STS GetCallerIdentity", &endpoint, err).map(Err),
    }
}

/// Splits an SDK error into a service refusal (with code) or a driver error.
fn refusal<E>(
    call: &str,
    endpoint: &str,
    err: SdkError<E, HttpResponse>,
) -> Result<StsRefusal, DriverError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    classify(call, endpoint, err).map(|r| StsRefusal {
        code: r.code,
        message: r.message,
    })
}

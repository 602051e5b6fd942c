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
    /// For real AWS: the SDK's shared configuration as the default chain loaded it
    /// (credentials, and the standard endpoint settings `AWS_ENDPOINT_URL[_<SERVICE>]`),
    /// which every client of the target is built from.
    pub shared: Option<aws_config::SdkConfig>,
}

impl AwsEndpoint {
    /// A local endpoint (the sim, a stand-in) at `url`.
    pub fn local(url: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            url: Some(url.into()),
            region: region.into(),
            shared: None,
        }
    }

    /// Real AWS through the SDK's default chain: credentials from env, profile (SSO,
    /// `credential_process`), web identity or IMDS; endpoints from the SDK's own resolution
    /// and its standard endpoint settings. No network traffic.
    pub async fn default_chain(region: Option<&str>) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .timeout_config(RequestTimeouts::current().aws());
        if let Some(region) = region {
            loader = loader.region(Region::new(region.to_owned()));
        }
        let shared = loader.load().await;
        Self {
            url: None,
            region: shared
                .region()
                .map(|r| r.as_ref().to_owned())
                .unwrap_or_default(),
            shared: Some(shared),
        }
    }

    /// The endpoint URL requests go to when one is set: the target's, or the standard
    /// `AWS_ENDPOINT_URL` setting the default chain loaded; `None` for the SDK's own
    /// regional endpoints.
    pub(crate) fn url_text(&self) -> Option<&str> {
        self.url
            .as_deref()
            .or_else(|| self.shared.as_ref().and_then(|s| s.endpoint_url()))
    }
}

/// Who a set of AWS credentials is (`GetCallerIdentity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// The account id.
    pub account: String,
    /// The caller's ARN.
    pub arn: String,
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

impl StsRefusal {
    /// Whether IAM's eventual consistency can cause this refusal: right after `CreateRole` /
    /// `CreateOpenIDConnectProvider`, real STS refuses a valid token for several seconds with
    /// `InvalidIdentityToken` or `AccessDenied`.
    pub fn may_be_propagation(&self) -> bool {
        matches!(self.code.as_str(), "InvalidIdentityToken" | "AccessDenied")
    }
}

impl std::fmt::Display for StsRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
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
        if let Some(shared) = &endpoint.shared {
            return aws_sdk_sts::config::Builder::from(shared);
        }
        let mut builder = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .timeout_config(RequestTimeouts::current().aws())
            .region(Region::new(endpoint.region.clone()));
        if let Some(url) = &endpoint.url {
            builder = builder.endpoint_url(url);
        }
        builder
    }

    /// `GetCallerIdentity` as the operator: the default chain's credentials on real AWS,
    /// `credentials` on a local endpoint.
    pub async fn operator_identity(
        &self,
        credentials: Option<Credentials>,
    ) -> Result<Result<CallerIdentity, StsRefusal>, DriverError> {
        let mut config = Self::config(&self.endpoint);
        if let Some(credentials) = credentials {
            config = config.credentials_provider(credentials);
        }
        let client = aws_sdk_sts::Client::from_conf(config.build());
        match client.get_caller_identity().send().await {
            Ok(out) => Ok(Ok(CallerIdentity {
                account: out.account().unwrap_or_default().to_owned(),
                arn: out.arn().unwrap_or_default().to_owned(),
            })),
            Err(err) => self.refusal_or_error("GetCallerIdentity", err).map(Err),
        }
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
        endpoint_text(self.endpoint.url_text(), &self.endpoint.region)
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
) -> Result<Result<CallerIdentity, StsRefusal>, DriverError> {
    let endpoint = AwsEndpoint::default_chain(region).await;
    StsDriver::new(endpoint).operator_identity(None).await
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

//! The IAM driver: aws-sdk-iam against the target's IAM endpoint, to set up (and remove) the
//! role the documents tell an administrator to create.

use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_iam::types::Tag;

use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::SdkError;

use super::DriverError;
use super::aws_error::{classify, endpoint_text};
use super::kube::RUN_ID_LABEL;
use super::sts::AwsEndpoint;
use super::timeouts::RequestTimeouts;

/// The audience (OIDC client id) the documents tell the administrator to register for the
/// cluster's issuer, and so the audience of the tokens STS accepts.
pub const STS_AUDIENCE: &str = "sts.amazonaws.com";

/// An IAM client.
#[derive(Clone)]
pub struct IamDriver {
    client: aws_sdk_iam::Client,
    /// Where requests go, named in errors.
    endpoint: String,
}

/// A role as `rolecheck gc` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSummary {
    /// Role name.
    pub name: String,
    /// Role ARN.
    pub arn: String,
    /// When it was created (seconds since the Unix epoch), when IAM said.
    pub created_epoch_seconds: Option<i64>,
    /// The value of its `rolecheck.io/run-id` tag, if it has one.
    pub run_id: Option<String>,
}

impl IamDriver {
    /// A client with the SDK's default credential chain (env, profile, SSO,
    /// `credential_process`, IMDS), for real AWS. IAM is global; `region` only picks the
    /// partition's endpoint.
    pub async fn from_default_chain(region: Option<&str>) -> Self {
        let endpoint = AwsEndpoint::default_chain(region).await;
        Self::for_endpoint(&endpoint, "AKIAROLECHECKSETUP", "rolecheck-setup-secret")
    }

    /// A client for `endpoint`: the shared configuration's credential chain and endpoint
    /// settings when it has one (real AWS), else the static credentials (local stand-ins).
    pub fn for_endpoint(endpoint: &AwsEndpoint, access_key: &str, secret: &str) -> Self {
        match &endpoint.shared {
            Some(shared) => Self {
                client: aws_sdk_iam::Client::new(shared),
                endpoint: endpoint_text(endpoint.url_text(), &endpoint.region),
            },
            None => Self::with_static_credentials(endpoint, access_key, secret),
        }
    }

    /// `GetOpenIDConnectProvider`: whether IAM has a provider with this ARN.
    /// `Ok(Err(message))` when IAM answered that it has none (or refused to say).
    pub async fn oidc_provider_exists(&self, arn: &str) -> Result<Result<(), String>, DriverError> {
        let answer = self
            .client
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await;
        match answer {
            Ok(_) => Ok(Ok(())),
            Err(e) => classify("IAM GetOpenIDConnectProvider", &self.endpoint, e)
                .map(|refusal| Err(format!("{}: {}", refusal.code, refusal.message))),
        }
    }

    /// `CreateOpenIDConnectProvider` for an issuer URL with client id [`STS_AUDIENCE`];
    /// returns the provider ARN. An existing provider for the same URL is not an error: its
    /// ARN is returned with `created == false`.
    pub async fn create_oidc_provider(
        &self,
        issuer_url: &str,
        thumbprint: &str,
        run_id: &str,
    ) -> Result<OidcProvider, DriverError> {
        let tag = Tag::builder()
            .key(RUN_ID_LABEL)
            .value(run_id)
            .build()
            .map_err(|e| DriverError::Protocol(e.to_string()))?;
        let answer = self
            .client
            .create_open_id_connect_provider()
            .url(issuer_url)
            .client_id_list(STS_AUDIENCE)
            .thumbprint_list(thumbprint)
            .tags(tag)
            .send()
            .await;
        match answer {
            Ok(out) => {
                let arn = out.open_id_connect_provider_arn().ok_or_else(|| {
                    DriverError::Protocol(
                        "CreateOpenIDConnectProvider answered without an ARN".to_owned(),
                    )
                })?;
                Ok(OidcProvider {
                    arn: arn.to_owned(),
                    created: true,
                })
            }
            Err(e) if error_code(&e) == Some("EntityAlreadyExists") => {
                let host_path = issuer_url.trim_start_matches("https://");
                let list = self
                    .client
                    .list_open_id_connect_providers()
                    .send()
                    .await
                    .map_err(|e| self.iam_error("ListOpenIDConnectProviders", e))?;
                let arn = list
                    .open_id_connect_provider_list()
                    .iter()
                    .filter_map(|p| p.arn())
                    .find(|arn| arn.ends_with(&format!(":oidc-provider/{host_path}")))
                    .ok_or_else(|| {
                        DriverError::Protocol(format!(
                            "IAM says a provider for {issuer_url} exists but does not list it"
                        ))
                    })?;
                Ok(OidcProvider {
                    arn: arn.to_owned(),
                    created: false,
                })
            }
            Err(e) => Err(self.iam_error("CreateOpenIDConnectProvider", e)),
        }
    }

    /// `DeleteOpenIDConnectProvider`; a missing provider is not an error.
    pub async fn delete_oidc_provider(&self, arn: &str) -> Result<(), DriverError> {
        match self
            .client
            .delete_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_no_such_entity(&e) => Ok(()),
            Err(e) => Err(self.iam_error("DeleteOpenIDConnectProvider", e)),
        }
    }

    /// Every role whose name starts with `prefix` or that carries the run-id tag (any
    /// value), with its creation time and tag (`ListRoles`, then `ListRoleTags` per role:
    /// `ListRoles` does not return tags).
    pub async fn rolecheck_roles(&self, prefix: &str) -> Result<Vec<RoleSummary>, DriverError> {
        let mut found = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_roles()
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| self.iam_error("ListRoles", e))?;
            for role in page.roles() {
                let name = role.role_name().to_owned();
                let tags = match self.client.list_role_tags().role_name(&name).send().await {
                    Ok(out) => out.tags().to_vec(),
                    Err(e) if is_no_such_entity(&e) => continue,
                    Err(e) => return Err(self.iam_error("ListRoleTags", e)),
                };
                let run_id = tags
                    .iter()
                    .find(|t| t.key() == RUN_ID_LABEL)
                    .map(|t| t.value().to_owned());
                if run_id.is_none() && !name.starts_with(prefix) {
                    continue;
                }
                found.push(RoleSummary {
                    arn: role.arn().to_owned(),
                    created_epoch_seconds: Some(role.create_date().secs()),
                    name,
                    run_id,
                });
            }
            match (page.is_truncated(), page.marker()) {
                (true, Some(next)) => marker = Some(next.to_owned()),
                _ => break,
            }
        }
        Ok(found)
    }

    /// A client with static credentials (the sim and local stand-ins accept any).
    pub fn with_static_credentials(endpoint: &AwsEndpoint, access_key: &str, secret: &str) -> Self {
        let mut builder = aws_sdk_iam::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .timeout_config(RequestTimeouts::current().aws())
            .region(Region::new(endpoint.region.clone()))
            .credentials_provider(Credentials::new(
                access_key,
                secret,
                None,
                None,
                "rolecheck-static",
            ));
        if let Some(url) = &endpoint.url {
            builder = builder.endpoint_url(url);
        }
        Self {
            client: aws_sdk_iam::Client::from_conf(builder.build()),
            endpoint: endpoint_text(endpoint.url.as_deref(), &endpoint.region),
        }
    }

    /// Creates a role with a trust policy and inline permission policies, tagged with the run
    /// id; returns its ARN.
    pub async fn create_role(
        &self,
        name: &str,
        trust_policy: &str,
        permission_policies: &[(&str, &str)],
        run_id: &str,
    ) -> Result<String, DriverError> {
        let tag = Tag::builder()
            .key(RUN_ID_LABEL)
            .value(run_id)
            .build()
            .map_err(|e| DriverError::Protocol(e.to_string()))?;
        let created = self
            .client
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust_policy)
            .tags(tag)
            .send()
            .await
            .map_err(|e| self.iam_error("CreateRole", e))?;
        let arn = created.role().map(|r| r.arn().to_owned()).ok_or_else(|| {
            DriverError::Protocol("CreateRole answered without a role".to_owned())
        })?;
        for (policy_name, document) in permission_policies {
            self.client
                .put_role_policy()
                .role_name(name)
                .policy_name(*policy_name)
                .policy_document(*document)
                .send()
                .await
                .map_err(|e| self.iam_error("PutRolePolicy", e))?;
        }
        Ok(arn)
    }

    /// Deletes a role and its inline policies; a missing role is not an error.
    pub async fn delete_role(&self, name: &str) -> Result<(), DriverError> {
        let policies = match self
            .client
            .list_role_policies()
            .role_name(name)
            .send()
            .await
        {
            Ok(out) => out.policy_names().to_vec(),
            Err(e) if is_no_such_entity(&e) => return Ok(()),
            Err(e) => return Err(self.iam_error("ListRolePolicies", e)),
        };
        for policy in policies {
            self.client
                .delete_role_policy()
                .role_name(name)
                .policy_name(policy)
                .send()
                .await
                .map_err(|e| self.iam_error("DeleteRolePolicy", e))?;
        }
        match self.client.delete_role().role_name(name).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_no_such_entity(&e) => Ok(()),
            Err(e) => Err(self.iam_error("DeleteRole", e)),
        }
    }
}

/// An IAM OIDC provider the run registered or found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProvider {
    /// Its ARN.
    pub arn: String,
    /// Whether this call created it (and so the run should remove it).
    pub created: bool,
}

fn error_code<E: aws_sdk_iam::error::ProvideErrorMetadata, R>(
    err: &aws_sdk_iam::error::SdkError<E, R>,
) -> Option<&str> {
    err.as_service_error().and_then(|e| e.code())
}

fn is_no_such_entity<E: aws_sdk_iam::error::ProvideErrorMetadata, R>(
    err: &aws_sdk_iam::error::SdkError<E, R>,
) -> bool {
    err.as_service_error().and_then(|e| e.code()) == Some("NoSuchEntity")
}

impl IamDriver {
    /// An SDK error of IAM `operation` as a driver error naming the call and the endpoint:
    /// a refusal is an API error (`IAM CreateRole at <url>: EntityAlreadyExists: ...`).
    fn iam_error<E>(&self, operation: &str, err: SdkError<E, HttpResponse>) -> DriverError
    where
        E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        let call = format!("IAM {operation}");
        match classify(&call, &self.endpoint, err) {
            Ok(refusal) => DriverError::Api(format!(
                "{call} at {}: {}: {}",
                self.endpoint, refusal.code, refusal.message
            )),
            Err(err) => err,
        }
    }
}

//! The IAM driver: aws-sdk-iam against the target's IAM endpoint, to set up (and remove) the
//! role the documents tell an administrator to create.

use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_iam::types::Tag;

use super::DriverError;
use super::kube::RUN_ID_LABEL;
use super::sts::AwsEndpoint;

/// An IAM client.
#[derive(Clone)]
pub struct IamDriver {
    client: aws_sdk_iam::Client,
}

impl IamDriver {
    /// A client with static credentials (the sim and local stand-ins accept any).
    pub fn with_static_credentials(endpoint: &AwsEndpoint, access_key: &str, secret: &str) -> Self {
        let mut builder = aws_sdk_iam::Config::builder()
            .behavior_version(BehaviorVersion::latest())
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
            .map_err(|e| iam_error("CreateRole", e))?;
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
                .map_err(|e| iam_error("PutRolePolicy", e))?;
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
            Err(e) => return Err(iam_error("ListRolePolicies", e)),
        };
        for policy in policies {
            self.client
                .delete_role_policy()
                .role_name(name)
                .policy_name(policy)
                .send()
                .await
                .map_err(|e| iam_error("DeleteRolePolicy", e))?;
        }
        match self.client.delete_role().role_name(name).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_no_such_entity(&e) => Ok(()),
            Err(e) => Err(iam_error("DeleteRole", e)),
        }
    }
}

fn is_no_such_entity<E: aws_sdk_iam::error::ProvideErrorMetadata, R>(
    err: &aws_sdk_iam::error::SdkError<E, R>,
) -> bool {
    err.as_service_error().and_then(|e| e.code()) == Some("NoSuchEntity")
}

fn iam_error<E, R>(operation: &str, err: aws_sdk_iam::error::SdkError<E, R>) -> DriverError
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_iam::error::SdkError;
    match &err {
        SdkError::ServiceError(service) => DriverError::Api(format!(
            "IAM {operation}: {}: {}",
            service.err().code().unwrap_or("Unknown"),
            service.err().message().unwrap_or_default()
        )),
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            DriverError::Unreachable(format!("IAM {operation}: {err}"))
        }
        _ => DriverError::Protocol(format!("IAM {operation}: {err}")),
    }
}

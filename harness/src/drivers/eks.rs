//! The EKS driver: aws-sdk-eks against the operator's EKS endpoint, read-only. The preflight
//! lists a cluster's Pod Identity associations: on a modern EKS cluster an association for a
//! ServiceAccount takes precedence over its role annotation (the webhook's container-
//! credentials mode), silently shadowing the role the documents promise.

use super::DriverError;
use super::aws_error::{classify, endpoint_text};
use super::sts::AwsEndpoint;

/// A client of the EKS API.
#[derive(Clone)]
pub struct EksDriver {
    client: aws_sdk_eks::Client,
    endpoint: String,
}

/// One Pod Identity association as `ListPodIdentityAssociations` summarises it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodIdentityAssociation {
    /// The association id.
    pub id: String,
    /// The namespace it covers.
    pub namespace: String,
    /// The ServiceAccount it covers.
    pub service_account: String,
}

/// An EKS cluster as a kubeconfig written by `aws eks update-kubeconfig` names it: its
/// cluster (and context) is the cluster's ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EksCluster {
    /// The cluster's name.
    pub name: String,
    /// The cluster's region.
    pub region: String,
}

impl EksCluster {
    /// The cluster an ARN names (`arn:<partition>:eks:<region>:<account>:cluster/<name>`),
    /// `None` when `arn` is not an EKS cluster ARN.
    pub fn from_arn(arn: &str) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(_partition), Some("eks"), Some(region), Some(_account)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let name = parts.next()?.strip_prefix("cluster/")?;
        (!name.is_empty() && !region.is_empty() && !name.contains('/')).then(|| Self {
            name: name.to_owned(),
            region: region.to_owned(),
        })
    }
}

impl EksDriver {
    /// A client built from the operator's shared SDK configuration (credentials, and the
    /// standard endpoint settings `AWS_ENDPOINT_URL[_EKS]`) in the cluster's region. `None`
    /// for a local STS/IAM stand-in endpoint, which has no EKS.
    pub fn for_endpoint(endpoint: &AwsEndpoint, region: &str) -> Option<Self> {
        let shared = endpoint.shared.as_ref()?;
        let config = aws_sdk_eks::config::Builder::from(shared)
            .region(aws_sdk_eks::config::Region::new(region.to_owned()))
            .build();
        Some(Self {
            client: aws_sdk_eks::Client::from_conf(config),
            endpoint: endpoint_text(endpoint.url_text(), region),
        })
    }

    /// Every Pod Identity association of `cluster` (all pages). `Ok(Err(text))` when EKS
    /// refused (`AccessDeniedException: ...`, `ResourceNotFoundException: ...`).
    pub async fn pod_identity_associations(
        &self,
        cluster: &str,
    ) -> Result<Result<Vec<PodIdentityAssociation>, String>, DriverError> {
        let mut found = Vec::new();
        let mut next: Option<String> = None;
        // A bounded number of pages (100 each): no cluster has more associations.
        for _ in 0..100 {
            let answer = self
                .client
                .list_pod_identity_associations()
                .cluster_name(cluster)
                .set_next_token(next.take())
                .send()
                .await;
            let page = match answer {
                Ok(page) => page,
                Err(e) => {
                    let refusal = classify("EKS ListPodIdentityAssociations", &self.endpoint, e)?;
                    return Ok(Err(format!("{}: {}", refusal.code, refusal.message)));
                }
            };
            found.extend(page.associations().iter().map(|a| PodIdentityAssociation {
                id: a.association_id().unwrap_or_default().to_owned(),
                namespace: a.namespace().unwrap_or_default().to_owned(),
                service_account: a.service_account().unwrap_or_default().to_owned(),
            }));
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => return Ok(Ok(found)),
            }
        }
        Err(DriverError::Protocol(format!(
            "EKS ListPodIdentityAssociations at {}: more than 100 pages of associations",
            self.endpoint
        )))
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::commercial("arn:aws:eks:us-west-2:123456789012:cluster/prod", Some(("prod", "us-west-2")))]
    #[case::china("arn:aws-cn:eks:cn-north-1:123456789012:cluster/c1", Some(("c1", "cn-north-1")))]
    #[case::plain_name("rolecheck-sim", None)]
    #[case::other_service("arn:aws:iam::123456789012:role/x", None)]
    #[case::not_a_cluster("arn:aws:eks:us-west-2:123456789012:nodegroup/a/b/c", None)]
    #[case::empty_name("arn:aws:eks:us-west-2:123456789012:cluster/", None)]
    fn kubeconfig_cluster_arns_name_the_eks_cluster(
        #[case] arn: &str,
        #[case] expected: Option<(&str, &str)>,
    ) {
        assert_eq!(
            EksCluster::from_arn(arn),
            expected.map(|(name, region)| EksCluster {
                name: name.to_owned(),
                region: region.to_owned()
            })
        );
    }
}

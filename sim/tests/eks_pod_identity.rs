//! EKS Pod Identity in the sim, as clients see it: an association created through the
//! EKS-shaped API (`/clusters/<name>/pod-identity-associations` on the AWS endpoint) makes
//! the webhook give pods under that ServiceAccount container credentials instead of the
//! role annotation's web identity; the `pod-identity-shadows-role` fault creates such an
//! association for every annotated ServiceAccount, listed by the same API.

use rolecheck_sim::eks::CLUSTER_NAME;
use rolecheck_sim::{Fault, FaultSet, Sim, SimConfig};
use serde_json::{Value, json};

const ARN: &str = "arn:aws:iam::123456789012:role/documented";

struct Client {
    http: reqwest::Client,
    kube: String,
    token: String,
    eks: String,
}

impl Client {
    fn new(sim: &Sim) -> Self {
        let ep = sim.endpoints();
        Self {
            http: reqwest::Client::new(),
            kube: ep.kube_url.clone(),
            token: ep.kube_token.clone(),
            eks: format!(
                "{}/clusters/{CLUSTER_NAME}/pod-identity-associations",
                ep.aws_url
            ),
        }
    }

    async fn kube_post(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.kube))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    async fn setup(&self, annotated: bool) {
        self.kube_post("/api/v1/namespaces", json!({"metadata": {"name": "team"}}))
            .await;
        let annotations = if annotated {
            json!({"eks.amazonaws.com/role-arn": ARN})
        } else {
            json!({})
        };
        self.kube_post(
            "/api/v1/namespaces/team/serviceaccounts",
            json!({"metadata": {"name": "worker", "annotations": annotations}}),
        )
        .await;
    }

    async fn pod(&self, name: &str) -> Value {
        self.kube_post(
            "/api/v1/namespaces/team/pods",
            json!({"metadata": {"name": name}, "spec": {"serviceAccountName": "worker",
                "containers": [{"name": "c", "image": "airflow"}]}}),
        )
        .await
    }

    async fn associations(&self) -> Value {
        self.http
            .get(format!("{}?namespace=team", self.eks))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn env_names(pod: &Value) -> Vec<String> {
    pod["spec"]["containers"][0]["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn an_association_takes_precedence_over_the_role_annotation() {
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    let client = Client::new(&sim);
    client.setup(true).await;
    let before = client.pod("before").await;
    assert_eq!(
        env_names(&before),
        ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]
    );

    let created: Value = client
        .http
        .post(&client.eks)
        .json(
            &json!({"clusterName": CLUSTER_NAME, "namespace": "team", "serviceAccount": "worker",
            "roleArn": "arn:aws:iam::123456789012:role/other"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["association"]["associationId"]
        .as_str()
        .unwrap()
        .to_owned();

    let after = client.pod("after").await;
    assert_eq!(
        env_names(&after),
        [
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
        ]
    );
    assert_eq!(
        after["metadata"]["labels"]["eks.amazonaws.com/pod-identity"],
        "enabled"
    );
    let volume = &after["spec"]["volumes"][0];
    assert_eq!(volume["name"], "eks-pod-identity-token");
    assert_eq!(
        volume["projected"]["sources"][0]["serviceAccountToken"]["audience"],
        "pods.eks.amazonaws.com"
    );

    // Deleting the association gives new pods IRSA again.
    let deleted = client
        .http
        .delete(format!("{}/{id}", client.eks))
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success());
    let again = client.pod("again").await;
    assert_eq!(
        env_names(&again),
        ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_shadowing_fault_associates_every_annotated_service_account() {
    let sim = Sim::start(SimConfig {
        faults: FaultSet::only(Fault::PodIdentityShadowsRole),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let client = Client::new(&sim);
    client.setup(true).await;
    let listed = client.associations().await;
    assert_eq!(
        listed["associations"][0]["serviceAccount"], "worker",
        "{listed}"
    );
    let pod = client.pod("shadowed").await;
    assert!(
        !env_names(&pod).contains(&"AWS_ROLE_ARN".to_owned()),
        "{:?}",
        env_names(&pod)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_shadowing_fault_leaves_unannotated_accounts_alone() {
    let sim = Sim::start(SimConfig {
        faults: FaultSet::only(Fault::PodIdentityShadowsRole),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let client = Client::new(&sim);
    client.setup(false).await;
    assert_eq!(client.associations().await["associations"], json!([]));
    assert!(env_names(&client.pod("plain").await).is_empty());
    sim.shutdown().await;
}

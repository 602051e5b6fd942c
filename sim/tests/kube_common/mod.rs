//! Shared plumbing of the sim's Kubernetes tests.

use kube::Client;
use rolecheck_sim::Sim;

/// A kube-rs client for the sim, authenticated with the admin token.
pub async fn client(sim: &Sim) -> Client {
    let ep = sim.endpoints();
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&format!(
        r#"
apiVersion: v1
kind: Config
clusters: [{{name: sim, cluster: {{server: "{}"}}}}]
users: [{{name: admin, user: {{token: "{}"}}}}]
contexts: [{{name: sim, context: {{cluster: sim, user: admin}}}}]
current-context: sim
"#,
        ep.kube_url, ep.kube_token
    ))
    .unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

use rolecheck_sim::{Sim, SimConfig};
#[tokio::test(flavor = "multi_thread")]
async fn kubectl_smoke() {
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    let mut ep = sim.endpoints().clone();
    let issuer = std::sync::Arc::new(rolecheck_sim::oidc::Issuer::new("https://x".into()).unwrap());
    let api = rolecheck_sim::kube::ApiServer::new(rolecheck_sim::kube::KubeOptions::from_config(&SimConfig::default()), issuer);
    let mut tasks = tokio::task::JoinSet::new();
    api.run_controllers(&mut tasks, tokio_util::sync::CancellationToken::new());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ep.kube_url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, rolecheck_sim::kube::router(api, String::new())).await.unwrap() });
    let kc = format!("apiVersion: v1\nkind: Config\nclusters: [{{name: sim, cluster: {{server: \"{}\"}}}}]\nusers: [{{name: admin, user: {{token: \"{}\"}}}}]\ncontexts: [{{name: sim, context: {{cluster: sim, user: admin}}}}]\ncurrent-context: sim\n", ep.kube_url, ep.kube_token);
    std::fs::write("/tmp/sim-kubeconfig", kc).unwrap();
    let manifest = r#"
apiVersion: v1
kind: Namespace
metadata: {name: astronomer-k}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa, namespace: astronomer-k, annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::123456789012:role/x"}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: astronomer-k}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {serviceAccountName: sa, containers: [{name: c, image: nginx}]}
"#;
    std::fs::write("/tmp/sim-manifest.yaml", manifest).unwrap();
    let script = r#"
export KUBECONFIG=/tmp/sim-kubeconfig
set -x
kubectl version
kubectl get ns -v=9 > /tmp/kv9.txt 2>&1; cat /tmp/sim-kubeconfig
kubectl get ns
kubectl create --validate=false -f /tmp/sim-manifest.yaml
kubectl -n astronomer-k rollout status deploy/web --timeout=20s
kubectl -n astronomer-k get pods -o wide
kubectl -n astronomer-k get sa sa -o yaml
kubectl -n astronomer-k describe po | head -60
kubectl -n astronomer-k annotate sa sa foo=bar
kubectl -n astronomer-k label sa sa tier=x
kubectl -n astronomer-k patch deploy web -p '{"spec":{"template":{"metadata":{"annotations":{"x":"y"}}}}}'
kubectl -n astronomer-k rollout status deploy/web --timeout=20s
kubectl -n astronomer-k get rs,deploy
kubectl -n astronomer-k create token sa --audience sts.amazonaws.com | cut -c1-40
kubectl get --raw /.well-known/openid-configuration
kubectl -n astronomer-k get pods -w --request-timeout=2s
kubectl -n astronomer-k apply --validate=false -f /tmp/sim-manifest.yaml
kubectl delete ns astronomer-k
kubectl get pods -A
"#;
    let out = tokio::process::Command::new("bash").arg("-c").arg(script).output().await.unwrap();
    println!("STDOUT\n{}\nSTDERR\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    sim.shutdown().await;
}

use std::sync::Arc;
use rolecheck_sim::iam::Iam;
use rolecheck_sim::oidc::Issuer;
use rolecheck_sim::sts::{self, AwsState};
use rolecheck_sim::FaultSet;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn boto() {
    let provider = "oidc.eks.us-west-2.amazonaws.com/id/ABC";
    let issuer = Arc::new(Issuer::new(format!("https://{provider}")).unwrap());
    let iam = Arc::new(Iam::new("123456789012".into()));
    iam.create_open_id_connect_provider(issuer.url(), &["sts.amazonaws.com".to_owned()]).unwrap();
    let trust = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":format!("arn:aws:iam::123456789012:oidc-provider/{provider}")},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{format!("{provider}:sub"):"system:serviceaccount:astronomer-*:*"}}}]});
    iam.create_role("r", &trust.to_string()).unwrap();
    let now = chrono::Utc::now().timestamp();
    let token = issuer.sign(&json!({"iss": issuer.url(), "sub": "system:serviceaccount:astronomer-a:w", "aud": ["sts.amazonaws.com"], "exp": now + 3600})).unwrap();
    std::fs::write("/tmp/boto-token", token).unwrap();
    let state = AwsState::with_keys(FaultSet::none(), iam, issuer.clone() as Arc<dyn sts::KeySource>);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, sts::router(state)).await.unwrap() });
    let script = r#"
import boto3, os, json
s = boto3.Session()
print(s.client('sts').get_caller_identity()['Arn'])
iam = boto3.client('iam', aws_access_key_id='AKID', aws_secret_access_key='x', endpoint_url=os.environ['AWS_ENDPOINT_URL_STS'])
r = iam.get_role(RoleName='r')['Role']
print(type(r['AssumeRolePolicyDocument']).__name__, r['Arn'])
iam.put_role_policy(RoleName='r', PolicyName='p', PolicyDocument=json.dumps({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}))
print(iam.get_role_policy(RoleName='r', PolicyName='p')['PolicyDocument'])
try:
    iam.get_role(RoleName='nope')
except iam.exceptions.NoSuchEntityException as e:
    print('NoSuchEntity ok', e.response['ResponseMetadata']['HTTPStatusCode'])
"#;
    let out = tokio::process::Command::new("python3").arg("-c").arg(script)
        .env("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r")
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", "/tmp/boto-token")
        .env("AWS_ENDPOINT_URL_STS", &url).env("AWS_REGION", "us-west-2").env("AWS_DEFAULT_REGION", "us-west-2")
        .env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_PROFILE")
        .output().await.unwrap();
    println!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let out = tokio::process::Command::new("aws").args(["sts", "get-caller-identity"])
        .env("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r")
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", "/tmp/boto-token")
        .env("AWS_ENDPOINT_URL_STS", &url).env("AWS_REGION", "us-west-2").env("AWS_DEFAULT_REGION", "us-west-2")
        .output().await.unwrap();
    println!("CLI: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

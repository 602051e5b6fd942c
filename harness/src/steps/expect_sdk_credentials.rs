//! `expect_sdk_credentials`: what the documents ultimately promise ("the pods will assume the
//! IAM role"), checked the way eksctl's own IRSA check does it. Inside a running pod of the
//! component, Python's boto3, given no credentials at all (only the STS endpoint and the
//! region), builds its default credential chain, which must find the `AWS_ROLE_ARN` and
//! `AWS_WEB_IDENTITY_TOKEN_FILE` the webhook injected, call `AssumeRoleWithWebIdentity` with
//! the projected token by itself, and get an identity: `GetCallerIdentity` must return the
//! role's assumed-role ARN. Runs through exec (`kubectl exec`), so only on targets whose pods
//! run an image with the SDK (capability `sdk-in-pods`).

use crate::drivers::deadline::Deadline;

use kube::ResourceExt as _;
use serde_json::Value;

use super::fields::Expect;
use super::kind::{COMPONENT, Key, RELEASE, Refusals, Shape, StepKind};
use super::{ScenarioContext, StepError, fields};
use crate::capability::Capability;
use crate::chart::Component;
use crate::source::decode::{Ctx, Fields};
use crate::template::Template;

/// The program run in the pod. It prints one JSON object: what the SDK saw and got. It never
/// passes credentials: boto3's chain must find the web-identity variables itself.
const PROGRAM: &str = r#"
import json, os
out = {"role_arn_env": os.environ.get("AWS_ROLE_ARN"),
       "token_file_env": os.environ.get("AWS_WEB_IDENTITY_TOKEN_FILE")}
try:
    import boto3, botocore
    out["boto3"] = boto3.__version__
    out["botocore"] = botocore.__version__
    session = boto3.session.Session()
    credentials = session.get_credentials()
    out["method"] = credentials.method if credentials else None
    out["arn"] = session.client("sts").get_caller_identity()["Arn"]
except Exception as e:
    out["error"] = "%s: %s" % (type(e).__name__, e)
print(json.dumps(out))
"#;

/// The credential provider boto3 names for web identity.
const WEB_IDENTITY_METHOD: &str = "assume-role-with-web-identity";

/// Runs the SDK in the component's first rolled-out pod and checks the identity it got.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &ExpectSdkCredentials,
    deadline: &Deadline,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let at = ctx.component_at(&step.release, step.component)?;
    let role = ctx.render(&step.role)?;
    let namespace = &at.namespace;
    let pod = &ctx.first_rolled_out_pod(&at, deadline).await?;
    let command = command(
        ctx.target.sts.endpoint().url.as_deref(),
        &ctx.target.facts.region,
    );
    // The chart names each component's main container after the component.
    let container = step.component.name();
    log.push(format!(
        "exec in {namespace}/{} -c {container}: {} python3 -c <boto3 default chain, get_caller_identity>",
        pod.name_any(),
        command[..command.len() - 3].join(" ")
    ));
    let args: Vec<&str> = command.iter().map(String::as_str).collect();
    let output = ctx
        .target
        .kube
        .exec(namespace, &pod.name_any(), container, &args)
        .await?;
    if let Some(failure) = &output.failure {
        log.push(format!(
            "exec failed: {failure}; stderr: {}",
            output.stderr.trim()
        ));
    }
    let report = output
        .stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str::<Value>(line.trim()).ok())
        .ok_or_else(|| {
            StepError::failed(
                "the SDK program printed no result",
                "a JSON line from python3",
                format!(
                    "stdout: {:?}; stderr: {:?}",
                    output.stdout.trim(),
                    output.stderr.trim()
                ),
            )
        })?;
    log.push(format!("in the pod: {report}"));
    judge(&report, &ctx.target.facts.account, &role)
}

/// `env <endpoint and region> python3 -c <program>`: only where STS is and the region; no
/// credentials, and no instance metadata (off loopback) to fall back to.
fn command(sts_url: Option<&str>, region: &str) -> Vec<String> {
    let mut command = vec!["env".to_owned()];
    if let Some(url) = sts_url {
        command.push(format!("AWS_ENDPOINT_URL_STS={url}"));
    }
    command.extend([
        format!("AWS_REGION={region}"),
        format!("AWS_DEFAULT_REGION={region}"),
        "AWS_EC2_METADATA_DISABLED=true".to_owned(),
        "python3".to_owned(),
        "-c".to_owned(),
        PROGRAM.to_owned(),
    ]);
    command
}

/// Pass or fail from what the program reported.
fn judge(report: &Value, account: &str, role_arn: &str) -> Result<(), StepError> {
    let field = |name: &str| report.get(name).and_then(Value::as_str);
    let role_name = role_arn.rsplit('/').next().unwrap_or(role_arn);
    let want = format!("arn:aws:sts::{account}:assumed-role/{role_name}/");
    if let Some(error) = field("error") {
        return Err(StepError::failed(
            "the SDK in the pod could not get an identity",
            format!("{want}<session>"),
            error.to_owned(),
        ));
    }
    if field("method") != Some(WEB_IDENTITY_METHOD) {
        return Err(StepError::failed(
            "the SDK did not get its credentials from the web identity",
            format!("credential method {WEB_IDENTITY_METHOD}"),
            format!("{:?}", field("method")),
        ));
    }
    match field("arn") {
        Some(arn) if arn.starts_with(&want) => Ok(()),
        other => Err(StepError::failed(
            "GetCallerIdentity in the pod is not the role's assumed-role ARN",
            format!("{want}<session>"),
            format!("{other:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;

    const ROLE: &str = "arn:aws:iam::123456789012:role/example-role";

    #[rstest]
    #[case(json!({"method": "assume-role-with-web-identity", "arn": "arn:aws:sts::123456789012:assumed-role/example-role/botocore-session-1"}), true)]
    #[case(json!({"method": "env", "arn": "arn:aws:sts::123456789012:assumed-role/example-role/x"}), false)]
    #[case(json!({"method": "assume-role-with-web-identity", "arn": "arn:aws:sts::123456789012:assumed-role/other-role/x"}), false)]
    #[case(json!({"method": "assume-role-with-web-identity", "arn": "arn:aws:sts::999999999999:assumed-role/example-role/x"}), false)]
    #[case(json!({"error": "NoCredentialsError: Unable to locate credentials"}), false)]
    #[case(json!({}), false)]
    fn identity_from_the_pod_is_judged(#[case] report: Value, #[case] pass: bool) {
        assert_eq!(
            judge(&report, "123456789012", ROLE).is_ok(),
            pass,
            "{report}"
        );
    }

    #[test]
    fn the_command_names_the_endpoint_and_region_only() {
        let c = command(Some("http://127.0.0.1:4000"), "us-west-2");
        assert_eq!(c[0], "env");
        assert!(c.contains(&"AWS_ENDPOINT_URL_STS=http://127.0.0.1:4000".to_owned()));
        assert!(c.contains(&"AWS_EC2_METADATA_DISABLED=true".to_owned()));
        assert!(!c.iter().any(|a| a.starts_with("AWS_ACCESS_KEY_ID")));
        assert_eq!(c[c.len() - 3], "python3");
        let real_aws = command(None, "eu-west-1");
        assert!(!real_aws.iter().any(|a| a.starts_with("AWS_ENDPOINT_URL")));
    }
}

/// Fields of `expect_sdk_credentials`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectSdkCredentials {
    /// Release name.
    pub release: Template,
    /// Component whose running pod runs the SDK.
    pub component: Component,
    /// The role whose assumed-role ARN `GetCallerIdentity` must return.
    pub role: Template,
}

impl StepKind for ExpectSdkCredentials {
    const ABOUT: &'static str = "Inside the component's running pod, `python3` with boto3 and no credentials builds its default credential chain, which must pick up the injected `AWS_ROLE_ARN`/`AWS_WEB_IDENTITY_TOKEN_FILE` and assume the role itself: `get_caller_identity` returns `arn:aws:sts::<account>:assumed-role/<role>/...`. The pod's environment has only `AWS_ENDPOINT_URL_STS` (where the target's STS is), the region and `AWS_EC2_METADATA_DISABLED=true` besides what was injected. Needs `webhook` and `sdk-in-pods` (real exec into an image with the SDK; skipped on the sim, whose pods run nothing).";
    const KEYS: &'static [Key] = &[
        RELEASE,
        COMPONENT,
        Key::required(
            "role",
            Shape::Text,
            "the role whose assumed-role ARN must come back",
        ),
    ];
    const REFUSALS: Refusals = Refusals::None;
    const ONLY_OBSERVES: bool = true;

    fn decode(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Self> {
        let at = fields::release_and_component(ctx, fields);
        let role = fields::required_template(ctx, fields, "role");
        let (release, component) = at?;
        Some(ExpectSdkCredentials {
            release,
            component,
            role: role?,
        })
    }

    /// The SDK in a pod: injected variables (R5), STS accepting the token (R12), the
    /// role's identity (R13), an image whose SDK can do it (R15).
    fn evidence(&self, _expect: &Expect) -> &'static [u8] {
        &[5, 12, 13, 15]
    }

    fn needs(&self, _expect: &Expect) -> Vec<Capability> {
        vec![Capability::Webhook, Capability::SdkInPods]
    }
}

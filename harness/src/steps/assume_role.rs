//! `assume_role`: what the AWS SDK inside a pod does. Get the token the pod would read
//! (TokenRequest for its ServiceAccount, with the audience and lifetime of its projected
//! volume), call STS `AssumeRoleWithWebIdentity`, and on success `GetCallerIdentity` with the
//! credentials (R12, R13).

use std::time::Duration;

use crate::drivers::deadline::Deadline;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt as _;

use super::fields::{Expect, TokenSource};
use super::kind::{Key, RELEASE, Refusals, Shape, StepKind};
use super::{ScenarioContext, StepError, fields, first_rolled_out_pod, propagation};
use crate::capability::Capability;
use crate::drivers::sts::{AssumedRole, StsRefusal};
use crate::source::decode::{Ctx, Fields};
use crate::template::Template;

/// The audience a token for a named ServiceAccount is requested for when the step names none
/// (what the documents tell the administrator to register: `sts.amazonaws.com`).
const DEFAULT_AUDIENCE: &str = crate::drivers::iam::STS_AUDIENCE;

/// Gets the token, calls STS and judges the answer.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &AssumeRole,
    expect: &Expect,
    deadline: &Deadline,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let role = ctx.render(&step.role)?;
    let audience_override = step.audience.as_ref().map(|a| ctx.render(a)).transpose()?;
    let token = service_account_token(
        ctx,
        &step.token,
        audience_override,
        step.expiration_seconds,
        deadline,
        log,
    )
    .await?;
    let token = match step.tamper {
        TokenTamper::None => token,
        TokenTamper::ResignWithForeignKey => {
            log.push("re-signed the token with a key the cluster never published".to_owned());
            resign_with_foreign_key(&token)?
        }
    };
    if let Ok(mut last) = ctx.last_token.lock() {
        *last = Some(token.clone());
    }
    let session = session_name(ctx, step.session_name.as_ref())?;
    let answer = assume(
        ctx,
        &role,
        &session,
        &token,
        *expect == Expect::Success,
        log,
    )
    .await?;
    match (expect, answer) {
        (Expect::Success, Ok(assumed)) => {
            let want = assumed_role_arn(&ctx.target.facts.account, &role, &session);
            let caller = match ctx.target.sts.caller_arn(&assumed).await? {
                Ok(arn) => arn,
                Err(r) => {
                    return Err(StepError::failed(
                        "GetCallerIdentity with the assumed credentials was refused",
                        want,
                        r.to_string(),
                    ));
                }
            };
            log.push(format!("GetCallerIdentity: {caller}"));
            if caller == want && assumed.assumed_role_arn == want {
                ctx.note("assumed_role_arn", &caller);
                Ok(())
            } else {
                Err(StepError::failed(
                    "the assumed identity is not the role's assumed-role ARN",
                    want,
                    format!(
                        "AssumedRoleUser {} / caller {caller}",
                        assumed.assumed_role_arn
                    ),
                ))
            }
        }
        (Expect::Success, Err(r)) => Err(StepError::failed(
            "STS refused the pod's token",
            "credentials for the role",
            r.to_string(),
        )),
        (Expect::StsError(code), Ok(assumed)) => Err(StepError::failed(
            "STS accepted a token it must refuse",
            format!("STS error {code}"),
            format!("credentials for {}", assumed.assumed_role_arn),
        )),
        // The scenario names the refusal by STS's own code (the documents' words).
        (Expect::StsError(code), Err(r)) if &r.code == code => Ok(()),
        (Expect::StsError(code), Err(r)) => Err(StepError::failed(
            "STS refused with another error",
            format!("STS error {code}"),
            r.to_string(),
        )),
        (Expect::PlatformError(_) | Expect::AcceptedOrRefused, _) => Err(StepError::Broken(
            "assume_role can only expect success or an STS error".to_owned(),
        )),
    }
}

/// The `component` key of `assume_role` and `s3_access`: whose pod's token is presented.
pub(super) const TOKEN_COMPONENT: Key = Key::optional(
    "component",
    Shape::OneOf(fields::COMPONENT_NAMES),
    "whose rolled-out pod's projected token is used",
);

/// The `service_account` key of `assume_role` and `s3_access`: a ServiceAccount's token
/// instead of a pod's.
pub(super) const TOKEN_SERVICE_ACCOUNT: Key = Key::optional(
    "service_account",
    Shape::Object(&[
        Key::required("namespace", Shape::Text, "its namespace"),
        Key::required("name", Shape::Text, "its name"),
    ]),
    "a ServiceAccount whose token is used instead of a pod's",
);

/// The `role` key of `assume_role` and `s3_access`.
pub(super) const ROLE: Key = Key::required("role", Shape::Text, "the role to assume");

/// The `session_name` key of `assume_role` and `s3_access`.
pub(super) const SESSION_NAME: Key = Key::optional(
    "session_name",
    Shape::Text,
    "default `rolecheck-{{run_id}}`",
);

/// The session name of an `assume_role` or `s3_access` step: its own, or
/// `rolecheck-<run id>`.
pub(super) fn session_name(
    ctx: &ScenarioContext<'_>,
    name: Option<&Template>,
) -> Result<String, StepError> {
    match name {
        Some(s) => ctx.render(s),
        None => Ok(format!("rolecheck-{}", ctx.run_id)),
    }
}

/// Presents `token` to STS `AssumeRoleWithWebIdentity` for `role` and logs the call and its
/// answer. Within the propagation window after the run created the role (see
/// [`propagation`]), a call expected to succeed is retried on the refusals IAM propagation
/// can cause, and one expected to be refused waits until IAM has settled.
pub(super) async fn assume(
    ctx: &ScenarioContext<'_>,
    role: &str,
    session: &str,
    token: &str,
    expect_success: bool,
    log: &mut Vec<String>,
) -> Result<Result<AssumedRole, StsRefusal>, StepError> {
    log.push(format!(
        "AssumeRoleWithWebIdentity role={role} session={session}"
    ));
    let sts = &ctx.target.sts;
    let call = || sts.assume_role_with_web_identity(role, session, token);
    let answer = if expect_success {
        let (answer, retried) = propagation::until_accepted(ctx.target.propagation, call).await?;
        if let Some(retried) = retried {
            log.push(retried.describe());
        }
        answer
    } else {
        if let Some(waited) = propagation::settled(ctx.target.propagation).await {
            log.push(format!(
                "waited {} for IAM to settle after the run created the role, so the refusal judged is the stable one",
                humantime::format_duration(Duration::from_secs(waited.as_secs()))
            ));
        }
        call().await?
    };
    match &answer {
        Ok(assumed) => log.push(format!("STS: assumed {}", assumed.assumed_role_arn)),
        Err(r) => log.push(format!("STS: {r}")),
    }
    Ok(answer)
}

/// Gets the token a source stands for, as the pod's AWS SDK would read it: TokenRequest for
/// the pod's ServiceAccount with the audience (unless `audience` overrides it) and lifetime of
/// its projected volume, or for a named ServiceAccount. Shared by the steps that assume a role.
pub(super) async fn service_account_token(
    ctx: &ScenarioContext<'_>,
    source: &TokenSource,
    audience_override: Option<String>,
    expiration_seconds: Option<i64>,
    deadline: &Deadline,
    log: &mut Vec<String>,
) -> Result<String, StepError> {
    Ok(match source {
        TokenSource::Pod { release, component } => {
            let release = ctx.release_of(release)?;
            let namespace = ctx.namespace_of(&release);
            let pod = &first_rolled_out_pod(ctx, &release, *component, deadline).await?;
            let projected = projected_token(pod).ok_or_else(|| {
            StepError::failed(
                format!("pod {} has no projected token at AWS_WEB_IDENTITY_TOKEN_FILE", pod.name_any()),
                "a serviceAccountToken projected volume mounted where AWS_WEB_IDENTITY_TOKEN_FILE points",
                "none",
            )
        })?;
            let service_account = pod
                .spec
                .as_ref()
                .and_then(|s| s.service_account_name.clone())
                .unwrap_or_else(|| "default".to_owned());
            let audience = audience_override.unwrap_or(projected.audience);
            log.push(format!(
            "TokenRequest for {namespace}/{service_account} bound to pod {} (audience {audience})",
            pod.name_any()
        ));
            ctx.target
                .kube
                .request_token(
                    &namespace,
                    &service_account,
                    &audience,
                    expiration_seconds.or(projected.expiration_seconds),
                    Some(pod),
                )
                .await?
        }
        TokenSource::ServiceAccount { namespace, name } => {
            let namespace = ctx.namespace_of_template(namespace)?;
            let name = ctx.render(name)?;
            let audience = audience_override.unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned());
            log.push(format!(
                "TokenRequest for {namespace}/{name} (audience {audience})"
            ));
            ctx.target
                .kube
                .request_token(&namespace, &name, &audience, expiration_seconds, None)
                .await?
        }
        TokenSource::Previous => {
            log.push("presenting the token of the previous assume_role step again".to_owned());
            ctx.last_token
                .lock()
                .ok()
                .and_then(|t| t.clone())
                .ok_or_else(|| {
                    StepError::Broken(
                    "`token: previous` but no earlier assume_role step of this scenario got a token"
                        .to_owned(),
                )
                })?
        }
    })
}

/// The ARN the documents' STS gives an assumed role: `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
fn assumed_role_arn(account: &str, role_arn: &str, session: &str) -> String {
    let role_name = role_arn.rsplit('/').next().unwrap_or(role_arn);
    format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session}")
}

/// The token a pod's AWS SDK would read: audience and lifetime of the projected
/// `serviceAccountToken` source at the path `AWS_WEB_IDENTITY_TOKEN_FILE` names.
struct ProjectedToken {
    audience: String,
    expiration_seconds: Option<i64>,
}

fn projected_token(pod: &Pod) -> Option<ProjectedToken> {
    let spec = pod.spec.as_ref()?;
    for container in &spec.containers {
        let Some(file) = container
            .env
            .iter()
            .flatten()
            .find(|e| e.name == "AWS_WEB_IDENTITY_TOKEN_FILE")
            .and_then(|e| e.value.clone())
        else {
            continue;
        };
        let (dir, file_name) = file.rsplit_once('/')?;
        for mount in container.volume_mounts.iter().flatten() {
            if mount.mount_path.trim_end_matches('/') != dir {
                continue;
            }
            let volume = spec
                .volumes
                .iter()
                .flatten()
                .find(|v| v.name == mount.name)?;
            let sources = volume.projected.as_ref()?.sources.as_ref()?;
            if let Some(token) = sources
                .iter()
                .filter_map(|s| s.service_account_token.as_ref())
                .find(|t| t.path == file_name)
            {
                return Some(ProjectedToken {
                    audience: token.audience.clone().unwrap_or_default(),
                    expiration_seconds: token.expiration_seconds,
                });
            }
        }
    }
    None
}

/// Keeps the token's header and claims but signs them with a fresh RSA key.
fn resign_with_foreign_key(token: &str) -> Result<String, StepError> {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::RSA_PKCS1_SHA256;

    let signed_part = token
        .rsplit_once('.')
        .map(|(head, _)| head)
        .ok_or_else(|| StepError::Broken("the issued token is not a JWT".to_owned()))?;
    let key = KeyPair::generate(KeySize::Rsa2048)
        .map_err(|_| StepError::Broken("RSA key generation failed".to_owned()))?;
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        signed_part.as_bytes(),
        &mut signature,
    )
    .map_err(|_| StepError::Broken("RSA signing failed".to_owned()))?;
    Ok(format!(
        "{signed_part}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assumed_role_arn_uses_the_role_name_and_session() {
        assert_eq!(
            assumed_role_arn(
                "123456789012",
                "arn:aws:iam::123456789012:role/path/example-role",
                "s1"
            ),
            "arn:aws:sts::123456789012:assumed-role/example-role/s1"
        );
    }

    #[test]
    fn resigned_token_keeps_header_and_claims() {
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
        let resigned = resign_with_foreign_key(token).unwrap();
        assert!(resigned.starts_with("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0."));
        assert_ne!(resigned, token);
    }
}

/// How the token handed to STS is altered before the call (R12 negative cases).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TokenTamper {
    /// Send the token as issued.
    #[default]
    None,
    /// Re-sign the token's claims with a key the cluster never published.
    ResignWithForeignKey,
}

/// Fields of `assume_role`.
#[derive(Debug, Clone, PartialEq)]
pub struct AssumeRole {
    /// Whose token is presented.
    pub token: TokenSource,
    /// The role to assume.
    pub role: Template,
    /// Audience to request the token for; `None` uses the pod's projected volume audience
    /// (or `sts.amazonaws.com` for a ServiceAccount source).
    pub audience: Option<Template>,
    /// Token lifetime to request, in seconds (TokenRequest `expirationSeconds`).
    pub expiration_seconds: Option<i64>,
    /// Alteration of the token before it is sent.
    pub tamper: TokenTamper,
    /// Session name; defaults to `rolecheck-{{run_id}}`.
    pub session_name: Option<Template>,
}

const TAMPERS: &[(&str, TokenTamper)] = &[
    ("none", TokenTamper::None),
    ("resign_with_foreign_key", TokenTamper::ResignWithForeignKey),
];

impl StepKind for AssumeRole {
    const ABOUT: &'static str = "A pod's projected token (or a named ServiceAccount's, or `token: previous`) sent to STS `AssumeRoleWithWebIdentity`, then `GetCallerIdentity`. A pod's token needs `webhook`.";
    const KEYS: &'static [Key] = &[
        RELEASE,
        TOKEN_COMPONENT,
        TOKEN_SERVICE_ACCOUNT,
        ROLE,
        Key::optional(
            "audience",
            Shape::Text,
            "the token's audience; default the pod's projected volume's",
        ),
        Key::optional(
            "expiration_seconds",
            Shape::PositiveInteger,
            "the token's lifetime to request",
        ),
        Key::optional(
            "tamper",
            Shape::OneOf(&["none", "resign_with_foreign_key"]),
            "re-sign the token with a key the cluster never published",
        ),
        SESSION_NAME,
        Key::optional(
            "token",
            Shape::OneOf(&["previous"]),
            "the previous `assume_role` step's token",
        ),
    ];
    const REFUSALS: Refusals = Refusals::Sts;
    const ONLY_OBSERVES: bool = false;

    fn decode(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Self> {
        let token = fields::token_source(ctx, fields);
        let role = fields::required_template(ctx, fields, "role");
        let audience = fields::optional_template(ctx, fields, "audience");
        let expiration_seconds = match fields.get("expiration_seconds") {
            Some(node) => ctx
                .positive_integer(node, "expiration_seconds")
                .map(Some)
                .ok_or(()),
            None => Ok(None),
        };
        let tamper = match fields.get("tamper") {
            Some(node) => ctx.choice(node, "tamper", TAMPERS),
            None => Some(TokenTamper::None),
        };
        let session_name = fields::optional_template(ctx, fields, "session_name");
        Some(AssumeRole {
            token: token?,
            role: role?,
            audience: audience.ok()?,
            expiration_seconds: expiration_seconds.ok()?,
            tamper: tamper?,
            session_name: session_name.ok()?,
        })
    }

    /// STS's answer to a token: the trust policy (R12); which pods can assume (R4).
    fn evidence(&self, _expect: &Expect) -> &'static [u8] {
        &[4, 12]
    }

    /// A pod's projected token is the webhook's doing.
    fn needs(&self, _expect: &Expect) -> Vec<Capability> {
        self.token.needs()
    }
}

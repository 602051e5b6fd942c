//! STS actions: `AssumeRoleWithWebIdentity` (token checks in the order AWS makes them,
//! then the role's trust policy) and `GetCallerIdentity` (SigV4 with issued credentials or the
//! administrator's key).

use std::collections::{BTreeMap, BTreeSet};

use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};

use super::AwsState;
use super::sessions::{Session, new_credentials};
use super::verify::{TokenError, WebIdentityToken};
use crate::aws_protocol::query::{AwsError, Params, Xml, aws_time};
use crate::aws_protocol::sigv4::{Authorization, SigV4Error, SignedRequest};
use crate::faults::Fault;
use crate::iam::{Decision, EvalOptions, PolicyDocument, PolicyKind, RequestContext};

/// The STS actions this endpoint serves.
pub const ACTIONS: &[&str] = &["AssumeRoleWithWebIdentity", "GetCallerIdentity"];

/// The action string trust policies name.
const ASSUME_ACTION: &str = "sts:AssumeRoleWithWebIdentity";

fn not_authorized() -> AwsError {
    AwsError::access_denied("Not authorized to perform sts:AssumeRoleWithWebIdentity")
}

impl From<TokenError> for AwsError {
    fn from(err: TokenError) -> Self {
        AwsError::invalid_identity_token(err.to_string())
    }
}

/// The validated parameters of `AssumeRoleWithWebIdentity`.
struct AssumeParams<'a> {
    role_arn: &'a str,
    session_name: &'a str,
    token: &'a str,
    duration: Option<u32>,
    session_policy: Option<PolicyDocument>,
}

fn length_error(value: &str, member: &str, min: usize, max: usize) -> Option<AwsError> {
    let len = value.chars().count();
    let (relation, bound) = if len < min {
        ("greater than or equal to", min)
    } else if len > max {
        ("less than or equal to", max)
    } else {
        return None;
    };
    let shown = if member == "webIdentityToken" {
        "***"
    } else {
        value
    };
    Some(AwsError::validation(format!(
        "1 validation error detected: Value '{shown}' at '{member}' failed to satisfy constraint: Member must have length {relation} {bound}"
    )))
}

impl<'a> AssumeParams<'a> {
    fn parse(params: &'a Params) -> Result<Self, AwsError> {
        let role_arn = params.required("RoleArn")?;
        let session_name = params.required("RoleSessionName")?;
        let token = params.required("WebIdentityToken")?;
        for (value, member, min, max) in [
            (role_arn, "roleArn", 20, 2048),
            (session_name, "roleSessionName", 2, 64),
            (token, "webIdentityToken", 4, 20000),
        ] {
            if let Some(err) = length_error(value, member, min, max) {
                return Err(err);
            }
        }
        if !session_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
        {
            return Err(AwsError::validation(format!(
                "1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
            )));
        }
        let duration = match params.get("DurationSeconds") {
            None => None,
            Some(text) => {
                let seconds: u32 = text.parse().map_err(|_| {
                    AwsError::validation(format!(
                        "Value '{text}' at 'durationSeconds' is not a valid integer"
                    ))
                })?;
                if seconds < 900 {
                    return Err(AwsError::validation(format!(
                        "1 validation error detected: Value '{seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
                    )));
                }
                if seconds > 43200 {
                    return Err(AwsError::validation(format!(
                        "1 validation error detected: Value '{seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"
                    )));
                }
                Some(seconds)
            }
        };
        if !role_arn.starts_with("arn:") || role_arn.split(':').count() < 6 {
            return Err(AwsError::validation(format!("{role_arn} is invalid")));
        }
        Ok(Self {
            role_arn,
            session_name,
            token,
            duration,
            session_policy: session_policy(params)?,
        })
    }
}

/// The maximum plain-text size of an inline session policy.
const SESSION_POLICY_MAX: usize = 2048;

/// The `Policy` session parameter, parsed (`None`: absent). Managed session policies
/// (`PolicyArns`) are refused: the sim has no managed policies to attach, as AWS refuses an
/// ARN that does not exist.
fn session_policy(params: &Params) -> Result<Option<PolicyDocument>, AwsError> {
    if let Some(arn) = params
        .list("PolicyArns")
        .first()
        .cloned()
        .or_else(|| params.get("PolicyArns.member.1.arn").map(str::to_owned))
    {
        return Err(AwsError::new(
            "MalformedPolicyDocument",
            StatusCode::BAD_REQUEST,
            format!("Policy {arn} does not exist or is not attachable."),
        ));
    }
    let Some(text) = params.get("Policy") else {
        return Ok(None);
    };
    if let Some(err) = length_error(text, "policy", 1, SESSION_POLICY_MAX) {
        return Err(err);
    }
    PolicyDocument::parse(text, PolicyKind::Permission)
        .map(Some)
        .map_err(|e| AwsError::new("MalformedPolicyDocument", StatusCode::BAD_REQUEST, e.0))
}

/// `AssumeRoleWithWebIdentity`.
pub(crate) fn assume_role_with_web_identity(
    state: &AwsState,
    params: &Params,
    now: DateTime<Utc>,
) -> Result<String, AwsError> {
    let request = AssumeParams::parse(params)?;
    let faults = &state.faults;

    let token = WebIdentityToken::parse(request.token)?;
    let iss = token.issuer()?;
    let provider = state.iam.provider_for_issuer(iss).ok_or_else(|| {
        AwsError::invalid_identity_token(format!(
            "No OpenIDConnect provider found in your account for {iss}"
        ))
    })?;
    if !faults.has(Fault::StsAcceptsAnySignature) {
        let jwks = state.keys.jwks_for(iss).ok_or(TokenError::NoKey)?;
        token.verify_signature(&jwks)?;
    }
    let now_secs = now.timestamp();
    if !faults.has(Fault::StsIgnoresExpiry) {
        let exp = token
            .time_claim("exp")?
            .ok_or(TokenError::BadClaim("exp"))?;
        if exp <= now_secs {
            return Err(AwsError::new(
                "ExpiredTokenException",
                StatusCode::BAD_REQUEST,
                format!(
                    "Token expired: current date/time {now_secs} must be before the expiration date/time {exp}"
                ),
            ));
        }
    }
    if let Some(nbf) = token.time_claim("nbf")?
        && nbf > now_secs
    {
        return Err(AwsError::invalid_identity_token(format!(
            "Token is not yet valid: current date/time {now_secs} must be after the not-before date/time {nbf}"
        )));
    }
    let audiences = token.audiences();
    let audience = audiences
        .iter()
        .find(|a| provider.client_ids.contains(a))
        .cloned();
    let audience = match audience {
        Some(a) => a,
        None if faults.has(Fault::StsIgnoresAudience) => {
            audiences.first().cloned().unwrap_or_default()
        }
        None => return Err(AwsError::invalid_identity_token("Incorrect token audience")),
    };
    let subject = token.subject()?.to_owned();

    let role = state
        .iam
        .role_by_arn(request.role_arn)
        .ok_or_else(not_authorized)?;
    if let Some(duration) = request.duration
        && duration > role.max_session_duration
    {
        return Err(AwsError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    let sub_key = format!("{}:sub", provider.url);
    let context = RequestContext {
        principal: ("Federated".to_owned(), provider.arn.clone()),
        action: ASSUME_ACTION.to_owned(),
        resource: None,
        keys: BTreeMap::from([
            (sub_key.clone(), vec![subject.clone()]),
            (format!("{}:aud", provider.url), audiences.clone()),
        ]),
    };
    let mut options = EvalOptions::default();
    if faults.has(Fault::StsIgnoresSubCondition) {
        options.ignored_keys = BTreeSet::from([sub_key]);
    }
    if role.trust_policy.evaluate(&context, &options) != Decision::Allow {
        return Err(not_authorized());
    }

    let (access_key_id, secret_access_key, session_token) = new_credentials();
    let duration = request.duration.unwrap_or(3600);
    let session = Session {
        access_key_id,
        secret_access_key,
        session_token,
        role_arn: role.arn.clone(),
        assumed_role_arn: format!(
            "arn:aws:sts::{}:assumed-role/{}/{}",
            state.iam.account(),
            role.name,
            request.session_name
        ),
        assumed_role_id: format!("{}:{}", role.role_id, request.session_name),
        account: state.iam.account().to_owned(),
        expiration: now + TimeDelta::seconds(i64::from(duration)),
        session_policy: request.session_policy.clone(),
    };
    state.sessions.insert(session.clone());

    let mut xml = Xml::new();
    xml.open("Credentials")
        .text("AccessKeyId", &session.access_key_id)
        .text("SecretAccessKey", &session.secret_access_key)
        .text("SessionToken", &session.session_token)
        .text("Expiration", &aws_time(session.expiration))
        .close("Credentials")
        .text("SubjectFromWebIdentityToken", &subject)
        .open("AssumedRoleUser")
        .text("AssumedRoleId", &session.assumed_role_id)
        .text("Arn", &session.assumed_role_arn)
        .close("AssumedRoleUser")
        .text("Provider", &provider.arn)
        .text("Audience", &audience);
    Ok(xml.finish())
}

impl From<SigV4Error> for AwsError {
    fn from(err: SigV4Error) -> Self {
        match err {
            SigV4Error::Missing => AwsError::new(
                "MissingAuthenticationToken",
                StatusCode::FORBIDDEN,
                err.to_string(),
            ),
            SigV4Error::Incomplete(m) => {
                AwsError::new("IncompleteSignature", StatusCode::BAD_REQUEST, m)
            }
            SigV4Error::Mismatch => AwsError::new(
                "SignatureDoesNotMatch",
                StatusCode::FORBIDDEN,
                err.to_string(),
            ),
        }
    }
}

fn invalid_client_token() -> AwsError {
    AwsError::new(
        "InvalidClientTokenId",
        StatusCode::FORBIDDEN,
        "The security token included in the request is invalid.",
    )
}

/// Finds the session that signed a request and checks the signature and expiry.
pub(crate) fn authenticate(
    state: &AwsState,
    request: &SignedRequest<'_>,
    now: DateTime<Utc>,
) -> Result<Session, AwsError> {
    let auth = Authorization::from_headers(request.headers)?;
    let session = state
        .sessions
        .get(&auth.access_key)
        .ok_or_else(invalid_client_token)?;
    let token = request
        .headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok());
    if token != Some(session.session_token.as_str()) {
        return Err(invalid_client_token());
    }
    request.verify(&auth, &session.secret_access_key)?;
    if session.expiration <= now {
        return Err(AwsError::new(
            "ExpiredToken",
            StatusCode::FORBIDDEN,
            "The security token included in the request is expired",
        ));
    }
    Ok(session)
}

/// IAM requests: signed (SigV4, service `iam`) with the administrator's access key. STS
/// session credentials are known but not allowed to call IAM (the assumed roles have no IAM
/// permissions); any other key is unknown.
pub(crate) fn authenticate_admin(
    state: &AwsState,
    request: &SignedRequest<'_>,
    action: &str,
    now: DateTime<Utc>,
) -> Result<(), AwsError> {
    let auth = Authorization::from_headers(request.headers)?;
    let admin = state.admin_key();
    if auth.access_key == admin.access_key_id {
        if auth.service != "iam" {
            return Err(SigV4Error::Mismatch.into());
        }
        return Ok(request.verify(&auth, &admin.secret_access_key)?);
    }
    if state.sessions.get(&auth.access_key).is_some() {
        let session = authenticate(state, request, now)?;
        return Err(AwsError::access_denied(format!(
            "User: {} is not authorized to perform: iam:{action} because no identity-based policy allows the iam:{action} action",
            session.assumed_role_arn
        )));
    }
    Err(invalid_client_token())
}

/// `GetCallerIdentity`. Real STS answers it for any valid credentials: the administrator's
/// long-term key (signed for service `sts`) is the account's root user, whose `UserId` is the
/// account id; issued session credentials are their assumed role.
pub(crate) fn get_caller_identity(
    state: &AwsState,
    request: &SignedRequest<'_>,
    now: DateTime<Utc>,
) -> Result<String, AwsError> {
    let auth = Authorization::from_headers(request.headers)?;
    let admin = state.admin_key();
    if auth.access_key == admin.access_key_id {
        if auth.service != "sts" {
            return Err(SigV4Error::Mismatch.into());
        }
        request.verify(&auth, &admin.secret_access_key)?;
        let account = state.iam().account();
        let mut xml = Xml::new();
        xml.text("Arn", &format!("arn:aws:iam::{account}:root"))
            .text("UserId", account)
            .text("Account", account);
        return Ok(xml.finish());
    }
    let session = authenticate(state, request, now)?;
    let mut xml = Xml::new();
    xml.text("Arn", &session.assumed_role_arn)
        .text("UserId", &session.assumed_role_id)
        .text("Account", &session.account);
    Ok(xml.finish())
}

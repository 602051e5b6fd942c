//! Who sent an S3 request and whether they may: SigV4 (service `s3`, the path encoded once,
//! `x-amz-content-sha256` required) with credentials STS issued, then the assumed role's
//! identity policies for the operation's action and resource ARN.

use axum::http::HeaderMap;
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

use super::error::S3Error;
use crate::aws_protocol::sigv4::{Authorization, SigV4Error, SignedRequest, UriEncoding};
use crate::iam::{Decision, EvalOptions, RequestContext, evaluate_all};
use crate::sts::AwsState;
use crate::sts::sessions::Session;

/// The service name S3 requests are signed for.
pub const SERVICE: &str = "s3";

/// How far the request's `X-Amz-Date` may be from the server's clock.
const MAX_SKEW: TimeDelta = TimeDelta::minutes(15);

/// What `x-amz-content-sha256` says about the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadHash {
    /// The hex SHA-256 of the body, which must match.
    Sha256(String),
    /// `UNSIGNED-PAYLOAD`.
    Unsigned,
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: an `aws-chunked` body without chunk signatures.
    StreamingUnsigned,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`: an `aws-chunked` body whose chunks are
    /// signed in a chain starting from the request signature.
    StreamingSigned,
}

impl PayloadHash {
    /// Reads the header.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, S3Error> {
        let value = headers
            .get("x-amz-content-sha256")
            .ok_or_else(|| {
                S3Error::invalid_request(
                    "Missing required header for this request: x-amz-content-sha256",
                )
            })?
            .to_str()
            .unwrap_or_default();
        Ok(match value {
            "UNSIGNED-PAYLOAD" => PayloadHash::Unsigned,
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER" => PayloadHash::StreamingUnsigned,
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" | "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" => {
                PayloadHash::StreamingSigned
            }
            hex if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                PayloadHash::Sha256(hex.to_ascii_lowercase())
            }
            other => {
                return Err(S3Error::invalid_argument(
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.",
                    "x-amz-content-sha256",
                    other,
                ));
            }
        })
    }
}

/// A request whose signature checked out.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The STS session whose credentials signed it.
    pub session: Session,
    /// The parsed `Authorization` header (its scope and signature seed chunk signatures).
    pub authorization: Authorization,
    /// What the body hash header says.
    pub payload: PayloadHash,
}

/// Checks the signature of a request, in the order S3 does: header form, scope, access
/// key, session token, payload hash header, signature, clock, expiry.
pub fn authenticate(
    state: &AwsState,
    region: &str,
    request: &SignedRequest<'_>,
    now: DateTime<Utc>,
) -> Result<Authenticated, S3Error> {
    let auth = match Authorization::from_headers(request.headers) {
        Ok(auth) => auth,
        // Anonymous: only a bucket policy could allow it, and the sim's buckets have none.
        Err(SigV4Error::Missing) => return Err(S3Error::access_denied()),
        Err(err) => return Err(S3Error::authorization_header_malformed(err.to_string())),
    };
    if auth.service != SERVICE {
        return Err(S3Error::authorization_header_malformed(format!(
            "The authorization header is malformed; incorrect service \"{}\". This endpoint belongs to \"{SERVICE}\".",
            auth.service
        )));
    }
    if auth.region != region {
        return Err(S3Error::authorization_header_malformed(format!(
            "The authorization header is malformed; the region '{}' is wrong; expecting '{region}'",
            auth.region
        ))
        .with("Region", region));
    }
    let session = state
        .sessions()
        .get(&auth.access_key)
        .ok_or_else(|| S3Error::invalid_access_key_id(&auth.access_key))?;
    let token = request
        .headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok());
    match token {
        None => return Err(S3Error::invalid_access_key_id(&auth.access_key)),
        Some(t) if t != session.session_token => return Err(S3Error::invalid_token()),
        Some(_) => {}
    }
    let payload = PayloadHash::from_headers(request.headers)?;
    request
        .verify_for(&auth, &session.secret_access_key, UriEncoding::Single)
        .map_err(|err| match err {
            SigV4Error::Mismatch => S3Error::signature_does_not_match(&auth.access_key),
            other => S3Error::authorization_header_malformed(other.to_string()),
        })?;
    let amz_date = request.amz_date().unwrap_or_default();
    let signed_at = NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| {
            S3Error::authorization_header_malformed(format!("Invalid X-Amz-Date: {amz_date}"))
        })?
        .and_utc();
    if (signed_at - now).abs() > MAX_SKEW {
        return Err(S3Error::time_too_skewed(
            &signed_at.format("%Y%m%dT%H%M%SZ").to_string(),
            &now.format("%Y%m%dT%H%M%SZ").to_string(),
        ));
    }
    if session.expiration <= now {
        return Err(S3Error::expired_token());
    }
    Ok(Authenticated {
        session,
        authorization: auth,
        payload,
    })
}

/// Evaluates the assumed role's identity (inline) policies for `action` on `resource`, and
/// the session policy passed to the assume call, if any (both must allow). A role deleted
/// since the credentials were issued has no policies left, so nothing is allowed.
pub fn authorize(state: &AwsState, session: &Session, action: &str, resource: &str) -> Decision {
    let Some(role) = state.iam().role_by_arn(&session.role_arn) else {
        return Decision::ImplicitDeny;
    };
    let request = RequestContext {
        principal: ("AWS".to_owned(), session.assumed_role_arn.clone()),
        action: action.to_owned(),
        resource: Some(resource.to_owned()),
        keys: [
            ("aws:PrincipalArn".to_owned(), vec![role.arn.clone()]),
            (
                "aws:PrincipalAccount".to_owned(),
                vec![session.account.clone()],
            ),
            (
                "aws:userid".to_owned(),
                vec![session.assumed_role_id.clone()],
            ),
        ]
        .into_iter()
        .collect(),
    };
    let by_role = evaluate_all(
        role.inline_policies.values(),
        &request,
        &EvalOptions::default(),
    );
    // A session policy can only narrow what the role allows (the intersection).
    match (&session.session_policy, by_role) {
        (Some(policy), Decision::Allow) => policy.evaluate(&request, &EvalOptions::default()),
        _ => by_role,
    }
}

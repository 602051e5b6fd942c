//! S3, path style, on the AWS listener: the object operations a pod's AWS SDK uses with the
//! documents' permission policy (`ListObjects[V2]`, `GetBucketLocation`, `HeadBucket`,
//! `CreateBucket`, `PutObject`, `GetObject`, `HeadObject`, `DeleteObject`).
//!
//! Requests are signed with SigV4 (service `s3`) by credentials STS issued; each one is
//! authorised by evaluating the assumed role's identity policies for its IAM action on
//! `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`. Errors have S3's XML shape.
//!
//! [`crate::aws_endpoint::router`] sends every request that is not for `/` here, so the AWS endpoint
//! URL serves STS, IAM and S3 alike (clients must use path-style addressing).

pub mod auth;
pub mod error;
pub mod payload;
pub mod request;
pub mod store;

use std::fmt::Write as _;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use crate::aws_protocol::query::escape;
use crate::aws_protocol::sigv4::{SignedRequest, hex};
use crate::iam::Decision;
use crate::sts::AwsState;
pub use error::S3Error;
use request::{ListParams, Operation};
pub use store::Buckets;
use store::{ListQuery, Object};

/// The XML namespace of S3 responses.
const XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// Whether a request on the AWS listener is for S3 (anything but the query-protocol root).
pub fn is_s3_request(uri: &Uri) -> bool {
    uri.path() != "/"
}

/// One S3 request, start to end.
pub(crate) fn handle(
    state: &AwsState,
    buckets: &Buckets,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    now: DateTime<Utc>,
) -> Response {
    let request_id = crate::aws_protocol::query::request_id()
        .replace('-', "")
        .to_uppercase();
    let result = match body {
        Ok(body) => serve(state, buckets, method, uri, headers, body, now),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(
            S3Error::entity_too_large(crate::aws_protocol::MAX_BODY_BYTES),
        ),
        Err(_) => Err(S3Error::incomplete_body()),
    };
    let mut response = match result {
        Ok(response) => response,
        Err(err) => {
            tracing::debug!(code = err.code, message = %err.message, path = uri.path(), "S3 request refused");
            err.response(&request_id, method == Method::HEAD)
        }
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response
            .headers_mut()
            .insert("x-amz-request-id", value.clone());
        response.headers_mut().insert("x-amz-id-2", value);
    }
    response
}

fn serve(
    state: &AwsState,
    buckets: &Buckets,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
    now: DateTime<Utc>,
) -> Result<Response, S3Error> {
    let query = uri.query().unwrap_or_default();
    let operation = request::parse(method, uri.path(), query)?;
    let signed = SignedRequest {
        method: method.as_str(),
        path: uri.path(),
        query,
        headers,
        body: &body,
    };
    let caller = auth::authenticate(state, buckets.region(), &signed, now)?;
    let bucket = operation.bucket();
    let creating = matches!(operation, Operation::CreateBucket { .. });
    if !creating && !buckets.exists(bucket) {
        return Err(S3Error::no_such_bucket(bucket));
    }
    let allowed = |action: &str, resource: &str| {
        auth::authorize(state, &caller.session, action, resource) == Decision::Allow
    };
    if !allowed(operation.action(), &operation.resource()) {
        return Err(S3Error::access_denied());
    }
    let no_bucket = |_| S3Error::no_such_bucket(bucket);
    // A missing key is only revealed to callers who may list the bucket, as in S3.
    let missing = |key: &str| {
        if allowed("s3:ListBucket", &request::bucket_arn(bucket)) {
            S3Error::no_such_key(key)
        } else {
            S3Error::access_denied()
        }
    };
    match &operation {
        Operation::ListObjectsV2 { params, .. } => list(buckets, bucket, params, true),
        Operation::ListObjects { params, .. } => list(buckets, bucket, params, false),
        Operation::GetBucketLocation { .. } => {
            let region = match buckets.region() {
                "us-east-1" => "",
                other => other,
            };
            Ok(xml(format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"{XMLNS}\">{}</LocationConstraint>",
                escape(region)
            )))
        }
        Operation::HeadBucket { .. } => Ok((
            StatusCode::OK,
            [("x-amz-bucket-region", buckets.region().to_owned())],
        )
            .into_response()),
        Operation::CreateBucket { .. } => {
            if buckets.create(bucket) {
                Ok((StatusCode::OK, [(header::LOCATION, format!("/{bucket}"))]).into_response())
            } else {
                Err(S3Error::bucket_already_owned_by_you(bucket))
            }
        }
        Operation::PutObject { key, .. } => {
            if headers.contains_key("x-amz-copy-source") {
                return Err(S3Error::not_implemented());
            }
            let amz_date = signed.amz_date().unwrap_or_default().to_owned();
            let payload = payload::decode(&caller, headers, &amz_date, body.clone())?;
            let object = Object {
                etag: etag(&payload.body),
                body: payload.body,
                last_modified: now,
                content_type: header_text(headers, header::CONTENT_TYPE.as_str()),
                metadata: headers
                    .iter()
                    .filter(|(name, _)| name.as_str().starts_with("x-amz-meta-"))
                    .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                    .collect(),
                checksums: payload.checksums,
            };
            let mut response = StatusCode::OK.into_response();
            set_header(&mut response, header::ETAG.as_str(), &object.etag);
            for (name, value) in &object.checksums {
                set_header(&mut response, name, value);
            }
            buckets.put(bucket, key, object).map_err(no_bucket)?;
            Ok(response)
        }
        Operation::GetObject { key, .. } | Operation::HeadObject { key, .. } => {
            let object = buckets
                .get(bucket, key)
                .map_err(no_bucket)?
                .ok_or_else(|| missing(key))?;
            let checksum_mode = header_text(headers, "x-amz-checksum-mode")
                .is_some_and(|m| m.eq_ignore_ascii_case("ENABLED"));
            Ok(object_response(
                &object,
                matches!(operation, Operation::HeadObject { .. }),
                checksum_mode,
            ))
        }
        Operation::DeleteObject { key, .. } => {
            buckets.delete(bucket, key).map_err(no_bucket)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn set_header(response: &mut Response, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        response.headers_mut().insert(name, value);
    }
}

/// The entity tag: a quoted 32-hex-digit digest of the content (S3 uses MD5 for simple
/// uploads; the sim uses the first half of SHA-256, which clients treat as opaque too).
fn etag(body: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body);
    format!("\"{}\"", hex(&digest.as_ref()[..16]))
}

fn xml(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/xml")],
        body,
    )
        .into_response()
}

/// `Last-Modified` in HTTP date form.
fn http_date(time: DateTime<Utc>) -> String {
    time.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Times in listings (`2024-01-02T03:04:05.000Z`).
fn iso_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn object_response(object: &Object, head: bool, checksum_mode: bool) -> Response {
    let mut response = if head {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(object.body.clone()))
    };
    let content_type = object
        .content_type
        .clone()
        .unwrap_or_else(|| "binary/octet-stream".to_owned());
    set_header(&mut response, header::CONTENT_TYPE.as_str(), &content_type);
    set_header(
        &mut response,
        header::CONTENT_LENGTH.as_str(),
        &object.body.len().to_string(),
    );
    set_header(&mut response, header::ETAG.as_str(), &object.etag);
    set_header(
        &mut response,
        header::LAST_MODIFIED.as_str(),
        &http_date(object.last_modified),
    );
    set_header(&mut response, header::ACCEPT_RANGES.as_str(), "bytes");
    for (name, value) in &object.metadata {
        set_header(&mut response, name, value);
    }
    if checksum_mode {
        for (name, value) in &object.checksums {
            set_header(&mut response, name, value);
        }
    }
    response
}

/// Renders a listing, V1 or V2.
fn list(
    buckets: &Buckets,
    bucket: &str,
    params: &ListParams,
    v2: bool,
) -> Result<Response, S3Error> {
    let max_keys = match params.max_keys.as_deref() {
        None => 1000,
        Some(text) => text.parse::<usize>().map_err(|_| {
            S3Error::invalid_argument(
                "Provided max-keys not an integer or within integer range",
                "max-keys",
                text,
            )
        })?,
    }
    .min(1000);
    let url_encoded = match params.encoding_type.as_deref() {
        None => false,
        Some("url") => true,
        Some(other) => {
            return Err(S3Error::invalid_argument(
                "Invalid Encoding Method specified in Request",
                "encoding-type",
                other,
            ));
        }
    };
    let token = match (&params.continuation_token, v2) {
        (Some(token), true) => Some(decode_token(token)?),
        _ => None,
    };
    let after = token.clone().or_else(|| params.start_after.clone());
    let query = ListQuery {
        prefix: params.prefix.clone().unwrap_or_default(),
        delimiter: params.delimiter.clone(),
        max_keys,
        after,
    };
    let listing = buckets
        .list(bucket, &query)
        .map_err(|_| S3Error::no_such_bucket(bucket))?;
    let enc = |text: &str| -> String {
        if url_encoded {
            crate::aws_protocol::query::percent_encode(text).replace("%2F", "/")
        } else {
            text.to_owned()
        }
    };
    let mut out =
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"{XMLNS}\">");
    let mut text = |tag: &str, value: &str| {
        let _ = write!(out, "<{tag}>{}</{tag}>", escape(value));
    };
    text("Name", bucket);
    text("Prefix", &enc(&query.prefix));
    if v2 {
        if let Some(token) = &params.continuation_token {
            text("ContinuationToken", token);
        }
        if let Some(start) = &params.start_after {
            text("StartAfter", &enc(start));
        }
        let count = listing.objects.len() + listing.common_prefixes.len();
        text("KeyCount", &count.to_string());
    } else {
        text(
            "Marker",
            &enc(params.start_after.as_deref().unwrap_or_default()),
        );
    }
    text("MaxKeys", &max_keys.to_string());
    if let Some(delimiter) = &query.delimiter {
        text("Delimiter", &enc(delimiter));
    }
    if url_encoded {
        text("EncodingType", "url");
    }
    text(
        "IsTruncated",
        if listing.truncated { "true" } else { "false" },
    );
    if listing.truncated
        && let Some(last) = &listing.last
    {
        if v2 {
            text("NextContinuationToken", &encode_token(last));
        } else if query.delimiter.is_some() {
            text("NextMarker", &enc(last));
        }
    }
    for (key, object) in &listing.objects {
        let _ = write!(
            out,
            "<Contents><Key>{}</Key><LastModified>{}</LastModified><ETag>{}</ETag><Size>{}</Size><StorageClass>STANDARD</StorageClass></Contents>",
            escape(&enc(key)),
            iso_time(object.last_modified),
            escape(&object.etag),
            object.body.len()
        );
    }
    for prefix in &listing.common_prefixes {
        let _ = write!(
            out,
            "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
            escape(&enc(prefix))
        );
    }
    out.push_str("</ListBucketResult>");
    Ok(xml(out))
}

/// Continuation tokens are opaque to clients: the base64 of where the next page starts after.
fn encode_token(after: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(after)
}

fn decode_token(token: &str) -> Result<String, S3Error> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            S3Error::invalid_argument(
                "The continuation token provided is incorrect",
                "continuation-token",
                token,
            )
        })
}

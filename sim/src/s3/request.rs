//! What a path-style S3 request asks for: the operation, the IAM action it needs and the
//! resource ARN the policies are evaluated against.

use axum::http::Method;

use super::error::S3Error;
use crate::aws_protocol::sigv4::percent_decode;

/// The S3 operations the sim serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// `GET /bucket?list-type=2`.
    ListObjectsV2 {
        /// The bucket.
        bucket: String,
        /// The listing parameters.
        params: ListParams,
    },
    /// `GET /bucket` (version 1 listing).
    ListObjects {
        /// The bucket.
        bucket: String,
        /// The listing parameters.
        params: ListParams,
    },
    /// `GET /bucket?location`.
    GetBucketLocation {
        /// The bucket.
        bucket: String,
    },
    /// `HEAD /bucket`.
    HeadBucket {
        /// The bucket.
        bucket: String,
    },
    /// `PUT /bucket`.
    CreateBucket {
        /// The bucket.
        bucket: String,
    },
    /// `PUT /bucket/key`.
    PutObject {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// `GET /bucket/key`.
    GetObject {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// `HEAD /bucket/key`.
    HeadObject {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// `DELETE /bucket/key`.
    DeleteObject {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
}

/// Listing parameters as sent (decoded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    /// `prefix`.
    pub prefix: Option<String>,
    /// `delimiter`.
    pub delimiter: Option<String>,
    /// `max-keys`.
    pub max_keys: Option<String>,
    /// `start-after` (v2) or `marker` (v1).
    pub start_after: Option<String>,
    /// `continuation-token` (v2).
    pub continuation_token: Option<String>,
    /// `encoding-type`.
    pub encoding_type: Option<String>,
}

/// Query parameters a listing understands (anything else on a bucket is a sub-resource this
/// sim does not serve).
const LIST_KEYS: &[&str] = &[
    "list-type",
    "prefix",
    "delimiter",
    "max-keys",
    "start-after",
    "continuation-token",
    "encoding-type",
    "fetch-owner",
    "marker",
];

/// Query parameters allowed on object requests: `x-id` names the operation (aws-sdk-s3 adds
/// it), the `response-*` overrides do not change what is served here.
fn harmless_object_key(key: &str) -> bool {
    key == "x-id" || key.starts_with("response-")
}

impl Operation {
    /// The IAM action the request needs (`s3:ListBucket`, `s3:GetObject`, ...).
    pub fn action(&self) -> &'static str {
        match self {
            Operation::ListObjectsV2 { .. }
            | Operation::ListObjects { .. }
            | Operation::HeadBucket { .. } => "s3:ListBucket",
            Operation::GetBucketLocation { .. } => "s3:GetBucketLocation",
            Operation::CreateBucket { .. } => "s3:CreateBucket",
            Operation::PutObject { .. } => "s3:PutObject",
            Operation::GetObject { .. } | Operation::HeadObject { .. } => "s3:GetObject",
            Operation::DeleteObject { .. } => "s3:DeleteObject",
        }
    }

    /// The bucket the request is about.
    pub fn bucket(&self) -> &str {
        match self {
            Operation::ListObjectsV2 { bucket, .. }
            | Operation::ListObjects { bucket, .. }
            | Operation::GetBucketLocation { bucket }
            | Operation::HeadBucket { bucket }
            | Operation::CreateBucket { bucket }
            | Operation::PutObject { bucket, .. }
            | Operation::GetObject { bucket, .. }
            | Operation::HeadObject { bucket, .. }
            | Operation::DeleteObject { bucket, .. } => bucket,
        }
    }

    /// The object key, for object operations.
    pub fn key(&self) -> Option<&str> {
        match self {
            Operation::PutObject { key, .. }
            | Operation::GetObject { key, .. }
            | Operation::HeadObject { key, .. }
            | Operation::DeleteObject { key, .. } => Some(key),
            _ => None,
        }
    }

    /// The resource ARN: `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`.
    pub fn resource(&self) -> String {
        match self.key() {
            Some(key) => object_arn(self.bucket(), key),
            None => bucket_arn(self.bucket()),
        }
    }
}

/// `arn:aws:s3:::<bucket>`.
pub fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

/// `arn:aws:s3:::<bucket>/<key>`.
pub fn object_arn(bucket: &str, key: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{key}")
}

/// The decoded query pairs (a key without `=` has an empty value).
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Reads a path-style request (`/bucket` or `/bucket/key`).
pub fn parse(method: &Method, path: &str, query: &str) -> Result<Operation, S3Error> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let (bucket, key) = match path.split_once('/') {
        Some((bucket, key)) => (percent_decode(bucket), percent_decode(key)),
        None => (percent_decode(path), String::new()),
    };
    if !valid_bucket_name(&bucket) {
        return Err(S3Error::invalid_bucket_name(&bucket));
    }
    let pairs = query_pairs(query);
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if key.is_empty() {
        if method == Method::GET && get("location").is_some() {
            return if pairs.len() == 1 {
                Ok(Operation::GetBucketLocation { bucket })
            } else {
                Err(S3Error::not_implemented())
            };
        }
        if pairs.iter().any(|(k, _)| !LIST_KEYS.contains(&k.as_str())) {
            return Err(S3Error::not_implemented());
        }
        let params = ListParams {
            prefix: get("prefix"),
            delimiter: get("delimiter"),
            max_keys: get("max-keys"),
            start_after: get("start-after").or_else(|| get("marker")),
            continuation_token: get("continuation-token"),
            encoding_type: get("encoding-type"),
        };
        return match *method {
            Method::GET => match get("list-type").as_deref() {
                Some("2") => Ok(Operation::ListObjectsV2 { bucket, params }),
                None => Ok(Operation::ListObjects { bucket, params }),
                Some(other) => Err(S3Error::invalid_argument(
                    "Invalid List Type specified",
                    "list-type",
                    other,
                )),
            },
            Method::HEAD => Ok(Operation::HeadBucket { bucket }),
            Method::PUT => Ok(Operation::CreateBucket { bucket }),
            Method::DELETE => Err(S3Error::not_implemented()),
            _ => Err(S3Error::method_not_allowed(method.as_str())),
        };
    }
    if pairs.iter().any(|(k, _)| !harmless_object_key(k)) {
        return Err(S3Error::not_implemented());
    }
    match *method {
        Method::PUT => Ok(Operation::PutObject { bucket, key }),
        Method::GET => Ok(Operation::GetObject { bucket, key }),
        Method::HEAD => Ok(Operation::HeadObject { bucket, key }),
        Method::DELETE => Ok(Operation::DeleteObject { bucket, key }),
        _ => Err(S3Error::method_not_allowed(method.as_str())),
    }
}

/// S3's bucket naming rules: 3 to 63 characters of lower-case letters, digits, `.` and `-`,
/// starting and ending with a letter or digit.
pub fn valid_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !name.contains("..")
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::list_v2(
        "GET",
        "/astronomer-bucket",
        "list-type=2&prefix=a%2Fb",
        "s3:ListBucket",
        "arn:aws:s3:::astronomer-bucket"
    )]
    #[case::list_v1(
        "GET",
        "/astronomer-bucket/",
        "encoding-type=url",
        "s3:ListBucket",
        "arn:aws:s3:::astronomer-bucket"
    )]
    #[case::location(
        "GET",
        "/astronomer-bucket",
        "location",
        "s3:GetBucketLocation",
        "arn:aws:s3:::astronomer-bucket"
    )]
    #[case::head_bucket(
        "HEAD",
        "/astronomer-bucket",
        "",
        "s3:ListBucket",
        "arn:aws:s3:::astronomer-bucket"
    )]
    #[case::create_bucket("PUT", "/new-bucket", "", "s3:CreateBucket", "arn:aws:s3:::new-bucket")]
    #[case::put(
        "PUT",
        "/astronomer-bucket/rolecheck/r%201.txt",
        "x-id=PutObject",
        "s3:PutObject",
        "arn:aws:s3:::astronomer-bucket/rolecheck/r 1.txt"
    )]
    #[case::get(
        "GET",
        "/astronomer-bucket/k",
        "",
        "s3:GetObject",
        "arn:aws:s3:::astronomer-bucket/k"
    )]
    #[case::head(
        "HEAD",
        "/astronomer-bucket/k",
        "",
        "s3:GetObject",
        "arn:aws:s3:::astronomer-bucket/k"
    )]
    #[case::delete(
        "DELETE",
        "/astronomer-bucket/a//b",
        "x-id=DeleteObject",
        "s3:DeleteObject",
        "arn:aws:s3:::astronomer-bucket/a//b"
    )]
    fn operations_map_to_actions_and_resources(
        #[case] method: &str,
        #[case] path: &str,
        #[case] query: &str,
        #[case] action: &str,
        #[case] resource: &str,
    ) {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let op = parse(&method, path, query).unwrap();
        assert_eq!((op.action(), op.resource().as_str()), (action, resource));
    }

    #[rstest]
    #[case::bad_bucket("GET", "/Bad_Bucket", "", "InvalidBucketName")]
    #[case::acl("GET", "/astronomer-bucket", "acl", "NotImplemented")]
    #[case::uploads("POST", "/astronomer-bucket/k", "uploads", "NotImplemented")]
    #[case::post_object("POST", "/astronomer-bucket/k", "", "MethodNotAllowed")]
    #[case::list_type("GET", "/astronomer-bucket", "list-type=3", "InvalidArgument")]
    fn unsupported_requests_are_refused(
        #[case] method: &str,
        #[case] path: &str,
        #[case] query: &str,
        #[case] code: &str,
    ) {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        assert_eq!(parse(&method, path, query).unwrap_err().code, code);
    }

    #[test]
    fn list_parameters_are_decoded() {
        let op = parse(
            &Method::GET,
            "/b-1",
            "list-type=2&prefix=a%2Fb&delimiter=%2F&max-keys=5&continuation-token=t&start-after=s&fetch-owner=false",
        )
        .unwrap();
        let Operation::ListObjectsV2 { params, .. } = op else {
            panic!("{op:?}");
        };
        assert_eq!(params.prefix.as_deref(), Some("a/b"));
        assert_eq!(params.delimiter.as_deref(), Some("/"));
        assert_eq!(params.max_keys.as_deref(), Some("5"));
        assert_eq!(params.continuation_token.as_deref(), Some("t"));
        assert_eq!(params.start_after.as_deref(), Some("s"));
    }
}

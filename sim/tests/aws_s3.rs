//! S3 over the wire, driven by aws-sdk-s3 with credentials from `AssumeRoleWithWebIdentity`:
//! the documents' permission policy reaches `astronomer-bucket` and nothing else, signatures
//! are checked, and errors have S3's shape.

mod aws_common;

use aws_common::Env;
use aws_sdk_s3::config::Credentials;
use aws_sdk_s3::primitives::ByteStream;
use rstest::rstest;

/// The error code of a failed SDK call.
fn code<T, E: aws_sdk_s3::error::ProvideErrorMetadata>(result: Result<T, E>) -> String {
    match result {
        Ok(_) => "success".to_owned(),
        Err(err) => err.code().unwrap_or("<no code>").to_owned(),
    }
}

#[tokio::test]
async fn documented_policy_reaches_astronomer_bucket_only() {
    let env = Env::start().await;
    let s3 = env.s3(env.assume().await);
    let key = "rolecheck/run-1.txt";

    s3.put_object()
        .bucket("astronomer-bucket")
        .key(key)
        .content_type("text/plain")
        .body(ByteStream::from_static(b"hello from a pod"))
        .send()
        .await
        .unwrap();
    let got = s3
        .get_object()
        .bucket("astronomer-bucket")
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_type(), Some("text/plain"));
    let body = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(&body[..], b"hello from a pod");
    let head = s3
        .head_object()
        .bucket("astronomer-bucket")
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(16));

    let listed = s3
        .list_objects_v2()
        .bucket("astronomer-bucket")
        .prefix("rolecheck/")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, [key]);
    let location = s3
        .get_bucket_location()
        .bucket("astronomer-bucket")
        .send()
        .await
        .unwrap();
    assert_eq!(
        location.location_constraint().map(|c| c.as_str()),
        Some(env.endpoints().region.as_str())
    );

    s3.delete_object()
        .bucket("astronomer-bucket")
        .key(key)
        .send()
        .await
        .unwrap();
    // Gone; the caller may list the bucket, so S3 says NoSuchKey rather than AccessDenied.
    let missing = s3
        .get_object()
        .bucket("astronomer-bucket")
        .key(key)
        .send()
        .await;
    assert_eq!(code(missing), "NoSuchKey");

    // The policy grants nothing on other buckets, and nothing but what it lists.
    assert_eq!(
        code(s3.list_objects_v2().bucket("other-bucket").send().await),
        "AccessDenied"
    );
    assert_eq!(
        code(
            s3.put_object()
                .bucket("other-bucket")
                .key(key)
                .body(ByteStream::from_static(b"x"))
                .send()
                .await
        ),
        "AccessDenied"
    );
    assert_eq!(
        code(s3.get_object().bucket("other-bucket").key(key).send().await),
        "AccessDenied"
    );
    assert_eq!(
        code(s3.create_bucket().bucket("new-bucket").send().await),
        "AccessDenied"
    );
    assert_eq!(
        code(s3.list_objects_v2().bucket("no-such-bucket").send().await),
        "NoSuchBucket"
    );
}

#[tokio::test]
async fn listing_pages_with_prefix_delimiter_and_continuation() {
    let env = Env::start().await;
    let s3 = env.s3(env.assume().await);
    for key in ["p/a/1", "p/a/2", "p/b", "p/c d+é", "q"] {
        s3.put_object()
            .bucket("astronomer-bucket")
            .key(key)
            .body(ByteStream::from_static(b"."))
            .send()
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket("astronomer-bucket")
            .prefix("p/")
            .delimiter("/")
            .max_keys(2)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap();
        seen.extend(
            page.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix())
                .map(str::to_owned),
        );
        seen.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key())
                .map(str::to_owned),
        );
        token = page.next_continuation_token().map(str::to_owned);
        if !page.is_truncated().unwrap_or(false) {
            break;
        }
    }
    seen.sort();
    assert_eq!(seen, ["p/a/", "p/b", "p/c d+é"]);
    let got = s3
        .get_object()
        .bucket("astronomer-bucket")
        .key("p/c d+é")
        .send()
        .await
        .unwrap();
    assert_eq!(&got.body.collect().await.unwrap().into_bytes()[..], b".");
}

#[rstest]
#[case::wrong_secret(false, true, "SignatureDoesNotMatch")]
#[case::unknown_access_key(true, false, "InvalidAccessKeyId")]
#[tokio::test]
async fn bad_credentials_are_refused(
    #[case] change_key: bool,
    #[case] change_secret: bool,
    #[case] expected: &str,
) {
    let env = Env::start().await;
    let good = env.assume().await;
    let credentials = Credentials::new(
        if change_key {
            "ASIAUNKNOWNKEY000000"
        } else {
            good.access_key_id()
        },
        if change_secret {
            "not-the-secret"
        } else {
            good.secret_access_key()
        },
        good.session_token().map(str::to_owned),
        None,
        "tampered",
    );
    let s3 = env.s3(credentials);
    assert_eq!(
        code(
            s3.list_objects_v2()
                .bucket("astronomer-bucket")
                .send()
                .await
        ),
        expected
    );
}

#[tokio::test]
async fn a_foreign_session_token_is_invalid() {
    let env = Env::start().await;
    let first = env.assume().await;
    let second = env.assume().await;
    let mixed = Credentials::new(
        first.access_key_id(),
        first.secret_access_key(),
        second.session_token().map(str::to_owned),
        None,
        "mixed",
    );
    assert_eq!(
        code(
            env.s3(mixed)
                .list_objects_v2()
                .bucket("astronomer-bucket")
                .send()
                .await
        ),
        "InvalidToken"
    );
}

#[tokio::test]
async fn an_explicit_deny_in_another_inline_policy_wins() {
    let env = Env::start().await;
    let ep = env.endpoints().clone();
    let iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::Config::builder()
            .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
            .region(aws_sdk_iam::config::Region::new(ep.region.clone()))
            .endpoint_url(&ep.aws_url)
            .credentials_provider(aws_sdk_iam::config::Credentials::new(
                &ep.aws_access_key_id,
                &ep.aws_secret_access_key,
                None,
                None,
                "t",
            ))
            .build(),
    );
    iam.put_role_policy()
        .role_name(aws_common::ROLE)
        .policy_name("deny-secrets")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::astronomer-bucket/secret/*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let s3 = env.s3(env.assume().await);
    let put = |key: &'static str| {
        s3.put_object()
            .bucket("astronomer-bucket")
            .key(key)
            .body(ByteStream::from_static(b"x"))
            .send()
    };
    assert_eq!(code(put("public/x").await), "success");
    assert_eq!(code(put("secret/x").await), "AccessDenied");
}

/// Raw HTTP: S3's XML error shape, and the query protocol still answering at `/`.
#[tokio::test]
async fn unsigned_requests_get_the_s3_error_shape_and_sts_still_answers() {
    let env = Env::start().await;
    let ep = env.endpoints();
    let response = reqwest::get(format!("{}/astronomer-bucket?list-type=2", ep.s3_url))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert!(response.headers().contains_key("x-amz-request-id"));
    let body = response.text().await.unwrap();
    assert!(
        body.contains(
            "<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>"
        ),
        "{body}"
    );
    let sts = reqwest::get(format!(
        "{}/?Action=GetCallerIdentity&Version=2011-06-15",
        ep.aws_url
    ))
    .await
    .unwrap();
    let body = sts.text().await.unwrap();
    assert!(
        body.contains("<ErrorResponse") && body.contains("MissingAuthenticationToken"),
        "{body}"
    );
}

/// A session policy narrows the role to what both allow: reading `astronomer-bucket`, not
/// writing it, and never `other-bucket` (which the session policy allows but the role does not).
#[tokio::test]
async fn a_session_policy_intersects_with_the_role() {
    let env = Env::start().await;
    let policy = r#"{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}]}"#;
    let full = env.s3(env.assume().await);
    full.put_object()
        .bucket("astronomer-bucket")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let narrowed = env.s3(env.assume_with_policy(Some(policy)).await.unwrap());
    let put = narrowed
        .put_object()
        .bucket("astronomer-bucket")
        .key("k2")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    assert_eq!(code(put), "AccessDenied");
    let get = narrowed
        .get_object()
        .bucket("astronomer-bucket")
        .key("k")
        .send()
        .await;
    assert_eq!(code(get), "success");
    let other = narrowed
        .list_objects_v2()
        .bucket("other-bucket")
        .send()
        .await;
    assert_eq!(code(other), "AccessDenied");
}

#[rstest]
#[case::not_json("{not json")]
#[case::no_statement(r#"{"Version": "2012-10-17"}"#)]
#[tokio::test]
async fn a_malformed_session_policy_is_refused(#[case] policy: &str) {
    let env = Env::start().await;
    assert_eq!(
        env.assume_with_policy(Some(policy)).await.err().as_deref(),
        Some("MalformedPolicyDocument")
    );
}

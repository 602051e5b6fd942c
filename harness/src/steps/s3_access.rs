//! `s3_access`: what a pod's AWS SDK does with the role (R13). Assume the role with the
//! ServiceAccount's token (as `assume_role` does), then try each S3 operation with the
//! temporary credentials and compare S3's answer with what the documents' permission policy
//! promises: allowed, or refused with `AccessDenied`. Objects the step writes carry the run
//! id in their keys and are removed before the step ends, whatever happened.

use std::collections::BTreeMap;
use std::time::Duration;

use super::assume_role::service_account_token;
use super::{ScenarioContext, StepError};
use crate::drivers::s3::{S3Driver, S3Refusal};
use crate::scenario::model::{S3Access, S3Action, S3Expect, S3Operation};

/// Objects this step wrote and has not deleted yet, with the content it wrote.
type Written = BTreeMap<(String, String), Vec<u8>>;

/// Assumes the role, runs the operations, removes what it wrote.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &S3Access,
    timeout: Duration,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let role = ctx.render(&step.role)?;
    let token = service_account_token(ctx, &step.token, None, None, timeout, log).await?;
    let session = match &step.session_name {
        Some(s) => ctx.render(s)?,
        None => format!("rolecheck-{}", ctx.run_id),
    };
    log.push(format!(
        "AssumeRoleWithWebIdentity role={role} session={session}"
    ));
    let sts = &ctx.target.sts;
    let (answer, retried) = super::propagation::until_accepted(ctx.target.propagation, || {
        sts.assume_role_with_web_identity(&role, &session, &token)
    })
    .await?;
    if let Some(retried) = retried {
        log.push(retried.describe());
    }
    let assumed = match answer {
        Ok(assumed) => assumed,
        Err(r) => {
            return Err(StepError::failed(
                "STS refused the token, so S3 could not be tried",
                "credentials for the role",
                format!("{}: {}", r.code, r.message),
            ));
        }
    };
    log.push(format!("STS: assumed {}", assumed.assumed_role_arn));
    let s3 = S3Driver::new(ctx.target.sts.endpoint(), &assumed);

    let mut written = Written::new();
    let checked = tokio::time::timeout(
        timeout,
        check_all(ctx, &s3, &step.operations, &mut written, log),
    )
    .await
    .unwrap_or_else(|_| {
        // S3 did not answer in time: no verdict on the policy, an infrastructure error.
        Err(StepError::Broken(format!(
            "S3 operations did not finish within {}",
            humantime::format_duration(timeout)
        )))
    });
    let removed = remove_written(&s3, &written, log).await;
    checked.and(removed)
}

/// `s3://bucket/key` or `s3://bucket`.
fn url(bucket: &str, key: Option<&str>) -> String {
    match key {
        Some(key) => format!("s3://{bucket}/{key}"),
        None => format!("s3://{bucket}"),
    }
}

async fn check_all(
    ctx: &ScenarioContext<'_>,
    s3: &S3Driver,
    operations: &[S3Operation],
    written: &mut Written,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    for operation in operations {
        check(ctx, s3, operation, written, log).await?;
    }
    Ok(())
}

/// Runs one operation and judges S3's answer.
async fn check(
    ctx: &ScenarioContext<'_>,
    s3: &S3Driver,
    operation: &S3Operation,
    written: &mut Written,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let bucket = ctx.render(&operation.bucket)?;
    let key = operation.key.as_ref().map(|k| ctx.render(k)).transpose()?;
    let object = || key.clone().unwrap_or_default();
    let target = url(&bucket, key.as_deref());
    let action = operation.action;
    // `Some(content)` for a GetObject that got the object back.
    let answer: Result<Option<Vec<u8>>, S3Refusal> = match action {
        S3Action::PutObject => {
            let content = format!("written by rolecheck run {}\n", ctx.run_id).into_bytes();
            let answer = s3.put_object(&bucket, &object(), content.clone()).await?;
            if answer.is_ok() {
                written.insert((bucket.clone(), object()), content);
            }
            answer.map(|()| None)
        }
        S3Action::GetObject => s3.get_object(&bucket, &object()).await?.map(Some),
        S3Action::HeadObject => s3.head_object(&bucket, &object()).await?.map(|()| None),
        S3Action::DeleteObject => {
            let answer = s3.delete_object(&bucket, &object()).await?;
            if answer.is_ok() {
                written.remove(&(bucket.clone(), object()));
            }
            answer.map(|()| None)
        }
        S3Action::ListBucket => s3.list_objects(&bucket).await?.map(|_| None),
        S3Action::GetBucketLocation => s3.get_bucket_location(&bucket).await?.map(|_| None),
    };
    match &answer {
        Ok(_) => log.push(format!("S3 {action} {target}: allowed")),
        Err(r) => log.push(format!(
            "S3 {action} {target}: refused {} ({}) {}",
            r.code, r.status, r.message
        )),
    }
    let refusal_text = |r: &S3Refusal| format!("{} (HTTP {}): {}", r.code, r.status, r.message);
    match (operation.expect, answer) {
        (S3Expect::Allowed, Ok(content)) => {
            let expected = written.get(&(bucket.clone(), object()));
            match (content, expected) {
                (Some(got), Some(want)) if &got != want => Err(StepError::failed(
                    format!("{action} {target} returned other content than this step wrote"),
                    String::from_utf8_lossy(want).into_owned(),
                    String::from_utf8_lossy(&got).into_owned(),
                )),
                _ => Ok(()),
            }
        }
        (S3Expect::Allowed, Err(r)) => Err(StepError::failed(
            format!("S3 refused {action} on {target}"),
            "allowed (the role's permission policy grants it)",
            refusal_text(&r),
        )),
        (S3Expect::Denied, Ok(_)) => Err(StepError::failed(
            format!("S3 allowed {action} on {target}"),
            "denied: AccessDenied (the role's permission policy does not grant it)",
            "allowed",
        )),
        (S3Expect::Denied, Err(r)) if r.code == "AccessDenied" => Ok(()),
        (S3Expect::Denied, Err(r)) => Err(StepError::failed(
            format!("S3 refused {action} on {target} for another reason than the policy"),
            "denied: AccessDenied",
            refusal_text(&r),
        )),
    }
}

/// Deletes every object the step wrote and did not delete itself.
async fn remove_written(
    s3: &S3Driver,
    written: &Written,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let mut leftovers = Vec::new();
    for (bucket, key) in written.keys() {
        let target = url(bucket, Some(key));
        match s3.delete_object(bucket, key).await {
            Ok(Ok(())) => log.push(format!("clean-up: deleted {target}")),
            Ok(Err(r)) => leftovers.push(format!("{target} ({})", r.code)),
            Err(err) => leftovers.push(format!("{target} ({err})")),
        }
    }
    if leftovers.is_empty() {
        Ok(())
    } else {
        Err(StepError::Broken(format!(
            "could not remove objects this step wrote: {}",
            leftovers.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_bucket_and_key() {
        assert_eq!(url("b", Some("k/l")), "s3://b/k/l");
        assert_eq!(url("b", None), "s3://b");
    }
}

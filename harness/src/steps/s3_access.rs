//! `s3_access`: what a pod's AWS SDK does with the role (R13). Assume the role with the
//! ServiceAccount's token (as `assume_role` does), then try each S3 operation with the
//! temporary credentials and compare S3's answer with what the documents' permission policy
//! promises: allowed, or refused with `AccessDenied`. Objects the step writes carry the run
//! id in their keys and are removed before the step ends, whatever happened.

use std::fmt;

use std::collections::BTreeMap;

use super::assume_role::{
    ROLE, SESSION_NAME, TOKEN_COMPONENT, TOKEN_SERVICE_ACCOUNT, assume, service_account_token,
    session_name,
};
use super::fields::{Expect, TokenSource};
use super::kind::{Key, RELEASE, Refusals, Shape, StepKind};
use super::{ScenarioContext, StepError, fields};
use crate::capability::Capability;
use crate::drivers::deadline::Deadline;
use crate::drivers::s3::{S3Driver, S3Refusal};
use crate::source::Location;
use crate::source::decode::{Ctx, Fields, Scope};
use crate::source::yaml::Node;
use crate::template;
use crate::template::Template;

/// Objects this step wrote and has not deleted yet, with the content it wrote.
type Written = BTreeMap<(String, String), Vec<u8>>;

/// Assumes the role, runs the operations, removes what it wrote.
pub async fn run(
    ctx: &ScenarioContext<'_>,
    step: &S3Access,
    deadline: &Deadline,
    log: &mut Vec<String>,
) -> Result<(), StepError> {
    let role = ctx.render(&step.role)?;
    let token = service_account_token(ctx, &step.token, None, None, deadline, log).await?;
    let session = session_name(ctx, step.session_name.as_ref())?;
    let assumed = match assume(ctx, &role, &session, &token, true, log).await? {
        Ok(assumed) => assumed,
        Err(r) => {
            return Err(StepError::failed(
                "STS refused the token, so S3 could not be tried",
                "credentials for the role",
                r.to_string(),
            ));
        }
    };
    let s3 = S3Driver::new(ctx.target.sts.endpoint(), &assumed);

    let mut written = Written::new();
    let checked = tokio::time::timeout_at(
        deadline.instant(),
        check_all(ctx, &s3, &step.operations, &mut written, log),
    )
    .await
    .unwrap_or_else(|_| {
        // S3 did not answer in time: no verdict on the policy, an infrastructure error.
        Err(StepError::Broken(format!(
            "S3 operations did not finish within {}",
            humantime::format_duration(deadline.budget())
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
            r.to_string(),
        )),
        (S3Expect::Denied, Ok(_)) => Err(StepError::failed(
            format!("S3 allowed {action} on {target}"),
            "denied: AccessDenied (the role's permission policy does not grant it)",
            "allowed",
        )),
        (S3Expect::Denied, Err(r)) if r.is_access_denied() => Ok(()),
        (S3Expect::Denied, Err(r)) => Err(StepError::failed(
            format!("S3 refused {action} on {target} for another reason than the policy"),
            "denied: AccessDenied",
            r.to_string(),
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

/// Fields of `s3_access`.
#[derive(Debug, Clone, PartialEq)]
pub struct S3Access {
    /// Whose token assumes the role (a pod of a component, or a named ServiceAccount).
    pub token: TokenSource,
    /// The role to assume.
    pub role: Template,
    /// Session name; defaults to `rolecheck-{{run_id}}`.
    pub session_name: Option<Template>,
    /// The operations to try, in order.
    pub operations: Vec<S3Operation>,
}

/// One S3 operation of `s3_access` and the outcome the documents' policy promises.
#[derive(Debug, Clone, PartialEq)]
pub struct S3Operation {
    /// What to do.
    pub action: S3Action,
    /// The bucket.
    pub bucket: Template,
    /// The object key: present exactly for object actions. A `put_object` key names the run
    /// id, and the step removes every object it wrote.
    pub key: Option<Template>,
    /// Allowed or denied.
    pub expect: S3Expect,
    /// Where the operation was written.
    pub location: Location,
}

/// The S3 operations `s3_access` can try, by the IAM action they need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum S3Action {
    /// `PutObject` (`s3:PutObject`).
    PutObject,
    /// `GetObject` (`s3:GetObject`).
    GetObject,
    /// `HeadObject` (`s3:GetObject`).
    HeadObject,
    /// `DeleteObject` (`s3:DeleteObject`).
    DeleteObject,
    /// `ListObjectsV2` (`s3:ListBucket`).
    ListBucket,
    /// `GetBucketLocation` (`s3:GetBucketLocation`).
    GetBucketLocation,
}

impl S3Action {
    /// Every action, in a stable order.
    pub const ALL: &'static [S3Action] = &[
        S3Action::PutObject,
        S3Action::GetObject,
        S3Action::HeadObject,
        S3Action::DeleteObject,
        S3Action::ListBucket,
        S3Action::GetBucketLocation,
    ];

    /// The scenario-file name (`put_object`, `list_bucket`, ...).
    pub fn name(self) -> &'static str {
        match self {
            S3Action::PutObject => "put_object",
            S3Action::GetObject => "get_object",
            S3Action::HeadObject => "head_object",
            S3Action::DeleteObject => "delete_object",
            S3Action::ListBucket => "list_bucket",
            S3Action::GetBucketLocation => "get_bucket_location",
        }
    }

    /// Whether the action writes or removes an object (so its key must be the run's own).
    pub fn changes_object(self) -> bool {
        matches!(self, S3Action::PutObject | S3Action::DeleteObject)
    }

    /// Whether the action is on an object (and so takes a `key`).
    pub fn on_object(self) -> bool {
        matches!(
            self,
            S3Action::PutObject
                | S3Action::GetObject
                | S3Action::HeadObject
                | S3Action::DeleteObject
        )
    }
}

impl fmt::Display for S3Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The outcome an S3 operation must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum S3Expect {
    /// S3 serves the request.
    Allowed,
    /// S3 refuses it with `AccessDenied` (403).
    Denied,
}

const S3_ACTIONS: &[(&str, S3Action)] = &[
    ("put_object", S3Action::PutObject),
    ("get_object", S3Action::GetObject),
    ("head_object", S3Action::HeadObject),
    ("delete_object", S3Action::DeleteObject),
    ("list_bucket", S3Action::ListBucket),
    ("get_bucket_location", S3Action::GetBucketLocation),
];
const S3_EXPECTS: &[(&str, S3Expect)] =
    &[("allowed", S3Expect::Allowed), ("denied", S3Expect::Denied)];

impl StepKind for S3Access {
    const ABOUT: &'static str = "Assumes the role with a token (as `assume_role`), then tries each S3 operation, which S3 must allow or deny; a `put_object` or `delete_object` key must contain `{{run_id}}`, so a run writes and deletes only its own objects, and what the step wrote is deleted. Needs `s3`.";
    const KEYS: &'static [Key] = &[
        RELEASE,
        TOKEN_COMPONENT,
        TOKEN_SERVICE_ACCOUNT,
        ROLE,
        SESSION_NAME,
        Key::required(
            "operations",
            Shape::ListOf(&[
                Key::required(
                    "action",
                    Shape::OneOf(&[
                        "put_object",
                        "get_object",
                        "head_object",
                        "delete_object",
                        "list_bucket",
                        "get_bucket_location",
                    ]),
                    "the S3 operation",
                ),
                Key::required("bucket", Shape::Text, "the bucket"),
                Key::optional("key", Shape::Text, "the object key (object actions only)"),
                Key::required(
                    "expect",
                    Shape::OneOf(&["allowed", "denied"]),
                    "whether S3 serves it or answers `AccessDenied`",
                ),
            ]),
            "the operations to try, in order",
        ),
    ];
    const REFUSALS: Refusals = Refusals::None;
    const ONLY_OBSERVES: bool = true;

    /// A token source (as `assume_role`), the role, and a non-empty list of operations.
    fn decode(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> Option<Self> {
        let token = fields::token_source(ctx, fields);
        let role = fields::required_template(ctx, fields, "role");
        let session_name = fields::optional_template(ctx, fields, "session_name");
        let operations = fields.required(ctx, "operations").and_then(|node| {
            let items = ctx.seq(node, "operations")?;
            if items.is_empty() {
                ctx.error(
                    node.pos,
                    "operations: the list is empty; name at least one S3 operation",
                );
                return None;
            }
            let decoded: Vec<Option<S3Operation>> =
                items.iter().map(|item| s3_operation(ctx, item)).collect();
            decoded.into_iter().collect::<Option<Vec<_>>>()
        });
        Some(S3Access {
            token: token?,
            role: role?,
            session_name: session_name.ok()?,
            operations: operations?,
        })
    }

    fn evidence(&self, _expect: &Expect) -> &'static [u8] {
        &[13]
    }

    fn needs(&self, _expect: &Expect) -> Vec<Capability> {
        let mut needs = self.token.needs();
        needs.push(Capability::S3);
        needs
    }
}

/// `{action, bucket, key?, expect}`: `key` exactly for object actions; a `put_object` or
/// `delete_object` key must name `{{run_id}}`: a run writes only objects recognisable as its
/// own, and deletes nothing else (a key without the run id could be someone's data).
fn s3_operation(ctx: &mut Ctx<'_>, node: &Node) -> Option<S3Operation> {
    let fields = Fields::new(
        ctx,
        node,
        "S3 operation",
        &["action", "bucket", "key", "expect"],
    )?;
    let action = fields
        .required(ctx, "action")
        .and_then(|n| ctx.choice(n, "S3 action", S3_ACTIONS));
    let bucket = fields::required_template(ctx, &fields, "bucket");
    let expect = fields
        .required(ctx, "expect")
        .and_then(|n| ctx.choice(n, "S3 expectation", S3_EXPECTS));
    let action = action?;
    let key = match (fields.entry("key"), action.on_object()) {
        (Some((_, value)), true) => {
            let key = ctx.template(value, "key", Scope::All)?;
            if action.changes_object() && !template::has_placeholder(&key, "run_id") {
                ctx.error(
                    value.pos,
                    format!(
                        "key `{key}` of `{action}` must contain `{{{{run_id}}}}`, so that a run writes and deletes only objects of its own"
                    ),
                );
                return None;
            }
            Some(key)
        }
        (None, true) => {
            ctx.error(
                fields.pos(),
                format!("missing required field `key` in S3 operation `{action}`"),
            );
            return None;
        }
        (Some((key, _)), false) => {
            ctx.error(
                key.pos,
                format!("S3 operation `{action}` is on a bucket and takes no `key`"),
            );
            return None;
        }
        (None, false) => None,
    };
    Some(S3Operation {
        action,
        bucket: bucket?,
        key,
        expect: expect?,
        location: ctx.location(node.pos),
    })
}

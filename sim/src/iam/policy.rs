//! IAM policy documents: parsing with the validation IAM applies on write
//! (`MalformedPolicyDocument`), and evaluation of trust policies the way STS does for
//! `AssumeRoleWithWebIdentity` (explicit Deny wins, otherwise an Allow is needed).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// Why a policy document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedPolicy(pub String);

fn malformed(message: impl Into<String>) -> MalformedPolicy {
    MalformedPolicy(message.into())
}

/// Which kind of policy a document is: trust policies must name a principal, permission
/// policies must not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// A role's `AssumeRolePolicyDocument`.
    Trust,
    /// An identity (inline) policy.
    Permission,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The statement grants.
    Allow,
    /// The statement refuses, whatever else grants.
    Deny,
}

/// The principals a statement names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Principal {
    /// `"Principal": "*"`: everyone.
    Any,
    /// `{"Federated": [...], "AWS": [...], ...}`, keyed by principal type.
    Typed(BTreeMap<String, Vec<String>>),
}

/// `Action` (matches listed patterns) or `NotAction` (matches everything else).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Actions {
    Listed(Vec<String>),
    AllBut(Vec<String>),
}

/// `Resource` (matches listed ARN patterns) or `NotResource` (matches every other ARN).
/// Trust policies have neither.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Resources {
    Any,
    Listed(Vec<String>),
    AllBut(Vec<String>),
}

/// How a condition operator combines the request's values of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetQualifier {
    /// No prefix: any request value may match (single-valued semantics).
    None,
    /// `ForAnyValue:`.
    AnyValue,
    /// `ForAllValues:`.
    AllValues,
}

/// The string comparison of a condition operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Equals,
    EqualsIgnoreCase,
    Like,
}

/// A parsed condition operator such as `ForAnyValue:StringNotLikeIfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Operator {
    qualifier: SetQualifier,
    comparison: Comparison,
    negated: bool,
    if_exists: bool,
}

impl Operator {
    fn parse(name: &str) -> Option<Self> {
        let (qualifier, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (SetQualifier::AnyValue, rest)
        } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (SetQualifier::AllValues, rest)
        } else {
            (SetQualifier::None, name)
        };
        let (rest, if_exists) = match rest.strip_suffix("IfExists") {
            Some(rest) => (rest, true),
            None => (rest, false),
        };
        let (comparison, negated) = match rest {
            "StringEquals" => (Comparison::Equals, false),
            "StringNotEquals" => (Comparison::Equals, true),
            "StringEqualsIgnoreCase" => (Comparison::EqualsIgnoreCase, false),
            "StringNotEqualsIgnoreCase" => (Comparison::EqualsIgnoreCase, true),
            "StringLike" => (Comparison::Like, false),
            "StringNotLike" => (Comparison::Like, true),
            _ => return None,
        };
        Some(Self {
            qualifier,
            comparison,
            negated,
            if_exists,
        })
    }

    /// Whether one request value matches one policy value (before negation).
    fn matches(self, pattern: &str, value: &str) -> bool {
        match self.comparison {
            Comparison::Equals => pattern == value,
            Comparison::EqualsIgnoreCase => pattern.eq_ignore_ascii_case(value),
            Comparison::Like => wildcard_match(pattern, value),
        }
    }

    /// Evaluates the operator for one key. `values` is `None` when the request lacks the key.
    fn evaluate(self, patterns: &[String], values: Option<&[String]>) -> bool {
        let hit = |value: &String| patterns.iter().any(|p| self.matches(p, value));
        let values = match values {
            Some(values) if !values.is_empty() => values,
            _ => {
                // Key absent: IfExists and ForAllValues hold vacuously, negated operators
                // hold, everything else fails.
                return self.if_exists
                    || self.qualifier == SetQualifier::AllValues
                    || (self.negated && self.qualifier == SetQualifier::None);
            }
        };
        match (self.qualifier, self.negated) {
            (SetQualifier::AllValues, false) => values.iter().all(hit),
            (SetQualifier::AllValues, true) => values.iter().all(|v| !hit(v)),
            (SetQualifier::AnyValue, true) => values.iter().any(|v| !hit(v)),
            (_, false) => values.iter().any(hit),
            (SetQualifier::None, true) => !values.iter().any(hit),
        }
    }
}

/// One `operator: {key: values}` block entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Condition {
    operator: Operator,
    /// The key, lower-cased (condition keys are case-insensitive).
    key: String,
    values: Vec<String>,
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    effect: Effect,
    principal: Option<Principal>,
    actions: Actions,
    resources: Resources,
    conditions: Vec<Condition>,
}

/// A parsed, validated policy document. Keeps the JSON it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument {
    json: Value,
    statements: Vec<Statement>,
}

/// What a request asks for, as the evaluation sees it.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// Principal type (`Federated`, `AWS`, ...) and the principal's identifier.
    pub principal: (String, String),
    /// The action, e.g. `sts:AssumeRoleWithWebIdentity`.
    pub action: String,
    /// The ARN of the resource acted on (`arn:aws:s3:::bucket/key`); `None` for requests
    /// evaluated against a trust policy, whose statements name no resource.
    pub resource: Option<String>,
    /// Condition keys (any case) and their values; a key may be multi-valued.
    pub keys: BTreeMap<String, Vec<String>>,
}

/// Knobs that bend evaluation (used by fault switches).
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// Condition keys (any case) whose conditions are treated as satisfied.
    pub ignored_keys: BTreeSet<String>,
}

/// The outcome of evaluating a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A statement allows and none denies.
    Allow,
    /// A statement denies explicitly.
    ExplicitDeny,
    /// Nothing allows.
    ImplicitDeny,
}

impl PolicyDocument {
    /// Parses and validates a document.
    pub fn parse(text: &str, kind: PolicyKind) -> Result<Self, MalformedPolicy> {
        let json: Value = serde_json::from_str(text)
            .map_err(|e| malformed(format!("Syntax errors in policy. ({e})")))?;
        let object = json
            .as_object()
            .ok_or_else(|| malformed("Syntax errors in policy."))?;
        if let Some(version) = object.get("Version") {
            match version.as_str() {
                Some("2012-10-17" | "2008-10-17") => {}
                _ => return Err(malformed("The policy must contain a valid version string")),
            }
        }
        let statements = match object.get("Statement") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|s| parse_statement(s, kind))
                .collect::<Result<Vec<_>, _>>()?,
            Some(single @ Value::Object(_)) => vec![parse_statement(single, kind)?],
            Some(_) => return Err(malformed("Syntax errors in policy.")),
            None => return Err(malformed("Missing required field Statement")),
        };
        if statements.is_empty() {
            return Err(malformed("Missing required field Statement"));
        }
        Ok(Self { json, statements })
    }

    /// The document as JSON.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// Evaluates the document for a request.
    pub fn evaluate(&self, request: &RequestContext, options: &EvalOptions) -> Decision {
        let keys: BTreeMap<String, &[String]> = request
            .keys
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.as_slice()))
            .collect();
        let ignored: BTreeSet<String> = options
            .ignored_keys
            .iter()
            .map(|k| k.to_ascii_lowercase())
            .collect();
        let mut allowed = false;
        for statement in &self.statements {
            if !statement.applies(request, &keys, &ignored) {
                continue;
            }
            match statement.effect {
                Effect::Deny => return Decision::ExplicitDeny,
                Effect::Allow => allowed = true,
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        }
    }
}

/// Evaluates a principal's identity policies together, as IAM does: an explicit Deny in any
/// of them wins, otherwise one Allow is enough, otherwise the request is implicitly denied.
pub fn evaluate_all<'a>(
    policies: impl IntoIterator<Item = &'a PolicyDocument>,
    request: &RequestContext,
    options: &EvalOptions,
) -> Decision {
    let mut allowed = false;
    for policy in policies {
        match policy.evaluate(request, options) {
            Decision::ExplicitDeny => return Decision::ExplicitDeny,
            Decision::Allow => allowed = true,
            Decision::ImplicitDeny => {}
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

impl Statement {
    fn applies(
        &self,
        request: &RequestContext,
        keys: &BTreeMap<String, &[String]>,
        ignored: &BTreeSet<String>,
    ) -> bool {
        let principal_ok = match &self.principal {
            None => true,
            Some(Principal::Any) => true,
            Some(Principal::Typed(map)) => {
                let (kind, id) = &request.principal;
                map.get(kind)
                    .is_some_and(|ids| ids.iter().any(|p| p == "*" || p == id))
            }
        };
        let action = request.action.to_ascii_lowercase();
        let action_ok = match &self.actions {
            Actions::Listed(patterns) => patterns
                .iter()
                .any(|p| wildcard_match(&p.to_ascii_lowercase(), &action)),
            Actions::AllBut(patterns) => !patterns
                .iter()
                .any(|p| wildcard_match(&p.to_ascii_lowercase(), &action)),
        };
        let resource_ok = match (&self.resources, request.resource.as_deref()) {
            (Resources::Any, _) => true,
            // A statement that names resources never applies to a resource-less request.
            (_, None) => false,
            (Resources::Listed(patterns), Some(arn)) => patterns.iter().any(|p| arn_match(p, arn)),
            (Resources::AllBut(patterns), Some(arn)) => !patterns.iter().any(|p| arn_match(p, arn)),
        };
        principal_ok
            && action_ok
            && resource_ok
            && self.conditions.iter().all(|c| {
                ignored.contains(&c.key)
                    || c.operator.evaluate(&c.values, keys.get(&c.key).copied())
            })
    }
}

fn parse_statement(value: &Value, kind: PolicyKind) -> Result<Statement, MalformedPolicy> {
    let object = value
        .as_object()
        .ok_or_else(|| malformed("Syntax errors in policy."))?;
    let effect = match object.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        Some(_) => return Err(malformed("Invalid effect")),
        None => return Err(malformed("Missing required field Effect")),
    };
    if object.contains_key("NotPrincipal") {
        return Err(malformed("NotPrincipal is not supported in this policy."));
    }
    let principal = match (object.get("Principal"), kind) {
        (Some(_), PolicyKind::Permission) => {
            return Err(malformed("Policy document should not specify a principal."));
        }
        (None, PolicyKind::Trust) => return Err(malformed("Missing required field Principal")),
        (Some(p), PolicyKind::Trust) => Some(parse_principal(p)?),
        (None, PolicyKind::Permission) => None,
    };
    let actions = match (object.get("Action"), object.get("NotAction")) {
        (Some(a), None) => Actions::Listed(string_list(a, "Action")?),
        (None, Some(a)) => Actions::AllBut(string_list(a, "NotAction")?),
        (Some(_), Some(_)) => {
            return Err(malformed("Statement cannot have both Action and NotAction"));
        }
        (None, None) => return Err(malformed("Missing required field Action")),
    };
    if kind == PolicyKind::Trust
        && let Actions::Listed(list) = &actions
        && let Some(bad) = list.iter().find(|a| *a != "*" && !a.contains(':'))
    {
        return Err(malformed(format!("Invalid action: {bad}")));
    }
    let resources = match (object.get("Resource"), object.get("NotResource"), kind) {
        (None, None, PolicyKind::Trust) => Resources::Any,
        (Some(_), _, PolicyKind::Trust) => {
            return Err(malformed("Has prohibited field Resource"));
        }
        (_, Some(_), PolicyKind::Trust) => {
            return Err(malformed("Has prohibited field NotResource"));
        }
        (Some(r), None, PolicyKind::Permission) => Resources::Listed(resource_list(r, "Resource")?),
        (None, Some(r), PolicyKind::Permission) => {
            Resources::AllBut(resource_list(r, "NotResource")?)
        }
        (Some(_), Some(_), PolicyKind::Permission) => {
            return Err(malformed(
                "Statement cannot have both Resource and NotResource",
            ));
        }
        (None, None, PolicyKind::Permission) => {
            return Err(malformed("Policy statement must contain resources."));
        }
    };
    let conditions = match object.get("Condition") {
        None => Vec::new(),
        Some(c) => parse_conditions(c)?,
    };
    Ok(Statement {
        effect,
        principal,
        actions,
        resources,
        conditions,
    })
}

fn parse_principal(value: &Value) -> Result<Principal, MalformedPolicy> {
    match value {
        Value::String(s) if s == "*" => Ok(Principal::Any),
        Value::Object(map) if !map.is_empty() => {
            let mut typed = BTreeMap::new();
            for (kind, ids) in map {
                if !matches!(
                    kind.as_str(),
                    "AWS" | "Federated" | "Service" | "CanonicalUser"
                ) {
                    return Err(malformed(format!(
                        "Invalid principal in policy: \"{kind}\""
                    )));
                }
                typed.insert(kind.clone(), string_list(ids, "Principal")?);
            }
            Ok(Principal::Typed(typed))
        }
        _ => Err(malformed("Invalid principal in policy")),
    }
}

fn parse_conditions(value: &Value) -> Result<Vec<Condition>, MalformedPolicy> {
    let blocks = value
        .as_object()
        .ok_or_else(|| malformed("Syntax errors in policy."))?;
    let mut conditions = Vec::new();
    for (name, block) in blocks {
        let operator = Operator::parse(name)
            .ok_or_else(|| malformed(format!("Invalid Condition type : {name}")))?;
        let block = block
            .as_object()
            .ok_or_else(|| malformed("Syntax errors in policy."))?;
        for (key, values) in block {
            conditions.push(Condition {
                operator,
                key: key.to_ascii_lowercase(),
                values: condition_values(values)?,
            });
        }
    }
    Ok(conditions)
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn condition_values(value: &Value) -> Result<Vec<String>, MalformedPolicy> {
    match value {
        Value::Array(items) => items
            .iter()
            .map(|v| scalar(v).ok_or_else(|| malformed("Syntax errors in policy.")))
            .collect(),
        other => scalar(other)
            .map(|s| vec![s])
            .ok_or_else(|| malformed("Syntax errors in policy.")),
    }
}

fn string_list(value: &Value, field: &str) -> Result<Vec<String>, MalformedPolicy> {
    let bad = || {
        malformed(format!(
            "Syntax errors in policy. ({field} must be a string or a list of strings)"
        ))
    };
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(bad))
            .collect(),
        _ => Err(bad()),
    }
}

/// A `Resource` list: `*` or ARNs (`arn:partition:service:region:account:resource`).
fn resource_list(value: &Value, field: &str) -> Result<Vec<String>, MalformedPolicy> {
    let list = string_list(value, field)?;
    if let Some(bad) = list
        .iter()
        .find(|r| *r != "*" && (!r.starts_with("arn:") || r.splitn(6, ':').count() < 6))
    {
        return Err(malformed(format!(
            "Resource {bad} must be in ARN format or \"*\"."
        )));
    }
    Ok(list)
}

/// Whether a resource ARN matches a policy's ARN pattern: `*` matches everything; otherwise
/// partition, service, region and account are matched one by one (a wildcard never spans
/// a `:` there) and the resource part as a whole (where `*` spans `/` and `:`), case-sensitively.
pub fn arn_match(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let patterns: Vec<&str> = pattern.splitn(6, ':').collect();
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    patterns.len() == 6
        && parts.len() == 6
        && patterns
            .iter()
            .zip(&parts)
            .all(|(p, part)| wildcard_match(p, part))
}

/// IAM wildcard matching: `*` matches any run of characters (also none), `?` exactly one.
/// Case-sensitive; callers lower-case both sides where IAM compares case-insensitively.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Position of the last `*` in the pattern and of the text index it was tried at.
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                backtrack = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match backtrack {
                Some((star, at)) => {
                    pi = star + 1;
                    ti = at + 1;
                    backtrack = Some((star, at + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    const PROVIDER: &str = "oidc.eks.us-west-2.amazonaws.com/id/ABC";
    const PROVIDER_ARN: &str =
        "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC";

    fn documented_trust_policy() -> String {
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER_ARN},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringLike": {format!("{PROVIDER}:sub"): "system:serviceaccount:astronomer-*:*"}}
            }]
        })
        .to_string()
    }

    fn request(sub: &str, aud: &[&str]) -> RequestContext {
        RequestContext {
            principal: ("Federated".to_owned(), PROVIDER_ARN.to_owned()),
            action: "sts:AssumeRoleWithWebIdentity".to_owned(),
            resource: None,
            keys: BTreeMap::from([
                (format!("{PROVIDER}:sub"), vec![sub.to_owned()]),
                (
                    format!("{PROVIDER}:aud"),
                    aud.iter().map(|s| (*s).to_owned()).collect(),
                ),
            ]),
        }
    }

    fn decide(policy: &str, req: &RequestContext) -> Decision {
        PolicyDocument::parse(policy, PolicyKind::Trust)
            .unwrap()
            .evaluate(req, &EvalOptions::default())
    }

    #[rstest]
    #[case::astronomer_worker(
        "system:serviceaccount:astronomer-arithmetic-radiation-6756:worker",
        Decision::Allow
    )]
    #[case::default_namespace("system:serviceaccount:default:x", Decision::ImplicitDeny)]
    #[case::prefix_only("system:serviceaccount:astronomer-", Decision::ImplicitDeny)]
    #[case::empty_release("system:serviceaccount:astronomer-:sa", Decision::Allow)]
    #[case::case_matters("system:serviceaccount:Astronomer-x:sa", Decision::ImplicitDeny)]
    fn documented_string_like_condition(#[case] sub: &str, #[case] expected: Decision) {
        assert_eq!(
            decide(
                &documented_trust_policy(),
                &request(sub, &["sts.amazonaws.com"])
            ),
            expected
        );
    }

    #[rstest]
    #[case::single_aud(&["sts.amazonaws.com"], Decision::Allow)]
    #[case::list_aud_contains(&["other", "sts.amazonaws.com"], Decision::Allow)]
    #[case::wrong_aud(&["other"], Decision::ImplicitDeny)]
    #[case::no_aud(&[], Decision::ImplicitDeny)]
    fn string_equals_audience(#[case] aud: &[&str], #[case] expected: Decision) {
        let policy = serde_json::json!({
            "Statement": {
                "Effect": "Allow",
                "Principal": {"Federated": [PROVIDER_ARN]},
                "Action": ["sts:AssumeRoleWithWebIdentity"],
                "Condition": {"StringEquals": {format!("{PROVIDER}:aud"): ["sts.amazonaws.com"]}}
            }
        });
        assert_eq!(
            decide(
                &policy.to_string(),
                &request("system:serviceaccount:a:b", aud)
            ),
            expected
        );
    }

    #[rstest]
    #[case::exact("sts:AssumeRoleWithWebIdentity", Decision::Allow)]
    #[case::case_insensitive("STS:assumerolewithwebidentity", Decision::Allow)]
    #[case::star("*", Decision::Allow)]
    #[case::service_star("sts:*", Decision::Allow)]
    #[case::suffix_star("sts:AssumeRole*", Decision::Allow)]
    #[case::question_marks("sts:AssumeRoleWith???Identity", Decision::Allow)]
    #[case::other_action("sts:AssumeRole", Decision::ImplicitDeny)]
    #[case::other_service("s3:*", Decision::ImplicitDeny)]
    fn action_wildcards(#[case] action: &str, #[case] expected: Decision) {
        let policy = serde_json::json!({
            "Statement": [{"Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN}, "Action": action}]
        });
        assert_eq!(decide(&policy.to_string(), &request("s", &["a"])), expected);
    }

    #[rstest]
    #[case::right_provider(PROVIDER_ARN, Decision::Allow)]
    #[case::other_provider(
        "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/XYZ",
        Decision::ImplicitDeny
    )]
    #[case::other_account(
        "arn:aws:iam::999999999999:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC",
        Decision::ImplicitDeny
    )]
    fn federated_principal(#[case] principal: &str, #[case] expected: Decision) {
        let policy = serde_json::json!({
            "Statement": [{"Effect": "Allow", "Principal": {"Federated": principal}, "Action": "sts:AssumeRoleWithWebIdentity"}]
        });
        assert_eq!(decide(&policy.to_string(), &request("s", &["a"])), expected);
    }

    #[test]
    fn aws_principal_does_not_match_a_federated_caller() {
        let policy = serde_json::json!({
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": PROVIDER_ARN}, "Action": "sts:*"}]
        });
        assert_eq!(
            decide(&policy.to_string(), &request("s", &["a"])),
            Decision::ImplicitDeny
        );
    }

    #[rstest]
    #[case::denied_namespace(
        "system:serviceaccount:astronomer-blocked:worker",
        Decision::ExplicitDeny
    )]
    #[case::other_namespace("system:serviceaccount:astronomer-ok:worker", Decision::Allow)]
    fn explicit_deny_wins(#[case] sub: &str, #[case] expected: Decision) {
        let policy = serde_json::json!({
            "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRoleWithWebIdentity"},
                {"Effect": "Deny", "Principal": {"Federated": PROVIDER_ARN}, "Action": "*",
                 "Condition": {"StringLike": {format!("{PROVIDER}:sub"): "*:astronomer-blocked:*"}}}
            ]
        });
        assert_eq!(decide(&policy.to_string(), &request(sub, &["a"])), expected);
    }

    #[rstest]
    #[case::not_equals_other(
        "StringNotEquals",
        "system:serviceaccount:kube-system:x",
        Decision::Allow
    )]
    #[case::not_equals_same(
        "StringNotEquals",
        "system:serviceaccount:default:x",
        Decision::ImplicitDeny
    )]
    #[case::not_like_outside(
        "StringNotLike",
        "system:serviceaccount:kube-system:x",
        Decision::Allow
    )]
    #[case::not_like_inside(
        "StringNotLike",
        "system:serviceaccount:default:y",
        Decision::ImplicitDeny
    )]
    #[case::any_value_like(
        "ForAnyValue:StringLike",
        "system:serviceaccount:default:y",
        Decision::Allow
    )]
    #[case::all_values_like(
        "ForAllValues:StringLike",
        "system:serviceaccount:other:y",
        Decision::ImplicitDeny
    )]
    fn negated_and_set_operators(
        #[case] operator: &str,
        #[case] sub: &str,
        #[case] expected: Decision,
    ) {
        let pattern = if operator.contains("Like") {
            "system:serviceaccount:default:*"
        } else {
            "system:serviceaccount:default:x"
        };
        let policy = serde_json::json!({
            "Statement": [{"Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN}, "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {operator: {format!("{PROVIDER}:sub"): pattern}}}]
        });
        assert_eq!(decide(&policy.to_string(), &request(sub, &["a"])), expected);
    }

    #[test]
    fn conditions_and_across_keys_and_or_within_values() {
        let policy = serde_json::json!({
            "Statement": [{"Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN}, "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {format!("{PROVIDER}:aud"): "sts.amazonaws.com"},
                    "StringLike": {format!("{PROVIDER}:sub"): ["system:serviceaccount:a:*", "system:serviceaccount:b:*"]}
                }}]
        })
        .to_string();
        assert_eq!(
            decide(
                &policy,
                &request("system:serviceaccount:b:x", &["sts.amazonaws.com"])
            ),
            Decision::Allow
        );
        assert_eq!(
            decide(
                &policy,
                &request("system:serviceaccount:c:x", &["sts.amazonaws.com"])
            ),
            Decision::ImplicitDeny
        );
        assert_eq!(
            decide(&policy, &request("system:serviceaccount:a:x", &["nope"])),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn ignored_keys_count_as_satisfied() {
        let doc = PolicyDocument::parse(&documented_trust_policy(), PolicyKind::Trust).unwrap();
        let options = EvalOptions {
            ignored_keys: BTreeSet::from([format!("{PROVIDER}:SUB")]),
        };
        assert_eq!(
            doc.evaluate(
                &request("system:serviceaccount:default:x", &["a"]),
                &options
            ),
            Decision::Allow
        );
    }

    #[rstest]
    #[case::not_json("{", PolicyKind::Trust)]
    #[case::not_object("[]", PolicyKind::Trust)]
    #[case::no_statement(r#"{"Version":"2012-10-17"}"#, PolicyKind::Trust)]
    #[case::bad_version(r#"{"Version":"2020-01-01","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:*"}]}"#, PolicyKind::Trust)]
    #[case::bad_effect(
        r#"{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"sts:*"}]}"#,
        PolicyKind::Trust
    )]
    #[case::no_action(
        r#"{"Statement":[{"Effect":"Allow","Principal":"*"}]}"#,
        PolicyKind::Trust
    )]
    #[case::no_principal(
        r#"{"Statement":[{"Effect":"Allow","Action":"sts:*"}]}"#,
        PolicyKind::Trust
    )]
    #[case::principal_in_permission(
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}"#,
        PolicyKind::Permission
    )]
    #[case::unknown_operator(r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:*","Condition":{"StringSortOf":{"k":"v"}}}]}"#, PolicyKind::Trust)]
    #[case::condition_not_object(
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:*","Condition":"x"}]}"#,
        PolicyKind::Trust
    )]
    fn malformed_documents_are_refused(#[case] text: &str, #[case] kind: PolicyKind) {
        assert!(PolicyDocument::parse(text, kind).is_err(), "{text}");
    }

    /// The documents' S3 permission policy (fixtures/policies/s3-policy.json, abridged).
    fn documented_s3_policy() -> PolicyDocument {
        let text = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                 "Resource": "arn:aws:s3:::astronomer-bucket"},
                {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
                 "Resource": "arn:aws:s3:::astronomer-bucket/*"}
            ]
        });
        PolicyDocument::parse(&text.to_string(), PolicyKind::Permission).unwrap()
    }

    fn s3_request(action: &str, resource: &str) -> RequestContext {
        RequestContext {
            principal: (
                "AWS".to_owned(),
                "arn:aws:sts::1:assumed-role/r/s".to_owned(),
            ),
            action: action.to_owned(),
            resource: Some(resource.to_owned()),
            keys: BTreeMap::new(),
        }
    }

    #[rstest]
    #[case::list_bucket("s3:ListBucket", "arn:aws:s3:::astronomer-bucket", Decision::Allow)]
    #[case::action_case("S3:listbucket", "arn:aws:s3:::astronomer-bucket", Decision::Allow)]
    #[case::list_other_bucket("s3:ListBucket", "arn:aws:s3:::other-bucket", Decision::ImplicitDeny)]
    #[case::list_on_object_arn(
        "s3:ListBucket",
        "arn:aws:s3:::astronomer-bucket/k",
        Decision::ImplicitDeny
    )]
    #[case::put_nested_key(
        "s3:PutObject",
        "arn:aws:s3:::astronomer-bucket/a/b/c.txt",
        Decision::Allow
    )]
    #[case::get_on_bucket_arn(
        "s3:GetObject",
        "arn:aws:s3:::astronomer-bucket",
        Decision::ImplicitDeny
    )]
    #[case::get_prefix_bucket(
        "s3:GetObject",
        "arn:aws:s3:::astronomer-bucket-2/k",
        Decision::ImplicitDeny
    )]
    #[case::resource_case(
        "s3:GetObject",
        "arn:aws:s3:::Astronomer-bucket/k",
        Decision::ImplicitDeny
    )]
    #[case::unlisted_action(
        "s3:CreateBucket",
        "arn:aws:s3:::astronomer-bucket",
        Decision::ImplicitDeny
    )]
    fn documented_s3_policy_resources(
        #[case] action: &str,
        #[case] resource: &str,
        #[case] expected: Decision,
    ) {
        assert_eq!(
            documented_s3_policy().evaluate(&s3_request(action, resource), &EvalOptions::default()),
            expected
        );
    }

    #[test]
    fn deny_in_any_identity_policy_wins_and_not_resource_inverts() {
        let deny = PolicyDocument::parse(
            r#"{"Statement":[{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::astronomer-bucket/public/*"]}]}"#,
            PolicyKind::Permission,
        )
        .unwrap();
        let allow = documented_s3_policy();
        let options = EvalOptions::default();
        let get = |key: &str| {
            s3_request(
                "s3:GetObject",
                &format!("arn:aws:s3:::astronomer-bucket/{key}"),
            )
        };
        assert_eq!(
            evaluate_all([&allow, &deny], &get("public/x"), &options),
            Decision::Allow
        );
        assert_eq!(
            evaluate_all([&allow, &deny], &get("secret/x"), &options),
            Decision::ExplicitDeny
        );
        assert_eq!(
            evaluate_all([&allow], &get("secret/x"), &options),
            Decision::Allow
        );
        assert_eq!(
            evaluate_all([], &get("x"), &options),
            Decision::ImplicitDeny
        );
    }

    #[rstest]
    #[case("*", "arn:aws:s3:::b/k", true)]
    #[case("arn:aws:s3:::b/*", "arn:aws:s3:::b/k/l", true)]
    #[case("arn:aws:s3:::*", "arn:aws:s3:::b", true)]
    #[case("arn:aws:s3:::b?", "arn:aws:s3:::bc", true)]
    #[case("arn:aws:*:::b", "arn:aws:s3:::b", true)]
    #[case("arn:*:b", "arn:aws:s3:::b", false)]
    #[case("arn:aws:s3:::b", "arn:aws:s3:::b/k", false)]
    #[case("arn:aws:iam::*:role/x", "arn:aws:iam::123456789012:role/x", true)]
    fn arn_patterns(#[case] pattern: &str, #[case] arn: &str, #[case] expected: bool) {
        assert_eq!(arn_match(pattern, arn), expected);
    }

    #[rstest]
    #[case::permission_without_resource(
        r#"{"Statement":[{"Effect":"Allow","Action":"s3:*"}]}"#,
        PolicyKind::Permission
    )]
    #[case::resource_and_not_resource(
        r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","NotResource":"*"}]}"#,
        PolicyKind::Permission
    )]
    #[case::resource_not_an_arn(
        r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"astronomer-bucket"}]}"#,
        PolicyKind::Permission
    )]
    #[case::resource_in_trust(
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:*","Resource":"*"}]}"#,
        PolicyKind::Trust
    )]
    fn resource_validation(#[case] text: &str, #[case] kind: PolicyKind) {
        assert!(PolicyDocument::parse(text, kind).is_err(), "{text}");
    }

    #[rstest]
    #[case("*", "", true)]
    #[case("a*b", "ab", true)]
    #[case("a*b", "axxb", true)]
    #[case("a*b", "axxbc", false)]
    #[case("a?c", "abc", true)]
    #[case("a?c", "ac", false)]
    #[case("*a*a*", "banana", true)]
    #[case("", "", true)]
    #[case("", "x", false)]
    fn wildcards(#[case] pattern: &str, #[case] text: &str, #[case] expected: bool) {
        assert_eq!(wildcard_match(pattern, text), expected);
    }
}

//! The IAM data: OIDC providers and roles (trust policy, inline policies, tags), with the
//! validation and conflicts IAM reports.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use rand::distr::{Distribution as _, Uniform};

use super::policy::{PolicyDocument, PolicyKind};

/// An IAM failure, named after the AWS error code it becomes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IamError {
    /// `NoSuchEntity` (404).
    #[error("NoSuchEntity: {0}")]
    NoSuchEntity(String),
    /// `EntityAlreadyExists` (409).
    #[error("EntityAlreadyExists: {0}")]
    EntityAlreadyExists(String),
    /// `DeleteConflict` (409).
    #[error("DeleteConflict: {0}")]
    DeleteConflict(String),
    /// `MalformedPolicyDocument` (400).
    #[error("MalformedPolicyDocument: {0}")]
    MalformedPolicyDocument(String),
    /// `ValidationError` (400): a parameter breaks its constraints.
    #[error("ValidationError: {0}")]
    Validation(String),
    /// `InvalidInput` (400).
    #[error("InvalidInput: {0}")]
    InvalidInput(String),
}

/// An IAM OIDC identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProvider {
    /// `arn:aws:iam::<account>:oidc-provider/<host/path>`.
    pub arn: String,
    /// The issuer without its `https://` scheme (also the condition-key prefix).
    pub url: String,
    /// Audiences the provider accepts (`aud` values).
    pub client_ids: Vec<String>,
    /// Server certificate thumbprints (recorded, not checked).
    pub thumbprints: Vec<String>,
    /// When it was created.
    pub create_date: DateTime<Utc>,
}

/// An IAM role.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    /// The role name.
    pub name: String,
    /// The path (`/` or `/a/b/`).
    pub path: String,
    /// `arn:aws:iam::<account>:role<path><name>`.
    pub arn: String,
    /// `AROA…` unique id.
    pub role_id: String,
    /// When it was created.
    pub create_date: DateTime<Utc>,
    /// Optional description.
    pub description: Option<String>,
    /// Longest session STS hands out for the role, in seconds.
    pub max_session_duration: u32,
    /// Who may assume the role.
    pub trust_policy: PolicyDocument,
    /// Inline permission policies by name.
    pub inline_policies: BTreeMap<String, PolicyDocument>,
    /// Tags in the order they were first set.
    pub tags: Vec<(String, String)>,
}

/// What `CreateRole` asks for beyond a name and trust policy.
#[derive(Debug, Clone, Default)]
pub struct RoleOptions {
    /// Path, `/` when absent.
    pub path: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Maximum session duration in seconds (3600 when absent).
    pub max_session_duration: Option<u32>,
    /// Tags.
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Keyed by ARN.
    providers: BTreeMap<String, OidcProvider>,
    /// Keyed by name (IAM role names are case-insensitively unique; the key is lower-case).
    roles: BTreeMap<String, Role>,
}

/// The sim's IAM: one account's OIDC providers and roles.
#[derive(Debug)]
pub struct Iam {
    account: String,
    inner: Mutex<Inner>,
}

impl Iam {
    /// Creates an empty IAM for an account.
    pub fn new(account: String) -> Self {
        Self {
            account,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The account id.
    pub fn account(&self) -> &str {
        &self.account
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers an OIDC provider for `url` (`https://…`) and returns its ARN.
    pub fn create_open_id_connect_provider(
        &self,
        url: &str,
        client_ids: &[String],
    ) -> Result<String, IamError> {
        self.create_oidc_provider(url, client_ids, &[])
            .map(|p| p.arn)
    }

    /// Registers an OIDC provider with thumbprints.
    pub fn create_oidc_provider(
        &self,
        url: &str,
        client_ids: &[String],
        thumbprints: &[String],
    ) -> Result<OidcProvider, IamError> {
        let host_path = url
            .strip_prefix("https://")
            .filter(|rest| !rest.is_empty())
            .ok_or_else(|| {
                IamError::Validation(format!("Invalid Url: {url} (must begin with https://)"))
            })?
            .trim_end_matches('/');
        if let Some(bad) = thumbprints
            .iter()
            .find(|t| t.len() != 40 || !t.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(IamError::Validation(format!("Invalid thumbprint: {bad}")));
        }
        let arn = format!("arn:aws:iam::{}:oidc-provider/{host_path}", self.account);
        let mut inner = self.lock();
        if inner.providers.contains_key(&arn) {
            return Err(IamError::EntityAlreadyExists(format!(
                "Provider with url {url} already exists."
            )));
        }
        let mut ids = Vec::new();
        for id in client_ids {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        let provider = OidcProvider {
            arn: arn.clone(),
            url: host_path.to_owned(),
            client_ids: ids,
            thumbprints: thumbprints.to_vec(),
            create_date: Utc::now(),
        };
        inner.providers.insert(arn, provider.clone());
        Ok(provider)
    }

    /// The provider with this ARN.
    pub fn get_oidc_provider(&self, arn: &str) -> Result<OidcProvider, IamError> {
        self.lock().providers.get(arn).cloned().ok_or_else(|| {
            IamError::NoSuchEntity(format!("OpenIDConnect Provider not found for arn {arn}"))
        })
    }

    /// Every provider, by ARN.
    pub fn list_oidc_providers(&self) -> Vec<OidcProvider> {
        self.lock().providers.values().cloned().collect()
    }

    /// The provider whose URL is the issuer `iss` (`https://host/path`).
    pub fn provider_for_issuer(&self, iss: &str) -> Option<OidcProvider> {
        let host_path = iss.strip_prefix("https://")?.trim_end_matches('/');
        self.lock()
            .providers
            .values()
            .find(|p| p.url == host_path)
            .cloned()
    }

    /// Deletes a provider.
    pub fn delete_oidc_provider(&self, arn: &str) -> Result<(), IamError> {
        self.lock().providers.remove(arn).map(drop).ok_or_else(|| {
            IamError::NoSuchEntity(format!("OpenIDConnect Provider not found for arn {arn}"))
        })
    }

    /// Creates a role at path `/`.
    pub fn create_role(&self, name: &str, trust_policy: &str) -> Result<Role, IamError> {
        self.create_role_with(name, trust_policy, RoleOptions::default())
    }

    /// Creates a role with path, description, session limit and tags.
    pub fn create_role_with(
        &self,
        name: &str,
        trust_policy: &str,
        options: RoleOptions,
    ) -> Result<Role, IamError> {
        validate_role_name(name)?;
        let path = options.path.unwrap_or_else(|| "/".to_owned());
        validate_path(&path)?;
        let max = options.max_session_duration.unwrap_or(3600);
        if !(3600..=43200).contains(&max) {
            return Err(IamError::Validation(format!(
                "1 validation error detected: Value '{max}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200"
            )));
        }
        let trust_policy = parse_policy(trust_policy, PolicyKind::Trust)?;
        let mut inner = self.lock();
        let key = name.to_ascii_lowercase();
        if inner.roles.contains_key(&key) {
            return Err(IamError::EntityAlreadyExists(format!(
                "Role with name {name} already exists."
            )));
        }
        let mut role = Role {
            name: name.to_owned(),
            arn: format!("arn:aws:iam::{}:role{path}{name}", self.account),
            path,
            role_id: unique_id("AROA", 17),
            create_date: Utc::now(),
            description: options.description,
            max_session_duration: max,
            trust_policy,
            inline_policies: BTreeMap::new(),
            tags: Vec::new(),
        };
        merge_tags(&mut role.tags, options.tags);
        inner.roles.insert(key, role.clone());
        Ok(role)
    }

    /// The role with this name.
    pub fn get_role(&self, name: &str) -> Result<Role, IamError> {
        self.with_role(name, |role| Ok(role.clone()))
    }

    /// The role with this ARN, if any.
    pub fn role_by_arn(&self, arn: &str) -> Option<Role> {
        self.lock().roles.values().find(|r| r.arn == arn).cloned()
    }

    /// Roles whose path starts with `path_prefix`, by name.
    pub fn list_roles(&self, path_prefix: &str) -> Vec<Role> {
        self.lock()
            .roles
            .values()
            .filter(|r| r.path.starts_with(path_prefix))
            .cloned()
            .collect()
    }

    /// Deletes a role; refused while inline policies remain.
    pub fn delete_role(&self, name: &str) -> Result<(), IamError> {
        let mut inner = self.lock();
        let key = name.to_ascii_lowercase();
        let role = inner.roles.get(&key).ok_or_else(|| no_such_role(name))?;
        if !role.inline_policies.is_empty() {
            return Err(IamError::DeleteConflict(
                "Cannot delete entity, must delete policies first.".to_owned(),
            ));
        }
        inner.roles.remove(&key);
        Ok(())
    }

    /// Replaces a role's trust policy.
    pub fn update_assume_role_policy(&self, name: &str, document: &str) -> Result<(), IamError> {
        let doc = parse_policy(document, PolicyKind::Trust)?;
        self.with_role(name, |role| {
            role.trust_policy = doc;
            Ok(())
        })
    }

    /// Adds or replaces an inline policy.
    pub fn put_role_policy(
        &self,
        role: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        validate_policy_name(policy_name)?;
        let doc = parse_policy(document, PolicyKind::Permission)?;
        self.with_role(role, |role| {
            role.inline_policies.insert(policy_name.to_owned(), doc);
            Ok(())
        })
    }

    /// An inline policy.
    pub fn get_role_policy(
        &self,
        role: &str,
        policy_name: &str,
    ) -> Result<PolicyDocument, IamError> {
        self.with_role(role, |r| {
            r.inline_policies
                .get(policy_name)
                .cloned()
                .ok_or_else(|| no_such_policy(policy_name))
        })
    }

    /// Removes an inline policy.
    pub fn delete_role_policy(&self, role: &str, policy_name: &str) -> Result<(), IamError> {
        self.with_role(role, |r| {
            r.inline_policies
                .remove(policy_name)
                .map(drop)
                .ok_or_else(|| no_such_policy(policy_name))
        })
    }

    /// Names of a role's inline policies, sorted.
    pub fn list_role_policies(&self, role: &str) -> Result<Vec<String>, IamError> {
        self.with_role(role, |r| Ok(r.inline_policies.keys().cloned().collect()))
    }

    /// Adds or overwrites tags.
    pub fn tag_role(&self, role: &str, tags: Vec<(String, String)>) -> Result<(), IamError> {
        self.with_role(role, |r| {
            merge_tags(&mut r.tags, tags);
            if r.tags.len() > 50 {
                return Err(IamError::Validation(
                    "A role can have at most 50 tags.".to_owned(),
                ));
            }
            Ok(())
        })
    }

    /// Removes tags by key.
    pub fn untag_role(&self, role: &str, keys: &[String]) -> Result<(), IamError> {
        self.with_role(role, |r| {
            r.tags.retain(|(k, _)| !keys.contains(k));
            Ok(())
        })
    }

    fn with_role<T>(
        &self,
        name: &str,
        f: impl FnOnce(&mut Role) -> Result<T, IamError>,
    ) -> Result<T, IamError> {
        let mut inner = self.lock();
        let role = inner
            .roles
            .get_mut(&name.to_ascii_lowercase())
            .ok_or_else(|| no_such_role(name))?;
        // Work on a copy so a failing update leaves the role unchanged.
        let mut copy = role.clone();
        let out = f(&mut copy)?;
        *role = copy;
        Ok(out)
    }
}

fn parse_policy(text: &str, kind: PolicyKind) -> Result<PolicyDocument, IamError> {
    PolicyDocument::parse(text, kind).map_err(|e| IamError::MalformedPolicyDocument(e.0))
}

fn no_such_role(name: &str) -> IamError {
    IamError::NoSuchEntity(format!("The role with name {name} cannot be found."))
}

fn no_such_policy(policy: &str) -> IamError {
    IamError::NoSuchEntity(format!(
        "The role policy with name {policy} cannot be found."
    ))
}

fn merge_tags(tags: &mut Vec<(String, String)>, new: Vec<(String, String)>) {
    for (key, value) in new {
        match tags.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => tags.push((key, value)),
        }
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
}

fn validate_role_name(name: &str) -> Result<(), IamError> {
    if name.is_empty() || name.len() > 64 || !name.chars().all(is_name_char) {
        return Err(IamError::Validation(format!(
            "1 validation error detected: Value '{name}' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        )));
    }
    Ok(())
}

fn validate_policy_name(name: &str) -> Result<(), IamError> {
    if name.is_empty() || name.len() > 128 || !name.chars().all(is_name_char) {
        return Err(IamError::Validation(format!(
            "1 validation error detected: Value '{name}' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        )));
    }
    Ok(())
}

fn validate_path(path: &str) -> Result<(), IamError> {
    let ok = path.len() <= 512
        && path.starts_with('/')
        && path.ends_with('/')
        && path.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c));
    if ok {
        Ok(())
    } else {
        Err(IamError::Validation(format!(
            "1 validation error detected: Value '{path}' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"
        )))
    }
}

/// A random AWS-style unique id: `prefix` and `len` upper-case letters and digits.
pub(crate) fn unique_id(prefix: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut rng = rand::rng();
    let mut out = String::with_capacity(prefix.len() + len);
    out.push_str(prefix);
    if let Ok(dist) = Uniform::new(0, ALPHABET.len()) {
        out.extend(
            dist.sample_iter(&mut rng)
                .take(len)
                .map(|i| char::from(ALPHABET[i])),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/x"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#;
    const PERMS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;

    #[test]
    fn role_lifecycle_and_conflicts() {
        let iam = Iam::new("123456789012".to_owned());
        let role = iam
            .create_role_with(
                "r",
                TRUST,
                RoleOptions {
                    path: Some("/team/".to_owned()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(role.arn, "arn:aws:iam::123456789012:role/team/r");
        assert!(role.role_id.starts_with("AROA") && role.role_id.len() == 21);
        assert!(matches!(
            iam.create_role("R", TRUST),
            Err(IamError::EntityAlreadyExists(_))
        ));
        iam.put_role_policy("r", "p", PERMS).unwrap();
        assert!(matches!(
            iam.delete_role("r"),
            Err(IamError::DeleteConflict(_))
        ));
        iam.delete_role_policy("r", "p").unwrap();
        assert!(matches!(
            iam.get_role_policy("r", "p"),
            Err(IamError::NoSuchEntity(_))
        ));
        iam.delete_role("r").unwrap();
        assert!(matches!(iam.get_role("r"), Err(IamError::NoSuchEntity(_))));
    }

    #[test]
    fn bad_input_is_refused() {
        let iam = Iam::new("123456789012".to_owned());
        assert!(matches!(
            iam.create_role("r", "{"),
            Err(IamError::MalformedPolicyDocument(_))
        ));
        assert!(matches!(
            iam.create_role("bad name", TRUST),
            Err(IamError::Validation(_))
        ));
        assert!(matches!(
            iam.create_role_with(
                "r",
                TRUST,
                RoleOptions {
                    path: Some("nope".to_owned()),
                    ..Default::default()
                }
            ),
            Err(IamError::Validation(_))
        ));
        assert!(matches!(
            iam.create_open_id_connect_provider("http://x", &[]),
            Err(IamError::Validation(_))
        ));
    }

    #[test]
    fn providers_are_found_by_issuer() {
        let iam = Iam::new("123456789012".to_owned());
        let arn = iam
            .create_open_id_connect_provider(
                "https://oidc.example/id/A",
                &["sts.amazonaws.com".to_owned()],
            )
            .unwrap();
        assert_eq!(
            arn,
            "arn:aws:iam::123456789012:oidc-provider/oidc.example/id/A"
        );
        assert_eq!(
            iam.provider_for_issuer("https://oidc.example/id/A")
                .unwrap()
                .arn,
            arn
        );
        assert!(
            iam.provider_for_issuer("https://oidc.example/id/B")
                .is_none()
        );
        assert!(matches!(
            iam.create_open_id_connect_provider("https://oidc.example/id/A", &[]),
            Err(IamError::EntityAlreadyExists(_))
        ));
    }
}

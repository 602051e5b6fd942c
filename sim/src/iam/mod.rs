//! STUB (being replaced): IAM.

/// IAM store.
pub struct Iam {
    _account: String,
}

impl Iam {
    /// Creates an empty IAM for an account.
    pub fn new(account: String) -> Self {
        Self { _account: account }
    }

    /// Registers an OIDC provider.
    pub fn create_open_id_connect_provider(&self, _url: &str, _client_ids: &[String]) -> anyhow::Result<String> {
        Ok(String::new())
    }

    /// Creates a role.
    pub fn create_role(&self, _name: &str, _trust_policy: &str) -> anyhow::Result<()> {
        Ok(())
    }

    /// Attaches an inline policy.
    pub fn put_role_policy(&self, _role: &str, _name: &str, _doc: &str) -> anyhow::Result<()> {
        Ok(())
    }
}

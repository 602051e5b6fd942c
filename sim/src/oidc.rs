//! INTERFACE STUB (owned by the sim-kube helper; bodies to be replaced, signatures kept):
//! the cluster's service-account token issuer.

/// The issuer: an RSA key pair, its URL and key id.
pub struct Issuer {
    url: String,
}

impl Issuer {
    /// Creates an issuer with a fresh RSA-2048 key.
    pub fn new(url: String) -> anyhow::Result<Self> {
        Ok(Self { url })
    }

    /// The issuer URL tokens carry in `iss`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Signs claims as an RS256 JWT with this issuer's key (header carries `kid`).
    pub fn sign(&self, _claims: &serde_json::Value) -> anyhow::Result<String> {
        todo!("sim-kube helper")
    }

    /// The JSON Web Key Set (`{"keys":[{"kty":"RSA","alg":"RS256","use":"sig","kid":..,"n":..,"e":..}]}`).
    pub fn jwks(&self) -> serde_json::Value {
        todo!("sim-kube helper")
    }
}

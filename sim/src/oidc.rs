//! The cluster's service-account token issuer: an RSA-2048 signing key, RS256 signing, the
//! JSON Web Key Set and the OIDC discovery document, as the kube-apiserver serves them at
//! `/.well-known/openid-configuration` and `/openid/v1/jwks`.

use std::sync::Arc;

use anyhow::Context as _;
use aws_lc_rs::encoding::{AsDer as _, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::clock::SimClock;

/// The path the JWKS is served at (relative to the Kubernetes API URL).
pub const JWKS_PATH: &str = "/openid/v1/jwks";

/// The path of the OIDC discovery document.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// The issuer: an RSA key pair, its URL and key id.
pub struct Issuer {
    url: String,
    kid: String,
    encoding_key: EncodingKey,
    jwks: Value,
    clock: Arc<SimClock>,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("url", &self.url)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Issuer {
    /// Creates an issuer with a fresh RSA-2048 key.
    pub fn new(url: String) -> anyhow::Result<Self> {
        let key = KeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| anyhow::anyhow!("RSA-2048 key generation failed"))?;
        let pkcs8: Pkcs8V1Der<'static> = key
            .as_der()
            .map_err(|_| anyhow::anyhow!("encoding the RSA key as PKCS#8 failed"))?;
        let pem = pem_wrap("PRIVATE KEY", pkcs8.as_ref());
        let encoding_key =
            EncodingKey::from_rsa_pem(pem.as_bytes()).context("loading the RSA key for signing")?;

        let public = key.public_key();
        let spki: PublicKeyX509Der<'static> = public
            .as_der()
            .map_err(|_| anyhow::anyhow!("encoding the RSA public key failed"))?;
        // Like the kube-apiserver: the key id is the base64url SHA-256 of the PKIX public key.
        let kid = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            spki.as_ref(),
        ));
        let components = PublicKeyComponents::<Vec<u8>>::from(public);
        let jwks = json!({
            "keys": [{
                "use": "sig",
                "kty": "RSA",
                "kid": kid,
                "alg": "RS256",
                "n": URL_SAFE_NO_PAD.encode(&components.n),
                "e": URL_SAFE_NO_PAD.encode(&components.e),
            }]
        });
        Ok(Self {
            url,
            kid,
            encoding_key,
            jwks,
            clock: SimClock::new(),
        })
    }

    /// The same issuer reading `clock` for `iat`/`nbf`/`exp` (the sim shares one clock
    /// between its issuer and STS, see [`crate::clock`]).
    pub fn with_clock(mut self, clock: Arc<SimClock>) -> Self {
        self.clock = clock;
        self
    }

    /// The issuer's "now".
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// The issuer URL tokens carry in `iss`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The key id (`kid`) of the signing key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs claims as an RS256 JWT with this issuer's key (header carries `kid`).
    pub fn sign(&self, claims: &Value) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding_key).context("signing a JWT")
    }

    /// The JSON Web Key Set (`{"keys":[{"kty":"RSA","alg":"RS256","use":"sig","kid":..,"n":..,"e":..}]}`).
    pub fn jwks(&self) -> Value {
        self.jwks.clone()
    }

    /// The OIDC discovery document; `jwks_uri` points at `<issuer>/openid/v1/jwks` as on EKS
    /// (where the issuer URL itself serves the keys).
    pub fn discovery(&self) -> Value {
        json!({
            "issuer": self.url,
            "jwks_uri": format!("{}{JWKS_PATH}", self.url.trim_end_matches('/')),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "iss"],
        })
    }
}

/// Wraps DER bytes in a PEM block with 64-character lines.
fn pem_wrap(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::JwkSet;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn signed_tokens_verify_against_the_jwks() {
        let issuer = Issuer::new("https://oidc.example/id/ABC".to_owned()).unwrap();
        let claims =
            json!({"iss": issuer.url(), "sub": "s", "aud": ["a"], "exp": 4_000_000_000u64});
        let token = issuer.sign(&claims).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(issuer.kid()));
        let set: JwkSet = serde_json::from_value(issuer.jwks()).unwrap();
        let jwk = set.find(issuer.kid()).unwrap();
        let key = DecodingKey::from_jwk(jwk).unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&["a"]);
        validation.set_issuer(&[issuer.url()]);
        let data = jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
        assert_eq!(data.claims["sub"], "s");

        let other = Issuer::new("https://oidc.example/id/ABC".to_owned()).unwrap();
        let forged = other.sign(&claims).unwrap();
        assert!(jsonwebtoken::decode::<Value>(&forged, &key, &validation).is_err());
    }

    #[test]
    fn discovery_names_the_jwks() {
        let issuer = Issuer::new("https://oidc.example/id/X".to_owned()).unwrap();
        let doc = issuer.discovery();
        assert_eq!(doc["issuer"], "https://oidc.example/id/X");
        assert_eq!(doc["jwks_uri"], "https://oidc.example/id/X/openid/v1/jwks");
        assert_eq!(doc["id_token_signing_alg_values_supported"][0], "RS256");
    }
}

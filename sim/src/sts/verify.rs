//! Web identity token (JWT) checks: parsing, RS256 signature against the issuer's JWKS by
//! `kid`, and the time and audience claims STS looks at.

use aws_lc_rs::rsa::PublicKeyComponents;
use aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::oidc::Issuer;

/// Where STS gets an issuer's signing keys (in AWS: the provider's `jwks_uri`).
pub trait KeySource: Send + Sync {
    /// The JWK set of the issuer `iss`, if this source knows it.
    fn jwks_for(&self, iss: &str) -> Option<Value>;
}

impl KeySource for Issuer {
    fn jwks_for(&self, iss: &str) -> Option<Value> {
        (self.url().trim_end_matches('/') == iss.trim_end_matches('/')).then(|| self.jwks())
    }
}

/// A fixed issuer URL and JWK set (tests, or a provider whose keys are known up front).
#[derive(Debug, Clone)]
pub struct StaticKeys {
    /// The issuer URL.
    pub issuer: String,
    /// Its JWK set.
    pub jwks: Value,
}

impl KeySource for StaticKeys {
    fn jwks_for(&self, iss: &str) -> Option<Value> {
        (self.issuer.trim_end_matches('/') == iss.trim_end_matches('/')).then(|| self.jwks.clone())
    }
}

/// Why a token was refused (each becomes `InvalidIdentityToken` unless said otherwise).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts of JSON.
    #[error(
        "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
    )]
    NotAJwt,
    /// A required claim is missing or has the wrong type.
    #[error("The web identity token is missing or has an invalid '{0}' claim")]
    BadClaim(&'static str),
    /// No key with the token's `kid`, or the issuer's keys are unknown.
    #[error(
        "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"
    )]
    NoKey,
    /// The signature does not verify with the key.
    #[error("The web identity token signature could not be verified")]
    BadSignature,
}

/// A parsed (not yet verified) JWT.
#[derive(Debug, Clone)]
pub struct WebIdentityToken {
    alg: String,
    kid: Option<String>,
    signing_input: String,
    signature: Vec<u8>,
    /// The claims object.
    pub claims: Value,
}

impl WebIdentityToken {
    /// Splits and decodes a compact JWS; checks that header and payload are JSON objects.
    pub fn parse(token: &str) -> Result<Self, TokenError> {
        let mut parts = token.trim().split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::NotAJwt);
        };
        let json = |part: &str| -> Result<Value, TokenError> {
            let bytes = URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| TokenError::NotAJwt)?;
            let value: Value = serde_json::from_slice(&bytes).map_err(|_| TokenError::NotAJwt)?;
            if value.is_object() {
                Ok(value)
            } else {
                Err(TokenError::NotAJwt)
            }
        };
        let header_json = json(header)?;
        let claims = json(payload)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::NotAJwt)?;
        Ok(Self {
            alg: header_json
                .get("alg")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            kid: header_json
                .get("kid")
                .and_then(Value::as_str)
                .map(str::to_owned),
            signing_input: format!("{header}.{payload}"),
            signature,
            claims,
        })
    }

    /// The `iss` claim.
    pub fn issuer(&self) -> Result<&str, TokenError> {
        self.claims
            .get("iss")
            .and_then(Value::as_str)
            .ok_or(TokenError::BadClaim("iss"))
    }

    /// The `sub` claim.
    pub fn subject(&self) -> Result<&str, TokenError> {
        self.claims
            .get("sub")
            .and_then(Value::as_str)
            .ok_or(TokenError::BadClaim("sub"))
    }

    /// The `aud` claim as a list (a single string becomes one item).
    pub fn audiences(&self) -> Vec<String> {
        match self.claims.get("aud") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A numeric date claim (`exp`, `nbf`, `iat`) in seconds since the epoch, if present.
    pub fn time_claim(&self, name: &'static str) -> Result<Option<i64>, TokenError> {
        match self.claims.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .or_else(|| v.as_f64().map(|f| f as i64))
                .map(Some)
                .ok_or(TokenError::BadClaim(name)),
        }
    }

    /// Verifies the RS256 signature with the key of the token's `kid` from `jwks`.
    pub fn verify_signature(&self, jwks: &Value) -> Result<(), TokenError> {
        if self.alg != "RS256" {
            return Err(TokenError::BadSignature);
        }
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(TokenError::NoKey)?;
        let rsa_keys: Vec<&Value> = keys
            .iter()
            .filter(|k| k.get("kty").and_then(Value::as_str) == Some("RSA"))
            .collect();
        let key = match &self.kid {
            Some(kid) => rsa_keys
                .iter()
                .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid.as_str())),
            // Without a kid, a set with exactly one key is unambiguous.
            None if rsa_keys.len() == 1 => rsa_keys.first(),
            None => None,
        }
        .ok_or(TokenError::NoKey)?;
        let component = |name: &str| -> Result<Vec<u8>, TokenError> {
            let text = key
                .get(name)
                .and_then(Value::as_str)
                .ok_or(TokenError::NoKey)?;
            URL_SAFE_NO_PAD.decode(text).map_err(|_| TokenError::NoKey)
        };
        let public = PublicKeyComponents {
            n: component("n")?,
            e: component("e")?,
        };
        public
            .verify(
                &RSA_PKCS1_2048_8192_SHA256,
                self.signing_input.as_bytes(),
                &self.signature,
            )
            .map_err(|_| TokenError::BadSignature)
    }
}

#[cfg(test)]
pub(crate) mod test_keys {
    //! An RSA key for tests that sign their own tokens.

    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::{Value, json};

    /// A signing key with a key id.
    pub struct TestKey {
        pair: KeyPair,
        /// The key id.
        pub kid: String,
    }

    impl TestKey {
        /// A fresh RSA-2048 key.
        pub fn new(kid: &str) -> Self {
            Self {
                pair: KeyPair::generate(KeySize::Rsa2048).unwrap(),
                kid: kid.to_owned(),
            }
        }

        /// The JWK set holding this key's public half.
        pub fn jwks(&self) -> Value {
            let public = self.pair.public_key();
            json!({"keys": [{
                "kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid,
                "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
            }]})
        }

        /// Signs claims as an RS256 JWT.
        pub fn sign(&self, claims: &Value) -> String {
            let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let mut sig = vec![0; self.pair.public_modulus_len()];
            self.pair
                .sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    input.as_bytes(),
                    &mut sig,
                )
                .unwrap();
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
        }
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::test_keys::TestKey;
    use super::*;

    #[test]
    fn a_token_signed_by_the_key_verifies() {
        let key = TestKey::new("k1");
        let token =
            key.sign(&json!({"iss": "https://i", "sub": "s", "aud": ["a", "b"], "exp": 10}));
        let parsed = WebIdentityToken::parse(&token).unwrap();
        assert_eq!(parsed.issuer().unwrap(), "https://i");
        assert_eq!(parsed.audiences(), ["a", "b"]);
        assert_eq!(parsed.time_claim("exp").unwrap(), Some(10));
        assert_eq!(parsed.verify_signature(&key.jwks()), Ok(()));
    }

    #[test]
    fn another_key_or_unknown_kid_is_refused() {
        let key = TestKey::new("k1");
        let token = WebIdentityToken::parse(&key.sign(&json!({"iss": "x"}))).unwrap();
        assert_eq!(
            token.verify_signature(&TestKey::new("k1").jwks()),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            token.verify_signature(&TestKey::new("k2").jwks()),
            Err(TokenError::NoKey)
        );
        assert_eq!(token.verify_signature(&json!({})), Err(TokenError::NoKey));
    }

    #[test]
    fn tampered_payload_is_refused() {
        let key = TestKey::new("k1");
        let token = key.sign(&json!({"sub": "a"}));
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(json!({"sub": "b"}).to_string());
        let forged = WebIdentityToken::parse(&parts.join(".")).unwrap();
        assert_eq!(
            forged.verify_signature(&key.jwks()),
            Err(TokenError::BadSignature)
        );
    }

    #[rstest]
    #[case::empty("")]
    #[case::two_parts("a.b")]
    #[case::four_parts("a.b.c.d")]
    #[case::not_base64("!!.??.x")]
    #[case::not_json("YQ.YQ.YQ")]
    fn non_jwts_are_refused(#[case] token: &str) {
        assert!(matches!(
            WebIdentityToken::parse(token),
            Err(TokenError::NotAJwt)
        ));
    }
}

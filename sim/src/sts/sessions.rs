//! Temporary credentials STS has issued, looked up by access key id when a signed request
//! comes back.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};

use crate::iam::PolicyDocument;
use crate::iam::store::unique_id;

/// One set of temporary credentials and who they stand for.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// `ASIA…` access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token clients send as `X-Amz-Security-Token`.
    pub session_token: String,
    /// The ARN of the role that was assumed.
    pub role_arn: String,
    /// `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
    pub assumed_role_arn: String,
    /// `AROA…:<session>`.
    pub assumed_role_id: String,
    /// The account the role lives in.
    pub account: String,
    /// When the credentials stop working.
    pub expiration: DateTime<Utc>,
    /// The `Policy` passed to the assume call: the session may do only what both the role's
    /// policies and this policy allow.
    pub session_policy: Option<PolicyDocument>,
}

/// Fresh random credential material: access key id, secret, session token.
pub fn new_credentials() -> (String, String, String) {
    let secret: [u8; 30] = rand::random();
    let token: [u8; 96] = rand::random();
    (
        unique_id("ASIA", 16),
        STANDARD.encode(secret),
        STANDARD.encode(token),
    )
}

/// The issued sessions.
#[derive(Debug, Default)]
pub struct Sessions {
    by_key: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Remembers a session.
    pub fn insert(&self, session: Session) {
        self.by_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(session.access_key_id.clone(), session);
    }

    /// The session of an access key id.
    pub fn get(&self, access_key_id: &str) -> Option<Session> {
        self.by_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(access_key_id)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_look_like_aws_and_are_found_again() {
        let (key, secret, token) = new_credentials();
        assert!(key.starts_with("ASIA") && key.len() == 20);
        assert_eq!(secret.len(), 40);
        let sessions = Sessions::default();
        let session = Session {
            access_key_id: key.clone(),
            secret_access_key: secret,
            session_token: token,
            role_arn: "arn:aws:iam::1:role/r".to_owned(),
            assumed_role_arn: "arn:aws:sts::1:assumed-role/r/s".to_owned(),
            assumed_role_id: "AROAX:s".to_owned(),
            account: "1".to_owned(),
            expiration: DateTime::<Utc>::MIN_UTC,
            session_policy: None,
        };
        sessions.insert(session.clone());
        assert_eq!(sessions.get(&key), Some(session));
        assert_eq!(sessions.get("ASIANOPE"), None);
    }
}

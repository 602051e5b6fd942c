//! The real cluster's token signing keys, as STS gets them: the issuer's OIDC discovery
//! document (`<issuer>/.well-known/openid-configuration`), then its `jwks_uri`, both over
//! HTTPS verified with the cluster CA and bounded in time.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;

use crate::sts::{KeySource, StaticKeys};

/// Fetches the discovery document and the JWKS of the issuer `issuer` (an `https://` URL
/// the API server serves) trusting only `ca_pem`; every request is bounded by `timeout`.
pub async fn fetch(issuer: &str, ca_pem: &[u8], timeout: Duration) -> anyhow::Result<StaticKeys> {
    let ca = reqwest::Certificate::from_pem(ca_pem).context("reading the cluster CA")?;
    let client = reqwest::Client::builder()
        .tls_certs_only([ca])
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .context("building the OIDC client")?;
    let discovery_url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let discovery: Value = get_json(&client, &discovery_url).await?;
    let announced = discovery
        .get("issuer")
        .and_then(Value::as_str)
        .with_context(|| format!("{discovery_url}: no `issuer`"))?;
    if announced.trim_end_matches('/') != issuer.trim_end_matches('/') {
        anyhow::bail!("{discovery_url} announces issuer {announced}, not {issuer}");
    }
    let jwks_uri = discovery
        .get("jwks_uri")
        .and_then(Value::as_str)
        .with_context(|| format!("{discovery_url}: no `jwks_uri`"))?;
    let jwks = get_json(&client, jwks_uri).await?;
    if !jwks.get("keys").is_some_and(Value::is_array) {
        anyhow::bail!("{jwks_uri}: not a JWK set");
    }
    Ok(StaticKeys {
        issuer: announced.to_owned(),
        jwks,
    })
}

async fn get_json(client: &reqwest::Client, url: &str) -> anyhow::Result<Value> {
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    if !status.is_success() {
        anyhow::bail!("GET {url}: {status}");
    }
    response
        .json()
        .await
        .with_context(|| format!("GET {url}: not JSON"))
}

/// Several key sources, asked in order (the sim's own issuer, then the cluster's).
pub struct KeyChain(pub Vec<Arc<dyn KeySource>>);

impl KeySource for KeyChain {
    fn jwks_for(&self, iss: &str) -> Option<Value> {
        self.0.iter().find_map(|source| source.jwks_for(iss))
    }
}

//! Small helpers over JSON objects: metadata fields, names, timestamps.

use rand::Rng as _;
use serde_json::{Map, Value};

/// The current time as the API server writes it (`2024-01-02T03:04:05Z`).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A time `seconds` from now, in the same format.
pub fn in_seconds(seconds: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(seconds))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `n` random lowercase alphanumerics, like the suffixes of generated names
/// (the real alphabet leaves out vowels and look-alikes).
pub fn random_suffix(n: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Whether `name` is a DNS-1123 subdomain (what most object names must be).
pub fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// `metadata` as a mutable map, created when missing.
pub fn meta_mut(object: &mut Value) -> Option<&mut Map<String, Value>> {
    let map = object.as_object_mut()?;
    map.entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
}

/// A string field of `metadata`.
pub fn meta_str<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get("metadata")?.get(field)?.as_str()
}

/// `metadata.name` or "".
pub fn name_of(object: &Value) -> &str {
    meta_str(object, "name").unwrap_or("")
}

/// `metadata.namespace` or "".
pub fn namespace_of(object: &Value) -> &str {
    meta_str(object, "namespace").unwrap_or("")
}

/// `metadata.uid` or "".
pub fn uid_of(object: &Value) -> &str {
    meta_str(object, "uid").unwrap_or("")
}

/// `metadata.labels.<key>`.
pub fn label<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object.get("metadata")?.get("labels")?.get(key)?.as_str()
}

/// `metadata.annotations.<key>`.
pub fn annotation<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object
        .get("metadata")?
        .get("annotations")?
        .get(key)?
        .as_str()
}

/// The uid of the controlling owner (`ownerReferences[].controller == true`), if any.
pub fn controller_uid(object: &Value) -> Option<&str> {
    object
        .get("metadata")?
        .get("ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))?
        .get("uid")?
        .as_str()
}

/// Every owner uid of an object.
pub fn owner_uids(object: &Value) -> Vec<&str> {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("uid").and_then(Value::as_str))
        .collect()
}

/// An integer at a JSON pointer.
pub fn int_at(object: &Value, pointer: &str) -> Option<i64> {
    object.pointer(pointer).and_then(Value::as_i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_dns_subdomain("astronomer-a.b-1"));
        assert!(!is_dns_subdomain("Upper"));
        assert!(!is_dns_subdomain("-x"));
        assert!(!is_dns_subdomain(""));
        let s = random_suffix(5);
        assert_eq!(s.len(), 5);
        assert!(
            s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }
}

//! The buckets and their objects, kept in memory, and listing the way S3 does it: keys in
//! UTF-8 binary order, `prefix`, `delimiter` roll-up into common prefixes, `max-keys` and a
//! resume marker.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use axum::body::Bytes;
use chrono::{DateTime, Utc};

/// One stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// The content.
    pub body: Bytes,
    /// The entity tag, quoted as S3 sends it.
    pub etag: String,
    /// When it was written.
    pub last_modified: DateTime<Utc>,
    /// `Content-Type` given on upload.
    pub content_type: Option<String>,
    /// User metadata (`x-amz-meta-*` headers, names lower-cased, prefix included).
    pub metadata: Vec<(String, String)>,
    /// Checksums given on upload (`x-amz-checksum-<algorithm>` header name and value).
    pub checksums: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct Bucket {
    objects: BTreeMap<String, Object>,
}

/// The bucket does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoSuchBucket;

/// What to list and from where.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Only keys starting with this.
    pub prefix: String,
    /// Roll keys up to the first occurrence of this after the prefix.
    pub delimiter: Option<String>,
    /// Most keys plus common prefixes to return.
    pub max_keys: usize,
    /// Start after this key (or common prefix).
    pub after: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// The objects, with their keys.
    pub objects: Vec<(String, Object)>,
    /// The common prefixes.
    pub common_prefixes: Vec<String>,
    /// Whether more entries follow.
    pub truncated: bool,
    /// The last key or common prefix returned (where the next page starts after).
    pub last: Option<String>,
}

/// The buckets of the sim's one account, all in one region.
#[derive(Debug)]
pub struct Buckets {
    region: String,
    inner: Mutex<BTreeMap<String, Bucket>>,
}

impl Buckets {
    /// Empty buckets with these names, in `region`.
    pub fn new(region: &str, names: &[String]) -> Self {
        Self {
            region: region.to_owned(),
            inner: Mutex::new(
                names
                    .iter()
                    .map(|n| (n.clone(), Bucket::default()))
                    .collect(),
            ),
        }
    }

    /// The region every bucket is in.
    pub fn region(&self) -> &str {
        &self.region
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Bucket>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the bucket exists.
    pub fn exists(&self, bucket: &str) -> bool {
        self.lock().contains_key(bucket)
    }

    /// Creates a bucket; `false` when it already exists.
    pub fn create(&self, bucket: &str) -> bool {
        let mut buckets = self.lock();
        if buckets.contains_key(bucket) {
            return false;
        }
        buckets.insert(bucket.to_owned(), Bucket::default());
        true
    }

    /// Stores (or replaces) an object.
    pub fn put(&self, bucket: &str, key: &str, object: Object) -> Result<(), NoSuchBucket> {
        let mut buckets = self.lock();
        let bucket = buckets.get_mut(bucket).ok_or(NoSuchBucket)?;
        bucket.objects.insert(key.to_owned(), object);
        Ok(())
    }

    /// An object, if stored.
    pub fn get(&self, bucket: &str, key: &str) -> Result<Option<Object>, NoSuchBucket> {
        let buckets = self.lock();
        let bucket = buckets.get(bucket).ok_or(NoSuchBucket)?;
        Ok(bucket.objects.get(key).cloned())
    }

    /// Removes an object (nothing happens when it is not there, as in S3).
    pub fn delete(&self, bucket: &str, key: &str) -> Result<(), NoSuchBucket> {
        let mut buckets = self.lock();
        let bucket = buckets.get_mut(bucket).ok_or(NoSuchBucket)?;
        bucket.objects.remove(key);
        Ok(())
    }

    /// One page of the bucket's keys.
    pub fn list(&self, bucket: &str, query: &ListQuery) -> Result<Listing, NoSuchBucket> {
        let buckets = self.lock();
        let bucket = buckets.get(bucket).ok_or(NoSuchBucket)?;
        let mut listing = Listing::default();
        let mut count = 0;
        for (key, object) in bucket.objects.range(query.prefix.clone()..) {
            if !key.starts_with(&query.prefix) {
                break;
            }
            let rolled_up = query
                .delimiter
                .as_deref()
                .filter(|d| !d.is_empty())
                .and_then(|d| {
                    let rest = &key[query.prefix.len()..];
                    rest.find(d)
                        .map(|i| format!("{}{}", query.prefix, &rest[..i + d.len()]))
                });
            let entry = rolled_up.as_deref().unwrap_or(key);
            if query.after.as_deref().is_some_and(|after| entry <= after) {
                continue;
            }
            if listing.common_prefixes.last().map(String::as_str) == rolled_up.as_deref()
                && rolled_up.is_some()
            {
                continue;
            }
            if count == query.max_keys {
                listing.truncated = true;
                break;
            }
            count += 1;
            listing.last = Some(entry.to_owned());
            match rolled_up {
                Some(prefix) => listing.common_prefixes.push(prefix),
                None => listing.objects.push((key.clone(), object.clone())),
            }
        }
        Ok(listing)
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn object() -> Object {
        Object {
            body: Bytes::from_static(b"x"),
            etag: "\"e\"".to_owned(),
            last_modified: DateTime::<Utc>::MIN_UTC,
            content_type: None,
            metadata: Vec::new(),
            checksums: Vec::new(),
        }
    }

    fn buckets(keys: &[&str]) -> Buckets {
        let buckets = Buckets::new("us-west-2", &["b".to_owned()]);
        for key in keys {
            buckets.put("b", key, object()).unwrap();
        }
        buckets
    }

    fn page(listing: &Listing) -> (Vec<&str>, Vec<&str>, bool) {
        (
            listing.objects.iter().map(|(k, _)| k.as_str()).collect(),
            listing.common_prefixes.iter().map(String::as_str).collect(),
            listing.truncated,
        )
    }

    const KEYS: &[&str] = &["a/1", "a/2", "b", "c/d/e", "c/f", "cx"];

    #[rstest]
    #[case::everything("", None, 1000, None, &["a/1", "a/2", "b", "c/d/e", "c/f", "cx"], &[], false)]
    #[case::prefix("c", None, 1000, None, &["c/d/e", "c/f", "cx"], &[], false)]
    #[case::delimiter("", Some("/"), 1000, None, &["b", "cx"], &["a/", "c/"], false)]
    #[case::prefix_and_delimiter("c/", Some("/"), 1000, None, &["c/f"], &["c/d/"], false)]
    #[case::max_keys("", Some("/"), 2, None, &["b"], &["a/"], true)]
    #[case::after_common_prefix("", Some("/"), 2, Some("b"), &["cx"], &["c/"], false)]
    #[case::after_rolled_up_prefix("", Some("/"), 1000, Some("a/"), &["b", "cx"], &["c/"], false)]
    #[case::after_key("", None, 2, Some("a/2"), &["b", "c/d/e"], &[], true)]
    #[case::max_zero("", None, 0, None, &[], &[], true)]
    fn listing(
        #[case] prefix: &str,
        #[case] delimiter: Option<&str>,
        #[case] max_keys: usize,
        #[case] after: Option<&str>,
        #[case] keys: &[&str],
        #[case] prefixes: &[&str],
        #[case] truncated: bool,
    ) {
        let query = ListQuery {
            prefix: prefix.to_owned(),
            delimiter: delimiter.map(str::to_owned),
            max_keys,
            after: after.map(str::to_owned),
        };
        let listing = buckets(KEYS).list("b", &query).unwrap();
        assert_eq!(
            page(&listing),
            (keys.to_vec(), prefixes.to_vec(), truncated)
        );
    }

    #[test]
    fn objects_live_and_die_per_bucket() {
        let buckets = buckets(&[]);
        assert_eq!(buckets.get("b", "k"), Ok(None));
        buckets.put("b", "k", object()).unwrap();
        assert_eq!(buckets.get("b", "k"), Ok(Some(object())));
        buckets.delete("b", "k").unwrap();
        buckets.delete("b", "k").unwrap();
        assert_eq!(buckets.get("b", "k"), Ok(None));
        assert_eq!(buckets.get("nope", "k"), Err(NoSuchBucket));
        assert!(!buckets.create("b"));
        assert!(buckets.create("c"));
        assert!(buckets.exists("c"));
    }
}

//! Waiting on Kubernetes state with a watch: a condition is evaluated on the watcher's view of
//! the matching objects after every event, never by polling. On timeout the error says what was
//! last seen.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

use futures::StreamExt as _;
use kube::api::Api;
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Resource, ResourceExt as _};
use serde::de::DeserializeOwned;

use super::DriverError;
use super::timeouts::RequestTimeouts;

/// The answer of a condition: done with a value, or not yet with a description of why.
pub enum Check<T> {
    /// The condition holds.
    Done(T),
    /// The condition does not hold yet; the text says what is missing (shown on timeout).
    NotYet(String),
}

/// Watches the objects `config` selects and returns the first value `check` yields `Done` for.
///
/// `check` sees every currently known matching object (keyed by namespace/name) after the
/// initial list and after each change. On timeout, the error carries the last `NotYet` text:
/// the condition did not hold. But when the API server at `endpoint` could not be heard (the
/// initial list never arrived, or the watch was failing when time ran out), the timeout is an
/// infrastructure error naming the server, never a verdict. Failed watches are retried with
/// a backoff; each watch ends before the request read timeout (see [`RequestTimeouts`]).
pub async fn wait_for<K, T, F>(
    endpoint: &str,
    api: Api<K>,
    config: watcher::Config,
    timeout: Duration,
    mut check: F,
) -> Result<T, DriverError>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
    F: FnMut(&BTreeMap<String, K>) -> Check<T>,
{
    let mut last_seen = String::from("nothing observed yet");
    // The last watch error, while no event has arrived since.
    let mut failing: Option<String> = None;
    let mut listed = false;
    let mut objects: BTreeMap<String, K> = BTreeMap::new();
    let mut buffer: BTreeMap<String, K> = BTreeMap::new();
    let config = config.timeout(RequestTimeouts::current().watch_seconds());
    let stream = watcher(api, config).default_backoff();
    futures::pin_mut!(stream);
    let waited = tokio::time::timeout(timeout, async {
        while let Some(event) = stream.next().await {
            let event = match event {
                Ok(event) => {
                    failing = None;
                    event
                }
                Err(err) => {
                    // The watcher retries (with a backoff) on the next poll.
                    failing = Some(super::error_chain(&err));
                    continue;
                }
            };
            let changed = match event {
                watcher::Event::Init => {
                    buffer.clear();
                    false
                }
                watcher::Event::InitApply(obj) => {
                    buffer.insert(key_of(&obj), obj);
                    false
                }
                watcher::Event::InitDone => {
                    objects = std::mem::take(&mut buffer);
                    listed = true;
                    true
                }
                watcher::Event::Apply(obj) => {
                    objects.insert(key_of(&obj), obj);
                    true
                }
                watcher::Event::Delete(obj) => {
                    objects.remove(&key_of(&obj));
                    true
                }
            };
            if changed {
                match check(&objects) {
                    Check::Done(value) => return Ok(value),
                    Check::NotYet(why) => last_seen = why,
                }
            }
        }
        Err(DriverError::Protocol("the watch stream ended".to_owned()))
    })
    .await;
    let waited_for = humantime::format_duration(timeout);
    match (waited, failing, listed) {
        (Ok(result), _, _) => result,
        (Err(_), Some(error), _) => Err(DriverError::Unreachable(format!(
            "Kubernetes API at {endpoint}: the watch kept failing for {waited_for}: {error}"
        ))),
        (Err(_), None, false) => Err(DriverError::Unreachable(format!(
            "Kubernetes API at {endpoint}: no answer to the watch's list within {waited_for}"
        ))),
        (Err(_), None, true) => Err(DriverError::Timeout {
            waited: timeout,
            last_seen,
        }),
    }
}

fn key_of<K: Resource>(obj: &K) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}

//! Waiting on Kubernetes state with a watch: a condition is evaluated on the watcher's view of
//! the matching objects after every event, never by polling. A wait ends at the caller's
//! [`Deadline`]; on timeout the error says what was last seen. After an error the watch backs
//! off as kube-runtime's watchers do (exponential with jitter, capped), and an error that
//! cannot go away by waiting (401, 403, 404) ends the wait at once with that error.

use std::collections::BTreeMap;
use std::fmt::Debug;

use futures::StreamExt as _;
use kube::api::Api;
use kube::runtime::utils::Backoff;
use kube::runtime::watcher;
use kube::{Resource, ResourceExt as _};
use serde::de::DeserializeOwned;

use super::DriverError;
use super::deadline::{Deadline, Waiting};
use super::timeouts::RequestTimeouts;

/// The answer of a condition: done with a value, or not yet with a description of why.
pub enum Check<T> {
    /// The condition holds.
    Done(T),
    /// The condition does not hold yet; the text says what is missing (shown on timeout).
    NotYet(String),
}

/// Watches the objects `config` selects and returns the first value `check` yields `Done` for,
/// waiting until `deadline` at most.
///
/// `check` sees every currently known matching object (keyed by namespace/name) after the
/// initial list and after each change. On timeout, the error carries the last `NotYet` text:
/// the condition did not hold (the text is also noted on the deadline while the wait runs).
/// But when the API server at `endpoint` could not be heard (the initial list never arrived,
/// or the watch was failing when time ran out), the timeout is an infrastructure error naming
/// the server, never a verdict. Failed watches are retried after kube-runtime's default
/// backoff; a permanent error (401, 403, 404) ends the wait at once as an API error. Each
/// watch ends before the request read timeout (see [`RequestTimeouts`]).
pub async fn wait_for<K, T, F>(
    endpoint: &str,
    api: Api<K>,
    config: watcher::Config,
    deadline: &Deadline,
    check: F,
) -> Result<T, DriverError>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
    F: FnMut(&BTreeMap<String, K>) -> Check<T>,
{
    wait_with_backoff(
        endpoint,
        api,
        config,
        deadline,
        watcher::DefaultBackoff::default(),
        check,
    )
    .await
}

/// [`wait_for`] with the backoff policy between failed watches given.
async fn wait_with_backoff<K, T, F, B>(
    endpoint: &str,
    api: Api<K>,
    config: watcher::Config,
    deadline: &Deadline,
    backoff: B,
    check: F,
) -> Result<T, DriverError>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
    F: FnMut(&BTreeMap<String, K>) -> Check<T>,
    B: Backoff,
{
    let config = config.timeout(RequestTimeouts::current().watch_seconds());
    let mut stream = Box::pin(watcher(api, config));
    let mut view = View {
        endpoint,
        waiting: deadline.wait(),
        check,
        backoff,
        last_seen: String::from("nothing observed yet"),
        failing: None,
        listed: false,
        objects: BTreeMap::new(),
        buffer: BTreeMap::new(),
    };
    let waited_for = humantime::format_duration(deadline.budget());
    if let Ok(result) =
        tokio::time::timeout_at(deadline.instant(), view.follow(&mut stream, false)).await
    {
        return result;
    }
    if let Some(error) = view.failing {
        return Err(DriverError::Unreachable(format!(
            "Kubernetes API at {endpoint}: the watch kept failing for {waited_for}: {error}"
        )));
    }
    if view.listed {
        return Err(deadline.timed_out(view.last_seen));
    }
    // The deadline passed before the list arrived: a wait that began late in its step still
    // judges what the server answers, when it answers within a request's probe bound (the
    // runner's grace after the deadline is shorter, so a silent server stays an
    // infrastructure error there).
    let bound = RequestTimeouts::current().probe();
    match tokio::time::timeout(bound, view.follow(&mut stream, true)).await {
        Ok(Err(DriverError::Timeout { last_seen, .. })) => Err(deadline.timed_out(last_seen)),
        Ok(result) => result,
        Err(_) => Err(DriverError::Unreachable(format!(
            "Kubernetes API at {endpoint}: no answer to the watch's list within {waited_for}"
        ))),
    }
}

/// What one wait knows: the matching objects as the watch reported them, and what its
/// condition last said.
struct View<'a, K, F, B> {
    endpoint: &'a str,
    waiting: Waiting,
    check: F,
    /// How long to wait before the watcher retries after an error.
    backoff: B,
    last_seen: String,
    /// The last watch error, while no event has arrived since.
    failing: Option<String>,
    /// Whether the initial list has arrived.
    listed: bool,
    objects: BTreeMap<String, K>,
    buffer: BTreeMap<String, K>,
}

impl<K, T, F, B> View<'_, K, F, B>
where
    K: Resource + Clone + Debug,
    F: FnMut(&BTreeMap<String, K>) -> Check<T>,
    B: Backoff,
{
    /// Follows the watch until the condition holds, a permanent error, or the stream's end;
    /// with `once_listed`, also stops with a timeout once the list has been judged.
    async fn follow<S>(&mut self, stream: &mut S, once_listed: bool) -> Result<T, DriverError>
    where
        S: futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Unpin,
    {
        while let Some(event) = stream.next().await {
            let event = match event {
                Ok(event) => {
                    // The watcher sends `Init` before each (re)list request, before the
                    // server answered anything: only what came from the server ends a
                    // failing spell (else every retry would forget the error and reset
                    // the backoff).
                    if !matches!(event, watcher::Event::Init) {
                        self.failing = None;
                        self.backoff.reset();
                    }
                    event
                }
                Err(err) => {
                    if let Some(code) = permanent(&err) {
                        return Err(DriverError::Api(format!(
                            "Kubernetes API at {}: the watch got {code}, which waiting cannot change: {}",
                            self.endpoint,
                            super::error_chain(&err)
                        )));
                    }
                    // The watcher retries on the next poll: back off first.
                    self.failing = Some(super::error_chain(&err));
                    if let Some(delay) = self.backoff.next() {
                        tokio::time::sleep(delay).await;
                    }
                    continue;
                }
            };
            if !self.apply(event) {
                continue;
            }
            match (self.check)(&self.objects) {
                Check::Done(value) => return Ok(value),
                Check::NotYet(why) => {
                    self.waiting.saw(&why);
                    self.last_seen = why;
                }
            }
            if once_listed && self.listed {
                return Err(DriverError::Timeout {
                    waited: std::time::Duration::ZERO,
                    last_seen: self.last_seen.clone(),
                });
            }
        }
        Err(DriverError::Protocol("the watch stream ended".to_owned()))
    }

    /// Applies a watch event to the view; whether the condition should be checked again.
    fn apply(&mut self, event: watcher::Event<K>) -> bool {
        match event {
            watcher::Event::Init => {
                self.buffer.clear();
                false
            }
            watcher::Event::InitApply(obj) => {
                self.buffer.insert(key_of(&obj), obj);
                false
            }
            watcher::Event::InitDone => {
                self.objects = std::mem::take(&mut self.buffer);
                self.listed = true;
                true
            }
            watcher::Event::Apply(obj) => {
                self.objects.insert(key_of(&obj), obj);
                true
            }
            watcher::Event::Delete(obj) => {
                self.objects.remove(&key_of(&obj));
                true
            }
        }
    }
}

/// The HTTP status of a watch error that waiting cannot change: unauthorized (401),
/// forbidden (403), or a resource the server does not have (404).
fn permanent(err: &watcher::Error) -> Option<u16> {
    let code = match err {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => match e {
            kube::Error::Api(status) => Some(status.code),
            _ => None,
        },
        watcher::Error::WatchError(status) => Some(status.code),
        watcher::Error::NoResourceVersion => None,
    };
    code.filter(|c| matches!(c, 401 | 403 | 404))
}

fn key_of<K: Resource>(obj: &K) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use k8s_openapi::api::core::v1::Pod;

    use super::super::fake_api::{self, Answer, Log};
    use super::super::kube::{KubeAccess, KubeDriver};
    use super::*;

    /// A backoff that waits no time but notes each time the watch backs off in the log.
    struct Noted(Log);

    impl Iterator for Noted {
        type Item = std::time::Duration;
        fn next(&mut self) -> Option<Self::Item> {
            self.0.lock().unwrap().push("backoff".to_owned());
            Some(Duration::ZERO)
        }
    }

    impl Backoff for Noted {
        fn reset(&mut self) {}
    }

    async fn pods_of(answers: Vec<Answer>, log: &Log) -> (String, Api<Pod>) {
        let url = fake_api::serve(answers, Arc::clone(log)).await;
        let kube = KubeDriver::connect(&KubeAccess::Token {
            url: url.clone(),
            token: "t".to_owned(),
        })
        .await
        .unwrap();
        (url, Api::namespaced(kube.client().clone(), "ns"))
    }

    fn any_pod(objects: &BTreeMap<String, Pod>) -> Check<usize> {
        if objects.is_empty() {
            Check::NotYet("no pod".to_owned())
        } else {
            Check::Done(objects.len())
        }
    }

    #[tokio::test]
    async fn a_failing_watch_backs_off_before_each_retry() {
        let log: Log = Arc::default();
        let listed = Answer::list("PodList", vec![fake_api::pod("ns", "p", "Running")]);
        let failed = Answer::status(500, "InternalError");
        let (url, api) = pods_of(vec![failed.clone(), failed.clone(), failed, listed], &log).await;
        let found = wait_with_backoff(
            &url,
            api,
            watcher::Config::default(),
            &Deadline::after(Duration::from_secs(30)),
            Noted(Arc::clone(&log)),
            any_pod,
        )
        .await
        .unwrap();
        assert_eq!(found, 1);
        assert_eq!(
            *log.lock().unwrap(),
            [
                "list 500", "backoff", "list 500", "backoff", "list 500", "backoff", "list 200"
            ]
        );
    }

    #[tokio::test]
    async fn a_forbidden_watch_gives_up_at_once_with_the_error() {
        let log: Log = Arc::default();
        let (url, api) = pods_of(vec![Answer::status(403, "Forbidden")], &log).await;
        let err = wait_with_backoff(
            &url,
            api,
            watcher::Config::default(),
            &Deadline::after(Duration::from_secs(30)),
            Noted(Arc::clone(&log)),
            any_pod,
        )
        .await
        .unwrap_err();
        let DriverError::Api(text) = &err else {
            panic!("an API error: {err:?}");
        };
        assert!(text.contains(&format!("Kubernetes API at {url}")), "{text}");
        assert!(text.contains("403"), "{text}");
        assert!(text.contains("scripted Forbidden"), "{text}");
        assert_eq!(*log.lock().unwrap(), ["list 403"]);
    }

    #[rstest::rstest]
    #[case(401, "Unauthorized")]
    #[case(404, "NotFound")]
    #[tokio::test]
    async fn other_permanent_errors_end_the_wait_too(#[case] code: u16, #[case] reason: &str) {
        let log: Log = Arc::default();
        let (url, api) = pods_of(vec![Answer::status(code, reason)], &log).await;
        let err = wait_with_backoff(
            &url,
            api,
            watcher::Config::default(),
            &Deadline::after(Duration::from_secs(30)),
            Noted(Arc::clone(&log)),
            any_pod,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, DriverError::Api(_)), "{err:?}");
        assert_eq!(*log.lock().unwrap(), [format!("list {code}")]);
    }

    #[test]
    fn the_default_backoff_never_retries_at_once_and_is_capped() {
        let delays: Vec<Duration> = watcher::DefaultBackoff::default().take(12).collect();
        assert!(delays.iter().all(|d| *d > Duration::ZERO), "{delays:?}");
        // 30 s at most, plus a jitter of up to as much again.
        assert!(
            delays.iter().all(|d| *d <= Duration::from_secs(60)),
            "{delays:?}"
        );
    }

    #[tokio::test]
    async fn a_wait_that_times_out_says_what_it_last_saw() {
        let log: Log = Arc::default();
        let pending = Answer::list("PodList", vec![fake_api::pod("ns", "p", "Pending")]);
        let (url, api) = pods_of(vec![pending], &log).await;
        let deadline = Deadline::after(Duration::from_millis(300));
        let err = wait_for(
            &url,
            api,
            watcher::Config::default(),
            &deadline,
            |objects| match objects.values().next() {
                Some(p) if super::super::kube::phase(p) == "Running" => Check::Done(()),
                Some(p) => Check::NotYet(format!("pod is {}", super::super::kube::phase(p))),
                None => Check::NotYet("no pod".to_owned()),
            },
        )
        .await
        .unwrap_err();
        let DriverError::Timeout { waited, last_seen } = err else {
            panic!("a timeout: {err:?}");
        };
        assert_eq!(waited, Duration::from_millis(300));
        assert_eq!(last_seen, "pod is Pending");
        assert_eq!(*log.lock().unwrap(), ["list 200", "watch"]);
        assert_eq!(deadline.waiting_on(), None);
    }

    #[tokio::test]
    async fn a_wait_begun_after_its_deadline_still_judges_the_list() {
        let log: Log = Arc::default();
        let pending = Answer::list("PodList", vec![fake_api::pod("ns", "p", "Pending")]);
        let (url, api) = pods_of(vec![pending], &log).await;
        let deadline = Deadline::after(Duration::ZERO);
        let err = wait_for(&url, api, watcher::Config::default(), &deadline, |_| {
            Check::<()>::NotYet("pod is Pending".to_owned())
        })
        .await
        .unwrap_err();
        let DriverError::Timeout { last_seen, .. } = err else {
            panic!("a timeout, not an unreachable server: {err:?}");
        };
        assert_eq!(last_seen, "pod is Pending");
    }
}

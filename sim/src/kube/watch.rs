//! Watches: newline-delimited JSON events streamed until `timeoutSeconds`, the client
//! leaves or the sim stops.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::selector::{FieldSelector, LabelSelector};
use super::store::Change;
use super::table::{self, IncludeObject};
use super::{ApiError, ApiServer, Resource};

/// The parameters of one watch request.
#[derive(Debug, Clone)]
pub struct WatchRequest {
    /// The resource watched.
    pub resource: Resource,
    /// One namespace, or all.
    pub namespace: Option<String>,
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// `resourceVersion`: `None` (or 0) starts with the current objects.
    pub resource_version: Option<u64>,
    /// `timeoutSeconds`.
    pub timeout: Duration,
    /// `allowWatchBookmarks`.
    pub bookmarks: bool,
    /// `sendInitialEvents`: the initial objects end with an `initial-events-end` bookmark.
    pub send_initial_events: bool,
    /// `Some` when the client asked for `Table` objects (`kubectl get -w`): each event's
    /// object is then a one-row `Table` whose row carries what `includeObject` asks for.
    pub table: Option<IncludeObject>,
}

impl WatchRequest {
    fn matches(&self, resource: Resource, object: &Value) -> bool {
        resource == self.resource
            && self
                .namespace
                .as_deref()
                .is_none_or(|ns| super::meta::namespace_of(object) == ns)
            && self.labels.matches(object)
            && self.fields.matches(object)
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Value {
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        json!({
            "type": "BOOKMARK",
            "object": {
                "kind": self.resource.kind(),
                "apiVersion": self.resource.api_version(),
                "metadata": metadata,
            }
        })
    }
}

impl WatchRequest {
    /// A watch event for an object, rendered as the client asked.
    fn event(&self, kind: &str, object: &Value) -> Value {
        match self.table {
            Some(include) => json!({
                "type": kind,
                "object": table::table(self.resource, std::slice::from_ref(object), None, include),
            }),
            None => event(kind, object),
        }
    }
}

fn event(kind: &str, object: &Value) -> Value {
    json!({"type": kind, "object": object})
}

fn line(event: &Value) -> Result<Bytes, Infallible> {
    let mut bytes = serde_json::to_vec(event).unwrap_or_default();
    bytes.push(b'\n');
    Ok(Bytes::from(bytes))
}

/// Starts a watch and returns the streaming body.
pub fn start(api: &Arc<ApiServer>, req: WatchRequest) -> Body {
    let (initial, mut changes, start_rv) = {
        let txn = api.store.lock();
        let state = txn.state();
        let rx = txn.subscribe();
        let start_rv = state.rv();
        let initial: Vec<Value> = match req.resource_version.filter(|rv| *rv > 0) {
            None => {
                let ns = req
                    .namespace
                    .as_deref()
                    .filter(|_| req.resource.namespaced());
                let mut events: Vec<Value> = state
                    .list(req.resource, ns)
                    .iter()
                    .filter(|o| req.matches(req.resource, o))
                    .map(|o| req.event("ADDED", o))
                    .collect();
                if req.send_initial_events {
                    events.push(req.bookmark(start_rv, true));
                }
                events
            }
            Some(rv) => match state.changes_since(rv) {
                Ok(changes) => changes
                    .iter()
                    .filter(|c| req.matches(c.resource, &c.object))
                    .map(|c| req.event(c.kind.as_str(), &c.object))
                    .collect(),
                Err(oldest) => vec![event("ERROR", &ApiError::expired(rv, oldest).to_status())],
            },
        };
        (initial, rx, start_rv)
    };

    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(64);
    let shutdown = api.shutdown.clone();
    let expired = initial
        .first()
        .is_some_and(|e| e.get("type").and_then(Value::as_str) == Some("ERROR"));
    tokio::spawn(async move {
        for ev in &initial {
            if tx.send(line(ev)).await.is_err() {
                return;
            }
        }
        if expired {
            return;
        }
        let deadline = tokio::time::sleep(req.timeout);
        tokio::pin!(deadline);
        let mut last_rv = start_rv;
        loop {
            tokio::select! {
                () = &mut deadline => {
                    if req.bookmarks {
                        let _ = tx.send(line(&req.bookmark(last_rv, false))).await;
                    }
                    return;
                }
                () = shutdown.cancelled() => return,
                () = tx.closed() => return,
                received = changes.recv() => match received {
                    Ok(Change { rv, resource, kind, object }) => {
                        if rv <= last_rv {
                            continue;
                        }
                        last_rv = rv;
                        if req.matches(resource, &object)
                            && tx.send(line(&req.event(kind.as_str(), &object))).await.is_err()
                        {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let status = ApiError::expired(last_rv, last_rv + 1).to_status();
                        let _ = tx.send(line(&event("ERROR", &status))).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
    Body::from_stream(ReceiverStream::new(rx))
}

//! The object store: one map per resource of JSON objects, a global resourceVersion
//! counter, a broadcast of changes and a bounded history of them for watch resumption.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::broadcast;

use super::Resource;

/// How many changes the history keeps for watches that resume from a resourceVersion.
const HISTORY_LEN: usize = 4096;

/// Capacity of the change broadcast (a slower watcher gets a 410 and relists).
const BROADCAST_LEN: usize = 4096;

/// The type of a change, as watch events name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    /// The object was created.
    Added,
    /// The object was updated.
    Modified,
    /// The object was removed.
    Deleted,
}

impl ChangeType {
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

/// One change of one object.
#[derive(Debug, Clone)]
pub struct Change {
    /// The resourceVersion the change produced.
    pub rv: u64,
    /// The resource.
    pub resource: Resource,
    /// What happened.
    pub kind: ChangeType,
    /// The object after the change (before it, for a deletion, with the deletion's RV);
    /// shared, so fanning a change out to every watcher copies no JSON.
    pub object: std::sync::Arc<Value>,
}

/// `(namespace, name)`; cluster-scoped objects use an empty namespace.
pub type Key = (String, String);

/// The store's state behind one lock.
#[derive(Debug, Default)]
pub struct State {
    rv: u64,
    objects: BTreeMap<Resource, BTreeMap<Key, Value>>,
    history: VecDeque<Change>,
    /// Highest RV whose change left the history (a watch from below it gets 410).
    evicted_upto: u64,
}

impl State {
    /// The current (latest) resourceVersion.
    pub fn rv(&self) -> u64 {
        self.rv
    }

    /// Reads an object.
    pub fn get(&self, resource: Resource, key: &Key) -> Option<&Value> {
        self.objects.get(&resource)?.get(key)
    }

    /// All objects of a resource, optionally in one namespace, in key order.
    pub fn list(&self, resource: Resource, namespace: Option<&str>) -> Vec<Value> {
        let Some(objects) = self.objects.get(&resource) else {
            return Vec::new();
        };
        match namespace {
            None => objects.values().cloned().collect(),
            // Keys are ordered by namespace first: read just that namespace's range.
            Some(ns) => objects
                .range((ns.to_owned(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|(_, v)| v.clone())
                .collect(),
        }
    }

    /// Changes after `rv`, or `Err(oldest)` when some of them left the history.
    pub fn changes_since(&self, rv: u64) -> Result<Vec<Change>, u64> {
        if rv < self.evicted_upto {
            return Err(self.evicted_upto + 1);
        }
        Ok(self.history.iter().filter(|c| c.rv > rv).cloned().collect())
    }

    /// Stores `object` (setting its `metadata.resourceVersion`) and records the change.
    fn write(
        &mut self,
        tx: &broadcast::Sender<Change>,
        resource: Resource,
        key: Key,
        mut object: Value,
        kind: ChangeType,
    ) -> Value {
        self.rv += 1;
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert(
                "resourceVersion".to_owned(),
                Value::String(self.rv.to_string()),
            );
        }
        let objects = self.objects.entry(resource).or_default();
        match kind {
            ChangeType::Deleted => {
                objects.remove(&key);
            }
            ChangeType::Added | ChangeType::Modified => {
                objects.insert(key, object.clone());
            }
        }
        let change = Change {
            rv: self.rv,
            resource,
            kind,
            object: std::sync::Arc::new(object.clone()),
        };
        if self.history.len() >= HISTORY_LEN
            && let Some(old) = self.history.pop_front()
        {
            self.evicted_upto = old.rv;
        }
        self.history.push_back(change.clone());
        // No receiver is fine: nobody watches.
        let _ = tx.send(change);
        object
    }
}

/// The store.
#[derive(Debug)]
pub struct Store {
    state: Mutex<State>,
    tx: broadcast::Sender<Change>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(BROADCAST_LEN);
        Self {
            state: Mutex::new(State::default()),
            tx,
        }
    }

    /// Locks the store for a consistent read-modify-write.
    pub fn lock(&self) -> Txn<'_> {
        let guard = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Txn {
            guard,
            tx: &self.tx,
        }
    }

    /// Subscribes to changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.tx.subscribe()
    }
}

/// A locked store.
pub struct Txn<'a> {
    guard: MutexGuard<'a, State>,
    tx: &'a broadcast::Sender<Change>,
}

impl Txn<'_> {
    /// The state, read-only.
    pub fn state(&self) -> &State {
        &self.guard
    }

    /// Subscribes while holding the lock: no change is missed between a read and the stream.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.tx.subscribe()
    }

    /// Adds a new object.
    pub fn insert(&mut self, resource: Resource, key: Key, object: Value) -> Value {
        self.guard
            .write(self.tx, resource, key, object, ChangeType::Added)
    }

    /// Replaces an existing object.
    pub fn update(&mut self, resource: Resource, key: Key, object: Value) -> Value {
        self.guard
            .write(self.tx, resource, key, object, ChangeType::Modified)
    }

    /// Removes an object; returns it with the deletion's resourceVersion.
    pub fn remove(&mut self, resource: Resource, key: Key) -> Option<Value> {
        let object = self.guard.get(resource, &key)?.clone();
        Some(
            self.guard
                .write(self.tx, resource, key, object, ChangeType::Deleted),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(name: &str) -> Key {
        ("ns".to_owned(), name.to_owned())
    }

    #[test]
    fn writes_bump_the_rv_and_are_replayable() {
        let store = Store::new();
        let mut rx = store.subscribe();
        let mut txn = store.lock();
        let a = txn.insert(Resource::Pod, key("a"), json!({"metadata": {"name": "a"}}));
        assert_eq!(a["metadata"]["resourceVersion"], "1");
        txn.update(
            Resource::Pod,
            key("a"),
            json!({"metadata": {"name": "a"}, "x": 1}),
        );
        let gone = txn.remove(Resource::Pod, key("a")).unwrap();
        assert_eq!(gone["metadata"]["resourceVersion"], "3");
        assert!(txn.remove(Resource::Pod, key("a")).is_none());
        let since = txn.state().changes_since(1).unwrap();
        assert_eq!(
            since.iter().map(|c| c.kind).collect::<Vec<_>>(),
            [ChangeType::Modified, ChangeType::Deleted]
        );
        assert!(txn.state().list(Resource::Pod, None).is_empty());
        drop(txn);
        assert_eq!(rx.try_recv().unwrap().kind, ChangeType::Added);
    }

    #[test]
    fn evicted_history_is_reported() {
        let store = Store::new();
        let mut txn = store.lock();
        for i in 0..(HISTORY_LEN + 10) {
            txn.insert(
                Resource::Event,
                key(&i.to_string()),
                json!({"metadata": {}}),
            );
        }
        assert!(txn.state().changes_since(5).is_err());
        assert_eq!(
            txn.state().changes_since(txn.state().rv()).unwrap().len(),
            0
        );
    }
}

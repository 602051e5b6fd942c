//! Installing, upgrading and uninstalling rendered releases through an
//! [`ObjectWriter`] (the sim's in-process Kubernetes API or a real cluster), the way Houston
//! (namespace) plus Helm 3 (objects, three-way upgrades) do.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Component;
use super::render::{self, ChartValues, ObjectKey};
use crate::kube::{ApiError, Resource};
use crate::platform::apply::ObjectWriter;
use crate::platform::binding::Annotations;

/// The sim resource a rendered object is stored as.
fn resource_of(object: &Value) -> Result<Resource, ApiError> {
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    Resource::ALL
        .iter()
        .copied()
        .find(|r| r.kind() == kind)
        .ok_or_else(|| ApiError {
            code: 400,
            reason: "BadRequest".to_owned(),
            message: format!("the chart rendered a kind the API server does not serve: {kind:?}"),
            details: None,
        })
}

fn name_of(object: &Value) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Applies rendered releases through an [`ObjectWriter`].
pub struct Chart<'a> {
    api: &'a dyn ObjectWriter,
}

impl<'a> Chart<'a> {
    /// A chart writing to `api`.
    pub fn new(api: &'a dyn ObjectWriter) -> Self {
        Self { api }
    }

    /// Creates the namespace and every object of a new release. When a later object fails,
    /// the namespace this call created is deleted again; a namespace that already existed is
    /// left alone.
    pub fn install(&self, values: &ChartValues) -> Result<(), ApiError> {
        self.api
            .create(Resource::Namespace, None, render::namespace(values))?;
        let result = render::render(values)
            .into_iter()
            .try_for_each(|object| self.create(&values.namespace, object));
        if result.is_err()
            && let Err(cleanup) = self.uninstall(&values.namespace)
        {
            tracing::warn!(%cleanup, "could not remove a half-installed release");
        }
        result
    }

    fn create(&self, namespace: &str, object: Value) -> Result<(), ApiError> {
        let resource = resource_of(&object)?;
        self.api.create(resource, Some(namespace), object).map(drop)
    }

    /// Brings an installed release from `before` to `after` as `helm upgrade` does: every
    /// object of the new render is created when missing or three-way patched when live, and
    /// objects only the old render had are deleted.
    pub fn upgrade(&self, before: &ChartValues, after: &ChartValues) -> Result<(), ApiError> {
        let ns = after.namespace.as_str();
        let old: BTreeMap<ObjectKey, Value> = render::render(before)
            .into_iter()
            .map(|o| (render::object_key(&o), o))
            .collect();
        let new = render::render(after);
        for object in &new {
            let resource = resource_of(object)?;
            let name = name_of(object);
            match self.api.get(resource, Some(ns), name) {
                Ok(live) => {
                    let previous = old.get(&render::object_key(object));
                    if let Some(patch) = render::three_way_patch(previous, object, &live) {
                        self.api.merge_patch(resource, Some(ns), name, &patch)?;
                    }
                }
                Err(err) if err.code == 404 => self.create(ns, object.clone())?,
                Err(err) => return Err(err),
            }
        }
        let kept: Vec<ObjectKey> = new.iter().map(render::object_key).collect();
        for (key, object) in old.iter().filter(|(key, _)| !kept.contains(key)) {
            match self.api.delete(resource_of(object)?, Some(ns), &key.1) {
                Err(err) if err.code != 404 => return Err(err),
                _ => {}
            }
        }
        Ok(())
    }

    /// Removes a release: deleting its namespace deletes everything in it. A namespace that
    /// is already gone is not an error.
    pub fn uninstall(&self, namespace: &str) -> Result<(), ApiError> {
        match self.api.delete(Resource::Namespace, None, namespace) {
            Err(err) if err.code != 404 => Err(err),
            _ => Ok(()),
        }
    }

    /// [`Fault::CrossDeploymentLeak`](crate::faults::Fault::CrossDeploymentLeak): writes
    /// `annotations` onto every ServiceAccount of another release, without touching that
    /// release's stored config.
    pub fn leak_into(
        &self,
        other: &ChartValues,
        annotations: &Annotations,
    ) -> Result<(), ApiError> {
        let ns = other.namespace.as_str();
        let patch = render::annotations_patch(annotations);
        for component in Component::ALL {
            let name = render::service_account_name(&other.release, component);
            match self
                .api
                .merge_patch(Resource::ServiceAccount, Some(ns), &name, &patch)
            {
                Err(err) if err.code != 404 => return Err(err),
                _ => {}
            }
        }
        Ok(())
    }
}

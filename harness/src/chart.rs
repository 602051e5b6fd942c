//! The Airflow chart's names, in one place: its components, the labels it puts on their
//! objects (`tier=airflow`, `release=<release>`, `component=<component>`), how its objects
//! and ServiceAccounts are named, and the annotation key the documents configure
//! (`serviceAccountAnnotationKey`).
//!
//! Expected values (the role a ServiceAccount must carry, the token path and audience a pod
//! must get) are not here: they are the documents' promises and live in the scenario files.

use std::collections::BTreeMap;
use std::fmt;

/// The annotation key the documents set as the platform's `serviceAccountAnnotationKey`
/// (and the pod-identity webhook reads).
pub const ROLE_ANNOTATION_KEY: &str = "eks.amazonaws.com/role-arn";

/// The label every Airflow object of the chart carries, with [`TIER`] as its value.
pub const TIER_LABEL: &str = "tier";

/// The value of [`TIER_LABEL`].
pub const TIER: &str = "airflow";

/// The label naming the release an object belongs to.
pub const RELEASE_LABEL: &str = "release";

/// The label naming the component an object belongs to.
pub const COMPONENT_LABEL: &str = "component";

/// A component of an Airflow deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// The Airflow webserver.
    Webserver,
    /// The Airflow scheduler.
    Scheduler,
    /// A Celery worker.
    Worker,
}

impl Component {
    /// All components, in the documents' order.
    pub const ALL: &'static [Component] = &[
        Component::Webserver,
        Component::Scheduler,
        Component::Worker,
    ];

    /// The lower-case name (`webserver`, `scheduler`, `worker`).
    pub fn name(self) -> &'static str {
        match self {
            Component::Webserver => "webserver",
            Component::Scheduler => "scheduler",
            Component::Worker => "worker",
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The label selector of one component of a release: `release=<release>,component=<name>`.
pub fn component_selector(release: &str, component: Component) -> String {
    format!(
        "{RELEASE_LABEL}={release},{COMPONENT_LABEL}={}",
        component.name()
    )
}

/// The name the chart gives a component's Deployment and its ServiceAccount:
/// `<release>-<component>`.
pub fn object_name(release: &str, component: Component) -> String {
    format!("{release}-{}", component.name())
}

/// The labels of a release's objects (`tier`, `release`) and, for one component's,
/// `component`.
pub fn labels(release: &str, component: Option<Component>) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        (TIER_LABEL.to_owned(), TIER.to_owned()),
        (RELEASE_LABEL.to_owned(), release.to_owned()),
    ]);
    if let Some(component) = component {
        labels.insert(COMPONENT_LABEL.to_owned(), component.name().to_owned());
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_component_is_selected_by_release_and_component() {
        assert_eq!(
            component_selector("arithmetic-radiation-6756", Component::Worker),
            "release=arithmetic-radiation-6756,component=worker"
        );
        assert_eq!(
            object_name("arithmetic-radiation-6756", Component::Scheduler),
            "arithmetic-radiation-6756-scheduler"
        );
        let labels = labels("r", Some(Component::Webserver));
        assert_eq!(labels.get("tier").map(String::as_str), Some("airflow"));
        assert_eq!(
            labels.get("component").map(String::as_str),
            Some("webserver")
        );
    }
}

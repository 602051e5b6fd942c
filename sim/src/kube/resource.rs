//! What the API server knows about each [`Resource`]: group, version, kind, plural name,
//! scope, verbs and subresources.

use super::Resource;

impl Resource {
    /// Every resource the sim serves.
    pub const ALL: &'static [Resource] = &[
        Resource::Namespace,
        Resource::ServiceAccount,
        Resource::Pod,
        Resource::Event,
        Resource::Deployment,
        Resource::ReplicaSet,
        Resource::StatefulSet,
    ];

    /// The API group (`""` for core).
    pub fn group(self) -> &'static str {
        match self {
            Resource::Deployment | Resource::ReplicaSet | Resource::StatefulSet => "apps",
            _ => "",
        }
    }

    /// The version within the group.
    pub fn version(self) -> &'static str {
        "v1"
    }

    /// `apiVersion` as objects carry it (`v1`, `apps/v1`).
    pub fn api_version(self) -> &'static str {
        match self.group() {
            "apps" => "apps/v1",
            _ => "v1",
        }
    }

    /// The kind (`Pod`).
    pub fn kind(self) -> &'static str {
        match self {
            Resource::Namespace => "Namespace",
            Resource::ServiceAccount => "ServiceAccount",
            Resource::Pod => "Pod",
            Resource::Deployment => "Deployment",
            Resource::ReplicaSet => "ReplicaSet",
            Resource::StatefulSet => "StatefulSet",
            Resource::Event => "Event",
        }
    }

    /// The plural resource name used in paths and error messages (`pods`).
    pub fn plural(self) -> &'static str {
        match self {
            Resource::Namespace => "namespaces",
            Resource::ServiceAccount => "serviceaccounts",
            Resource::Pod => "pods",
            Resource::Deployment => "deployments",
            Resource::ReplicaSet => "replicasets",
            Resource::StatefulSet => "statefulsets",
            Resource::Event => "events",
        }
    }

    /// The singular name (discovery's `singularName`).
    pub fn singular(self) -> &'static str {
        match self {
            Resource::Namespace => "namespace",
            Resource::ServiceAccount => "serviceaccount",
            Resource::Pod => "pod",
            Resource::Deployment => "deployment",
            Resource::ReplicaSet => "replicaset",
            Resource::StatefulSet => "statefulset",
            Resource::Event => "event",
        }
    }

    /// kubectl short names.
    pub fn short_names(self) -> &'static [&'static str] {
        match self {
            Resource::Namespace => &["ns"],
            Resource::ServiceAccount => &["sa"],
            Resource::Pod => &["po"],
            Resource::Deployment => &["deploy"],
            Resource::ReplicaSet => &["rs"],
            Resource::StatefulSet => &["sts"],
            Resource::Event => &["ev"],
        }
    }

    /// Whether objects live in a namespace.
    pub fn namespaced(self) -> bool {
        !matches!(self, Resource::Namespace)
    }

    /// Whether the resource has a `status` subresource (status is then ignored on writes to
    /// the main resource, and `spec` changes bump `metadata.generation`).
    pub fn has_status(self) -> bool {
        matches!(
            self,
            Resource::Namespace
                | Resource::Pod
                | Resource::Deployment
                | Resource::ReplicaSet
                | Resource::StatefulSet
        )
    }

    /// Whether `metadata.generation` is tracked.
    pub fn tracks_generation(self) -> bool {
        matches!(
            self,
            Resource::Deployment | Resource::ReplicaSet | Resource::StatefulSet
        )
    }

    /// Finds the resource of a group and plural name.
    pub fn from_plural(group: &str, plural: &str) -> Option<Resource> {
        Resource::ALL
            .iter()
            .copied()
            .find(|r| r.group() == group && r.plural() == plural)
    }

    /// The `<plural>.<group>` name used in some error messages (`deployments.apps`).
    pub fn qualified(self) -> String {
        match self.group() {
            "" => self.plural().to_owned(),
            g => format!("{}.{g}", self.plural()),
        }
    }
}

//! The platform database: workspaces, users with their tokens and workspace roles, and
//! deployments (Houston's `Deployment` table, whose `config` column R11 reads).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::auth::WorkspaceRole;
use super::binding::Annotations;
use super::names::ReleaseName;
use super::values::DeploymentConfig;

/// A workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// Workspace id.
    pub id: Uuid,
    /// Display label.
    pub label: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A platform user.
#[derive(Debug, Clone)]
pub struct User {
    /// User id.
    pub id: Uuid,
    /// Email (also the username).
    pub email: String,
    /// Role per workspace the user belongs to.
    pub memberships: BTreeMap<Uuid, WorkspaceRole>,
}

impl User {
    /// The user's role in a workspace, if a member.
    pub fn role_in(&self, workspace: Uuid) -> Option<WorkspaceRole> {
        self.memberships.get(&workspace).copied()
    }
}

/// One deployment row.
#[derive(Debug, Clone)]
pub struct DeploymentRecord {
    /// Deployment id.
    pub id: Uuid,
    /// The workspace it belongs to.
    pub workspace_id: Uuid,
    /// Display label.
    pub label: String,
    /// Description, if set.
    pub description: Option<String>,
    /// Deployment type (`airflow`).
    pub kind: String,
    /// Release name (namespace `astronomer-<release>`).
    pub release: ReleaseName,
    /// Chart version.
    pub version: String,
    /// Config without the server-owned annotations.
    pub config: DeploymentConfig,
    /// The `serviceAccountAnnotations` the platform holds for this deployment.
    pub annotations: Annotations,
    /// Pod-template revision of the rendered chart.
    pub revision: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
}

/// The whole platform database.
#[derive(Debug, Default)]
pub struct Store {
    workspaces: BTreeMap<Uuid, Workspace>,
    users: BTreeMap<Uuid, User>,
    tokens: HashMap<String, Uuid>,
    passwords: BTreeMap<Uuid, String>,
    deployments: BTreeMap<Uuid, DeploymentRecord>,
}

impl Store {
    /// Adds a workspace.
    pub fn add_workspace(&mut self, label: &str) -> Workspace {
        let workspace = Workspace {
            id: Uuid::new_v4(),
            label: label.to_owned(),
            created_at: Utc::now(),
        };
        self.workspaces.insert(workspace.id, workspace.clone());
        workspace
    }

    /// Adds a user holding `token`, member of `workspace` with `role`.
    pub fn add_user(
        &mut self,
        email: &str,
        token: &str,
        workspace: Uuid,
        role: WorkspaceRole,
    ) -> User {
        let user = User {
            id: Uuid::new_v4(),
            email: email.to_owned(),
            memberships: BTreeMap::from([(workspace, role)]),
        };
        self.tokens.insert(token.to_owned(), user.id);
        self.users.insert(user.id, user.clone());
        user
    }

    /// Sets the password of a user (local authentication, `createToken`).
    pub fn set_password(&mut self, user: Uuid, password: &str) {
        self.passwords.insert(user, password.to_owned());
    }

    /// Local login: the user with email `identity` and this password, and a token they hold.
    pub fn login(&self, identity: &str, password: &str) -> Option<(&User, &str)> {
        let user = self.users.values().find(|u| u.email == identity)?;
        if self.passwords.get(&user.id).map(String::as_str) != Some(password) {
            return None;
        }
        let token = self
            .tokens
            .iter()
            .find(|(_, id)| **id == user.id)
            .map(|(token, _)| token.as_str())?;
        Some((user, token))
    }

    /// Every workspace, by id.
    pub fn workspaces(&self) -> impl Iterator<Item = &Workspace> {
        self.workspaces.values()
    }

    /// Every user.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.values()
    }

    /// The user holding a token.
    pub fn user_by_token(&self, token: &str) -> Option<&User> {
        self.tokens.get(token).and_then(|id| self.users.get(id))
    }

    /// A workspace by id.
    pub fn workspace(&self, id: Uuid) -> Option<&Workspace> {
        self.workspaces.get(&id)
    }

    /// A deployment by id.
    pub fn deployment(&self, id: Uuid) -> Option<&DeploymentRecord> {
        self.deployments.get(&id)
    }

    /// Every deployment, oldest id order.
    pub fn deployments(&self) -> impl Iterator<Item = &DeploymentRecord> {
        self.deployments.values()
    }

    /// Whether some deployment already uses a release name.
    pub fn release_taken(&self, release: &ReleaseName) -> bool {
        self.deployments.values().any(|d| &d.release == release)
    }

    /// Inserts or replaces a deployment row.
    pub fn put_deployment(&mut self, record: DeploymentRecord) {
        self.deployments.insert(record.id, record);
    }

    /// Removes a deployment row.
    pub fn remove_deployment(&mut self, id: Uuid) -> Option<DeploymentRecord> {
        self.deployments.remove(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::values::DeploymentConfig;

    #[test]
    fn users_are_found_by_token_and_hold_their_role() {
        let mut store = Store::default();
        let ws = store.add_workspace("w");
        let user = store.add_user("e@x", "tok", ws.id, WorkspaceRole::Editor);
        let found = store.user_by_token("tok").unwrap();
        assert_eq!(found.id, user.id);
        assert_eq!(found.role_in(ws.id), Some(WorkspaceRole::Editor));
        assert_eq!(found.role_in(Uuid::new_v4()), None);
        assert!(store.user_by_token("other").is_none());
    }

    #[test]
    fn release_names_are_tracked() {
        let mut store = Store::default();
        let release = ReleaseName::parse("a-b-0001").unwrap();
        assert!(!store.release_taken(&release));
        let now = Utc::now();
        let record = DeploymentRecord {
            id: Uuid::new_v4(),
            workspace_id: Uuid::new_v4(),
            label: "l".into(),
            description: None,
            kind: "airflow".into(),
            release: release.clone(),
            version: "0.10.3".into(),
            config: DeploymentConfig::from_input(None, None).unwrap(),
            annotations: Annotations::new(),
            revision: 1,
            created_at: now,
            updated_at: now,
        };
        let id = record.id;
        store.put_deployment(record);
        assert!(store.release_taken(&release));
        assert!(store.remove_deployment(id).is_some());
        assert!(!store.release_taken(&release));
    }
}

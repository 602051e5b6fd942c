//! Who may do what: workspace roles, Houston's permission names, and the decision whether a
//! request carrying a cloud role is allowed.
//!
//! Houston grants permissions per role; the ones that matter here are
//! `workspace.deployments.get` (every member), `workspace.deployments.create` and
//! `deployment.config.update` / `deployment.config.delete` (admins and editors) and
//! `workspace.iam.update` (Workspace Admins only), which guards `cloudRole` (R9).

use std::fmt;

use crate::faults::{Fault, FaultSet};

/// A user's role in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkspaceRole {
    /// `WORKSPACE_ADMIN`.
    Admin,
    /// `WORKSPACE_EDITOR`.
    Editor,
    /// `WORKSPACE_VIEWER`.
    Viewer,
}

impl WorkspaceRole {
    /// Every role, most privileged first.
    pub const ALL: [WorkspaceRole; 3] = [Self::Admin, Self::Editor, Self::Viewer];

    /// The role's name as Houston spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "WORKSPACE_ADMIN",
            Self::Editor => "WORKSPACE_EDITOR",
            Self::Viewer => "WORKSPACE_VIEWER",
        }
    }

    /// Whether the role holds a permission.
    pub fn grants(self, permission: Permission) -> bool {
        match permission {
            Permission::DeploymentsGet => true,
            Permission::DeploymentsCreate
            | Permission::DeploymentConfigUpdate
            | Permission::DeploymentConfigDelete => matches!(self, Self::Admin | Self::Editor),
            Permission::IamUpdate => self == Self::Admin,
        }
    }
}

impl fmt::Display for WorkspaceRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Houston permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// `workspace.deployments.get`.
    DeploymentsGet,
    /// `workspace.deployments.create`.
    DeploymentsCreate,
    /// `deployment.config.update`.
    DeploymentConfigUpdate,
    /// `deployment.config.delete`.
    DeploymentConfigDelete,
    /// `workspace.iam.update`: passing a cloud role.
    IamUpdate,
}

impl Permission {
    /// The permission's name as Houston spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeploymentsGet => "workspace.deployments.get",
            Self::DeploymentsCreate => "workspace.deployments.create",
            Self::DeploymentConfigUpdate => "deployment.config.update",
            Self::DeploymentConfigDelete => "deployment.config.delete",
            Self::IamUpdate => "workspace.iam.update",
        }
    }
}

/// A mutation that writes a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// `createDeployment`.
    Create,
    /// `updateDeployment`.
    Update,
}

/// The permission a request lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("missing permission {}", .0.as_str())]
pub struct Denied(pub Permission);

/// Decides whether a member with `role` may run `write`, passing a non-empty cloud role when
/// `with_cloud_role` is true.
///
/// Healthy: the write needs its base permission, and a cloud role additionally needs
/// `workspace.iam.update`. With [`Fault::NonAdminAccepted`] every workspace member may pass
/// a cloud role: a request that carries one is accepted whatever the member's role.
pub fn authorize_write(
    role: WorkspaceRole,
    write: Write,
    with_cloud_role: bool,
    faults: &FaultSet,
) -> Result<(), Denied> {
    if with_cloud_role && faults.has(Fault::NonAdminAccepted) {
        return Ok(());
    }
    let base = match write {
        Write::Create => Permission::DeploymentsCreate,
        Write::Update => Permission::DeploymentConfigUpdate,
    };
    let needed: &[Permission] = if with_cloud_role {
        &[base, Permission::IamUpdate]
    } else {
        &[base]
    };
    match needed.iter().find(|p| !role.grants(**p)) {
        Some(missing) => Err(Denied(*missing)),
        None => Ok(()),
    }
}

/// The token from an `authorization` header value: the raw token, or `Bearer <token>`.
/// Returns `None` for an empty value.
pub fn token_from_header(value: &str) -> Option<&str> {
    const SCHEME: &str = "bearer ";
    let value = value.trim_start();
    let token = match value.get(..SCHEME.len()) {
        Some(scheme) if scheme.eq_ignore_ascii_case(SCHEME) => {
            value.get(SCHEME.len()..).unwrap_or("")
        }
        _ => value,
    }
    .trim();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    use WorkspaceRole::{Admin, Editor, Viewer};
    use Write::{Create, Update};

    #[rstest]
    #[case(Admin, Create, false, Ok(()))]
    #[case(Admin, Create, true, Ok(()))]
    #[case(Admin, Update, true, Ok(()))]
    #[case(Editor, Create, false, Ok(()))]
    #[case(Editor, Update, false, Ok(()))]
    #[case(Editor, Create, true, Err(Denied(Permission::IamUpdate)))]
    #[case(Editor, Update, true, Err(Denied(Permission::IamUpdate)))]
    #[case(Viewer, Create, false, Err(Denied(Permission::DeploymentsCreate)))]
    #[case(Viewer, Update, false, Err(Denied(Permission::DeploymentConfigUpdate)))]
    #[case(Viewer, Create, true, Err(Denied(Permission::DeploymentsCreate)))]
    fn healthy_decisions(
        #[case] role: WorkspaceRole,
        #[case] write: Write,
        #[case] with_role: bool,
        #[case] expected: Result<(), Denied>,
    ) {
        assert_eq!(
            authorize_write(role, write, with_role, &FaultSet::none()),
            expected
        );
    }

    #[rstest]
    #[case(Editor, Create, true, Ok(()))]
    #[case(Viewer, Update, true, Ok(()))]
    #[case(Viewer, Update, false, Err(Denied(Permission::DeploymentConfigUpdate)))]
    fn non_admin_accepted_lets_members_pass_a_role(
        #[case] role: WorkspaceRole,
        #[case] write: Write,
        #[case] with_role: bool,
        #[case] expected: Result<(), Denied>,
    ) {
        let faults = FaultSet::only(Fault::NonAdminAccepted);
        assert_eq!(authorize_write(role, write, with_role, &faults), expected);
    }

    #[rstest]
    #[case("abc", Some("abc"))]
    #[case("Bearer abc", Some("abc"))]
    #[case("bearer  abc ", Some("abc"))]
    #[case("", None)]
    #[case("Bearer ", None)]
    fn header_tokens(#[case] header: &str, #[case] expected: Option<&str>) {
        assert_eq!(token_from_header(header), expected);
    }
}

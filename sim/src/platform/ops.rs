//! The platform's operations, independent of GraphQL: authenticate, create, update, delete
//! and read deployments. Every check runs before anything is written, so a refused request
//! changes nothing (R9).

use chrono::Utc;
use serde_json::Value;
use uuid::Uuid;

use super::Platform;
use super::auth::{self, Permission, WorkspaceRole, Write};
use super::binding::RoleArg;
use std::collections::BTreeMap;

use super::binding::Annotations;
use super::chart::render::Images;
use super::chart::{
    self, AIRFLOW_IMAGE, CHART_VERSION, Chart, ChartValues, Component, REVISION_ANNOTATION,
};
use super::error::PlatformError;
use super::names::ReleaseName;
use super::store::{DeploymentRecord, Store, User, Workspace};
use super::values::{DeploymentConfig, Executor};
use crate::faults::Fault;

/// How often a generated release name may collide before creation gives up.
const RELEASE_NAME_ATTEMPTS: usize = 64;

/// The authenticated user behind a request.
#[derive(Debug, Clone)]
pub struct Caller {
    user: User,
}

impl Caller {
    /// The caller's email.
    pub fn email(&self) -> &str {
        &self.user.email
    }

    /// The caller's user record (id, workspace memberships).
    pub fn user(&self) -> &super::store::User {
        &self.user
    }

    fn role_in(&self, workspace: Uuid) -> Result<WorkspaceRole, PlatformError> {
        self.user.role_in(workspace).ok_or_else(|| {
            PlatformError::forbidden(format!(
                "{} is not a member of workspace {workspace}",
                self.user.email
            ))
        })
    }

    fn require(
        &self,
        workspace: Uuid,
        permission: Permission,
    ) -> Result<WorkspaceRole, PlatformError> {
        let role = self.role_in(workspace)?;
        if role.grants(permission) {
            Ok(role)
        } else {
            Err(PlatformError::forbidden(permission.as_str()))
        }
    }
}

/// The arguments of `createDeployment`.
#[derive(Debug, Clone)]
pub struct CreateInput {
    /// `label`.
    pub label: String,
    /// `type` (defaults to `airflow`).
    pub kind: Option<String>,
    /// `workspaceUuid`.
    pub workspace_id: Uuid,
    /// `releaseName` (generated when absent or empty).
    pub release_name: Option<String>,
    /// `config`.
    pub config: Option<Value>,
    /// `executor` (later CLI versions).
    pub executor: Option<Executor>,
    /// `cloudRole`.
    pub cloud_role: RoleArg,
}

/// The arguments of `updateDeployment` (both CLI shapes).
#[derive(Debug, Clone)]
pub struct UpdateInput {
    /// `payload`: the CLI's `key=value` pairs; `label` and `description` are applied.
    pub payload: Option<Value>,
    /// `cloudRole`.
    pub cloud_role: RoleArg,
    /// `executor` (later CLI versions).
    pub executor: Option<Executor>,
    /// `config` (later CLI versions).
    pub config: Option<Value>,
}

fn kube_failure(what: &str, err: &crate::kube::ApiError) -> PlatformError {
    tracing::warn!(%err, "platform could not {what}");
    PlatformError::Internal(format!("failed to {what}: {err}"))
}

impl Platform {
    /// Resolves the token of a request to its user.
    pub fn authenticate(&self, token: Option<&str>) -> Result<Caller, PlatformError> {
        let store = self.lock();
        token
            .and_then(|t| store.user_by_token(t))
            .map(|user| Caller { user: user.clone() })
            .ok_or(PlatformError::Unauthenticated)
    }

    /// `createToken`: local login with email and password; answers with the user and a token
    /// they hold.
    pub fn create_token(
        &self,
        identity: Option<&str>,
        password: &str,
    ) -> Result<(User, String), PlatformError> {
        let store = self.lock();
        store
            .login(identity.unwrap_or_default(), password)
            .map(|(user, token)| (user.clone(), token.to_owned()))
            .ok_or_else(|| {
                PlatformError::BadUserInput("Invalid password and email combination".to_owned())
            })
    }

    /// The workspaces the caller belongs to, each with its members and their roles.
    pub fn workspaces_of(&self, caller: &Caller) -> Vec<(Workspace, Vec<(User, WorkspaceRole)>)> {
        let store = self.lock();
        store
            .workspaces()
            .filter(|w| caller.user.role_in(w.id).is_some())
            .map(|w| {
                let members = store
                    .users()
                    .filter_map(|u| u.role_in(w.id).map(|role| (u.clone(), role)))
                    .collect();
                (w.clone(), members)
            })
            .collect()
    }

    /// `createDeployment`.
    pub fn create_deployment(
        &self,
        caller: &Caller,
        input: CreateInput,
    ) -> Result<DeploymentRecord, PlatformError> {
        let mut store = self.lock();
        if store.workspace(input.workspace_id).is_none() {
            return Err(PlatformError::NotFound(format!(
                "Workspace {} not found",
                input.workspace_id
            )));
        }
        let role = caller.role_in(input.workspace_id)?;
        let with_role = input.cloud_role.non_empty().is_some();
        auth::authorize_write(role, Write::Create, with_role, &self.options.faults)
            .map_err(|denied| PlatformError::forbidden(denied.to_string()))?;

        let label = input.label.trim();
        if label.is_empty() {
            return Err(PlatformError::BadUserInput(
                "label must not be empty".to_owned(),
            ));
        }
        let config = DeploymentConfig::from_input(input.config.as_ref(), input.executor)
            .map_err(|e| PlatformError::BadUserInput(e.to_string()))?;
        let release = self.release_name(&store, input.release_name.as_deref())?;
        let annotations = self.policy.on_create(&input.cloud_role);

        let now = Utc::now();
        let record = DeploymentRecord {
            id: Uuid::new_v4(),
            workspace_id: input.workspace_id,
            label: label.to_owned(),
            description: None,
            kind: input
                .kind
                .filter(|k| !k.is_empty())
                .unwrap_or_else(|| "airflow".to_owned()),
            release,
            version: CHART_VERSION.to_owned(),
            config,
            annotations,
            revision: 1,
            created_at: now,
            updated_at: now,
        };
        Chart::new(&*self.kube)
            .install(&self.chart_values(&record))
            .map_err(|err| match err.code {
                409 => PlatformError::BadUserInput(format!(
                    "The release name {} is already in use",
                    record.release
                )),
                _ => kube_failure("install the deployment", &err),
            })?;
        if !record.annotations.is_empty() {
            self.leak(&store, &record)?;
        }
        store.put_deployment(record.clone());
        Ok(record)
    }

    /// `updateDeployment`.
    pub fn update_deployment(
        &self,
        caller: &Caller,
        id: Uuid,
        input: UpdateInput,
    ) -> Result<DeploymentRecord, PlatformError> {
        let mut store = self.lock();
        let current = store.deployment(id).cloned().ok_or_else(|| not_found(id))?;
        let role = caller.role_in(current.workspace_id)?;
        let with_role = input.cloud_role.non_empty().is_some();
        auth::authorize_write(role, Write::Update, with_role, &self.options.faults)
            .map_err(|denied| PlatformError::forbidden(denied.to_string()))?;

        let mut next = current.clone();
        apply_payload(&mut next, input.payload.as_ref())?;
        next.config
            .merge(input.config.as_ref(), input.executor)
            .map_err(|e| PlatformError::BadUserInput(e.to_string()))?;
        let role_update = self
            .policy
            .on_update(&current.annotations, &input.cloud_role);
        let rolls = role_update.role_written || role_update.changed(&current.annotations);
        next.annotations = role_update.annotations;
        if rolls {
            next.revision = current.revision.saturating_add(1);
        }
        next.updated_at = Utc::now();

        Chart::new(&*self.kube)
            .upgrade(&self.chart_values(&current), &self.chart_values(&next))
            .map_err(|err| kube_failure("upgrade the deployment", &err))?;
        if role_update.role_written {
            self.leak(&store, &next)?;
        }
        store.put_deployment(next.clone());
        Ok(next)
    }

    /// `deleteDeployment`: removes the row and the release's namespace.
    pub fn delete_deployment(
        &self,
        caller: &Caller,
        id: Uuid,
    ) -> Result<DeploymentRecord, PlatformError> {
        let mut store = self.lock();
        let current = store.deployment(id).cloned().ok_or_else(|| not_found(id))?;
        caller.require(current.workspace_id, Permission::DeploymentConfigDelete)?;
        Chart::new(&*self.kube)
            .uninstall(&self.chart_values(&current).namespace)
            .map_err(|err| kube_failure("delete the deployment", &err))?;
        store.remove_deployment(id);
        Ok(current)
    }

    /// One deployment, if the caller may see it.
    pub fn deployment(&self, caller: &Caller, id: Uuid) -> Result<DeploymentRecord, PlatformError> {
        let store = self.lock();
        let record = store.deployment(id).cloned().ok_or_else(|| not_found(id))?;
        caller.require(record.workspace_id, Permission::DeploymentsGet)?;
        Ok(record)
    }

    /// Deployments of one workspace (or of every workspace the caller belongs to),
    /// optionally only the one with `release_name`.
    pub fn deployments(
        &self,
        caller: &Caller,
        workspace: Option<Uuid>,
        release_name: Option<&str>,
    ) -> Result<Vec<DeploymentRecord>, PlatformError> {
        let store = self.lock();
        if let Some(workspace) = workspace {
            if store.workspace(workspace).is_none() {
                return Err(PlatformError::NotFound(format!(
                    "Workspace {workspace} not found"
                )));
            }
            caller.require(workspace, Permission::DeploymentsGet)?;
        }
        let visible = |record: &&DeploymentRecord| match workspace {
            Some(ws) => record.workspace_id == ws,
            None => caller.user.role_in(record.workspace_id).is_some(),
        };
        Ok(store
            .deployments()
            .filter(visible)
            .filter(|r| release_name.is_none_or(|name| r.release.as_str() == name))
            .cloned()
            .collect())
    }

    /// The release name of a new deployment: the requested one when `manualReleaseNames` is
    /// on, otherwise (and when none was requested) a generated one; Houston ignores a
    /// requested name when the setting is off.
    fn release_name(
        &self,
        store: &Store,
        requested: Option<&str>,
    ) -> Result<ReleaseName, PlatformError> {
        let requested = requested.filter(|_| self.options.manual_release_names);
        match requested.map(str::trim).filter(|n| !n.is_empty()) {
            Some(name) => {
                let release = ReleaseName::parse(name)
                    .map_err(|e| PlatformError::BadUserInput(e.to_string()))?;
                if store.release_taken(&release) {
                    return Err(PlatformError::BadUserInput(format!(
                        "The release name {release} is already in use"
                    )));
                }
                Ok(release)
            }
            None => {
                let mut rng = rand::rng();
                std::iter::repeat_with(|| ReleaseName::generate(&mut rng))
                    .take(RELEASE_NAME_ATTEMPTS)
                    .find(|r| !store.release_taken(r))
                    .ok_or_else(|| {
                        PlatformError::Internal("could not generate a free release name".to_owned())
                    })
            }
        }
    }

    /// The chart values Houston passes Helm for `record` (with the platform's faults applied
    /// to the ServiceAccount annotations).
    fn chart_values(&self, record: &DeploymentRecord) -> ChartValues {
        ChartValues {
            release: record.release.clone(),
            namespace: self.namespace_of(&record.release),
            namespace_labels: BTreeMap::from([(
                "platform-release".to_owned(),
                self.options.platform_namespace.clone(),
            )]),
            chart_version: CHART_VERSION.to_owned(),
            executor: record.config.executor(),
            service_account_annotations: Component::ALL
                .into_iter()
                .map(|component| {
                    let annotations = chart::service_account_annotations(
                        component,
                        &record.annotations,
                        &self.options.faults,
                    );
                    (component, annotations)
                })
                .collect(),
            airflow_pod_annotations: Annotations::from([(
                REVISION_ANNOTATION.to_owned(),
                record.revision.to_string(),
            )]),
            worker_persistence: self.options.worker_persistence,
            elasticsearch: true,
            images: Images {
                airflow: AIRFLOW_IMAGE.to_owned(),
                default_airflow: AIRFLOW_IMAGE.to_owned(),
                pull_policy: "IfNotPresent".to_owned(),
            },
        }
    }

    /// The namespace of a release, as Houston builds it: `<platform namespace>-<release>`.
    pub fn namespace_of(&self, release: &ReleaseName) -> String {
        format!("{}-{release}", self.options.platform_namespace)
    }

    /// [`Fault::CrossDeploymentLeak`]: writes `record`'s annotations onto every other release.
    fn leak(&self, store: &Store, record: &DeploymentRecord) -> Result<(), PlatformError> {
        if !self.options.faults.has(Fault::CrossDeploymentLeak) {
            return Ok(());
        }
        let chart = Chart::new(&*self.kube);
        for other in store.deployments().filter(|d| d.id != record.id) {
            chart
                .leak_into(&self.chart_values(other), &record.annotations)
                .map_err(|err| kube_failure("annotate another deployment", &err))?;
        }
        Ok(())
    }
}

fn not_found(id: Uuid) -> PlatformError {
    PlatformError::NotFound(format!("Deployment {id} not found"))
}

/// Applies `updateDeployment`'s `payload`: `label` and `description` are written; other
/// keys are settings this sim does not model and are ignored.
fn apply_payload(
    record: &mut DeploymentRecord,
    payload: Option<&Value>,
) -> Result<(), PlatformError> {
    let map = match payload {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(map)) => map,
        Some(_) => {
            return Err(PlatformError::BadUserInput(
                "payload must be a JSON object".to_owned(),
            ));
        }
    };
    for (key, value) in map {
        let text = || {
            value.as_str().map(str::to_owned).ok_or_else(|| {
                PlatformError::BadUserInput(format!("payload.{key} must be a string"))
            })
        };
        match key.as_str() {
            "label" => {
                let label = text()?;
                if label.trim().is_empty() {
                    return Err(PlatformError::BadUserInput(
                        "label must not be empty".to_owned(),
                    ));
                }
                record.label = label;
            }
            "description" => record.description = Some(text()?),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;
    use crate::platform::binding::Annotations;

    fn record() -> DeploymentRecord {
        let now = Utc::now();
        DeploymentRecord {
            id: Uuid::new_v4(),
            workspace_id: Uuid::new_v4(),
            label: "old".into(),
            description: None,
            kind: "airflow".into(),
            release: ReleaseName::parse("a-b-0001").unwrap(),
            version: CHART_VERSION.into(),
            config: DeploymentConfig::from_input(None, None).unwrap(),
            annotations: Annotations::new(),
            revision: 1,
            created_at: now,
            updated_at: now,
        }
    }

    #[rstest]
    #[case(None, "old", None)]
    #[case(Some(json!({"label": "new"})), "new", None)]
    #[case(Some(json!({"description": "d", "unknown": 3})), "old", Some("d"))]
    fn payload_applies_label_and_description(
        #[case] payload: Option<Value>,
        #[case] label: &str,
        #[case] description: Option<&str>,
    ) {
        let mut r = record();
        apply_payload(&mut r, payload.as_ref()).unwrap();
        assert_eq!(r.label, label);
        assert_eq!(r.description.as_deref(), description);
    }

    #[rstest]
    #[case(json!("label=x"))]
    #[case(json!({"label": 1}))]
    #[case(json!({"label": " "}))]
    fn bad_payload_is_user_input_error(#[case] payload: Value) {
        let err = apply_payload(&mut record(), Some(&payload)).unwrap_err();
        assert_eq!(err.code(), "BAD_USER_INPUT");
    }
}

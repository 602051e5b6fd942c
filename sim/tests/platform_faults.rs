//! Each platform fault switch breaks its one documented behaviour, visibly through the APIs
//! a harness reads (platform GraphQL and Kubernetes).

mod platform_common;

use platform_common::{Env, KEY, ROLE_A, ROLE_B, as_string, error_code};
use rolecheck_sim::{Fault, FaultSet, SimConfig};
use rstest::rstest;
use serde_json::{Value, json};

const COMPONENTS: [&str; 3] = ["webserver", "scheduler", "worker"];

async fn env_with(fault: Fault) -> Env {
    Env::start(SimConfig {
        faults: FaultSet::only(fault),
        ..SimConfig::default()
    })
    .await
}

async fn annotations_by_component(env: &Env, release: &str) -> Vec<Value> {
    let mut all = Vec::new();
    for component in COMPONENTS {
        all.push(env.sa_annotations(release, component).await);
    }
    all
}

#[tokio::test]
async fn annotation_never_written_stores_config_only() {
    let env = env_with(Fault::AnnotationNeverWritten).await;
    let (_, release) = env.create_ok("never-written", ROLE_A).await;
    assert_eq!(
        annotations_by_component(&env, &release).await,
        vec![json!({}); 3]
    );
    assert_eq!(
        env.config_of(&release).await["serviceAccountAnnotations"],
        json!({KEY: ROLE_A})
    );
}

#[tokio::test]
async fn create_ignores_role_but_update_binds() {
    let env = env_with(Fault::CreateIgnoresRole).await;
    let (id, release) = env.create_ok("create-ignores", ROLE_A).await;
    assert_eq!(
        annotations_by_component(&env, &release).await,
        vec![json!({}); 3]
    );
    assert!(
        env.config_of(&release)
            .await
            .get("serviceAccountAnnotations")
            .is_none()
    );
    env.update("ADMIN", &id, Some(json!(ROLE_A))).await;
    assert_eq!(
        annotations_by_component(&env, &release).await,
        vec![json!({KEY: ROLE_A}); 3]
    );
}

#[tokio::test]
async fn update_ignores_role() {
    let env = env_with(Fault::UpdateIgnoresRole).await;
    let (id, release) = env.create_ok("update-ignores", ROLE_A).await;
    let body = env.update("ADMIN", &id, Some(json!(ROLE_B))).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(
        annotations_by_component(&env, &release).await,
        vec![json!({KEY: ROLE_A}); 3]
    );
}

#[tokio::test]
async fn wrong_annotation_key() {
    let env = env_with(Fault::WrongAnnotationKey).await;
    let (_, release) = env.create_ok("wrong-key", ROLE_A).await;
    let expected = json!({"eks.amazonaws.com/role": ROLE_A});
    assert_eq!(
        annotations_by_component(&env, &release).await,
        vec![expected; 3]
    );
}

#[tokio::test]
async fn partial_components_annotates_only_the_scheduler() {
    let env = env_with(Fault::PartialComponents).await;
    let (_, release) = env.create_ok("partial", ROLE_A).await;
    assert_eq!(
        annotations_by_component(&env, &release).await,
        vec![json!({}), json!({KEY: ROLE_A}), json!({})]
    );
}

#[rstest]
#[case::empty(json!(""))]
#[case::null(Value::Null)]
#[tokio::test]
async fn annotation_removable(#[case] cloud_role: Value) {
    let env = env_with(Fault::AnnotationRemovable).await;
    let (id, release) = env.create_ok("removable", ROLE_A).await;
    env.update("ADMIN", &id, Some(cloud_role)).await;
    assert_eq!(
        annotations_by_component(&env, &release).await,
        vec![json!({}); 3]
    );
    assert!(
        env.config_of(&release)
            .await
            .get("serviceAccountAnnotations")
            .is_none()
    );
}

#[rstest]
#[case::editor("EDITOR")]
#[case::viewer("VIEWER")]
#[tokio::test]
async fn non_admin_accepted(#[case] role: &str) {
    let env = env_with(Fault::NonAdminAccepted).await;
    let body = env.create(role, Some("non-admin"), ROLE_A).await;
    assert!(body.get("errors").is_none(), "{body}");
    let release = as_string(&body["data"]["createDeployment"]["releaseName"]);
    assert_eq!(
        annotations_by_component(&env, &release).await,
        vec![json!({KEY: ROLE_A}); 3]
    );
}

#[tokio::test]
async fn non_admin_accepted_keeps_viewers_out_without_a_role() {
    let env = env_with(Fault::NonAdminAccepted).await;
    let body = env.create("VIEWER", Some("viewer-plain"), "").await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
}

#[tokio::test]
async fn cross_deployment_leak() {
    let env = env_with(Fault::CrossDeploymentLeak).await;
    let (_, other) = env.create_ok("bystander", "").await;
    env.create_ok("bound", ROLE_A).await;
    assert_eq!(
        annotations_by_component(&env, &other).await,
        vec![json!({KEY: ROLE_A}); 3]
    );
    assert!(
        env.config_of(&other)
            .await
            .get("serviceAccountAnnotations")
            .is_none()
    );
}

#[tokio::test]
async fn role_appended() {
    let env = env_with(Fault::RoleAppended).await;
    let (id, release) = env.create_ok("appended", ROLE_A).await;
    env.update("ADMIN", &id, Some(json!(ROLE_B))).await;
    let expected = json!({KEY: format!("{ROLE_A},{ROLE_B}")});
    assert_eq!(
        annotations_by_component(&env, &release).await,
        vec![expected; 3]
    );
}

#[tokio::test]
async fn config_not_stored() {
    let env = env_with(Fault::ConfigNotStored).await;
    let (_, release) = env.create_ok("not-stored", ROLE_A).await;
    assert_eq!(
        annotations_by_component(&env, &release).await,
        vec![json!({KEY: ROLE_A}); 3]
    );
    assert_eq!(
        env.config_of(&release).await,
        json!({"executor": "CeleryExecutor"})
    );
}

#[tokio::test]
async fn ignore_annotation_key_config() {
    let env = Env::start(SimConfig {
        faults: FaultSet::only(Fault::IgnoreAnnotationKeyConfig),
        service_account_annotation_key: None,
        ..SimConfig::default()
    })
    .await;
    let (_, release) = env.create_ok("key-unset", ROLE_A).await;
    let expected = json!({"eks.amazonaws.com/role-arn": ROLE_A});
    assert_eq!(
        annotations_by_component(&env, &release).await,
        vec![expected; 3]
    );
}

//! The platform GraphQL API end to end: transport, authentication, permissions (R9), the
//! objects the chart renders (R2, R4, R11), update semantics (R3, R6, R10, R16), R1 and
//! deletion. Queries are spelled as the `astro` CLI of the v0.16 era spells them.

mod platform_common;

use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt as _;
use kube::api::Api;
use kube::runtime::wait::{await_condition, conditions};
use kube::runtime::{WatchStreamExt as _, watcher};
use platform_common::{
    CREATE, DELETE, Env, KEY, ROLE_A, ROLE_B, UPDATE_WITH_EXECUTOR, as_string, error_code,
    kube_client, within,
};
use reqwest::StatusCode;
use rolecheck_sim::SimConfig;
use rstest::rstest;
use serde_json::{Value, json};

const COMPONENTS: [&str; 3] = ["webserver", "scheduler", "worker"];

/// A sim whose platform honours requested release names (`manualReleaseNames` on).
fn manual_names() -> SimConfig {
    SimConfig {
        manual_release_names: true,
        ..SimConfig::default()
    }
}

fn revision(workload: &Value) -> String {
    as_string(&workload["spec"]["template"]["metadata"]["annotations"]["rolecheck.sim/revision"])
}

#[tokio::test]
async fn app_config_answers_without_a_token() {
    let env = Env::start(SimConfig::default()).await;
    let query =
        "query AppConfig { appConfig { version baseDomain smtpConfigured manualReleaseNames } }";
    let (status, body) = env.post(None, json!({"query": query})).await;
    assert_eq!(status, StatusCode::OK);
    let config = &body["data"]["appConfig"];
    assert_eq!(config["version"], "0.16.0");
    // Houston's default: the platform names releases itself.
    assert_eq!(config["manualReleaseNames"], false);
    let manual = Env::start(SimConfig {
        manual_release_names: true,
        ..SimConfig::default()
    })
    .await;
    let (_, body) = manual.post(None, json!({"query": query})).await;
    assert_eq!(body["data"]["appConfig"]["manualReleaseNames"], true);
    assert_eq!(config["smtpConfigured"], false);
    assert!(config["baseDomain"].as_str().is_some_and(|d| !d.is_empty()));
}

#[tokio::test]
async fn admin_create_with_role_binds_every_component() {
    let env = Env::start(manual_names()).await;
    let body = env
        .create("ADMIN", Some("arithmetic-radiation-6756"), ROLE_A)
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let created = &body["data"]["createDeployment"];
    assert_eq!(created["releaseName"], "arithmetic-radiation-6756");
    assert_eq!(created["type"], "airflow");
    assert_eq!(created["label"], "test deployment");
    assert!(uuid::Uuid::parse_str(&as_string(&created["id"])).is_ok());
    assert_eq!(created["urls"][0]["type"], "airflow");
    assert!(
        created["createdAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    let release = "arithmetic-radiation-6756";
    let (status, ns) = env
        .kube_get(&format!("/api/v1/namespaces/astronomer-{release}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ns["metadata"]["labels"]["platform-release"], "astronomer");
    for component in COMPONENTS {
        let sa = env.service_account(release, component).await;
        assert_eq!(sa["metadata"]["annotations"][KEY], ROLE_A, "{component}");
        assert_eq!(sa["metadata"]["labels"]["release"], release);
        let workload = env
            .workload(release, component)
            .await
            .expect("workload exists");
        let pod_spec = &workload["spec"]["template"]["spec"];
        assert_eq!(
            pod_spec["serviceAccountName"],
            format!("{release}-{component}-serviceaccount")
        );
        assert_eq!(pod_spec["containers"][0]["name"], component);
        assert_eq!(
            workload["spec"]["template"]["metadata"]["labels"]["component"],
            component
        );
    }
    assert_eq!(
        env.config_of(release).await,
        json!({"executor": "CeleryExecutor", "serviceAccountAnnotations": {KEY: ROLE_A}})
    );
}

#[rstest]
#[case::local("LocalExecutor", false)]
#[case::kubernetes("KubernetesExecutor", false)]
#[case::celery("CeleryExecutor", true)]
#[tokio::test]
async fn workers_run_only_with_celery(#[case] executor: &str, #[case] worker: bool) {
    let env = Env::start(manual_names()).await;
    let vars = json!({
        "label": "x", "workspaceId": env.endpoints().workspace_id, "releaseName": "exec-test",
        "config": {"executor": executor}, "cloudRole": "",
    });
    let body = env.gql("ADMIN", CREATE, vars).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(env.workload("exec-test", "worker").await.is_some(), worker);
    assert!(env.workload("exec-test", "scheduler").await.is_some());
    assert_eq!(
        env.config_of("exec-test").await,
        json!({"executor": executor})
    );
}

#[tokio::test]
async fn generated_release_names_have_houston_shape() {
    let env = Env::start(SimConfig::default()).await;
    let body = env.create("ADMIN", None, "").await;
    let release = as_string(&body["data"]["createDeployment"]["releaseName"]);
    let parts: Vec<&str> = release.split('-').collect();
    assert_eq!(parts.len(), 3, "{release}");
    assert!(
        parts[2].len() == 4 && parts[2].chars().all(|c| c.is_ascii_digit()),
        "{release}"
    );
    env.service_account(&release, "worker").await;
}

#[rstest]
#[case::houston_default(false)]
#[case::manual(true)]
#[tokio::test]
async fn a_requested_release_name_is_honoured_only_with_manual_release_names(#[case] manual: bool) {
    let env = Env::start(SimConfig {
        manual_release_names: manual,
        ..SimConfig::default()
    })
    .await;
    let body = env.create("ADMIN", Some("asked-for-0001"), ROLE_A).await;
    assert!(body.get("errors").is_none(), "{body}");
    let release = as_string(&body["data"]["createDeployment"]["releaseName"]);
    if manual {
        assert_eq!(release, "asked-for-0001");
    } else {
        assert_ne!(release, "asked-for-0001");
        assert_eq!(release.split('-').count(), 3, "{release}");
    }
    // The namespace is `<platform namespace>-<release>`, and only the platform's name exists.
    let (status, _) = env
        .kube_get(&format!("/api/v1/namespaces/astronomer-{release}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (asked, _) = env
        .kube_get("/api/v1/namespaces/astronomer-asked-for-0001")
        .await;
    assert_eq!(asked == StatusCode::OK, manual);
    // The worker is a StatefulSet whose first pod is `<release>-worker-0`.
    let worker = env.workload(&release, "worker").await.expect("worker");
    assert_eq!(worker["kind"], "StatefulSet");
    let pods: Api<Pod> = Api::namespaced(kube_client(&env).await, &format!("astronomer-{release}"));
    let pod = first_pod(&pods, &format!("component=worker,release={release}"), None).await;
    assert_eq!(pod.name_any(), format!("{release}-worker-0"));
}

#[rstest]
#[case::persistent(true, "StatefulSet")]
#[case::ephemeral(false, "Deployment")]
#[tokio::test]
async fn worker_kind_follows_the_worker_persistence_setting(
    #[case] persistence: bool,
    #[case] kind: &str,
) {
    let env = Env::start(SimConfig {
        worker_persistence: persistence,
        ..SimConfig::default()
    })
    .await;
    let (_, release) = env.create_ok("persistence", ROLE_A).await;
    let worker = env.workload(&release, "worker").await.expect("worker");
    assert_eq!(worker["kind"], kind);
    let containers: Vec<&str> = worker["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let expected: &[&str] = if persistence {
        &["worker", "worker-gc"]
    } else {
        &["worker"]
    };
    assert_eq!(containers, expected);
}

#[rstest]
#[case::duplicate("dup-name", "dup-name")]
#[case::not_dns("dup-name", "Not_A_Label")]
#[tokio::test]
async fn refused_release_names_are_bad_user_input(#[case] first: &str, #[case] second: &str) {
    let env = Env::start(manual_names()).await;
    env.create_ok(first, "").await;
    let body = env.create("ADMIN", Some(second), "").await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["data"], Value::Null);
    assert_eq!(env.deployment_count().await, 1);
}

#[rstest]
#[case::editor_with_role("EDITOR", ROLE_A, "FORBIDDEN")]
#[case::viewer_with_role("VIEWER", ROLE_A, "FORBIDDEN")]
#[case::viewer_without_role("VIEWER", "", "FORBIDDEN")]
#[tokio::test]
async fn create_is_refused_and_changes_nothing(
    #[case] role: &str,
    #[case] cloud_role: &str,
    #[case] code: &str,
) {
    let env = Env::start(SimConfig::default()).await;
    let body = env.create(role, Some("refused"), cloud_role).await;
    assert_eq!(error_code(&body), code, "{body}");
    assert_eq!(body["data"], Value::Null);
    assert_eq!(body["errors"][0]["path"], json!(["createDeployment"]));
    assert_eq!(
        body["errors"][0]["message"],
        "You do not have the appropriate permissions for that"
    );
    assert!(body["errors"][0]["locations"].is_array());
    let (status, _) = env.kube_get("/api/v1/namespaces/astronomer-refused").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(env.deployment_count().await, 0);
}

#[tokio::test]
async fn editor_may_create_and_update_without_a_role() {
    let env = Env::start(SimConfig::default()).await;
    let body = env.create("EDITOR", Some("by-editor"), "").await;
    assert!(body.get("errors").is_none(), "{body}");
    let id = as_string(&body["data"]["createDeployment"]["id"]);
    let release = as_string(&body["data"]["createDeployment"]["releaseName"]);
    let updated = env.update("EDITOR", &id, Some(json!(""))).await;
    assert_eq!(
        updated["data"]["updateDeployment"]["label"], "renamed",
        "{updated}"
    );
    assert_eq!(env.sa_annotations(&release, "worker").await, json!({}));
}

#[rstest]
#[case::editor("EDITOR")]
#[case::viewer("VIEWER")]
#[tokio::test]
async fn non_admin_update_with_role_is_refused_and_keeps_the_role(#[case] role: &str) {
    let env = Env::start(SimConfig::default()).await;
    let (id, release) = env.create_ok("keep-role", ROLE_A).await;
    let before = env
        .workload(&release, "scheduler")
        .await
        .expect("scheduler");
    let body = env.update(role, &id, Some(json!(ROLE_B))).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    assert_eq!(body["errors"][0]["path"], json!(["updateDeployment"]));
    for component in COMPONENTS {
        assert_eq!(
            env.sa_annotations(&release, component).await,
            json!({KEY: ROLE_A})
        );
    }
    let after = env
        .workload(&release, "scheduler")
        .await
        .expect("scheduler");
    assert_eq!(revision(&before), revision(&after));
}

#[tokio::test]
async fn update_replaces_the_role_and_rolls_the_pods() {
    let env = Env::start(SimConfig::default()).await;
    let (id, release) = env.create_ok("rebind", ROLE_A).await;
    let before = env.workload(&release, "worker").await.expect("worker");
    let body = env.update("ADMIN", &id, Some(json!(ROLE_B))).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(
        body["data"]["updateDeployment"]["workspace"]["id"],
        env.endpoints().workspace_id.as_str()
    );
    for component in COMPONENTS {
        assert_eq!(
            env.sa_annotations(&release, component).await,
            json!({KEY: ROLE_B}),
            "{component}"
        );
    }
    let after = env.workload(&release, "worker").await.expect("worker");
    assert_ne!(revision(&before), revision(&after));
    assert_eq!(
        env.config_of(&release).await["serviceAccountAnnotations"],
        json!({KEY: ROLE_B})
    );
}

#[rstest]
#[case::empty(Some(json!("")))]
#[case::null(Some(Value::Null))]
#[case::omitted(None)]
#[tokio::test]
async fn update_without_a_role_keeps_the_annotation(#[case] cloud_role: Option<Value>) {
    let env = Env::start(SimConfig::default()).await;
    let (id, release) = env.create_ok("no-delete", ROLE_A).await;
    let body = env.update("ADMIN", &id, cloud_role).await;
    assert!(body.get("errors").is_none(), "{body}");
    for component in COMPONENTS {
        assert_eq!(
            env.sa_annotations(&release, component).await,
            json!({KEY: ROLE_A})
        );
    }
    assert_eq!(
        env.config_of(&release).await["serviceAccountAnnotations"],
        json!({KEY: ROLE_A})
    );
}

#[tokio::test]
async fn later_update_shape_with_executor_is_accepted() {
    let env = Env::start(SimConfig::default()).await;
    let (id, release) = env.create_ok("later-shape", "").await;
    let vars = json!({"deploymentId": id, "payload": {}, "executor": "LocalExecutor", "cloudRole": ROLE_A});
    let body = env.gql("ADMIN", UPDATE_WITH_EXECUTOR, vars).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert!(env.workload(&release, "worker").await.is_none());
    assert_eq!(
        env.sa_annotations(&release, "scheduler").await,
        json!({KEY: ROLE_A})
    );
    assert_eq!(
        env.config_of(&release).await,
        json!({"executor": "LocalExecutor", "serviceAccountAnnotations": {KEY: ROLE_A}})
    );
}

#[tokio::test]
async fn without_the_key_configured_no_annotation_is_written() {
    let config = SimConfig {
        service_account_annotation_key: None,
        ..SimConfig::default()
    };
    let env = Env::start(config).await;
    let (id, release) = env.create_ok("feature-off", ROLE_A).await;
    env.update("ADMIN", &id, Some(json!(ROLE_B))).await;
    for component in COMPONENTS {
        assert_eq!(env.sa_annotations(&release, component).await, json!({}));
    }
    assert_eq!(
        env.config_of(&release).await,
        json!({"executor": "CeleryExecutor"})
    );
}

#[tokio::test]
async fn roles_are_scoped_to_one_deployment() {
    let env = Env::start(SimConfig::default()).await;
    let (_, other) = env.create_ok("without-role", "").await;
    let (id, bound) = env.create_ok("with-role", ROLE_A).await;
    env.update("ADMIN", &id, Some(json!(ROLE_B))).await;
    assert_eq!(
        env.sa_annotations(&bound, "worker").await,
        json!({KEY: ROLE_B})
    );
    for component in COMPONENTS {
        assert_eq!(env.sa_annotations(&other, component).await, json!({}));
    }
    assert_eq!(
        env.config_of(&other).await,
        json!({"executor": "CeleryExecutor"})
    );
}

#[rstest]
#[case::no_header(None)]
#[case::unknown_token(Some("not-a-token"))]
#[case::unknown_bearer(Some("Bearer not-a-token"))]
#[tokio::test]
async fn requests_without_a_valid_token_are_unauthenticated(#[case] token: Option<&str>) {
    let env = Env::start(SimConfig::default()).await;
    let vars = json!({"label": "x", "workspaceId": env.endpoints().workspace_id,
                      "config": {"executor": "CeleryExecutor"}, "cloudRole": ""});
    let (status, body) = env
        .post(token, json!({"query": CREATE, "variables": vars}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    assert_eq!(body["data"], Value::Null);
    assert_eq!(env.deployment_count().await, 0);
}

#[tokio::test]
async fn bearer_prefix_is_accepted() {
    let env = Env::start(SimConfig::default()).await;
    let token = format!("Bearer {}", env.token("ADMIN"));
    let query = "query { deployments { id } }";
    let (_, body) = env.post(Some(&token), json!({"query": query})).await;
    assert_eq!(body["data"]["deployments"], json!([]), "{body}");
}

#[rstest]
#[case::not_json("{not json", StatusCode::BAD_REQUEST, "BAD_REQUEST")]
#[case::no_query(r#"{"variables": {}}"#, StatusCode::BAD_REQUEST, "BAD_REQUEST")]
#[case::syntax(
    r#"{"query": "mutation {"}"#,
    StatusCode::OK,
    "GRAPHQL_VALIDATION_FAILED"
)]
#[case::unknown_field(
    r#"{"query": "query { nope }"}"#,
    StatusCode::OK,
    "GRAPHQL_VALIDATION_FAILED"
)]
#[case::bad_uuid(
    r#"{"query": "mutation { deleteDeployment(deploymentUuid: \"x\") { id } }"}"#,
    StatusCode::OK,
    "BAD_USER_INPUT"
)]
#[tokio::test]
async fn malformed_requests_get_graphql_errors(
    #[case] body: &str,
    #[case] status: StatusCode,
    #[case] code: &str,
) {
    let env = Env::start(SimConfig::default()).await;
    let response = reqwest::Client::new()
        .post(&env.endpoints().platform_url)
        .header("authorization", env.token("ADMIN"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("platform answers");
    assert_eq!(response.status(), status);
    let json: Value = response.json().await.expect("JSON error body");
    assert_eq!(error_code(&json), code, "{json}");
    assert!(
        json["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

#[tokio::test]
async fn unknown_deployment_is_not_found() {
    let env = Env::start(SimConfig::default()).await;
    let id = uuid::Uuid::new_v4().to_string();
    let body = env.update("ADMIN", &id, Some(json!(ROLE_A))).await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
}

#[tokio::test]
async fn delete_removes_the_deployment_and_its_namespace() {
    let env = Env::start(SimConfig::default()).await;
    let (id, release) = env.create_ok("to-delete", ROLE_A).await;
    let viewer = env.gql("VIEWER", DELETE, json!({"deploymentId": id})).await;
    assert_eq!(error_code(&viewer), "FORBIDDEN", "{viewer}");
    let body = env.gql("ADMIN", DELETE, json!({"deploymentId": id})).await;
    assert_eq!(
        body["data"]["deleteDeployment"]["releaseName"],
        release.as_str(),
        "{body}"
    );
    let (status, _) = env
        .kube_get(&format!("/api/v1/namespaces/astronomer-{release}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(env.deployment_count().await, 0);
    let query = "query Q($id: String!) { deployment(where: {id: $id}) { id } }";
    let again = env.gql("ADMIN", query, json!({"id": id})).await;
    assert_eq!(error_code(&again), "NOT_FOUND", "{again}");
}

#[tokio::test]
async fn single_deployment_query_by_where_id() {
    let env = Env::start(SimConfig::default()).await;
    let (id, release) = env.create_ok("lookup", ROLE_A).await;
    let query = "query Q($id: String!) { deployment(where: {id: $id}) { id releaseName config } }";
    let body = env.gql("VIEWER", query, json!({"id": id})).await;
    assert_eq!(
        body["data"]["deployment"]["releaseName"],
        release.as_str(),
        "{body}"
    );
    assert_eq!(
        body["data"]["deployment"]["config"]["serviceAccountAnnotations"][KEY],
        ROLE_A
    );
}

/// The first pod matching `selector` whose uid is not `except`, as a watch delivers it.
async fn first_pod(pods: &Api<Pod>, selector: &str, except: Option<&str>) -> Pod {
    let stream =
        watcher(pods.clone(), watcher::Config::default().labels(selector)).applied_objects();
    let mut matching = std::pin::pin!(stream.try_filter(|pod| {
        let keep = pod.metadata.deletion_timestamp.is_none() && pod.uid().as_deref() != except;
        std::future::ready(keep)
    }));
    within(matching.next())
        .await
        .expect("watch stays open")
        .expect("watch succeeds")
}

#[tokio::test]
async fn update_with_a_role_replaces_existing_pods() {
    let env = Env::start(SimConfig::default()).await;
    let (id, release) = env.create_ok("rolling", ROLE_A).await;
    let pods: Api<Pod> = Api::namespaced(kube_client(&env).await, &format!("astronomer-{release}"));
    let selector = format!("component=worker,release={release}");
    let old = first_pod(&pods, &selector, None).await;
    let old_uid = old.uid().expect("uid");

    let body = env.update("ADMIN", &id, Some(json!(ROLE_B))).await;
    assert!(body.get("errors").is_none(), "{body}");

    let new = first_pod(&pods, &selector, Some(&old_uid)).await;
    let spec = new.spec.as_ref().expect("pod spec");
    assert_eq!(
        spec.service_account_name.as_deref(),
        Some(format!("{release}-worker-serviceaccount").as_str())
    );
    // The worker is a StatefulSet (worker persistence, the chart's default): the pod keeps
    // its name and comes back from the new revision.
    assert_eq!(new.name_any(), format!("{release}-worker-0"));
    assert_ne!(
        new.labels().get("controller-revision-hash"),
        old.labels().get("controller-revision-hash")
    );
    within(await_condition(
        pods,
        &old.name_any(),
        conditions::is_deleted(&old_uid),
    ))
    .await
    .expect("old pod is deleted");
}

/// `self` answers the token the request carried (as Houston's `AuthUser` does), and a user
/// nested anywhere (in a workspace's role bindings, its users, a binding's user) has its
/// role bindings, as Houston's relations resolve them.
#[tokio::test]
async fn self_answers_the_token_and_nested_users_have_their_role_bindings() {
    let env = Env::start(SimConfig::default()).await;
    let token = env.token("ADMIN");
    let answer = env
        .gql(
            "ADMIN",
            "{ self { token { value } user { username roleBindings { role user { roleBindings { role } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(answer["data"]["self"]["token"]["value"], token, "{answer}");
    let bindings = &answer["data"]["self"]["user"]["roleBindings"];
    assert_eq!(bindings[0]["role"], "WORKSPACE_ADMIN", "{answer}");
    assert_eq!(
        bindings[0]["user"]["roleBindings"][0]["role"], "WORKSPACE_ADMIN",
        "{answer}"
    );

    let (status, bearer) = env
        .post(
            Some(&format!("Bearer {token}")),
            json!({"query": "{ self { token { value } } }"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{bearer}");
    assert_eq!(bearer["data"]["self"]["token"]["value"], token, "{bearer}");

    let workspaces = env
        .gql(
            "VIEWER",
            "{ workspaces { id roleBindings { role user { username roleBindings { role workspace { id } } } }
               users { username roleBindings { role } } } }",
            json!({}),
        )
        .await;
    let workspace = &workspaces["data"]["workspaces"][0];
    let id = workspace["id"].clone();
    let members = workspace["roleBindings"].as_array().expect("role bindings");
    assert_eq!(members.len(), 3, "{workspaces}");
    for member in members {
        let own = &member["user"]["roleBindings"];
        assert_eq!(own.as_array().map(Vec::len), Some(1), "{workspaces}");
        assert_eq!(own[0]["role"], member["role"], "{workspaces}");
        assert_eq!(own[0]["workspace"]["id"], id, "{workspaces}");
    }
    for user in workspace["users"].as_array().expect("users") {
        assert_eq!(
            user["roleBindings"].as_array().map(Vec::len),
            Some(1),
            "{workspaces}"
        );
    }
    env.sim.shutdown().await;
}

//! The documents the astro CLI v0.15-v0.16 sends, in the order its commands send them, with
//! its variable names and types: `astro auth login` (authConfig, createToken, workspaces),
//! `astro deployment create <label> --executor=celery --cloud-role=<arn>`, `list`,
//! `update <id> --cloud-role=<arn>`, `delete <id>`; v0.16.4's create with `executor`; and the
//! newest CLI's `upsertDeployment`, which a v0.16 Houston does not know.

mod platform_common;

use platform_common::{Env, KEY, ROLE_A, ROLE_B, as_string};
use reqwest::StatusCode;
use rolecheck_sim::SimConfig;
use rolecheck_wire::houston::{
    APP_CONFIG, AUTH_CONFIG, CREATE_BASIC_TOKEN, CREATE_DEPLOYMENT,
    CREATE_DEPLOYMENT_WITH_EXECUTOR, DELETE_DEPLOYMENT, LIST_DEPLOYMENTS, NEWEST_UPSERT_DEPLOYMENT,
    UPDATE_DEPLOYMENT, WORKSPACES,
};
use serde_json::{Value, json};

async fn send(env: &Env, token: Option<&str>, query: &str, variables: Value) -> Value {
    let (status, body) = env
        .post(token, json!({"query": query, "variables": variables}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn ok(body: &Value) -> &Value {
    assert!(body.get("errors").is_none(), "{body}");
    &body["data"]
}

#[tokio::test]
async fn the_cli_logs_in_creates_lists_updates_and_deletes() {
    let env = Env::start(SimConfig::default()).await;
    let admin = env
        .endpoints()
        .platform_users
        .iter()
        .find(|u| u.workspace_role == "WORKSPACE_ADMIN")
        .cloned()
        .unwrap();

    // `astro auth login <domain> -u <email> -p <password>`: no token yet.
    let config = send(&env, None, AUTH_CONFIG, json!({})).await;
    let auth = &ok(&config)["authConfig"];
    assert_eq!(auth["localEnabled"], true);
    assert_eq!(auth["providers"], json!([]));
    let login = send(
        &env,
        None,
        CREATE_BASIC_TOKEN,
        json!({"identity": admin.email, "password": admin.password}),
    )
    .await;
    let token = as_string(&ok(&login)["createToken"]["token"]["value"]);
    assert_eq!(ok(&login)["createToken"]["user"]["username"], admin.email);
    let workspaces = send(&env, Some(&token), WORKSPACES, json!({})).await;
    let list = ok(&workspaces)["workspaces"].as_array().cloned().unwrap();
    assert_eq!(list.len(), 1);
    let workspace = as_string(&list[0]["id"]);
    assert_eq!(workspace, env.endpoints().workspace_id);
    assert!(
        list[0]["roleBindings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["role"] == "WORKSPACE_ADMIN" && b["user"]["username"] == admin.email)
    );

    // `astro deployment create my-label --executor=celery --cloud-role=<arn>`: AppConfig
    // first; no releaseName, because manualReleaseNames is off.
    let app = send(&env, Some(&token), APP_CONFIG, json!({})).await;
    assert_eq!(ok(&app)["appConfig"]["manualReleaseNames"], false);
    let created = send(
        &env,
        Some(&token),
        CREATE_DEPLOYMENT,
        json!({"label": "my-label", "workspaceId": workspace,
               "config": {"executor": "CeleryExecutor"}, "cloudRole": ROLE_A}),
    )
    .await;
    let deployment = &ok(&created)["createDeployment"];
    let id = as_string(&deployment["id"]);
    let release = as_string(&deployment["releaseName"]);
    assert_eq!(deployment["label"], "my-label");
    assert_ne!(release, "my-label");
    assert_eq!(
        env.sa_annotations(&release, "worker").await[KEY],
        json!(ROLE_A)
    );

    // `astro deployment list`.
    let listed = send(
        &env,
        Some(&token),
        LIST_DEPLOYMENTS,
        json!({"workspaceId": workspace}),
    )
    .await;
    let rows = ok(&listed)["workspaceDeployments"]
        .as_array()
        .cloned()
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["releaseName"], release.as_str());
    assert_eq!(rows[0]["workspace"]["id"], workspace.as_str());
    // `astro deployment list --all` sends the same document without its required variable:
    // refused by validation, as graphql-js refuses it.
    let all = send(&env, Some(&token), LIST_DEPLOYMENTS, json!({})).await;
    assert!(
        all["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("workspaceId"),
        "{all}"
    );

    // `astro deployment update <id> label=x --cloud-role=<arn>`: payload, cloudRole, sync.
    let updated = send(
        &env,
        Some(&token),
        UPDATE_DEPLOYMENT,
        json!({"deploymentId": id, "payload": {"label": "renamed"}, "cloudRole": ROLE_B, "sync": true}),
    )
    .await;
    assert_eq!(
        ok(&updated)["updateDeployment"]["releaseName"],
        release.as_str()
    );
    assert_eq!(
        env.sa_annotations(&release, "scheduler").await[KEY],
        json!(ROLE_B)
    );
    // Without --cloud-role the CLI still sends `cloudRole: ""` and no `sync`: the role stays.
    let plain = send(
        &env,
        Some(&token),
        UPDATE_DEPLOYMENT,
        json!({"deploymentId": id, "payload": {"label": "again"}, "cloudRole": ""}),
    )
    .await;
    ok(&plain);
    assert_eq!(
        env.sa_annotations(&release, "webserver").await[KEY],
        json!(ROLE_B)
    );

    // `astro deployment delete <id>`.
    let deleted = send(
        &env,
        Some(&token),
        DELETE_DEPLOYMENT,
        json!({"deploymentId": id}),
    )
    .await;
    assert_eq!(ok(&deleted)["deleteDeployment"]["id"], id.as_str());
}

#[tokio::test]
async fn a_wrong_password_gets_no_token() {
    let env = Env::start(SimConfig::default()).await;
    let admin = &env.endpoints().platform_users[0];
    let body = send(
        &env,
        None,
        CREATE_BASIC_TOKEN,
        json!({"identity": admin.email, "password": "not-the-password"}),
    )
    .await;
    assert!(body["data"].is_null(), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    // The token-less workspaces query is refused.
    let anonymous = send(&env, None, WORKSPACES, json!({})).await;
    assert_eq!(
        anonymous["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn v0_16_4_create_with_executor_is_accepted() {
    let env = Env::start(SimConfig::default()).await;
    let body = env
        .gql(
            "ADMIN",
            CREATE_DEPLOYMENT_WITH_EXECUTOR,
            json!({"label": "k8s", "workspaceId": env.endpoints().workspace_id,
                   "executor": "KubernetesExecutor", "cloudRole": ""}),
        )
        .await;
    let release = as_string(&ok(&body)["createDeployment"]["releaseName"]);
    assert!(env.workload(&release, "worker").await.is_none());
    assert!(env.workload(&release, "scheduler").await.is_some());
}

#[tokio::test]
async fn the_newest_clis_upsert_deployment_is_refused_as_v0_16_houston_refuses_it() {
    let env = Env::start(SimConfig::default()).await;
    let body = env
        .gql(
            "ADMIN",
            NEWEST_UPSERT_DEPLOYMENT,
            json!({"label": "new", "workspaceId": env.endpoints().workspace_id,
                   "executor": "CeleryExecutor", "cloudRole": ROLE_A}),
        )
        .await;
    assert!(body["data"].is_null(), "{body}");
    let errors = body["errors"].as_array().cloned().unwrap();
    assert!(
        errors
            .iter()
            .all(|e| e["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"),
        "{body}"
    );
    let messages: Vec<&str> = errors
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("Cannot query field \"upsertDeployment\" on type \"Mutation\"")),
        "{messages:?}"
    );
    assert_eq!(env.deployment_count().await, 0);
}

//! The sim's Kubernetes API refuses what a real API server refuses, with the same status code,
//! reason and wording: invalid names, label keys and values, non-string label values, JSON
//! patches of immutable fields, malformed label selectors, unknown fields under
//! `fieldValidation=Strict`, and a malformed watch `timeoutSeconds`.

use rolecheck_sim::{Sim, SimConfig};
use rstest::rstest;
use serde_json::{Value, json};

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn send(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(std::time::Duration::from_secs(10));
        if let Some(body) = body {
            request = request
                .header("content-type", content_type)
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        // A watch answers with newline-delimited events; keep the first line.
        let first = text.lines().next().unwrap_or("null");
        (status, serde_json::from_str(first).unwrap_or(Value::Null))
    }
}

async fn start() -> (Sim, Api) {
    let sim = Sim::start(SimConfig::default()).await.unwrap();
    let ep = sim.endpoints();
    let api = Api {
        http: reqwest::Client::new(),
        base: ep.kube_url.clone(),
        token: ep.kube_token.clone(),
    };
    let json = "application/json";
    for (path, body) in [
        ("/api/v1/namespaces", json!({"metadata": {"name": "team"}})),
        (
            "/api/v1/namespaces/team/serviceaccounts",
            json!({"metadata": {"name": "runner"}}),
        ),
        (
            "/apis/apps/v1/namespaces/team/deployments",
            json!({"metadata": {"name": "web"}, "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}),
        ),
    ] {
        let (status, body) = api.send("POST", path, json, Some(body)).await;
        assert_eq!(status, 201, "{path}: {body}");
    }
    (sim, api)
}

const SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";

#[rstest]
#[case::double_dot_name("POST", "/api/v1/namespaces/team/serviceaccounts", "application/json",
    json!({"metadata": {"name": "a..b"}}), 422, "Invalid",
    "ServiceAccount \"a..b\" is invalid: metadata.name: Invalid value: \"a..b\": ")]
#[case::namespace_of_64_characters("POST", "/api/v1/namespaces", "application/json",
    json!({"metadata": {"name": "n".repeat(64)}}), 422, "Invalid", "must be no more than 63 characters")]
#[case::namespace_with_a_dot("POST", "/api/v1/namespaces", "application/json",
    json!({"metadata": {"name": "a.b"}}), 422, "Invalid", LABEL)]
#[case::pod_name_with_upper_case("POST", "/api/v1/namespaces/team/pods", "application/json",
    json!({"metadata": {"name": "Web"}, "spec": {"serviceAccountName": "runner", "containers": [{"name": "c", "image": "x"}]}}),
    422, "Invalid", SUBDOMAIN)]
#[case::label_value_not_a_string("POST", "/api/v1/namespaces/team/serviceaccounts", "application/json",
    json!({"metadata": {"name": "x", "labels": {"a": 5}}}), 400, "BadRequest",
    "ServiceAccount in version \"v1\" cannot be handled as a ServiceAccount: json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string")]
#[case::label_key_with_a_space("POST", "/api/v1/namespaces/team/serviceaccounts", "application/json",
    json!({"metadata": {"name": "x", "labels": {"bad key!": "v"}}}), 422, "Invalid",
    "metadata.labels: Invalid value: \"bad key!\": name part must consist of alphanumeric characters, '-', '_' or '.'")]
#[case::label_value_too_long("POST", "/api/v1/namespaces/team/serviceaccounts", "application/json",
    json!({"metadata": {"name": "x", "labels": {"k": "v".repeat(64)}}}), 422, "Invalid", "must be no more than 63 characters")]
#[case::bad_label_on_update("PATCH", "/api/v1/namespaces/team/serviceaccounts/runner", "application/merge-patch+json",
    json!({"metadata": {"labels": {"k": "bad value"}}}), 422, "Invalid",
    "metadata.labels: Invalid value: \"bad value\": a valid label must be an empty string")]
#[case::json_patch_of_the_name("PATCH", "/api/v1/namespaces/team/serviceaccounts/runner", "application/json-patch+json",
    json!([{"op": "replace", "path": "/metadata/name", "value": "other"}]), 400, "BadRequest",
    "the name of the object (other) does not match the name on the URL (runner)")]
#[case::json_patch_of_the_uid("PATCH", "/api/v1/namespaces/team/serviceaccounts/runner", "application/json-patch+json",
    json!([{"op": "replace", "path": "/metadata/uid", "value": "0000"}]), 422, "Invalid",
    "metadata.uid: Invalid value: \"0000\": field is immutable")]
#[case::json_patch_of_a_selector("PATCH", "/apis/apps/v1/namespaces/team/deployments/web", "application/json-patch+json",
    json!([{"op": "replace", "path": "/spec/selector/matchLabels/app", "value": "db"}]), 422, "Invalid",
    "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"db\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable")]
#[case::selector_with_a_bad_key(
    "GET",
    "/api/v1/namespaces/team/pods?labelSelector=bad%20key%3Dx",
    "",
    Value::Null,
    400,
    "BadRequest",
    "unable to parse requirement: key: Invalid value: \"bad key\""
)]
#[case::selector_with_an_open_set(
    "GET",
    "/api/v1/namespaces/team/pods?labelSelector=app%20in%20(a",
    "",
    Value::Null,
    400,
    "BadRequest",
    "unable to parse requirement"
)]
#[case::selector_with_two_equals(
    "GET",
    "/api/v1/pods?labelSelector=a%3Db%3Dc",
    "",
    Value::Null,
    400,
    "BadRequest",
    "unable to parse requirement: values[0][a]: Invalid value: \"b=c\""
)]
#[case::strict_unknown_field("POST", "/api/v1/namespaces/team/serviceaccounts?fieldValidation=Strict", "application/json",
    json!({"metadata": {"name": "x"}, "secretz": []}), 400, "BadRequest", "strict decoding error: unknown field \"secretz\"")]
#[case::strict_unknown_nested_field("POST", "/api/v1/namespaces/team/pods?fieldValidation=Strict", "application/json",
    json!({"metadata": {"name": "p"}, "spec": {"serviceAccountName": "runner", "containers": [{"name": "c", "image": "x", "imagePolicy": "Never"}]}}),
    400, "BadRequest", "strict decoding error: unknown field \"spec.containers[0].imagePolicy\"")]
#[case::strict_unknown_field_in_a_patch("PATCH", "/apis/apps/v1/namespaces/team/deployments/web?fieldValidation=Strict", "application/merge-patch+json",
    json!({"spec": {"replica": 2}}), 400, "BadRequest", "strict decoding error: unknown field \"spec.replica\"")]
#[case::unknown_field_validation_value("POST", "/api/v1/namespaces/team/serviceaccounts?fieldValidation=Loud", "application/json",
    json!({"metadata": {"name": "x"}}), 400, "BadRequest", "fieldValidation")]
#[case::watch_timeout_not_a_number(
    "GET",
    "/api/v1/namespaces/team/pods?watch=true&timeoutSeconds=soon",
    "",
    Value::Null,
    400,
    "BadRequest",
    "strconv.ParseInt: parsing \"soon\": invalid syntax"
)]
#[case::list_timeout_out_of_range(
    "GET",
    "/api/v1/pods?timeoutSeconds=99999999999999999999",
    "",
    Value::Null,
    400,
    "BadRequest",
    "value out of range"
)]
#[tokio::test]
async fn refused_like_the_api_server(
    #[case] method: &str,
    #[case] path: &str,
    #[case] content_type: &str,
    #[case] body: Value,
    #[case] code: u16,
    #[case] reason: &str,
    #[case] message: &str,
) {
    let (sim, api) = start().await;
    let body = (!body.is_null()).then_some(body);
    let (status, answer) = api.send(method, path, content_type, body).await;
    assert_eq!(status, code, "{answer}");
    assert_eq!(answer["kind"], "Status", "{answer}");
    assert_eq!(answer["reason"], reason, "{answer}");
    assert_eq!(answer["code"], code, "{answer}");
    let text = answer["message"].as_str().unwrap_or_default();
    assert!(text.contains(message), "{text:?} lacks {message:?}");
    sim.shutdown().await;
}

#[rstest]
#[case::subdomain_name("POST", "/api/v1/namespaces/team/serviceaccounts", "application/json",
    json!({"metadata": {"name": "a.b-c", "labels": {"example.com/Tier": "Front_1", "empty": ""}}}))]
#[case::strict_known_fields("POST", "/api/v1/namespaces/team/pods?fieldValidation=Strict", "application/json",
    json!({"metadata": {"name": "p"}, "spec": {"serviceAccountName": "runner", "containers": [{"name": "c", "image": "x", "env": [{"name": "A", "value": "1"}]}]}}))]
#[case::warn_accepts_unknown_fields("POST", "/api/v1/namespaces/team/serviceaccounts?fieldValidation=Warn", "application/json",
    json!({"metadata": {"name": "x"}, "secretz": []}))]
#[case::strategic_patch_directives("PATCH", "/apis/apps/v1/namespaces/team/deployments/web?fieldValidation=Strict", "application/strategic-merge-patch+json",
    json!({"spec": {"replicas": 2, "$setElementOrder/x": []}}))]
#[case::json_patch_of_a_mutable_field("PATCH", "/apis/apps/v1/namespaces/team/deployments/web", "application/json-patch+json",
    json!([{"op": "replace", "path": "/spec/replicas", "value": 3}]))]
#[case::good_set_selector(
    "GET",
    "/api/v1/pods?labelSelector=app%20in%20(web,%20db),!tier",
    "",
    Value::Null
)]
#[case::negative_watch_timeout(
    "GET",
    "/api/v1/namespaces/team/pods?watch=true&timeoutSeconds=-1",
    "",
    Value::Null
)]
#[tokio::test]
async fn accepted_like_the_api_server(
    #[case] method: &str,
    #[case] path: &str,
    #[case] content_type: &str,
    #[case] body: Value,
) {
    let (sim, api) = start().await;
    let body = (!body.is_null()).then_some(body);
    let (status, answer) = api.send(method, path, content_type, body).await;
    assert!((200..300).contains(&status), "{status}: {answer}");
    sim.shutdown().await;
}

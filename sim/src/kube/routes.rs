//! The HTTP surface: bearer-token auth, path parsing, verbs, and `Status` errors.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::patch::PatchKind;
use super::selector::{FieldSelector, LabelSelector};
use super::table::{self, IncludeObject};
use super::watch::{self, WatchRequest};
use super::{ApiError, ApiServer, Part, Resource};
use super::{access_review, discovery, openapi, webhook_registration};
use crate::faults::Fault;
use crate::oidc::{DISCOVERY_PATH, JWKS_PATH};

/// The largest request body read (the API server's limit, 3 MiB); a larger one is answered
/// with `413 RequestEntityTooLarge`, as the API server does.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Watches without `timeoutSeconds` end after this long (the API server's
/// `--min-request-timeout` is 1800s).
const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(1800);

#[derive(Clone)]
struct Ctx {
    api: Arc<ApiServer>,
    token: Arc<str>,
}

/// The HTTP router of the Kubernetes API.
///
/// Authentication follows the semantics of the API server's former localhost insecure port,
/// which is what a loopback-only plain-HTTP listener is:
/// - a request **without** an `Authorization` header is served as the cluster admin. Stock
///   kubectl needs this: client-go never attaches credentials to an `http://` server
///   (clientcmd only reads a user's auth info for TLS transports), so it sends none;
/// - a request **with** an `Authorization` header must carry `Bearer <token>` with the admin
///   token, or it gets a 401 `Status` (kube-rs sends the token, so a wrong token is caught);
/// - an empty `token` switches authentication off entirely.
///
/// `/version`, `/healthz`, `/livez`, `/readyz`, the OIDC discovery document and the JWKS
/// are served to anyone, whatever credentials the request carries.
pub fn router(api: Arc<ApiServer>, token: String) -> Router {
    let ctx = Ctx {
        api,
        token: Arc::from(token),
    };
    Router::new()
        .route("/version", get(version))
        .route("/healthz", get(ok))
        .route("/livez", get(ok))
        .route("/readyz", get(ok))
        .route(DISCOVERY_PATH, get(oidc_discovery))
        .route(JWKS_PATH, get(jwks))
        .route(
            access_review::PATH,
            axum::routing::post(self_subject_access_review),
        )
        .route(
            webhook_registration::COLLECTION_PATH,
            get(webhook_registrations),
        )
        .route(
            &format!(
                "{}/{}",
                webhook_registration::COLLECTION_PATH,
                webhook_registration::NAME
            ),
            get(webhook_registration),
        )
        .fallback(handle)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(ctx)
}

/// The `Status` for a body that could not be read: too large, or cut off.
pub(crate) fn body_error(rejection: &BytesRejection, limit: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            413,
            "RequestEntityTooLarge",
            format!("Request entity too large: limit is {limit}"),
        )
    } else {
        ApiError::bad_request(format!(
            "reading the request body: {}",
            rejection.body_text()
        ))
    }
}

async fn version(State(ctx): State<Ctx>) -> Response {
    let old = ctx.api.options.faults.has(Fault::OldServerVersion);
    axum::Json(discovery::version(old)).into_response()
}

async fn self_subject_access_review(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(&ctx, &headers) {
        return ApiError::unauthorized().into_response();
    }
    match json_body(&body).and_then(|b| access_review::review(&b)) {
        Ok(answer) => json_response(StatusCode::CREATED, answer),
        Err(err) => err.into_response(),
    }
}

/// The registrations, filtered by `?labelSelector=` as the API server filters a list (the
/// registration carries no labels, so a selector that requires one leaves the list empty).
async fn webhook_registrations(State(ctx): State<Ctx>, uri: Uri, headers: HeaderMap) -> Response {
    if !authorized(&ctx, &headers) {
        return ApiError::unauthorized().into_response();
    }
    let query: HashMap<String, String> = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let labels = match LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str)) {
        Ok(labels) => labels,
        Err(err) => return err.into_response(),
    };
    let mut list = webhook_registration::list(&ctx.api.started_at());
    if let Some(items) = list.get_mut("items").and_then(Value::as_array_mut) {
        items.retain(|item| labels.matches(item));
    }
    json_response(StatusCode::OK, list)
}

async fn webhook_registration(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    if !authorized(&ctx, &headers) {
        return ApiError::unauthorized().into_response();
    }
    json_response(
        StatusCode::OK,
        webhook_registration::object(&ctx.api.started_at()),
    )
}

async fn ok() -> &'static str {
    "ok"
}

async fn oidc_discovery(State(ctx): State<Ctx>) -> Response {
    axum::Json(ctx.api.issuer.discovery()).into_response()
}

async fn jwks(State(ctx): State<Ctx>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/jwk-set+json")],
        axum::Json(ctx.api.issuer.jwks()),
    )
        .into_response()
}

/// What a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    CoreVersions,
    Groups,
    Group(String),
    ResourceList(String),
    Collection {
        resource: Resource,
        namespace: Option<String>,
    },
    Object {
        resource: Resource,
        namespace: Option<String>,
        name: String,
        sub: Option<String>,
    },
}

fn parse_path(path: &str) -> Option<Target> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, rest): (&str, &[&str]) = match segs.as_slice() {
        ["api"] => return Some(Target::CoreVersions),
        ["apis"] => return Some(Target::Groups),
        ["api", "v1", rest @ ..] => ("", rest),
        ["apis", g] => return Some(Target::Group((*g).to_owned())),
        ["apis", g, "v1", rest @ ..] => (g, rest),
        _ => return None,
    };
    let namespaced_resource =
        |plural: &str| Resource::from_plural(group, plural).filter(|r| r.namespaced());
    match rest {
        [] => Some(Target::ResourceList(group.to_owned())),
        ["namespaces", ns, plural, tail @ ..] if namespaced_resource(plural).is_some() => {
            let resource = namespaced_resource(plural)?;
            let namespace = Some((*ns).to_owned());
            match tail {
                [] => Some(Target::Collection {
                    resource,
                    namespace,
                }),
                [name] => Some(Target::Object {
                    resource,
                    namespace,
                    name: (*name).to_owned(),
                    sub: None,
                }),
                [name, sub] => Some(Target::Object {
                    resource,
                    namespace,
                    name: (*name).to_owned(),
                    sub: Some((*sub).to_owned()),
                }),
                _ => None,
            }
        }
        [plural, tail @ ..] => {
            let resource = Resource::from_plural(group, plural)?;
            match tail {
                [] => Some(Target::Collection {
                    resource,
                    namespace: None,
                }),
                [name, sub @ ..] if !resource.namespaced() && sub.len() <= 1 => {
                    Some(Target::Object {
                        resource,
                        namespace: None,
                        name: (*name).to_owned(),
                        sub: sub.first().map(|s| (*s).to_owned()),
                    })
                }
                _ => None,
            }
        }
    }
}

/// Who a request is, per the module's authentication rules (see [`router`]).
fn authorized(ctx: &Ctx, headers: &HeaderMap) -> bool {
    if ctx.token.is_empty() {
        // Authentication switched off entirely.
        return true;
    }
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        // The former localhost insecure port: no credentials at all is the cluster admin.
        return true;
    };
    value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .is_some_and(|t| t.trim() == &*ctx.token)
}

async fn handle(
    State(ctx): State<Ctx>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !authorized(&ctx, &headers) {
        return ApiError::unauthorized().into_response();
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return body_error(&rejection, MAX_BODY_BYTES).into_response(),
    };
    let query: HashMap<String, String> = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    if let Some(rest) = uri.path().strip_prefix("/openapi/v3") {
        return openapi_doc(&method, rest);
    }
    let Some(target) = parse_path(uri.path()) else {
        return ApiError::no_route().into_response();
    };
    match dispatch(&ctx, &method, target, &query, &headers, &body) {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

/// `/openapi/v3` and `/openapi/v3/<group version>`.
fn openapi_doc(method: &Method, rest: &str) -> Response {
    if *method != Method::GET {
        return ApiError::method_not_allowed().into_response();
    }
    let doc = if rest.trim_matches('/').is_empty() {
        Some(openapi::index())
    } else {
        openapi::group_version(rest)
    };
    match doc {
        Some(doc) => json_response(StatusCode::OK, doc),
        None => ApiError::no_route().into_response(),
    }
}

fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body of the request could not be decoded as JSON: {e}"
        ))
    })
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn json_response(code: StatusCode, value: Value) -> Response {
    (code, axum::Json(value)).into_response()
}

fn dispatch(
    ctx: &Ctx,
    method: &Method,
    target: Target,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let api = &ctx.api;
    let doc = |v: Option<Value>| {
        if *method != Method::GET {
            return Err(ApiError::method_not_allowed());
        }
        v.map(|v| json_response(StatusCode::OK, v))
            .ok_or_else(ApiError::no_route)
    };
    match target {
        Target::CoreVersions => doc(Some(discovery::core_versions())),
        Target::Groups => doc(Some(discovery::groups())),
        Target::Group(g) => doc(discovery::group_doc(&g)),
        Target::ResourceList(g) => doc(discovery::resource_list(&g)),
        Target::Collection {
            resource,
            namespace,
        } => match *method {
            Method::GET => collection_get(api, resource, namespace, query, headers),
            Method::POST => {
                if resource.namespaced() && namespace.is_none() {
                    return Err(ApiError::method_not_allowed());
                }
                let object = json_body(body)?;
                strict_fields(resource, query, &object)?;
                let created = api.create(resource, namespace.as_deref(), object)?;
                Ok(json_response(StatusCode::CREATED, created))
            }
            _ => Err(ApiError::method_not_allowed()),
        },
        Target::Object {
            resource,
            namespace,
            name,
            sub,
        } => {
            let ns = namespace.as_deref();
            let part = match sub.as_deref() {
                None => Part::Main,
                Some("status") if resource.has_status() => Part::Status,
                Some("token") if resource == Resource::ServiceAccount => {
                    if *method != Method::POST {
                        return Err(ApiError::method_not_allowed());
                    }
                    let request = json_body(body)?;
                    let issued = api.create_token(ns.unwrap_or("default"), &name, &request)?;
                    return Ok(json_response(StatusCode::CREATED, issued));
                }
                Some(_) => return Err(ApiError::no_route()),
            };
            let stored = match *method {
                Method::GET => {
                    let object = api.get(resource, ns, &name)?;
                    if let Some(include) = table_request(query, headers)? {
                        let rv =
                            super::meta::meta_str(&object, "resourceVersion").map(str::to_owned);
                        let rendered = table::table(resource, &[object], rv, include);
                        return Ok(json_response(StatusCode::OK, rendered));
                    }
                    object
                }
                Method::PUT => {
                    let object = json_body(body)?;
                    strict_fields(resource, query, &object)?;
                    api.replace(resource, ns, &name, object, part)?
                }
                Method::PATCH => {
                    let kind = PatchKind::from_content_type(content_type(headers))?;
                    let patch = json_body(body)?;
                    if wants_strict(query)? {
                        // The fields that count are those of the patched object.
                        let mut preview = api.get(resource, ns, &name)?;
                        kind.apply(&mut preview, &patch)?;
                        strict_fields(resource, query, &preview)?;
                    }
                    api.patch(resource, ns, &name, kind, &patch, part)?
                }
                Method::DELETE if part == Part::Main => api.delete(resource, ns, &name)?,
                _ => return Err(ApiError::method_not_allowed()),
            };
            Ok(json_response(StatusCode::OK, stored))
        }
    }
}

/// `Some(includeObject)` when the request asks for a `Table` rendering.
fn table_request(
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Option<IncludeObject>, ApiError> {
    if !table::wants_table(headers) {
        return Ok(None);
    }
    IncludeObject::parse(query.get("includeObject").map(String::as_str)).map(Some)
}

/// `fieldValidation`: `Strict` refuses a body with fields the resource does not have (400,
/// `strict decoding error: unknown field "spec.x"`); `Ignore` and `Warn` (the default) accept
/// it; anything else is refused.
fn strict_fields(
    resource: Resource,
    query: &HashMap<String, String>,
    body: &Value,
) -> Result<(), ApiError> {
    if !wants_strict(query)? {
        return Ok(());
    }
    let unknown = super::validation::unknown_fields(resource, body);
    if unknown.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field {f:?}"))
        .collect();
    Err(ApiError::bad_request(format!(
        "strict decoding error: {}",
        listed.join(", ")
    )))
}

/// Whether `fieldValidation` asks for `Strict` (an unknown value is refused).
fn wants_strict(query: &HashMap<String, String>) -> Result<bool, ApiError> {
    match query.get("fieldValidation").map(String::as_str) {
        None | Some("" | "Ignore" | "Warn") => Ok(false),
        Some("Strict") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "fieldValidation: Invalid value: {other:?}: must be one of Ignore, Warn, Strict"
        ))),
    }
}

/// `timeoutSeconds` decoded as the API server decodes list options (a Go `int64`; a
/// negative value ends a watch at once).
fn timeout_seconds(query: &HashMap<String, String>) -> Result<Option<i64>, ApiError> {
    match query.get("timeoutSeconds") {
        None => Ok(None),
        Some(v) => v.parse::<i64>().map(Some).map_err(|e| {
            let why = match e.kind() {
                std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                    "value out of range"
                }
                _ => "invalid syntax",
            };
            ApiError::bad_request(format!("strconv.ParseInt: parsing {v:?}: {why}"))
        }),
    }
}

fn is_true(v: Option<&String>) -> bool {
    v.is_some_and(|v| v == "true" || v == "1")
}

fn collection_get(
    api: &Arc<ApiServer>,
    resource: Resource,
    namespace: Option<String>,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let table = table_request(query, headers)?;
    let labels = LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str))?;
    let fields = FieldSelector::parse(query.get("fieldSelector").map_or("", String::as_str))?;
    let timeout_seconds = timeout_seconds(query)?;
    if is_true(query.get("watch")) {
        let resource_version =
            match query.get("resourceVersion").filter(|v| !v.is_empty()) {
                None => None,
                Some(v) => Some(v.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!("invalid resource version {v:?}"))
                })?),
            };
        let timeout = timeout_seconds.map_or(DEFAULT_WATCH_TIMEOUT, |s| {
            Duration::from_secs(u64::try_from(s).unwrap_or(0))
        });
        let req = WatchRequest {
            resource,
            namespace,
            labels,
            fields,
            resource_version,
            timeout,
            bookmarks: is_true(query.get("allowWatchBookmarks")),
            send_initial_events: is_true(query.get("sendInitialEvents")),
            table,
        };
        let body = watch::start(api, req);
        return Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response());
    }
    let (items, rv) = api.list_at(resource, namespace.as_deref());
    let items: Vec<Value> = items
        .into_iter()
        .filter(|o| labels.matches(o) && fields.matches(o))
        .collect();
    if let Some(include) = table {
        let rendered = table::table(resource, &items, Some(rv.to_string()), include);
        return Ok(json_response(StatusCode::OK, rendered));
    }
    Ok(json_response(
        StatusCode::OK,
        json!({
            "kind": format!("{}List", resource.kind()),
            "apiVersion": resource.api_version(),
            "metadata": {"resourceVersion": rv.to_string()},
            "items": items,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("/api", Some(Target::CoreVersions))]
    #[case("/apis/apps", Some(Target::Group("apps".into())))]
    #[case("/api/v1", Some(Target::ResourceList(String::new())))]
    #[case("/api/v1/pods", Some(Target::Collection { resource: Resource::Pod, namespace: None }))]
    #[case("/api/v1/namespaces", Some(Target::Collection { resource: Resource::Namespace, namespace: None }))]
    #[case("/api/v1/namespaces/a", Some(Target::Object { resource: Resource::Namespace, namespace: None, name: "a".into(), sub: None }))]
    #[case("/api/v1/namespaces/a/status", Some(Target::Object { resource: Resource::Namespace, namespace: None, name: "a".into(), sub: Some("status".into()) }))]
    #[case("/api/v1/namespaces/a/pods", Some(Target::Collection { resource: Resource::Pod, namespace: Some("a".into()) }))]
    #[case("/api/v1/namespaces/a/serviceaccounts/s/token", Some(Target::Object { resource: Resource::ServiceAccount, namespace: Some("a".into()), name: "s".into(), sub: Some("token".into()) }))]
    #[case("/apis/apps/v1/namespaces/a/deployments/d", Some(Target::Object { resource: Resource::Deployment, namespace: Some("a".into()), name: "d".into(), sub: None }))]
    #[case("/apis/apps/v1/namespaces/a/pods", None)]
    #[case("/api/v1/pods/x", None)]
    #[case("/nope", None)]
    fn paths(#[case] path: &str, #[case] expected: Option<Target>) {
        assert_eq!(parse_path(path), expected);
    }
}

//! The transport: `POST /v1` with a JSON body `{query, variables, operationName}` and the
//! `authorization` header (raw token, or `Bearer <token>`).
//!
//! Like an Apollo server, GraphQL errors come back with HTTP 200 and `extensions.code` on
//! every error: errors the resolvers raise carry their own code; an argument that fails to
//! parse gets `BAD_USER_INPUT`; a query that does not parse or validate gets
//! `GRAPHQL_VALIDATION_FAILED`. A body that is not a GraphQL request at all is answered with
//! HTTP 400 and the same error shape (`BAD_REQUEST`), as is a request without a query string.
//! A body over [`MAX_BODY_BYTES`] gets HTTP 413 in that shape too (`PAYLOAD_TOO_LARGE`).

use std::sync::Arc;

use async_graphql::{ErrorExtensionValues, Response};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::post;
use serde_json::json;

use super::Platform;
use super::auth::token_from_header;
use super::schema::{self, PlatformSchema, RequestToken};

/// The largest request body read (2 MiB; a GraphQL document is a few kilobytes).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The platform's HTTP router: the GraphQL endpoint at `/v1`.
pub fn router(platform: Arc<Platform>) -> axum::Router {
    let schema = schema::build(platform);
    axum::Router::new()
        .route("/v1", post(graphql))
        .route("/v1/", post(graphql))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(schema)
}

async fn graphql(
    State(schema): State<PlatformSchema>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> HttpResponse {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                &format!("request entity too large: the limit is {MAX_BODY_BYTES} bytes"),
            );
        }
        Err(rejection) => {
            return bad_request(&format!(
                "the POST body could not be read: {}",
                rejection.body_text()
            ));
        }
    };
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return bad_request(&format!("POST body is not a valid GraphQL request: {err}"));
        }
    };
    if request.query.trim().is_empty() {
        return bad_request("Must provide query string.");
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(token_from_header)
        .map(str::to_owned);
    let response = schema.execute(request.data(RequestToken(token))).await;
    Json(with_codes(response)).into_response()
}

/// Gives every error an `extensions.code`, as Apollo does, and words a query naming a field
/// the schema lacks as graphql-js (Houston's server) does.
fn with_codes(mut response: Response) -> Response {
    for error in &mut response.errors {
        if let Some(rest) = error.message.strip_prefix("Unknown field ") {
            error.message = format!("Cannot query field {rest}");
        }
        let extensions = error
            .extensions
            .get_or_insert_with(ErrorExtensionValues::default);
        if extensions.get("code").is_none() {
            let code = if error.path.is_empty() {
                "GRAPHQL_VALIDATION_FAILED"
            } else {
                "BAD_USER_INPUT"
            };
            extensions.set("code", code);
        }
    }
    response
}

fn bad_request(message: &str) -> HttpResponse {
    error_response(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
}

fn error_response(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let body = json!({"errors": [{"message": message, "extensions": {"code": code}}]});
    (status, Json(body)).into_response()
}

//! A scripted Kubernetes API server for tests of waits, on a random loopback port: it answers
//! list requests from a script, one answer per request (the last one repeats), and holds watch
//! requests open without a word. Every answer it gives is appended to a log the test shares,
//! so that a test checks the order of what happened, never how long it took.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse as _, Response};
use serde_json::{Value, json};

/// What happened, in order (the server's answers, and whatever the test adds).
pub(crate) type Log = Arc<Mutex<Vec<String>>>;

/// One scripted answer to a list request.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    /// A failure in the API server's `Status` shape.
    pub(crate) fn status(code: u16, reason: &str) -> Self {
        Self {
            status: code,
            body: json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {},
                "status": "Failure", "message": format!("scripted {reason}"),
                "reason": reason, "code": code,
            }),
        }
    }

    /// A list of `kind` (`PodList`) holding `items`.
    pub(crate) fn list(kind: &str, items: Vec<Value>) -> Self {
        Self {
            status: 200,
            body: json!({
                "kind": kind, "apiVersion": "v1",
                "metadata": {"resourceVersion": "1"}, "items": items,
            }),
        }
    }
}

/// A pod `namespace/name` in `phase`.
pub(crate) fn pod(namespace: &str, name: &str, phase: &str) -> Value {
    json!({
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": "1"},
        "status": {"phase": phase},
    })
}

#[derive(Clone)]
struct Script {
    answers: Arc<Mutex<VecDeque<Answer>>>,
    log: Log,
}

/// Serves `answers` (see the module) and returns the server's URL.
pub(crate) async fn serve(answers: Vec<Answer>, log: Log) -> String {
    let script = Script {
        answers: Arc::new(Mutex::new(answers.into())),
        log,
    };
    let app = axum::Router::new().fallback(answer).with_state(script);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn answer(State(script): State<Script>, uri: Uri) -> Response {
    if uri.query().is_some_and(|q| q.contains("watch=true")) {
        script.log.lock().unwrap().push("watch".to_owned());
        std::future::pending::<()>().await;
    }
    let next = {
        let mut answers = script.answers.lock().unwrap();
        if answers.len() > 1 {
            answers.pop_front()
        } else {
            answers.front().cloned()
        }
    };
    let Some(next) = next else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    script
        .log
        .lock()
        .unwrap()
        .push(format!("list {}", next.status));
    let status = StatusCode::from_u16(next.status).unwrap();
    (status, axum::Json(next.body)).into_response()
}

//! Unit tests of the Kubernetes and STS drivers against recorded responses of the real APIs
//! (`fixtures/recorded/`, see its README), served by a one-shot local HTTP stub.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use super::DriverError;
use super::kube::{KubeAccess, KubeDriver};
use super::sts::{AwsEndpoint, StsDriver};

/// One canned answer.
struct Answer {
    status: u16,
    content_type: &'static str,
    body: String,
}

fn recorded(path: &str) -> String {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/recorded")
        .join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn xml(status: u16, path: &str) -> Answer {
    Answer {
        status,
        content_type: "text/xml",
        body: recorded(path),
    }
}

fn json(status: u16, path: &str) -> Answer {
    Answer {
        status,
        content_type: "application/json",
        body: recorded(path),
    }
}

/// Serves `answers` in order, one per request (each on its own connection), and records the
/// request lines it saw. Returns the base URL and the request log.
async fn stub(answers: Vec<Answer>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let queue = Arc::new(Mutex::new(VecDeque::from(answers)));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            // Read the head, then as much body as Content-Length says.
            loop {
                let n = socket.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request);
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            let text = String::from_utf8_lossy(&request).into_owned();
            log.lock()
                .unwrap()
                .push(text.lines().next().unwrap_or_default().to_owned());
            let Some(answer) = queue.lock().unwrap().pop_front() else {
                break;
            };
            let head = format!(
                "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                answer.status,
                answer.content_type,
                answer.body.len()
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(answer.body.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    (url, seen)
}

fn sts_at(url: String) -> StsDriver {
    StsDriver::new(AwsEndpoint::local(url, "us-west-2".to_owned()))
}

#[rstest::rstest]
#[case(403, "sts/access-denied.xml", "AccessDenied", "Not authorized")]
#[case(
    400,
    "sts/invalid-identity-token.xml",
    "InvalidIdentityToken",
    "No OpenIDConnect provider"
)]
#[case(400, "sts/expired-token.xml", "ExpiredTokenException", "Token expired")]
#[tokio::test]
async fn sts_error_bodies_become_refusals_with_their_code(
    #[case] status: u16,
    #[case] file: &str,
    #[case] code: &str,
    #[case] message: &str,
) {
    let (url, seen) = stub(vec![xml(status, file)]).await;
    let answer = sts_at(url)
        .assume_role_with_web_identity("arn:aws:iam::123456789012:role/example-role", "s", "jwt")
        .await
        .unwrap();
    let refusal = answer.unwrap_err();
    assert_eq!(refusal.code, code);
    assert!(refusal.message.contains(message), "{}", refusal.message);
    assert_eq!(seen.lock().unwrap().len(), 1, "no retry of a refusal");
}

#[tokio::test]
async fn sts_success_gives_the_assumed_role_arn() {
    let (url, seen) = stub(vec![xml(200, "sts/assume-role-with-web-identity.xml")]).await;
    let assumed = sts_at(url)
        .assume_role_with_web_identity(
            "arn:aws:iam::123456789012:role/example-role",
            "rolecheck-session",
            "jwt",
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        assumed.assumed_role_arn,
        "arn:aws:sts::123456789012:assumed-role/example-role/rolecheck-session"
    );
    assert_eq!(
        assumed.credentials().access_key_id(),
        "ASIAIOSFODNN7EXAMPLE"
    );
    assert!(seen.lock().unwrap()[0].starts_with("POST / "));
}

async fn kube_at(url: String) -> KubeDriver {
    KubeDriver::connect(&KubeAccess::Token {
        url,
        token: "t".to_owned(),
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn an_eks_version_with_a_plus_is_read() {
    let (url, _) = stub(vec![json(200, "kube/version-eks.json")]).await;
    assert_eq!(kube_at(url).await.server_version().await.unwrap(), (1, 29));
}

#[tokio::test]
async fn a_404_status_is_an_api_error_with_reason_and_message() {
    let (url, seen) = stub(vec![json(404, "kube/status-404-not-found.json")]).await;
    let err = kube_at(url)
        .await
        .service_account("astronomer-x", "arithmetic-radiation-6756-worker")
        .await
        .unwrap_err();
    let DriverError::Api(text) = err else {
        panic!("{err:?}")
    };
    assert!(
        text.starts_with("NotFound (404): serviceaccounts"),
        "{text}"
    );
    assert!(seen.lock().unwrap()[0].starts_with(
        "GET /api/v1/namespaces/astronomer-x/serviceaccounts/arithmetic-radiation-6756-worker"
    ));
}

#[tokio::test]
async fn a_403_status_is_an_api_error_not_unreachable() {
    let (url, _) = stub(vec![json(403, "kube/status-403-forbidden.json")]).await;
    let err = kube_at(url)
        .await
        .labelled_namespaces(None)
        .await
        .unwrap_err();
    let DriverError::Api(text) = err else {
        panic!("{err:?}")
    };
    assert!(
        text.starts_with("Forbidden (403): namespaces is forbidden"),
        "{text}"
    );
}

#[tokio::test]
async fn a_409_on_the_namespace_is_accepted_but_on_the_service_account_is_reported() {
    // create_service_account: POST namespace (409: exists, fine), POST serviceaccount (409).
    let (url, seen) = stub(vec![
        json(409, "kube/status-409-already-exists.json"),
        json(409, "kube/status-409-already-exists.json"),
    ])
    .await;
    let err = kube_at(url)
        .await
        .create_service_account("astronomer-x", "sa", "run1")
        .await
        .unwrap_err();
    let DriverError::Api(text) = err else {
        panic!("{err:?}")
    };
    assert!(text.starts_with("AlreadyExists (409)"), "{text}");
    let seen = seen.lock().unwrap();
    assert!(seen[0].starts_with("POST /api/v1/namespaces?"), "{seen:?}");
    assert!(
        seen[1].starts_with("POST /api/v1/namespaces/astronomer-x/serviceaccounts?"),
        "{seen:?}"
    );
}

//! Small loopback servers that misbehave the way dead or overloaded endpoints do: one that
//! accepts connections and never answers, and a TCP proxy to a real endpoint that can go
//! silent in the middle of a run, or withhold the answers to some requests.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// Accepts connections, reads what comes, never answers. Stops when dropped.
pub struct SilentServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl SilentServer {
    /// Starts listening on a random loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(swallow(stream));
            }
        });
        Self { url, task }
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads and discards until the peer closes.
async fn swallow(mut stream: TcpStream) {
    let mut buf = [0u8; 4096];
    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
}

/// A TCP proxy in front of an HTTP endpoint. Stops when dropped.
pub struct Proxy {
    /// The upstream URL with the proxy's address (same path).
    pub url: String,
    silent: Arc<AtomicBool>,
    marker: Arc<std::sync::Mutex<Option<Vec<u8>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:<port>[/path]`).
    pub async fn start(upstream: &str) -> Self {
        let rest = upstream.strip_prefix("http://").unwrap();
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let upstream_addr = authority.to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}{path}", listener.local_addr().unwrap());
        let silent = Arc::new(AtomicBool::new(false));
        let marker: Arc<std::sync::Mutex<Option<Vec<u8>>>> = Arc::default();
        let task = {
            let silent = silent.clone();
            let marker = marker.clone();
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    if silent.load(Ordering::SeqCst) {
                        tokio::spawn(swallow(client));
                        continue;
                    }
                    let Ok(server) = TcpStream::connect(&upstream_addr).await else {
                        continue;
                    };
                    tokio::spawn(pipe(client, server, silent.clone(), marker.clone()));
                }
            })
        };
        Self {
            url,
            silent,
            marker,
            task,
        }
    }

    /// From now on nothing is forwarded either way, on open and new connections: the
    /// endpoint accepts and never answers.
    pub fn go_silent(&self) {
        self.silent.store(true, Ordering::SeqCst);
    }

    /// Requests whose bytes contain `marker` are forwarded, but their answers (and anything
    /// after them on that connection) never come back.
    pub fn withhold_answers_to(&self, marker: &str) {
        *self.marker.lock().unwrap() = Some(marker.as_bytes().to_vec());
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pipe(
    client: TcpStream,
    server: TcpStream,
    silent: Arc<AtomicBool>,
    marker: Arc<std::sync::Mutex<Option<Vec<u8>>>>,
) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let withheld = Arc::new(AtomicBool::new(false));
    let up = {
        let silent = silent.clone();
        let withheld = withheld.clone();
        async move {
            let mut buf = vec![0u8; 16384];
            loop {
                let n = match client_read.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if silent.load(Ordering::SeqCst) {
                    continue;
                }
                let chunk = &buf[..n];
                if let Some(m) = marker.lock().unwrap().as_deref()
                    && chunk.windows(m.len()).any(|w| w == m)
                {
                    withheld.store(true, Ordering::SeqCst);
                }
                if server_write.write_all(chunk).await.is_err() {
                    break;
                }
            }
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 16384];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if silent.load(Ordering::SeqCst) || withheld.load(Ordering::SeqCst) {
                continue;
            }
            if client_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        if silent.load(Ordering::SeqCst) || withheld.load(Ordering::SeqCst) {
            // Keep the client's side open (never answered) rather than closing it.
            std::future::pending::<()>().await;
        }
        let _ = client_write.shutdown().await;
    };
    tokio::select! {
        () = up => {}
        () = down => {}
    }
}

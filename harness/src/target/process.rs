//! STS/IAM stand-ins run as child processes (moto's server, LocalStack's runtime): started on
//! a random loopback port, ready when they print their startup line, killed at the end (and
//! when dropped, so Ctrl-C or a panic never leaves one running).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// Which stand-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `moto_server` from `moto[server]`.
    Moto,
    /// `python -m localstack.runtime.main` from `localstack-core[runtime]`.
    LocalStack,
}

impl Service {
    /// The Makefile target that installs it.
    pub fn make_target(self) -> &'static str {
        match self {
            Service::Moto => "make moto",
            Service::LocalStack => "make localstack",
        }
    }

    /// Its name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Service::Moto => "moto",
            Service::LocalStack => "LocalStack",
        }
    }

    /// The program inside the virtualenv.
    fn program(self) -> &'static str {
        match self {
            Service::Moto => "bin/moto_server",
            Service::LocalStack => "bin/python",
        }
    }

    /// Whether a line of its output says it is serving.
    fn is_ready_line(self, line: &str) -> bool {
        match self {
            // Werkzeug: " * Running on http://127.0.0.1:<port>"
            Service::Moto => line.contains("Running on http://"),
            // LocalStack prints "Ready." once every requested service can be reached.
            Service::LocalStack => line.trim() == "Ready.",
        }
    }
}

/// Why a stand-in could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// Its virtualenv is missing.
    #[error("{service} is not installed ({path} not found): run `{make}` first")]
    NotInstalled {
        /// Which.
        service: &'static str,
        /// The program looked for.
        path: String,
        /// The make target to run.
        make: &'static str,
    },
    /// It could not be spawned or exited before it was ready.
    #[error("{service}: {message}")]
    Failed {
        /// Which.
        service: &'static str,
        /// What happened, with its last output lines.
        message: String,
    },
}

/// A running stand-in; killed when dropped.
#[derive(Debug)]
pub struct ChildService {
    service: Service,
    child: Child,
    url: String,
    scratch: Option<PathBuf>,
}

impl ChildService {
    /// Where it serves (`http://127.0.0.1:<port>`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Which stand-in it is.
    pub fn service(&self) -> Service {
        self.service
    }

    /// Starts the stand-in from `venv` (resolved against the current directory, then the
    /// workspace root) and waits, at most `ready_within`, for its startup line.
    pub async fn start(
        service: Service,
        venv: &Path,
        ready_within: Duration,
    ) -> Result<ChildService, ProcessError> {
        let program =
            locate(venv, service.program()).ok_or_else(|| ProcessError::NotInstalled {
                service: service.name(),
                path: venv.join(service.program()).display().to_string(),
                make: service.make_target(),
            })?;
        let port = free_port().map_err(|e| failed(service, format!("no free port: {e}")))?;
        let mut command = Command::new(&program);
        let mut scratch = None;
        match service {
            Service::Moto => {
                command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            }
            Service::LocalStack => {
                let dir = std::env::temp_dir().join(format!(
                    "rolecheck-localstack-{}-{port}",
                    std::process::id()
                ));
                std::fs::create_dir_all(&dir)
                    .map_err(|e| failed(service, format!("scratch dir {}: {e}", dir.display())))?;
                command
                    .args(["-m", "localstack.runtime.main"])
                    .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
                    .env("SERVICES", "sts,iam")
                    .env("DISABLE_EVENTS", "1")
                    .env("DNS_ADDRESS", "0")
                    .env("HOME", &dir);
                scratch = Some(dir);
            }
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Its own process group: a Ctrl-C at the terminal reaches rolecheck, which still
        // needs the stand-in to delete what it created, and then kills it.
        #[cfg(unix)]
        command.process_group(0);
        let mut child = command
            .spawn()
            .map_err(|e| failed(service, format!("spawning {}: {e}", program.display())))?;
        let (lines, mut receiver) = mpsc::unbounded_channel();
        if let Some(out) = child.stdout.take() {
            forward(out, lines.clone());
        }
        if let Some(err) = child.stderr.take() {
            forward(err, lines);
        }
        let mut seen: Vec<String> = Vec::new();
        let ready = tokio::time::timeout(ready_within, async {
            while let Some(line) = receiver.recv().await {
                let is_ready = service.is_ready_line(&line);
                seen.push(line);
                if is_ready {
                    return true;
                }
            }
            false
        })
        .await;
        let tail = || {
            seen.iter()
                .rev()
                .take(5)
                .rev()
                .cloned()
                .collect::<Vec<_>>()
                .join(" | ")
        };
        match ready {
            Ok(true) => {
                // Keep draining its output so it never blocks on a full pipe.
                tokio::spawn(async move { while receiver.recv().await.is_some() {} });
                Ok(ChildService {
                    service,
                    child,
                    url: format!("http://127.0.0.1:{port}"),
                    scratch,
                })
            }
            Ok(false) => {
                let status = child.wait().await.ok();
                Err(failed(
                    service,
                    format!(
                        "exited before it was ready ({}); last output: {}",
                        status.map_or_else(|| "unknown status".to_owned(), |s| s.to_string()),
                        tail()
                    ),
                ))
            }
            Err(_) => {
                let _ = child.kill().await;
                Err(failed(
                    service,
                    format!(
                        "not ready within {}; last output: {}",
                        humantime::format_duration(ready_within),
                        tail()
                    ),
                ))
            }
        }
    }

    /// Kills it and waits for it to exit; removes its scratch directory.
    pub async fn stop(mut self) {
        if let Err(err) = self.child.kill().await {
            tracing::warn!(%err, service = self.service.name(), "could not kill");
        }
        if let Some(dir) = self.scratch.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Drop for ChildService {
    fn drop(&mut self) {
        // `kill_on_drop` kills the process; the scratch directory goes too.
        if let Some(dir) = self.scratch.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn failed(service: Service, message: String) -> ProcessError {
    ProcessError::Failed {
        service: service.name(),
        message,
    }
}

/// `venv/program` under the current directory, else under the workspace root this crate was
/// built in (tests run in `harness/`).
fn locate(venv: &Path, program: &str) -> Option<PathBuf> {
    let here = venv.join(program);
    if here.is_file() {
        return Some(here);
    }
    if venv.is_absolute() {
        return None;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let there = root.join(venv).join(program);
    there.is_file().then_some(there)
}

/// A loopback port that was free a moment ago.
fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn forward(stream: impl AsyncRead + Unpin + Send + 'static, lines: mpsc::UnboundedSender<String>) {
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            tracing::debug!(target: "rolecheck::child", "{line}");
            if lines.send(line).is_err() {
                // Nobody listens any more; keep reading so the child never blocks.
                continue;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_virtualenv_names_the_make_target() {
        let err = ChildService::start(
            Service::Moto,
            Path::new("/nonexistent/.venv-moto"),
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("run `make moto` first"), "{text}");
    }

    #[test]
    fn startup_lines_are_recognised() {
        assert!(Service::Moto.is_ready_line(" * Running on http://127.0.0.1:5000"));
        assert!(!Service::Moto.is_ready_line("Press CTRL+C to quit"));
        assert!(Service::LocalStack.is_ready_line("Ready."));
        assert!(!Service::LocalStack.is_ready_line("LocalStack version: 2026.3.0"));
    }
}

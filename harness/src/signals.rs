//! The signals a run obeys. SIGINT (Ctrl-C) and SIGTERM (what CI systems send on cancel and
//! timeout) mean the same: the first one stops the run (no step starts any more, clean-up
//! runs within `--cleanup-timeout`, the reports are written, the run is reported as
//! interrupted); a second one, while clean-up still runs, gives up on clean-up at once
//! ([`Signals::abandoned`]), and the binary prints what the run knows it has not removed.

use tokio_util::sync::CancellationToken;

use crate::ledger::Ledger;

/// Watches SIGINT and SIGTERM while it lives.
pub struct Signals {
    /// Cancelled on the first signal.
    pub token: CancellationToken,
    /// What the run created and has not removed yet (what a second signal leaves behind).
    pub ledger: Ledger,
    abandon: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Signals {
    /// Starts watching (inside a Tokio runtime). The handlers are installed before this
    /// returns, so a signal that arrives right after is not lost.
    pub fn watch() -> Self {
        let token = CancellationToken::new();
        let abandon = CancellationToken::new();
        let mut signals = Incoming::install();
        let task = {
            let token = token.clone();
            let abandon = abandon.clone();
            tokio::spawn(async move {
                let Some(first) = signals.next().await else {
                    return;
                };
                eprintln!(
                    "{first}: stopping the run and cleaning up (send it again to stop clean-up at once)"
                );
                token.cancel();
                if let Some(second) = signals.next().await {
                    eprintln!("{second} again: stopping clean-up at once");
                    abandon.cancel();
                }
            })
        };
        Self {
            token,
            ledger: Ledger::new(),
            abandon,
            task,
        }
    }

    /// Resolves when a second signal asks to give up on clean-up.
    pub async fn abandoned(&self) {
        self.abandon.cancelled().await;
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// SIGINT and SIGTERM as one stream of signal names.
struct Incoming {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Incoming {
    #[cfg(unix)]
    fn install() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt())
            .inspect_err(|err| tracing::warn!(%err, "cannot watch SIGINT"))
            .ok();
        let terminate = signal(SignalKind::terminate())
            .inspect_err(|err| tracing::warn!(%err, "cannot watch SIGTERM"))
            .ok();
        Self {
            interrupt,
            terminate,
        }
    }

    #[cfg(not(unix))]
    fn install() -> Self {
        Self {}
    }

    /// The next signal's name; `None` when none can arrive any more.
    #[cfg(unix)]
    async fn next(&mut self) -> Option<&'static str> {
        async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
            match signal {
                Some(s) => s.recv().await,
                None => std::future::pending().await,
            }
        }
        if self.interrupt.is_none() && self.terminate.is_none() {
            return None;
        }
        tokio::select! {
            got = recv(&mut self.interrupt) => got.map(|()| "SIGINT"),
            got = recv(&mut self.terminate) => got.map(|()| "SIGTERM"),
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> Option<&'static str> {
        tokio::signal::ctrl_c().await.ok().map(|()| "Ctrl-C")
    }
}

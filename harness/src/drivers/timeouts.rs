//! Request timeouts: the one place that says how long a request to a target may take. Every
//! client the drivers build (kube-rs, the AWS SDK, reqwest) takes its connect and read
//! timeouts from here, so no request can hang a run: an endpoint that accepts connections
//! and never answers fails the request after the read timeout, naming the endpoint.
//!
//! The values are resolved once at the edge (`--request-timeout`, [`RequestTimeouts::install`])
//! and read by every driver ([`RequestTimeouts::current`]); without an install the defaults
//! hold.

use std::sync::OnceLock;
use std::time::Duration;

/// How long a connection and an answer may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTimeouts {
    /// Establishing a connection (TCP, and TLS where used).
    pub connect: Duration,
    /// Waiting for an answer to a request once it is sent.
    pub read: Duration,
}

impl Default for RequestTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            read: Duration::from_secs(30),
        }
    }
}

static INSTALLED: OnceLock<RequestTimeouts> = OnceLock::new();

impl RequestTimeouts {
    /// Timeouts with `read` as the read timeout and the default connect timeout (or `read`,
    /// when that is shorter).
    pub fn with_read(read: Duration) -> Self {
        let read = read.max(Duration::from_millis(100));
        Self {
            connect: Self::default().connect.min(read),
            read,
        }
    }

    /// Makes these the timeouts of every client built from now on in this process (the
    /// first install wins; the binary installs once, from the command line).
    pub fn install(self) {
        if INSTALLED.set(self).is_err() {
            tracing::debug!("request timeouts were installed already");
        }
    }

    /// The timeouts in force.
    pub fn current() -> Self {
        INSTALLED.get().copied().unwrap_or_default()
    }

    /// How long a start-up probe of an endpoint may take: at most 10 s, so that a silent
    /// endpoint is named within seconds.
    pub fn probe(&self) -> Duration {
        (self.connect + self.read).min(Duration::from_secs(10))
    }

    /// Sets the timeouts of a kube-rs client configuration. Watches are kept shorter than the
    /// read timeout by [`RequestTimeouts::watch_seconds`], so a quiet watch is never a timeout.
    pub fn apply_to_kube(&self, config: &mut kube::Config) {
        config.connect_timeout = Some(self.connect);
        config.read_timeout = Some(self.read);
        config.write_timeout = Some(self.read);
    }

    /// `timeoutSeconds` of a watch: the server ends it (and the watcher starts the next one)
    /// before the read timeout could fire on a watch that is merely quiet.
    pub fn watch_seconds(&self) -> u32 {
        let read = self.read.as_secs();
        let watch = if read > 10 {
            read - 5
        } else {
            read.saturating_sub(1)
        };
        u32::try_from(watch.max(1)).unwrap_or(u32::MAX)
    }

    /// The AWS SDK's timeouts: connect, read, and a bound on a whole operation with its
    /// retries.
    pub fn aws(&self) -> aws_config::timeout::TimeoutConfig {
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .read_timeout(self.read)
            .operation_attempt_timeout(self.connect + self.read)
            .operation_timeout((self.connect + self.read) * 2)
            .build()
    }

    /// A reqwest client builder with these timeouts (connect, each read, and the whole
    /// request).
    pub fn http(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .connect_timeout(self.connect)
            .read_timeout(self.read)
            .timeout(self.connect + self.read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(30, 25)]
    #[case(10, 9)]
    #[case(2, 1)]
    #[case(1, 1)]
    fn watches_end_before_the_read_timeout(#[case] read: u64, #[case] watch: u32) {
        let t = RequestTimeouts::with_read(Duration::from_secs(read));
        assert_eq!(t.watch_seconds(), watch);
    }

    #[test]
    fn probes_are_bounded_by_seconds() {
        let t = RequestTimeouts::with_read(Duration::from_secs(600));
        assert_eq!(t.probe(), Duration::from_secs(10));
        let t = RequestTimeouts::with_read(Duration::from_secs(1));
        assert_eq!(t.probe(), Duration::from_secs(2));
    }
}

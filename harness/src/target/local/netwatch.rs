//! Watches that nothing the local cluster runs talks to an address off loopback.
//!
//! Every `interval` it scans `/proc`: the watched processes are the cluster's daemons (by
//! their pid files), every process in a `kubepods` cgroup (the pods' containers), the extra
//! pids the caller names (e.g. the harness run), and all their descendants (containerd's
//! shims, the STS stand-ins). For each it maps its socket file descriptors to the TCP and UDP
//! tables of its own network namespace (`/proc/<pid>/net/{tcp,tcp6,udp,udp6}`) and records
//! every connected peer. [`NetWatch::stop`] returns the non-loopback ones with who held them.
//!
//! A sampler misses a connection that opens and closes between two samples; the cluster's
//! set-up keeps such traffic from existing in the first place (node name 127.0.0.1, resolv.conf
//! with only 127.0.0.1, proxies pointing at 127.0.0.1:9, local images only), and this watch
//! catches what outlives a sample: long-lived connections, connection attempts in progress
//! and connected UDP sockets.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Which processes to watch.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// A directory of `<name>.pid` files (the cluster's `pids` directory).
    pub pid_files: Option<PathBuf>,
    /// Watch every process whose cgroup path contains this (`/kubepods`).
    pub cgroup_marker: Option<String>,
    /// More processes to watch (their descendants too).
    pub pids: Vec<u32>,
}

impl Scope {
    /// The local cluster's daemons and pods, plus `pids`.
    pub fn cluster(cluster: &super::LocalCluster, pids: Vec<u32>) -> Self {
        Self {
            pid_files: Some(cluster.pids.clone()),
            cgroup_marker: Some("/kubepods".to_owned()),
            pids,
        }
    }
}

/// A connected socket a watched process held.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Flow {
    /// `tcp` or `udp`.
    pub protocol: &'static str,
    /// The peer's address.
    pub peer: SocketAddr,
    /// The local address.
    pub local: SocketAddr,
    /// The holder's command name (`/proc/<pid>/comm`).
    pub command: String,
    /// The holder's pid.
    pub pid: u32,
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} -> {} by {} (pid {})",
            self.protocol, self.local, self.peer, self.command, self.pid
        )
    }
}

/// What a watch saw.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Samples taken.
    pub samples: u64,
    /// The most processes watched in one sample.
    pub max_processes: usize,
    /// Distinct connected sockets with a loopback peer (proof the watch saw the traffic).
    pub loopback_flows: usize,
    /// Every distinct connected socket with a peer off loopback.
    pub off_loopback: Vec<Flow>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} samples, up to {} processes watched, {} loopback connections, {} off loopback",
            self.samples,
            self.max_processes,
            self.loopback_flows,
            self.off_loopback.len()
        )?;
        for flow in &self.off_loopback {
            write!(f, "\n  {flow}")?;
        }
        Ok(())
    }
}

/// A running watch; [`NetWatch::stop`] ends it.
pub struct NetWatch {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Report>,
}

impl NetWatch {
    /// Starts sampling every `interval` on a blocking thread.
    pub fn start(scope: Scope, interval: Duration) -> Self {
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::task::spawn_blocking(move || {
            let mut seen = Seen::default();
            loop {
                seen.sample(&scope, Path::new("/proc"));
                match stopped.try_recv() {
                    Err(oneshot::error::TryRecvError::Empty) => std::thread::sleep(interval),
                    _ => break,
                }
            }
            seen.report()
        });
        Self { stop, task }
    }

    /// Takes a last sample and returns what the watch saw.
    pub async fn stop(self) -> Report {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}

/// Runs `work` while watching `scope` every `interval`; returns its output and the report.
pub async fn watch_while<T>(
    scope: Scope,
    interval: Duration,
    work: impl std::future::Future<Output = T>,
) -> (T, Report) {
    let watch = NetWatch::start(scope, interval);
    let out = work.await;
    (out, watch.stop().await)
}

/// The sampling interval the tests use.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(100);

/// Accumulated observations.
#[derive(Default)]
struct Seen {
    samples: u64,
    max_processes: usize,
    loopback: BTreeSet<(SocketAddr, SocketAddr)>,
    off_loopback: BTreeSet<Flow>,
}

impl Seen {
    fn sample(&mut self, scope: &Scope, proc_root: &Path) {
        self.samples += 1;
        let watched = watched_pids(scope, proc_root);
        self.max_processes = self.max_processes.max(watched.len());
        // One read of the socket tables per network namespace.
        let mut tables: HashMap<String, HashMap<u64, Socket>> = HashMap::new();
        for pid in watched {
            let dir = proc_root.join(pid.to_string());
            let inodes = socket_inodes(&dir);
            if inodes.is_empty() {
                continue;
            }
            let ns = std::fs::read_link(dir.join("ns/net"))
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| format!("pid-{pid}"));
            let table = tables.entry(ns).or_insert_with(|| socket_table(&dir));
            let command = std::fs::read_to_string(dir.join("comm"))
                .map(|c| c.trim().to_owned())
                .unwrap_or_default();
            for inode in inodes {
                let Some(socket) = table.get(&inode) else {
                    continue;
                };
                if is_loopback(socket.peer.ip()) {
                    self.loopback.insert((socket.local, socket.peer));
                } else {
                    self.off_loopback.insert(Flow {
                        protocol: socket.protocol,
                        peer: socket.peer,
                        local: socket.local,
                        command: command.clone(),
                        pid,
                    });
                }
            }
        }
    }

    fn report(self) -> Report {
        Report {
            samples: self.samples,
            max_processes: self.max_processes,
            loopback_flows: self.loopback.len(),
            off_loopback: self.off_loopback.into_iter().collect(),
        }
    }
}

/// The pids in scope and all their descendants.
fn watched_pids(scope: &Scope, proc_root: &Path) -> BTreeSet<u32> {
    let mut roots: BTreeSet<u32> = scope.pids.iter().copied().collect();
    if let Some(dir) = &scope.pid_files
        && let Ok(entries) = std::fs::read_dir(dir)
    {
        for entry in entries.flatten() {
            if let Ok(text) = std::fs::read_to_string(entry.path())
                && let Ok(pid) = text.trim().parse()
            {
                roots.insert(pid);
            }
        }
    }
    let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(proc_root) else {
        return roots;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(ppid) = std::fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|s| parent_pid(&s))
        {
            children.entry(ppid).or_default().push(pid);
        }
        if let Some(marker) = &scope.cgroup_marker
            && std::fs::read_to_string(entry.path().join("cgroup"))
                .is_ok_and(|c| c.contains(marker.as_str()))
        {
            roots.insert(pid);
        }
    }
    let mut watched = BTreeSet::new();
    let mut todo: Vec<u32> = roots.into_iter().collect();
    while let Some(pid) = todo.pop() {
        if watched.insert(pid)
            && let Some(kids) = children.get(&pid)
        {
            todo.extend(kids);
        }
    }
    watched
}

/// The parent pid from `/proc/<pid>/stat` (the field after the parenthesised command).
fn parent_pid(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The inodes of a process's sockets (`/proc/<pid>/fd/* -> socket:[inode]`).
fn socket_inodes(dir: &Path) -> Vec<u64> {
    let Ok(fds) = std::fs::read_dir(dir.join("fd")) else {
        return Vec::new();
    };
    fds.flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            target
                .to_str()?
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect()
}

/// A connected socket of a `/proc/net` table.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Socket {
    protocol: &'static str,
    local: SocketAddr,
    peer: SocketAddr,
}

/// The connected TCP and UDP sockets of the network namespace of `/proc/<pid>`, by inode.
fn socket_table(dir: &Path) -> HashMap<u64, Socket> {
    let mut table = HashMap::new();
    for (file, protocol) in [
        ("net/tcp", "tcp"),
        ("net/tcp6", "tcp"),
        ("net/udp", "udp"),
        ("net/udp6", "udp"),
    ] {
        if let Ok(text) = std::fs::read_to_string(dir.join(file)) {
            table.extend(parse_table(&text, protocol));
        }
    }
    table
}

/// The lines of one `/proc/net/{tcp,udp}[6]` table with a peer (not listening, not
/// unconnected).
fn parse_table(text: &str, protocol: &'static str) -> Vec<(u64, Socket)> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = parse_address(fields.get(1)?)?;
            let peer = parse_address(fields.get(2)?)?;
            let inode: u64 = fields.get(9)?.parse().ok()?;
            (peer.port() != 0 && !peer.ip().is_unspecified() && inode != 0).then_some((
                inode,
                Socket {
                    protocol,
                    local,
                    peer,
                },
            ))
        })
        .collect()
}

/// `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6), as the kernel prints them:
/// each 32-bit word in host (little-endian) order.
fn parse_address(text: &str) -> Option<SocketAddr> {
    let (addr, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(
            u32::from_str_radix(addr, 16).ok()?.swap_bytes(),
        )),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                let word = u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16).ok()?;
                chunk.copy_from_slice(&word.swap_bytes().to_be_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// 127.0.0.0/8, ::1, and 127.0.0.0/8 mapped into IPv6.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rstest::rstest]
    #[case("0100007F:1F90", "127.0.0.1:8080")]
    #[case("020200C0:CEA6", "192.0.2.2:52902")]
    #[case("00000000000000000000000001000000:0050", "[::1]:80")]
    #[case("0000000000000000FFFF00000100007F:01BB", "[::ffff:127.0.0.1]:443")]
    fn kernel_addresses_are_decoded(#[case] raw: &str, #[case] expected: &str) {
        assert_eq!(parse_address(raw).unwrap().to_string(), expected);
    }

    #[test]
    fn only_connected_sockets_are_kept() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:3F5B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0\n\
   1: 0100007F:D2F0 0100007F:3F5B 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0\n\
   2: 020200C0:CEA6 010200C0:0009 01 00000000:00000000 00:00000000 00000000     0        0 333 2 0\n";
        let parsed = parse_table(table, "tcp");
        let inodes: Vec<u64> = parsed.iter().map(|(i, _)| *i).collect();
        assert_eq!(inodes, vec![222, 333]);
        assert!(is_loopback(parsed[0].1.peer.ip()));
        assert!(!is_loopback(parsed[1].1.peer.ip()));
    }

    #[test]
    fn the_parent_pid_follows_the_command_even_with_spaces_and_parens() {
        assert_eq!(parent_pid("42 (a b) c) S 7 42 42 0"), Some(7));
    }

    /// The watch sees this process's own sockets: a loopback TCP connection, and a UDP socket
    /// connected (no packet is sent by `connect`) to a documentation address off loopback.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_watched_process_s_sockets_are_seen_and_classified() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let udp = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
        udp.connect("198.51.100.7:9").unwrap();
        let scope = Scope {
            pids: vec![std::process::id()],
            ..Scope::default()
        };
        let watch = NetWatch::start(scope, Duration::from_millis(20));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let report = watch.stop().await;
        assert!(report.samples >= 2, "{report}");
        // The watched process is this test binary, whose other tests run in parallel threads
        // and open sockets of their own: count only what this test made. The client end is a
        // loopback flow (the listener's end is not accepted, so no process holds it).
        assert!(report.loopback_flows >= 1, "{report}");
        let ours: Vec<_> = report
            .off_loopback
            .iter()
            .filter(|flow| flow.local.port() == udp.local_addr().unwrap().port())
            .collect();
        assert_eq!(ours.len(), 1, "{report}");
        let flow = ours[0];
        assert_eq!(flow.peer.to_string(), "198.51.100.7:9");
        assert_eq!((flow.protocol, flow.pid), ("udp", std::process::id()));
    }
}

//! What the local cluster changes on the host, captured so a test can check that
//! `env down local` left the machine as `env up local` found it: processes of the cluster's
//! programs, mounts of containers and volumes, kubepods cgroups, the sysctls the kubelet
//! sets, the host directories containerd and the kubelet create, and the cluster's ports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The sysctls the kubelet sets on start.
pub const SYSCTLS: [&str; 6] = [
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
];

/// Host directories containerd, the kubelet and the controller-manager's host-path
/// provisioner (`/tmp/hostpath_pv`) create on their own (`HOST_DIRS` of `cluster/lib.sh`).
pub const HOST_DIRS: [&str; 9] = [
    "/run/containerd",
    "/var/lib/kubelet",
    "/var/log/pods",
    "/var/log/containers",
    "/run/netns",
    "/var/lib/cni",
    "/var/lib/containerd",
    "/opt/containerd",
    "/tmp/hostpath_pv",
];

/// The loopback ports the cluster listens on (as `cluster/lib.sh` sets them).
pub const PORTS: [u16; 8] = [16443, 12379, 12380, 12381, 10257, 10259, 10250, 10248];

/// The programs the cluster runs (besides the binaries in the build cache).
const PROGRAMS: [&str; 4] = [
    "/usr/bin/etcd",
    "/usr/bin/containerd",
    "/usr/bin/containerd-shim-runc-v2",
    "/usr/sbin/runc",
];

/// A snapshot of what the cluster changes on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostState {
    /// Running processes of the cluster's programs, by executable (pids left out).
    pub processes: BTreeMap<String, usize>,
    /// Processes in kubepods cgroups.
    pub pod_processes: usize,
    /// Mount points under the run directory or the host directories, and overlay mounts.
    pub mounts: BTreeSet<String>,
    /// kubepods cgroup directories (all levels).
    pub cgroups: BTreeSet<String>,
    /// The kubelet's sysctls and their values.
    pub sysctls: BTreeMap<String, String>,
    /// Which of [`HOST_DIRS`] and the run directory exist.
    pub paths: BTreeSet<String>,
    /// Which of [`PORTS`] something listens on.
    pub listening: BTreeSet<u16>,
}

impl HostState {
    /// Captures the host now, for the cluster with this run directory and build cache.
    pub fn capture(run_dir: &Path, cache_dir: &Path) -> Self {
        let cache_bin = cache_dir.join("bin");
        let mut processes = BTreeMap::new();
        let mut pod_processes = 0;
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            if entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
                .is_none()
            {
                continue;
            }
            if let Ok(exe) = std::fs::read_link(entry.path().join("exe"))
                && (PROGRAMS.iter().any(|p| exe == Path::new(p)) || exe.starts_with(&cache_bin))
            {
                *processes.entry(exe.display().to_string()).or_insert(0) += 1;
            }
            if std::fs::read_to_string(entry.path().join("cgroup"))
                .is_ok_and(|c| c.contains("/kubepods"))
            {
                pod_processes += 1;
            }
        }
        let run = run_dir.display().to_string();
        let mounts = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let target = unescape(fields.get(4)?);
                let fstype = fields
                    .iter()
                    .position(|f| *f == "-")
                    .and_then(|i| fields.get(i + 1))
                    .copied()
                    .unwrap_or("");
                let ours = target.starts_with(&format!("{run}/"))
                    || HOST_DIRS
                        .iter()
                        .any(|d| target.starts_with(&format!("{d}/")))
                    || (fstype == "overlay" && target != "/");
                ours.then_some(target)
            })
            .collect();
        let mut cgroups = BTreeSet::new();
        for hierarchy in std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
        {
            collect_dirs(&hierarchy.path().join("kubepods"), &mut cgroups);
        }
        let sysctls = SYSCTLS
            .iter()
            .map(|k| {
                let path = PathBuf::from("/proc/sys").join(k.replace('.', "/"));
                let value = std::fs::read_to_string(path).unwrap_or_default();
                ((*k).to_owned(), value.trim().to_owned())
            })
            .collect();
        let paths = HOST_DIRS
            .iter()
            .map(PathBuf::from)
            .chain([run_dir.to_path_buf()])
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .collect();
        Self {
            processes,
            pod_processes,
            mounts,
            cgroups,
            sysctls,
            paths,
            listening: listening_ports(),
        }
    }

    /// What differs from `before`, one line each (empty: the host is as it was).
    pub fn differences(&self, before: &HostState) -> Vec<String> {
        let mut out = Vec::new();
        let mut set = |what: &str, now: Vec<String>, then: Vec<String>| {
            let added: Vec<&String> = now.iter().filter(|x| !then.contains(x)).collect();
            let gone: Vec<&String> = then.iter().filter(|x| !now.contains(x)).collect();
            if !added.is_empty() {
                out.push(format!("{what} added: {added:?}"));
            }
            if !gone.is_empty() {
                out.push(format!("{what} gone: {gone:?}"));
            }
        };
        let counted = |m: &BTreeMap<String, usize>| -> Vec<String> {
            m.iter().map(|(k, n)| format!("{k} x{n}")).collect()
        };
        set(
            "processes",
            counted(&self.processes),
            counted(&before.processes),
        );
        set(
            "processes in kubepods cgroups",
            vec![self.pod_processes.to_string()],
            vec![before.pod_processes.to_string()],
        );
        set(
            "mounts",
            self.mounts.iter().cloned().collect(),
            before.mounts.iter().cloned().collect(),
        );
        set(
            "cgroups",
            self.cgroups.iter().cloned().collect(),
            before.cgroups.iter().cloned().collect(),
        );
        set(
            "sysctls",
            self.sysctls
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            before
                .sysctls
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        );
        set(
            "paths",
            self.paths.iter().cloned().collect(),
            before.paths.iter().cloned().collect(),
        );
        set(
            "listening ports",
            self.listening.iter().map(u16::to_string).collect(),
            before.listening.iter().map(u16::to_string).collect(),
        );
        out
    }
}

/// Where `env up local` keeps the snapshot it took before starting a cluster (outside the
/// run directory, which `env down` removes).
pub fn before_path() -> PathBuf {
    super::root_dir().join("host-before-up.json")
}

fn collect_dirs(dir: &Path, out: &mut BTreeSet<String>) {
    if !dir.is_dir() {
        return;
    }
    out.insert(dir.display().to_string());
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect_dirs(&entry.path(), out);
        }
    }
}

/// Which of [`PORTS`] have a listening TCP socket on the host (any address).
fn listening_ports() -> BTreeSet<u16> {
    let mut ports = BTreeSet::new();
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .skip(1)
        {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.get(3) != Some(&"0A") {
                continue;
            }
            if let Some(port) = fields
                .get(1)
                .and_then(|a| a.rsplit_once(':'))
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
                && PORTS.contains(&port)
            {
                ports.insert(port);
            }
        }
    }
    ports
}

/// Undoes the octal escapes of `/proc/self/mountinfo` (`\040` for a space).
fn unescape(field: &str) -> String {
    let mut out = String::new();
    let mut rest = field;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        match rest
            .get(i + 1..i + 4)
            .and_then(|o| u8::from_str_radix(o, 8).ok())
        {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape(r"/a\040b/c"), "/a b/c");
        assert_eq!(unescape("/plain"), "/plain");
    }

    #[test]
    fn a_snapshot_equals_itself_and_differences_are_named() {
        let run = tempfile::tempdir().unwrap();
        let before = HostState::capture(run.path(), Path::new("/nonexistent-cache"));
        assert_eq!(before.differences(&before), Vec::<String>::new());
        let mut after = before.clone();
        after
            .mounts
            .insert(format!("{}/node/kubelet/pods/x", run.path().display()));
        after
            .cgroups
            .insert("/sys/fs/cgroup/memory/kubepods/rolecheck-test".to_owned());
        let found = after.differences(&before);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("mounts added"), "{found:?}");
        assert!(found[1].contains("kubepods/rolecheck-test"), "{found:?}");
    }
}

//! Can this machine run a kubelet? Checked before anything is installed or built, so that
//! `env up local` fails at once (exit 2) with the exact reason instead of degrading.

use std::path::Path;

/// `CAP_SYS_ADMIN` (mounts: container root filesystems, volumes).
const CAP_SYS_ADMIN: u32 = 21;

/// The cgroup v1 controllers the kubelet (cgroupfs driver) and runc need.
const CGROUP_V1_CONTROLLERS: [&str; 5] = ["cpu", "cpuacct", "cpuset", "memory", "pids"];

/// The cgroup v2 controllers the same needs map to.
const CGROUP_V2_CONTROLLERS: [&str; 4] = ["cpu", "cpuset", "memory", "pids"];

/// What the machine lacks, one line per missing thing (empty: it can run the cluster).
pub fn problems() -> Vec<String> {
    problems_of(
        &read("/proc/self/status"),
        &read("/proc/filesystems"),
        Path::new("/sys/fs/cgroup"),
        Path::new("/usr/bin/apt-get").is_file(),
    )
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// [`problems`] on given inputs (the tests feed made-up ones).
pub fn problems_of(
    status: &str,
    filesystems: &str,
    cgroup_root: &Path,
    has_apt: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    match field(status, "Uid:").and_then(|v| v.split_whitespace().nth(1).map(str::to_owned)) {
        Some(uid) if uid == "0" => {}
        Some(uid) => problems.push(format!(
            "not running as root (effective uid {uid}): containerd, the kubelet and apt-get need root"
        )),
        None => problems.push("cannot read the effective uid from /proc/self/status".to_owned()),
    }
    match field(status, "CapEff:").and_then(|v| u64::from_str_radix(v.trim(), 16).ok()) {
        Some(caps) if caps & (1 << CAP_SYS_ADMIN) != 0 => {}
        Some(caps) => problems.push(format!(
            "no CAP_SYS_ADMIN (CapEff {caps:016x}): the kubelet and runc cannot mount container filesystems and volumes"
        )),
        None => problems.push("cannot read CapEff from /proc/self/status".to_owned()),
    }
    if !filesystems
        .lines()
        .any(|l| l.split_whitespace().last() == Some("overlay"))
    {
        problems.push(
            "no overlay filesystem in /proc/filesystems: containerd's overlayfs snapshotter needs it"
                .to_owned(),
        );
    }
    problems.extend(cgroup_problems(cgroup_root));
    if !has_apt {
        problems.push(
            "no /usr/bin/apt-get: the local cluster is built from Debian's packages".to_owned(),
        );
    }
    problems
}

fn field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status.lines().find_map(|l| l.strip_prefix(name))
}

fn cgroup_problems(root: &Path) -> Vec<String> {
    let v2 = root.join("cgroup.controllers");
    if v2.is_file() {
        let have = std::fs::read_to_string(&v2).unwrap_or_default();
        let missing: Vec<&str> = CGROUP_V2_CONTROLLERS
            .into_iter()
            .filter(|c| !have.split_whitespace().any(|h| h == *c))
            .collect();
        return if missing.is_empty() {
            writable(root).into_iter().collect()
        } else {
            vec![format!(
                "cgroup v2 at {} lacks the controllers {} (has: {})",
                root.display(),
                missing.join(", "),
                have.trim()
            )]
        };
    }
    let missing: Vec<&str> = CGROUP_V1_CONTROLLERS
        .into_iter()
        .filter(|c| !root.join(c).join("cgroup.procs").is_file())
        .collect();
    if !missing.is_empty() {
        return vec![format!(
            "no cgroups: {} lacks the controllers {} (neither cgroup v1 hierarchies nor cgroup v2 are mounted there)",
            root.display(),
            missing.join(", ")
        )];
    }
    CGROUP_V1_CONTROLLERS
        .into_iter()
        .filter_map(|c| writable(&root.join(c)))
        .collect()
}

/// A problem if no cgroup can be made under `dir` (read-only cgroup mounts in containers).
fn writable(dir: &Path) -> Option<String> {
    let probe = dir.join(format!("rolecheck-preflight-{}", std::process::id()));
    match std::fs::create_dir(&probe) {
        Ok(()) => {
            let _ = std::fs::remove_dir(&probe);
            None
        }
        Err(e) => Some(format!(
            "cannot create a cgroup under {}: {e} (the kubelet creates its kubepods cgroups there)",
            dir.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT_STATUS: &str = "Name:\tx\nUid:\t0\t0\t0\t0\nCapEff:\t000001fffeffffff\n";

    fn v1_root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for c in CGROUP_V1_CONTROLLERS {
            std::fs::create_dir(dir.path().join(c)).unwrap();
            std::fs::write(dir.path().join(c).join("cgroup.procs"), "").unwrap();
        }
        dir
    }

    #[test]
    fn a_root_machine_with_cgroups_and_overlay_passes() {
        let root = v1_root();
        let found = problems_of(ROOT_STATUS, "nodev\toverlay\n", root.path(), true);
        assert!(found.is_empty(), "{found:?}");
    }

    #[rstest::rstest]
    #[case::not_root(
        "Uid:\t1000\t1000\t1000\t1000\nCapEff:\t000001ffffffffff\n",
        "not running as root (effective uid 1000)"
    )]
    #[case::no_sys_admin("Uid:\t0\t0\t0\t0\nCapEff:\t0000000000000000\n", "no CAP_SYS_ADMIN")]
    fn missing_privileges_are_named(#[case] status: &str, #[case] expected: &str) {
        let root = v1_root();
        let found = problems_of(status, "nodev\toverlay\n", root.path(), true);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains(expected), "{found:?}");
    }

    #[test]
    fn missing_cgroups_overlay_and_apt_are_named() {
        let empty = tempfile::tempdir().unwrap();
        let found = problems_of(ROOT_STATUS, "nodev\tproc\n", empty.path(), false);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("no overlay filesystem"), "{found:?}");
        assert!(
            found[1].contains("no cgroups") && found[1].contains("memory"),
            "{found:?}"
        );
        assert!(found[2].contains("apt-get"), "{found:?}");
    }

    #[test]
    fn cgroup_v2_without_the_memory_controller_is_named() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("cgroup.controllers"), "cpu cpuset pids\n").unwrap();
        let found = problems_of(ROOT_STATUS, "nodev\toverlay\n", root.path(), true);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("lacks the controllers memory"),
            "{found:?}"
        );
    }
}

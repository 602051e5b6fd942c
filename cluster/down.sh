#!/bin/bash
# cluster/down.sh: stops what up.sh started and leaves the host as up.sh found it:
#   kubelet -> every container and sandbox through containerd -> containerd and the shims of
#   its socket (found by pid, never by name) -> processes still in kubepods cgroups -> mounts
#   under the run directory and the host directories containerd/kubelet use (deepest first) ->
#   kubepods cgroups -> control plane and etcd -> the sysctls the kubelet changed -> the host
#   directories containerd/kubelet created -> the run directory. The build cache stays.
# Exit 1 (naming what) if something could not be removed.
HERE=$(dirname "$(readlink -f "$0")")
. "$HERE/lib.sh"
set +e
trap - ERR   # failures here are expected (nothing to kill) and handled one by one
[ -d "$RUN" ] || { log "nothing to stop ($RUN does not exist)"; exit 0; }
SOCK=$NODE/containerd.sock
problems=()

# stop NAME...: SIGTERM to each by its pid file, then SIGKILL to those alive after 15 s
stop() {
  local name pid i live=()
  for name in "$@"; do
    [ -f "$RUN/pids/$name.pid" ] || continue
    pid=$(cat "$RUN/pids/$name.pid")
    kill "$pid" 2>/dev/null && live+=("$name:$pid")
    rm -f "$RUN/pids/$name.pid"
  done
  for i in $(seq 1 75); do
    local still=()
    for entry in "${live[@]}"; do
      if kill -0 "${entry#*:}" 2>/dev/null; then still+=("$entry"); else log "stopped ${entry%%:*} (pid ${entry#*:})"; fi
    done
    live=("${still[@]}")
    [ ${#live[@]} -eq 0 ] && return 0
    sleep 0.2
  done
  for entry in "${live[@]}"; do kill -9 "${entry#*:}" 2>/dev/null; log "killed ${entry%%:*} (pid ${entry#*:}) after 15s"; done
}
# pids of the containerd shims serving our socket (scan of /proc)
shims() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/exe" 2>/dev/null)" = /usr/bin/containerd-shim-runc-v2 ] || continue
    tr '\0' ' ' < "$p/cmdline" 2>/dev/null | grep -q -- "-address $SOCK " && echo "${p#/proc/}"
  done
}
kubepods() { local c; for c in /sys/fs/cgroup/*; do [ -d "$c/kubepods" ] && echo "$c/kubepods"; done; true; }
existed() { grep -qx "existed $1" "$RUN/host-before" 2>/dev/null; }

stop kubelet
if [ -f "$RUN/pids/containerd.pid" ] && kill -0 "$(cat "$RUN/pids/containerd.pid")" 2>/dev/null; then
  CTR=(timeout 30 ctr -a "$SOCK" -n k8s.io)
  for c in $("${CTR[@]}" containers ls -q 2>/dev/null); do
    "${CTR[@]}" tasks kill -s SIGKILL "$c" >/dev/null 2>&1
    "${CTR[@]}" tasks delete -f "$c" >/dev/null 2>&1
    "${CTR[@]}" containers delete "$c" >/dev/null 2>&1 && log "removed container ${c:0:12}"
  done
fi
stop containerd
for p in $(shims); do kill "$p" 2>/dev/null && log "stopped leftover shim (pid $p)"; done
for i in $(seq 1 25); do [ -z "$(shims)" ] && break; sleep 0.2; done
for p in $(shims); do kill -9 "$p" 2>/dev/null && log "killed leftover shim (pid $p)"; done
for d in $(kubepods); do
  existed "$d" && continue
  for p in $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null); do
    kill -9 "$p" 2>/dev/null && log "killed pid $p left in $d"
  done
done

# mounts: overlay rootfs, sandbox shm, kubelet volumes (tmpfs), deepest first
mounts() {
  findmnt -rn -o TARGET | grep -E "^($RUN/|$CACHE/containerd/|/run/containerd/|/var/lib/kubelet/|/run/netns/cni-|/var/run/netns/cni-)" \
    | awk '{print length, $0}' | sort -rn | cut -d' ' -f2-
}
for i in 1 2 3; do
  for m in $(mounts); do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
  [ -z "$(mounts)" ] && break
  sleep 0.5
done
[ -z "$(mounts)" ] || problems+=("still mounted: $(mounts | tr '\n' ' ')")

for d in $(kubepods); do
  existed "$d" && continue
  for i in 1 2 3 4 5; do
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    [ -d "$d" ] || break
    sleep 0.5
  done
  [ -d "$d" ] && problems+=("cgroup $d still exists")
done

stop kube-scheduler kube-controller-manager
stop kube-apiserver
stop etcd

if [ -f "$RUN/host-before" ]; then
  while read -r kind key value; do
    [ "$kind" = sysctl ] || continue
    if [ "$(sysctl -n "$key")" != "$value" ]; then
      sysctl -qw "$key=$value" && log "restored $key=$value" || problems+=("could not restore $key=$value")
    fi
  done < "$RUN/host-before"
  for d in $HOST_DIRS; do
    existed "$d" && continue
    if [ -e "$d" ] && [ ! -L "$d" ]; then rm -rf "$d" && log "removed $d"; fi
  done
else
  problems+=("$RUN/host-before missing: sysctls and host directories not restored")
fi

if [ ${#problems[@]} -gt 0 ]; then
  for p in "${problems[@]}"; do echo "down.sh: $p" >&2; done
  echo "down.sh: kept $RUN (logs in $RUN/logs)" >&2
  exit 1
fi
rm -rf "$RUN" && log "removed $RUN (build cache $CACHE kept)"

# cluster/lib.sh: shared settings of the local Kubernetes cluster scripts (sourced, not run).
#
# One home for the layout: the build cache (binaries, images; kept across runs, keyed by the
# Kubernetes version) and the run directory (PKI, etcd data, node state, pid files, logs,
# cluster.json; removed by down.sh). `rolecheck env up|down local` runs these scripts with the
# same variables (harness/src/target/local.rs).

set -euo pipefail
# a failing command ends the script: say which one and where
trap 'echo "${0##*/}: line $LINENO: \`$BASH_COMMAND\` failed" >&2' ERR

# Debian bookworm's `kubernetes` source package: 1.20.5+really1.20.2 (the 1.20.2 tree + vendor/).
K8S_VERSION=1.20.2
K8S_COMMIT=faecb196815e248d3ecfb03c680a4507229c2a56
K8S_BUILD_DATE=2021-01-13T13:20:00Z

LOCAL_ROOT=${ROLECHECK_LOCAL_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/rolecheck/local-k8s}
CACHE=$LOCAL_ROOT/$K8S_VERSION          # build cache: src/, gopath/, gocache/, bin/, images/, containerd/ (image store)
RUN=${ROLECHECK_LOCAL_RUN:-$LOCAL_ROOT/run}   # one running cluster per machine
NODE=$RUN/node
BINARIES="kube-apiserver kube-controller-manager kube-scheduler kubelet"

# Fixed loopback ports (below the ephemeral range the tests' random ports come from).
API_PORT=${ROLECHECK_LOCAL_API_PORT:-16443}
ETCD_PORT=12379; ETCD_PEER_PORT=12380; ETCD_METRICS_PORT=12381
KCM_PORT=10257; SCHED_PORT=10259
KUBELET_PORT=10250; KUBELET_HEALTHZ_PORT=10248

SA_ISSUER=${ROLECHECK_LOCAL_ISSUER:-https://127.0.0.1:$API_PORT}
# Only the API server's own audience: sts.amazonaws.com tokens must not be API credentials.
API_AUDIENCES=$SA_ISSUER
SERVICE_CIDR=10.0.0.0/24
NODE_NAME=127.0.0.1

# The default StorageClass up.sh creates (host-path provisioner of the controller-manager).
STORAGE_CLASS=rolecheck-local-hostpath
# Host directories the daemons create when missing; down.sh removes those that up.sh did not
# find (/tmp/hostpath_pv: the host-path provisioner's volumes).
HOST_DIRS="/run/containerd /var/lib/kubelet /var/log/pods /var/log/containers /opt/containerd
  /var/run/netns /run/netns /etc/cni /opt/cni /var/lib/cni /var/lib/containerd /tmp/hostpath_pv"

PAUSE_IMAGE=docker.io/rolecheck/pause:3.4
AIRFLOW_IMAGE=docker.io/rolecheck/airflow-like:bookworm

# Any stray HTTP(S) (image pull, cloud metadata) of the daemons goes to a dead loopback port.
GUARD_ENV=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
  HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost
  http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 no_proxy=127.0.0.1,localhost
  AWS_EC2_METADATA_DISABLED=true)

ms() { echo $(($(date +%s%N) / 1000000)); }
took() { local d=$(($(ms) - $1)); printf '%d.%01ds' $((d / 1000)) $((d % 1000 / 100)); }
log() { echo "[${0##*/} $(date +%T)] $*" >&2; }
die() { echo "${0##*/}: $*" >&2; exit 1; }

# unmount_under DIR: unmounts everything mounted below DIR, deepest first.
unmount_under() {
  local m
  for m in $(findmnt -rn -o TARGET | awk -v d="$1/" 'index($0, d) == 1 {print length, $0}' | sort -rn | cut -d' ' -f2-); do
    umount "$m" 2>/dev/null || umount -l "$m"
  done
}

# apt_need PKG...: installs the Debian packages that are not installed yet.
apt_need() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local t; t=$(ms)
  log "apt-get install ${missing[*]}"
  apt-get update -qq >&2 || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
    || die "apt-get install ${missing[*]} failed"
  log "installed in $(took "$t")"
}

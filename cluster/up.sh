#!/bin/bash
# cluster/up.sh: starts the local cluster from the cache build.sh filled: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, containerd and the kubelet, all on 127.0.0.1, each
# with a pid file ($RUN/pids) and a log ($RUN/logs); imports the images; waits until the node
# is Ready; writes $RUN/cluster.json (what the `local` target reads). A daemon that already
# runs is kept. Every wait has a deadline and names what it waited for when it fails.
HERE=$(dirname "$(readlink -f "$0")")
. "$HERE/lib.sh"
for b in $BINARIES; do [ -x "$CACHE/bin/$b" ] || die "$CACHE/bin/$b missing: run cluster/build.sh first"; done
for i in pause airflow-like; do [ -s "$CACHE/images/$i.oci.tar" ] || die "$CACHE/images/$i.oci.tar missing: run cluster/build.sh first"; done
T_ALL=$(ms)
P=$RUN/pki
mkdir -p "$RUN/pids" "$RUN/logs" "$P" "$NODE"/{cni,kubelet,runc,containerd} "$CACHE/containerd"
chmod 700 "$RUN" "$P"

# What the host looked like before the first start: down.sh restores the sysctls the kubelet
# changes and removes the host directories containerd/kubelet create, unless they existed.
if [ ! -f "$RUN/host-before" ]; then
  {
    for k in vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops \
      kernel.keys.root_maxkeys kernel.keys.root_maxbytes; do
      echo "sysctl $k $(sysctl -n $k)"
    done
    for d in $HOST_DIRS; do
      [ -e "$d" ] && echo "existed $d"
    done
    for c in /sys/fs/cgroup/*; do [ -d "$c/kubepods" ] && echo "existed $c/kubepods"; done
    true
  } > "$RUN/host-before"
fi

# ---------------------------------------------------------------- PKI and credentials
cd "$P"
if [ ! -f ca.crt ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 365 \
    -subj "/CN=rolecheck-local-ca" 2>/dev/null || die "creating the cluster CA failed"
fi
# cert NAME SUBJECT SANS USAGE: a key and a certificate signed by the cluster CA
cert() {
  [ -s "$1.crt" ] && return 0
  openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null \
    || die "creating the key of $1 failed"
  { [ -n "$3" ] && echo "subjectAltName=$3"; echo "extendedKeyUsage=$4"; echo "basicConstraints=CA:FALSE"; } > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 365 \
    -extfile "$1.ext" 2>/dev/null || die "signing $1 failed"
  rm -f "$1.csr" "$1.ext"
}
cert apiserver /CN=kube-apiserver \
  "IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc" serverAuth
# the API server's client certificate towards the kubelet (exec, logs): system:masters, as kubeadm does
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "" clientAuth
# the kubelet: serving certificate for 127.0.0.1 and its client certificate as node 127.0.0.1
cert kubelet-serving "/CN=$NODE_NAME" "IP:127.0.0.1" serverAuth
cert kubelet-client "/O=system:nodes/CN=system:node:$NODE_NAME" "" clientAuth
# for admission webhooks served on loopback (the cluster CA is their caBundle)
cert webhook /CN=rolecheck-webhook "IP:127.0.0.1,DNS:localhost" serverAuth
[ -f sa.key ] || { openssl genrsa -out sa.key 2048 2>/dev/null && openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null; } \
  || die "creating the service-account signing key failed"
if [ ! -f tokens.csv ]; then
  tok() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
  {
    echo "$(tok),admin,admin,system:masters"
    echo "$(tok),system:kube-controller-manager,system:kube-controller-manager"
    echo "$(tok),system:kube-scheduler,system:kube-scheduler"
  } > tokens.csv
fi
chmod 600 ./*.key tokens.csv
token() { awk -F, -v u="$1" '$2==u{print $1}' "$P/tokens.csv"; }
# kubeconfig FILE USER [client-cert-name]
kubeconfig() {
  {
    printf 'apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n'
    printf '    server: https://127.0.0.1:%s\n    certificate-authority: %s\n' "$API_PORT" "$P/ca.crt"
    printf 'users:\n- name: %s\n  user:\n' "$2"
    if [ -n "${3:-}" ]; then
      printf '    client-certificate: %s\n    client-key: %s\n' "$P/$3.crt" "$P/$3.key"
    else
      printf '    token: %s\n' "$(token "$2")"
    fi
    printf 'contexts:\n- name: local\n  context: {cluster: local, user: "%s"}\ncurrent-context: local\n' "$2"
  } > "$1.tmp"
  chmod 600 "$1.tmp"; mv "$1.tmp" "$1"
}
kubeconfig "$RUN/admin.kubeconfig" admin
kubeconfig "$RUN/controller-manager.kubeconfig" system:kube-controller-manager
kubeconfig "$RUN/scheduler.kubeconfig" system:kube-scheduler
kubeconfig "$NODE/kubelet.kubeconfig" "system:node:$NODE_NAME" kubelet-client
cd "$RUN"

# ---------------------------------------------------------------- daemons
alive() { [ -f "pids/$1.pid" ] && kill -0 "$(cat "pids/$1.pid")" 2>/dev/null; }
# start NAME CMD...: runs CMD in the background with the guard environment, unless NAME runs
start() {
  local name=$1; shift
  if alive "$name"; then return 0; fi
  env -i "${GUARD_ENV[@]}" setsid "$@" > "logs/$name.log" 2>&1 < /dev/null &
  echo $! > "pids/$name.pid"
  log "started $name (pid $!, log $RUN/logs/$name.log)"
}
# wait_for NAME SECONDS WHAT CHECK...: runs CHECK until it succeeds; fails if NAME dies or time is up
wait_for() {
  local name=$1 secs=$2 what=$3 t; shift 3; t=$(ms)
  until "$@" >/dev/null 2>&1; do
    alive "$name" || { tail -20 "logs/$name.log" >&2; die "$name exited while waiting for $what (log: $RUN/logs/$name.log)"; }
    [ $(($(ms) - t)) -lt $((secs * 1000)) ] || { tail -20 "logs/$name.log" >&2; die "$what not reached within ${secs}s (log: $RUN/logs/$name.log)"; }
    sleep 0.2
  done
}
ADMIN=(--cacert "$P/ca.crt" -H "Authorization: Bearer $(token admin)")
ok() { curl -sf -m 2 -o /dev/null "$@"; }

start etcd etcd --name rolecheck-local --data-dir "$RUN/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "rolecheck-local=http://127.0.0.1:$ETCD_PEER_PORT" \
  --listen-metrics-urls "http://127.0.0.1:$ETCD_METRICS_PORT" --quota-backend-bytes 2147483648
wait_for etcd 60 "etcd /health" ok "http://127.0.0.1:$ETCD_PORT/health"

start kube-apiserver "$CACHE/bin/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 --secure-port="$API_PORT" --advertise-address=127.0.0.1 --insecure-port=0 \
  --endpoint-reconciler-type=none \
  --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" \
  --client-ca-file="$P/ca.crt" --token-auth-file="$P/tokens.csv" \
  --authorization-mode=Node,RBAC \
  --kubelet-client-certificate="$P/apiserver-kubelet-client.crt" --kubelet-client-key="$P/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$P/ca.crt" --kubelet-preferred-address-types=InternalIP \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --service-account-issuer="$SA_ISSUER" \
  --service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
  --api-audiences="$API_AUDIENCES" \
  --feature-gates=ServiceAccountIssuerDiscovery=true \
  --enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,NodeRestriction,DefaultTolerationSeconds,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ResourceQuota,Priority \
  --allow-privileged=true --profiling=false --v=1
wait_for kube-apiserver 120 "kube-apiserver /readyz" ok "${ADMIN[@]}" "https://127.0.0.1:$API_PORT/readyz"

# OIDC discovery and JWKS readable without credentials, as on managed clusters
curl -s -m 10 -o /dev/null "${ADMIN[@]}" -H 'Content-Type: application/json' -X POST \
  "https://127.0.0.1:$API_PORT/apis/rbac.authorization.k8s.io/v1/clusterrolebindings" \
  -d '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"rolecheck:service-account-issuer-discovery"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"system:service-account-issuer-discovery"},"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"Group","name":"system:unauthenticated"}]}' \
  || die "creating the ClusterRoleBinding for OIDC discovery failed"

# A default StorageClass, as managed clusters have one (EKS: gp2): claims that name no class
# (the Airflow chart's worker volumeClaimTemplates) get a hostPath volume from the
# controller-manager's host-path provisioner (--enable-hostpath-provisioner, single node, under
# /tmp/hostpath_pv/), deleted with the claim (reclaimPolicy Delete).
curl -s -m 10 -o /dev/null "${ADMIN[@]}" -H 'Content-Type: application/json' -X POST \
  "https://127.0.0.1:$API_PORT/apis/storage.k8s.io/v1/storageclasses" \
  -d '{"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","metadata":{"name":"'"$STORAGE_CLASS"'","annotations":{"storageclass.kubernetes.io/is-default-class":"true"}},"provisioner":"kubernetes.io/host-path","reclaimPolicy":"Delete","volumeBindingMode":"Immediate"}' \
  || die "creating the default StorageClass $STORAGE_CLASS failed"

start kube-controller-manager "$CACHE/bin/kube-controller-manager" \
  --kubeconfig="$RUN/controller-manager.kubeconfig" \
  --service-account-private-key-file="$P/sa.key" --root-ca-file="$P/ca.crt" \
  --use-service-account-credentials=true --service-cluster-ip-range="$SERVICE_CIDR" \
  --enable-hostpath-provisioner=true \
  --leader-elect=false --bind-address=127.0.0.1 --secure-port="$KCM_PORT" --port=0 --profiling=false --v=1
start kube-scheduler "$CACHE/bin/kube-scheduler" --kubeconfig="$RUN/scheduler.kubeconfig" \
  --leader-elect=false --bind-address=127.0.0.1 --secure-port="$SCHED_PORT" --port=0 --profiling=false --v=1

# ---------------------------------------------------------------- node: containerd
SOCK=$NODE/containerd.sock
echo "nameserver 127.0.0.1" > "$NODE/resolv.conf"   # any DNS lookup of a pod stays on loopback
# only the loopback plugin: the node is NetworkReady, pods use hostNetwork: true
echo '{"cniVersion":"0.4.0","name":"loopback-only","plugins":[{"type":"loopback"}]}' > "$NODE/cni/10-loopback.conflist"
cat > "$NODE/containerd.toml" <<TOML
version = 2
root = "$CACHE/containerd"
state = "$NODE/containerd/state"
oom_score = 0
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # no CAP_SYS_RESOURCE here: runc cannot set a negative oom_score_adj; clamp it
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$NODE/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE/cni"
    max_conf_num = 1
TOML
start containerd containerd --config "$NODE/containerd.toml"
CTR=(ctr -a "$SOCK" -n k8s.io)
wait_for containerd 60 "containerd on $SOCK" "${CTR[@]}" version

# images: containerd's image store is in the build cache (kept by down.sh): imported once,
# again only when the cached tarball changed
for img in pause airflow-like; do
  read -r ref digest < "$CACHE/images/$img.oci.tar.ref"
  have=$("${CTR[@]}" images ls "name==$ref" 2>/dev/null | awk 'NR>1{print $3}')
  if [ "$have" != "$digest" ]; then
    t=$(ms)
    "${CTR[@]}" images import "$CACHE/images/$img.oci.tar" >/dev/null || die "ctr images import $CACHE/images/$img.oci.tar failed"
    log "imported $ref in $(took "$t")"
  fi
done

# ---------------------------------------------------------------- node: kubelet
cat > "$NODE/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
tlsCertFile: $P/kubelet-serving.crt
tlsPrivateKeyFile: $P/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $P/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
cgroupsPerQOS: true
failSwapOn: false
makeIPTablesUtilChains: false
oomScoreAdj: 0
resolvConf: $NODE/resolv.conf
clusterDomain: cluster.local
hairpinMode: none
maxPods: 50
serializeImagePulls: false
imageGCHighThresholdPercent: 100
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
YAML
start kubelet "$CACHE/bin/kubelet" --config="$NODE/kubelet.yaml" --kubeconfig="$NODE/kubelet.kubeconfig" \
  --root-dir="$NODE/kubelet" --cert-dir="$NODE/kubelet/pki" \
  --container-runtime=remote --container-runtime-endpoint="unix://$SOCK" --runtime-request-timeout=5m \
  --pod-infra-container-image="$PAUSE_IMAGE" --hostname-override="$NODE_NAME" --v=1

wait_for kube-controller-manager 60 "kube-controller-manager /healthz" ok -k "https://127.0.0.1:$KCM_PORT/healthz"
wait_for kube-scheduler 60 "kube-scheduler /healthz" ok -k "https://127.0.0.1:$SCHED_PORT/healthz"
wait_for kubelet 60 "kubelet /healthz" ok "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz"
# pods can be created once the controller-manager made the default ServiceAccount
wait_for kube-controller-manager 60 "ServiceAccount default/default" \
  ok "${ADMIN[@]}" "https://127.0.0.1:$API_PORT/api/v1/namespaces/default/serviceaccounts/default"
node_ready() {
  curl -sf -m 2 "${ADMIN[@]}" "https://127.0.0.1:$API_PORT/api/v1/nodes/$NODE_NAME" \
    | python3 -c 'import json,sys; n=json.load(sys.stdin); sys.exit(0 if any(c["type"]=="Ready" and c["status"]=="True" for c in n["status"]["conditions"]) else 1)'
}
wait_for kubelet 120 "node $NODE_NAME Ready" node_ready

# ---------------------------------------------------------------- cluster.json
python3 - "$RUN/cluster.json" <<PY
import json, sys
doc = {
    "version": "v$K8S_VERSION",
    "api_server": "https://127.0.0.1:$API_PORT",
    "kubeconfig": "$RUN/admin.kubeconfig",
    "admin_token": "$(token admin)",
    "ca_cert": "$P/ca.crt",
    "ca_key": "$P/ca.key",
    "webhook_cert": "$P/webhook.crt",
    "webhook_key": "$P/webhook.key",
    "service_account_issuer": "$SA_ISSUER",
    "jwks_uri": "https://127.0.0.1:$API_PORT/openid/v1/jwks",
    "api_audiences": "$API_AUDIENCES".split(","),
    "service_cidr": "$SERVICE_CIDR",
    "node_name": "$NODE_NAME",
    "images": {"pause": "$PAUSE_IMAGE", "airflow_like": "$AIRFLOW_IMAGE"},
    "containerd_socket": "$SOCK",
    "kubelet_root": "$NODE/kubelet",
    "run_dir": "$RUN",
    "cache_dir": "$CACHE",
    "logs": "$RUN/logs",
    "pids": "$RUN/pids",
}
with open(sys.argv[1] + ".tmp", "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
PY
chmod 600 "$RUN/cluster.json.tmp"; mv "$RUN/cluster.json.tmp" "$RUN/cluster.json"
log "cluster up in $(took "$T_ALL"): https://127.0.0.1:$API_PORT, node $NODE_NAME Ready; $RUN/cluster.json"

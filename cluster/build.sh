#!/bin/bash
# cluster/build.sh: builds, once per Kubernetes version, everything the local cluster runs:
#   Debian packages (apt-get), Debian's `kubernetes` source package (through a private apt
#   configuration with one deb-src entry), kube-apiserver, kube-controller-manager,
#   kube-scheduler and kubelet (GOPATH mode, as Kubernetes 1.20's own scripts build), and the
#   images (cluster/images.sh). Everything goes to the cache ($CACHE); a finished step is skipped.
# Progress goes to stderr.
HERE=$(dirname "$(readlink -f "$0")")
. "$HERE/lib.sh"

apt_need golang-go golang-github-modern-go-reflect2-dev etcd-server containerd runc \
  containernetworking-plugins debootstrap gcc libc6-dev openssl curl util-linux iproute2 \
  python3 python3-venv ca-certificates

mkdir -p "$CACHE/bin"
missing=()
for b in $BINARIES; do [ -x "$CACHE/bin/$b" ] || missing+=("$b"); done

SRC=$CACHE/src/kubernetes-$K8S_VERSION
GP=$CACHE/gopath
if [ ${#missing[@]} -gt 0 ] || [ ! -f "$SRC/build/pause/linux/pause.c" ]; then
  # ---- the source package, through apt with a private configuration (never the host's lists)
  if [ ! -f "$SRC/.complete" ]; then
    t=$(ms)
    A=$CACHE/apt
    mkdir -p "$A/sources" "$A/lists/partial" "$A/cache/archives/partial" "$CACHE/dl"
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      > "$A/sources/debian-src.sources"
    APT=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$A/sources"
      -o Dir::State::Lists="$A/lists" -o Dir::Cache="$A/cache")
    if ! ls "$CACHE"/dl/kubernetes_*really"$K8S_VERSION".orig.tar.gz >/dev/null 2>&1; then
      log "fetching Debian's source package kubernetes (deb-src bookworm main)"
      apt-get "${APT[@]}" update -qq >&2 || die "apt-get update with the private deb-src configuration failed"
      (cd "$CACHE/dl" && apt-get "${APT[@]}" source --download-only kubernetes >&2) \
        || die "apt-get source --download-only kubernetes failed"
    fi
    rm -rf "$SRC"; mkdir -p "$CACHE/src"
    tar xzf "$CACHE"/dl/kubernetes_*really"$K8S_VERSION".orig.tar.gz -C "$CACHE/src" \
      || die "unpacking the kubernetes source failed"
    [ -d "$SRC/cmd/kube-apiserver" ] || die "$SRC/cmd/kube-apiserver missing after unpacking"
    # Go >= 1.18: the vendored modern-go/reflect2 v1.0.1 compiles, but the API server then
    # crashes encoding maps (first mutating-webhook patch); Debian's 1.0.2 replaces it.
    rm -rf "$SRC/vendor/github.com/modern-go/reflect2"
    cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 "$SRC/vendor/github.com/modern-go/reflect2"
    touch "$SRC/.complete"
    log "source ready in $(took "$t"): $(du -sh "$SRC" | cut -f1)"
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  mkdir -p "$GP/src/k8s.io" "$GP/bin"
  [ -L "$GP/src/k8s.io/kubernetes" ] || ln -s "$SRC" "$GP/src/k8s.io/kubernetes"
  export GOPATH=$GP GOCACHE=$CACHE/gocache GO111MODULE=off CGO_ENABLED=0 GOFLAGS= GOTOOLCHAIN=local
  cd "$GP/src/k8s.io/kubernetes"
  # The release tarball lacks the generated OpenAPI definitions (upstream `make` runs openapi-gen
  # over the packages tagged +k8s:openapi-gen=).
  OA=pkg/generated/openapi/zz_generated.openapi.go
  if [ ! -s $OA ]; then
    t=$(ms); log "generating $OA (openapi-gen)"
    nice -n 10 go build -o "$GP/bin/openapi-gen" k8s.io/kubernetes/vendor/k8s.io/kube-openapi/cmd/openapi-gen \
      || die "building openapi-gen failed"
    dirs=$(find -H . \( -path ./vendor -o -path './_*' -o -path './.*' \) -prune -o -type f -name '*.go' -print \
      | xargs grep -l '^// *+k8s:' | xargs grep -l '+k8s:openapi-gen=' | xargs -n1 dirname \
      | sed 's|^\./||; s|^staging/src|vendor|' \
      | grep -v -e '^vendor/k8s.io/code-generator/' -e '^vendor/k8s.io/sample-apiserver/' | LC_ALL=C sort -u)
    nice -n 10 "$GP/bin/openapi-gen" --logtostderr \
      -i "$(echo "$dirs" | sed 's|^|k8s.io/kubernetes/|' | paste -sd, -)" \
      -p k8s.io/kubernetes/pkg/generated/openapi -O zz_generated.openapi \
      -h vendor/k8s.io/code-generator/hack/boilerplate.go.txt \
      -r "$CACHE/openapi-violations.report" 2> "$CACHE/openapi-gen.log" \
      || die "openapi-gen failed (log: $CACHE/openapi-gen.log)"
    log "openapi-gen over $(echo "$dirs" | wc -l) packages in $(took "$t")"
  fi
  ldflags="-s -w"
  for p in k8s.io/kubernetes/vendor/k8s.io/component-base/version k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
    ldflags="$ldflags -X $p.gitMajor=1 -X $p.gitMinor=20 -X $p.gitVersion=v$K8S_VERSION -X $p.gitCommit=$K8S_COMMIT"
    ldflags="$ldflags -X $p.gitTreeState=clean -X $p.buildDate=$K8S_BUILD_DATE"
  done
  i=0
  for b in "${missing[@]}"; do
    i=$((i + 1)); t=$(ms)
    log "building $b ($i/${#missing[@]}, $(go version | cut -d' ' -f3); several minutes cold)"
    # a dot a minute while go works, so a cold build is visibly alive
    ( while sleep 60; do log "  still building $b ($(took "$t"))"; done ) & ticker=$!
    if ! nice -n 10 go build -trimpath -tags selinux,notest -ldflags "$ldflags" \
        -o "$CACHE/bin/$b.tmp" "k8s.io/kubernetes/cmd/$b" >&2; then
      kill $ticker 2>/dev/null; die "go build k8s.io/kubernetes/cmd/$b failed"
    fi
    kill $ticker 2>/dev/null || true
    mv "$CACHE/bin/$b.tmp" "$CACHE/bin/$b"
    log "built $b in $(took "$t") ($(du -h "$CACHE/bin/$b" | cut -f1))"
  done
fi

"$HERE/images.sh"

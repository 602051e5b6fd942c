#!/bin/bash
# cluster/images.sh: the two images the local cluster runs, without a registry, cached as OCI
# image-layout tarballs in $CACHE/images (up.sh imports them into containerd):
#   pause        the tree's own build/pause/linux/pause.c, compiled static with gcc;
#   airflow-like debootstrap --variant=minbase bookworm + python3, python3-boto3,
#                python3-botocore, python3-pip from Debian, then boto3/botocore as pinned in
#                python/requirements.txt from PyPI (Debian's botocore 1.29 ignores
#                AWS_ENDPOINT_URL_STS), user airflow (50000:0) with home /opt/airflow.
HERE=$(dirname "$(readlink -f "$0")")
. "$HERE/lib.sh"
IMG=$CACHE/images
mkdir -p "$IMG"
SRC=$CACHE/src/kubernetes-$K8S_VERSION
MIRROR=http://deb.debian.org/debian

# oci_pack ROOTFS REF OUT CONFIG_JSON: a single-layer OCI image layout as a tarball.
oci_pack() {
  local rootfs=$1 ref=$2 out=$3 config=$4 work
  work=$(mktemp -d "$IMG/.pack-XXXXXX")
  mkdir -p "$work/blobs/sha256"
  tar -C "$rootfs" --numeric-owner --xattrs --xattrs-include='*' --sort=name --mtime=@0 \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./run/*' \
    --exclude='./tmp/*' -cf "$work/layer.tar" . || die "packing $rootfs failed"
  local layer layer_size cfg cfg_digest man man_digest
  layer=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  layer_size=$(stat -c %s "$work/layer.tar")
  mv "$work/layer.tar" "$work/blobs/sha256/$layer"
  cfg=$(printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$config" "$layer")
  cfg_digest=$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)
  printf '%s' "$cfg" > "$work/blobs/sha256/$cfg_digest"
  man=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
    "$cfg_digest" "${#cfg}" "$layer" "$layer_size")
  man_digest=$(printf '%s' "$man" | sha256sum | cut -d' ' -f1)
  printf '%s' "$man" > "$work/blobs/sha256/$man_digest"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$man_digest" "${#man}" "$ref" "${ref##*:}" > "$work/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' > "$work/oci-layout"
  tar -C "$work" -cf "$out.tmp" oci-layout index.json blobs || die "writing $out failed"
  rm -rf "$work"
  mv "$out.tmp" "$out"
  echo "$ref sha256:$man_digest" > "$out.ref"
}

if [ ! -s "$IMG/pause.oci.tar" ]; then
  t=$(ms)
  [ -f "$SRC/build/pause/linux/pause.c" ] || die "$SRC/build/pause/linux/pause.c missing (run build.sh)"
  rm -rf "$IMG/pause.rootfs"; mkdir -p "$IMG/pause.rootfs"
  gcc -Os -Wall -Werror -static -DVERSION=v3.4-rolecheck -o "$IMG/pause.rootfs/pause" \
    "$SRC/build/pause/linux/pause.c" || die "compiling pause.c failed"
  strip "$IMG/pause.rootfs/pause"
  oci_pack "$IMG/pause.rootfs" "$PAUSE_IMAGE" "$IMG/pause.oci.tar" \
    '{"Entrypoint":["/pause"],"User":"65535:65535"}'
  log "pause image built in $(took "$t")"
fi

if [ ! -s "$IMG/airflow-like.oci.tar" ]; then
  R=$IMG/airflow-like.rootfs
  pins=$(grep -E '^(boto3|botocore|s3transfer)==' "$HERE/../python/requirements.txt" | tr '\n' ' ')
  [ -n "$pins" ] || die "no boto3/botocore pins in python/requirements.txt"
  if [ ! -f "$R.complete" ]; then
    t=$(ms)
  fi
  if [ ! -f "$R.complete" ] && [ ! -f "$R.debootstrapped" ]; then
    # a half-built rootfs may still have debootstrap's proc/sys mounted: unmount before removing
    unmount_under "$R"
    rm -rf "$R"
    log "debootstrap --variant=minbase bookworm (+ python3 boto3 botocore pip) from $MIRROR"
    debootstrap --variant=minbase --include=python3,python3-boto3,python3-botocore,python3-pip \
      bookworm "$R" "$MIRROR" > "$IMG/debootstrap.log" 2>&1 \
      || { tail -20 "$IMG/debootstrap.log" >&2; die "debootstrap failed (log: $IMG/debootstrap.log)"; }
    unmount_under "$R"
    touch "$R.debootstrapped"
    log "debootstrap done in $(took "$t")"
  fi
  if [ ! -f "$R.complete" ]; then
    # The wheels come through the host's pip (its index and CA configuration), then are
    # installed in the rootfs without network.
    W=$IMG/wheels
    rm -rf "$W"; mkdir -p "$W"
    [ -x "$IMG/pip-venv/bin/pip" ] || python3 -m venv "$IMG/pip-venv" || die "python3 -m venv $IMG/pip-venv failed"
    log "pip download $pins(PyPI, for the rootfs's Python $(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 chroot "$R" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])'))"
    "$IMG/pip-venv/bin/pip" download --quiet --disable-pip-version-check --dest "$W" --only-binary=:all: \
      --python-version "$(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 chroot "$R" python3 -c 'import sys; print("%d%d" % sys.version_info[:2])')" $pins >&2 \
      || die "pip download $pins failed"
    mkdir -p "$R/tmp/wheels"; cp "$W"/*.whl "$R/tmp/wheels/"
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 chroot "$R" python3 -m pip install --quiet --disable-pip-version-check --no-cache-dir --no-index \
      --find-links /tmp/wheels --break-system-packages --root-user-action=ignore $pins >&2 || die "pip install $pins in the rootfs failed"
    rm -rf "$R/tmp/wheels"
    rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/cache/apt/*.bin "$R"/var/lib/apt/lists/*
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 chroot "$R" /usr/sbin/useradd -u 50000 -g 0 -m -d /opt/airflow -s /bin/bash airflow \
      || die "useradd airflow in the rootfs failed"
    : > "$R/etc/resolv.conf"   # debootstrap copied the host's; the runtime mounts its own
    echo airflow-like > "$R/etc/hostname"
    touch "$R.complete"
    log "rootfs ready in $(took "$t"): $(du -sh "$R" | cut -f1)"
  fi
  t=$(ms)
  oci_pack "$R" "$AIRFLOW_IMAGE" "$IMG/airflow-like.oci.tar" \
    '{"Cmd":["sleep","infinity"],"User":"50000:0","WorkingDir":"/opt/airflow","Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","LANG=C.UTF-8","AIRFLOW_HOME=/opt/airflow"]}'
  log "airflow-like image packed in $(took "$t")"
fi

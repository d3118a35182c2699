#!/usr/bin/env bash
# Builds images as OCI archives in the cache (see versions.sh), from Debian packages (nothing can
# be pulled from a registry here):
#   hack/images.sh              the real node's images:
#     pause        the pod sandbox: one static program (images/pause.c)
#     runner       Debian bookworm (minbase) with python3: the local cluster's default command image
#   hack/images.sh python-base  a stand-in for the official python:3.11-slim to build our
#                  Dockerfile FROM: the runner with a venv at /usr/local, which gives the official
#                  image's layout (/usr/local/bin/python3, pip, site-packages)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/versions.sh"
mkdir -p "$IMAGE_DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

node_images() {
  if [ ! -f "$IMAGE_DIR/pause.tar" ]; then
    echo "building image $PAUSE_IMAGE ..."
    mkdir -p "$work/pause"
    gcc -static -O2 -o "$work/pause/pause" "$here/images/pause.c"
    python3 "$here/images/oci_image.py" "$work/pause" "$PAUSE_IMAGE" "$IMAGE_DIR/pause.tar" --cmd /pause
  fi

  if [ ! -f "$IMAGE_DIR/runner.tar" ]; then
    echo "building image $RUNNER_IMAGE (debootstrap from $DEBIAN_MIRROR, about a minute) ..."
    local start=$SECONDS
    debootstrap --variant=minbase --include=python3,python3-venv bookworm "$work/runner" "$DEBIAN_MIRROR" \
      >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
    # What a container never uses: package caches, documentation, device nodes (the runtime makes them).
    rm -rf "$work/runner"/var/cache/apt/archives/*.deb "$work/runner"/var/lib/apt/lists/* \
      "$work/runner"/usr/share/doc "$work/runner"/usr/share/man "$work/runner"/usr/share/info \
      "$work/runner"/dev/*
    python3 "$here/images/oci_image.py" "$work/runner" "$RUNNER_IMAGE" "$IMAGE_DIR/runner.tar" --cmd /bin/sh
    echo "built $RUNNER_IMAGE in $((SECONDS - start))s"
  fi
}

python_base() {
  [ -f "$IMAGE_DIR/python-base.tar" ] && return
  node_images
  echo "building image $PYTHON_BASE_IMAGE from the runner ..."
  local root=$work/python layer
  mkdir -p "$root" "$work/runner-oci"
  tar -xf "$IMAGE_DIR/runner.tar" -C "$work/runner-oci"
  layer=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]+"/index.json"))["manifests"][0]["digest"][7:]; m=json.load(open(sys.argv[1]+"/blobs/sha256/"+d)); print(m["layers"][0]["digest"][7:])' "$work/runner-oci")
  tar --numeric-owner -xf "$work/runner-oci/blobs/sha256/$layer" -C "$root"
  chroot "$root" /usr/bin/python3 -m venv /usr/local
  python3 "$here/images/oci_image.py" "$root" "$PYTHON_BASE_IMAGE" "$IMAGE_DIR/python-base.tar" --cmd python3
}

case "${1:-node}" in
  node) node_images ;;
  python-base) python_base ;;
  *) echo "usage: $0 [node|python-base]" >&2; exit 2 ;;
esac

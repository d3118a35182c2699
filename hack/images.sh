#!/usr/bin/env bash
# Builds the real node's images as OCI archives in the cache (see versions.sh):
#   pause   the pod sandbox: one static program (images/pause.c)
#   runner  Debian bookworm (minbase) with python3: the local cluster's default command image
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/versions.sh"
mkdir -p "$IMAGE_DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -f "$IMAGE_DIR/pause.tar" ]; then
  echo "building image $PAUSE_IMAGE ..."
  mkdir -p "$work/pause"
  gcc -static -O2 -o "$work/pause/pause" "$here/images/pause.c"
  python3 "$here/images/oci_image.py" "$work/pause" "$PAUSE_IMAGE" "$IMAGE_DIR/pause.tar" --cmd /pause
fi

if [ ! -f "$IMAGE_DIR/runner.tar" ]; then
  echo "building image $RUNNER_IMAGE (debootstrap from $DEBIAN_MIRROR, about a minute) ..."
  start=$SECONDS
  debootstrap --variant=minbase --include=python3 bookworm "$work/runner" "$DEBIAN_MIRROR" \
    >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  # What a container never uses: package caches, documentation, device nodes (the runtime makes them).
  rm -rf "$work/runner"/var/cache/apt/archives/*.deb "$work/runner"/var/lib/apt/lists/* \
    "$work/runner"/usr/share/doc "$work/runner"/usr/share/man "$work/runner"/usr/share/info \
    "$work/runner"/dev/*
  python3 "$here/images/oci_image.py" "$work/runner" "$RUNNER_IMAGE" "$IMAGE_DIR/runner.tar" --cmd /bin/sh
  echo "built $RUNNER_IMAGE in $((SECONDS - start))s"
fi

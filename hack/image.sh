#!/usr/bin/env bash
# make image: builds the operator's image from Dockerfile with buildah (no Docker engine or
# registry needed) and, when the local cluster is up, loads it into its real node.
#   FROM: a local stand-in for python:3.11-slim (hack/images.sh python-base), as the build
#   argument PYTHON_IMAGE; users with Docker build the unchanged Dockerfile from the official one.
# The archive is left at $IMAGE_DIR/orchestrator.tar for `ctr images import`, kind load, etc.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
source "$here/versions.sh"
STATE=${ORCH_CLUSTER_STATE:-/tmp/orchestrator-cluster}

if ! command -v buildah >/dev/null; then
  echo "installing buildah ..."
  sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah >/dev/null
fi
"$here/images.sh" python-base

start=$SECONDS
# pip inside the build trusts what the host trusts (a TLS-intercepting proxy's CA, a mirror in
# pip.conf): mounted read-only into the RUN steps, never committed into the image.
mounts=()
for f in /etc/ssl/certs/ca-certificates.crt /etc/pip.conf; do
  [ -f "$f" ] && mounts+=(--volume "$f:$f:ro")
done
echo "building $OPERATOR_IMAGE from Dockerfile (buildah) ..."
buildah bud --quiet --isolation chroot --network host --pull=never --layers=false \
  --build-arg "PYTHON_IMAGE=oci-archive:$IMAGE_DIR/python-base.tar" \
  "${mounts[@]}" -t "$OPERATOR_IMAGE" -f "$repo/Dockerfile" "$repo" >/dev/null
archive=$IMAGE_DIR/orchestrator.tar
rm -f "$archive"
# Named as the kubelet resolves the Deployment's "orchestrator:0.1.0".
buildah push --quiet "$OPERATOR_IMAGE" "docker-archive:$archive:docker.io/library/$OPERATOR_IMAGE"
echo "built $OPERATOR_IMAGE in $((SECONDS - start))s: $archive"
# Its SBOM (CycloneDX JSON): the Python packages the image installs, from the same pins.
sbom=$IMAGE_DIR/orchestrator.cdx.json
"$repo/.venv/bin/cyclonedx-py" requirements "$repo/requirements.txt" --output-format JSON -o "$sbom"
echo "SBOM: $sbom"

sock=$STATE/containerd/containerd.sock
if [ -S "$sock" ] && ctr --address "$sock" version >/dev/null 2>&1; then
  ctr --address "$sock" -n k8s.io images import "$archive" >/dev/null
  echo "loaded into the local cluster's real node"
fi

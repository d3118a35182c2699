#!/usr/bin/env bash
# Builds the local cluster's binaries from Go modules into the cache (see versions.sh).
# Already built binaries are kept, so a repeat run takes a second.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/versions.sh"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
# Go >= 1.27 turns jsonv2 on by default, which breaks the apiserver's /openapi/v2.
export GOEXPERIMENT=nojsonv2
mkdir -p "$BIN_DIR"

if ! command -v go >/dev/null; then
  echo "build.sh: Go is needed to build the local cluster (https://go.dev/doc/install)" >&2
  exit 1
fi

minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

# Runs "$@" while printing what is being built and for how long, every 30 s.
with_progress() {
  local name=$1; shift
  local start=$SECONDS
  echo "building $name ..."
  "$@" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && echo "  still building $name: $((SECONDS - start))s"
  done
  wait "$pid"
  echo "built $name in $((SECONDS - start))s"
}

total_start=$SECONDS
cd "$here/k8s"
for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet; do
  [ -x "$BIN_DIR/$cmd" ] && continue
  with_progress "$cmd $KUBE_VERSION" \
    go build -trimpath -ldflags "$ldflags" -o "$BIN_DIR/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd"
  mv "$BIN_DIR/$cmd.tmp" "$BIN_DIR/$cmd"
done
if [ ! -x "$BIN_DIR/etcd" ]; then
  with_progress "etcd $ETCD_VERSION" \
    go build -trimpath -ldflags "-s -w" -o "$BIN_DIR/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$BIN_DIR/etcd.tmp" "$BIN_DIR/etcd"
fi
if [ ! -x "$BIN_DIR/kwok" ]; then
  # kwok has no replace directives: it builds on its own, outside our go.mod.
  cd /
  with_progress "kwok $KWOK_VERSION" \
    env GOFLAGS= GOBIN="$BIN_DIR/kwok.d" go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mv "$BIN_DIR/kwok.d/kwok" "$BIN_DIR/kwok" && rmdir "$BIN_DIR/kwok.d"
fi
# Helm and kube-score: for the chart (charts/orchestrator) and the manifests' checks.
mkdir -p "$TOOLS_DIR"
for tool in "helm helm.sh/helm/v4/cmd/helm@$HELM_VERSION helm.sh/helm/v4/internal/version.version" \
  "kube-score github.com/zegl/kube-score/cmd/kube-score@$KUBE_SCORE_VERSION main.version"; do
  read -r name module version_var <<<"$tool"
  [ -x "$TOOLS_DIR/$name" ] && continue
  cd /
  with_progress "$name ${module#*@}" env GOFLAGS= GOBIN="$TOOLS_DIR/$name.d" \
    go install -trimpath -ldflags "-s -w -X $version_var=${module#*@}" "$module"
  mv "$TOOLS_DIR/$name.d/$name" "$TOOLS_DIR/$name" && rmdir "$TOOLS_DIR/$name.d"
done
# krew (as kubectl-krew, the name kubectl finds it by) and krew-index's manifest check.
mkdir -p "$KREW_DIR"
for name in kubectl-krew validate-krew-manifest; do
  [ -x "$KREW_DIR/$name" ] && continue
  cmd=${name#kubectl-}
  cd /
  with_progress "$cmd $KREW_VERSION" env GOFLAGS= GOBIN="$KREW_DIR/$name.d" go install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/krew/internal/version.gitTag=$KREW_VERSION" "sigs.k8s.io/krew/cmd/$cmd@$KREW_VERSION"
  mv "$KREW_DIR/$name.d/$cmd" "$KREW_DIR/$name" && rmdir "$KREW_DIR/$name.d"
done
crds=$(dirname "$BIN_DIR")/kwok-crds
if [ ! -f "$crds/kwok.x-k8s.io_clusterlogs.yaml" ]; then
  # The CRDs of kwok's Logs and ClusterLogs, from the module source go just downloaded.
  src=$(cd / && env GOFLAGS= go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  mkdir -p "$crds"
  cp "$src/kustomize/crd/bases/kwok.x-k8s.io_logs.yaml" "$src/kustomize/crd/bases/kwok.x-k8s.io_clusterlogs.yaml" "$crds/"
  chmod 644 "$crds"/*.yaml
fi
(( SECONDS - total_start > 2 )) && echo "all binaries built in $((SECONDS - total_start))s: $BIN_DIR"
exit 0

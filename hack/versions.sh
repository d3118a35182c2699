# Versions of everything the local cluster is built from, and where the builds are cached.
# Sourced by the hack/ scripts; bump a version here and the cache key changes with it.
KUBE_VERSION=v1.35.4   # k8s.io/kubernetes, pinned in hack/k8s/go.mod
ETCD_VERSION=v3.6.5    # go.etcd.io/etcd/server/v3, the version KUBE_VERSION pins
KWOK_VERSION=v0.7.0    # sigs.k8s.io/kwok
ORCH_CACHE=${ORCH_CACHE:-$HOME/.cache/orchestrator}
BIN_DIR=$ORCH_CACHE/k8s-$KUBE_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION/bin

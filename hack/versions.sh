# Versions of everything the local cluster is built from, and where the builds are cached.
# Sourced by the hack/ scripts; bump a version here and the cache key changes with it.
KUBE_VERSION=v1.35.4   # k8s.io/kubernetes, pinned in hack/k8s/go.mod
ETCD_VERSION=v3.6.5    # go.etcd.io/etcd/server/v3, the version KUBE_VERSION pins
KWOK_VERSION=v0.7.0    # sigs.k8s.io/kwok
HELM_VERSION=v4.3.1    # helm.sh/helm/v4: the chart's lint, template and install (charts/orchestrator)
KUBE_SCORE_VERSION=v1.20.0  # github.com/zegl/kube-score: the manifests' static checks
KREW_VERSION=v0.4.3    # sigs.k8s.io/krew: installs kubectl adhoc from its manifest (tests/cluster/test_krew.py)
ORCH_CACHE=${ORCH_CACHE:-$HOME/.cache/orchestrator}
BIN_DIR=$ORCH_CACHE/k8s-$KUBE_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION/bin
TOOLS_DIR=$ORCH_CACHE/tools-helm-$HELM_VERSION-kube-score-$KUBE_SCORE_VERSION/bin
KREW_DIR=$ORCH_CACHE/tools-krew-$KREW_VERSION/bin
# Images of the real node, built from Debian packages (nothing can be pulled from a registry).
IMAGES_VERSION=bookworm-2   # bump to rebuild the images
IMAGE_DIR=$ORCH_CACHE/images-$IMAGES_VERSION
PAUSE_IMAGE=localhost/orchestrator/pause:1
RUNNER_IMAGE=localhost/orchestrator/runner:bookworm
PYTHON_BASE_IMAGE=localhost/orchestrator/python:3.11-bookworm  # stands in for python:3.11-slim
# The operator's image, built from Dockerfile by `make image` (hack/image.sh).
OPERATOR_IMAGE=orchestrator:0.1.0
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

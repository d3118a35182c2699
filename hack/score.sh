#!/usr/bin/env bash
# make score: kube-score on what users install, kubectl kustomize kubernetes/ and the Helm chart
# rendered with its defaults and with its other modes. Fails on any CRITICAL or WARNING not
# excepted below, each exception with its reason:
#   container-image-pull-policy: kube-score wants Always. The image is released under an
#     immutable version tag, so IfNotPresent pulls it once per node; and the local cluster's
#     images are imported, not pulled (no registry), where Always could not start a pod.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
source "$here/versions.sh"
"$here/build.sh" >/dev/null
EXCEPTIONS=(--ignore-test container-image-pull-policy)
# kube-score's status kept apart from grep's (under pipefail, `|| true` used to reset both).
score() {
  echo "kube-score: $1"
  local out status=0
  out=$("$TOOLS_DIR/kube-score" score --kubernetes-version "${KUBE_VERSION%.*}" --exit-one-on-warning \
    "${EXCEPTIONS[@]}" --output-format ci -) || status=$?
  grep -vE '^\[(OK|SKIPPED)\]' <<<"$out" || true
  return "$status"
}
"$BIN_DIR/kubectl" kustomize "$repo/kubernetes" | score "kubectl kustomize kubernetes/"
helm() { "$TOOLS_DIR/helm" "$@"; }
helm template orchestrator "$repo/charts/orchestrator" -n orchestrator | score "helm template (defaults)"
helm template orchestrator "$repo/charts/orchestrator" -n orchestrator --set rbac.scope=namespaces \
  --set 'rbac.watchNamespaces={team-a,team-b}' --set api.tls.secretName=orchestrator-api-tls \
  --set metrics.serviceMonitor.enabled=true --set 'networkPolicy.apiServer.cidrs={10.0.0.1/32}' |
  score "helm template (namespaced RBAC, TLS, ServiceMonitor)"
echo "kube-score: no CRITICAL or WARNING beyond the documented exceptions"

#!/usr/bin/env bash
# make deploy: installs orchestrator into the local cluster as users install it: the image built
# from Dockerfile (make image), then `kubectl apply -k` of kubernetes/ through the small overlay
# hack/deploy/ (both pods and the commands on the real node). Waits for the rollout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
source "$here/versions.sh"
kubectl() { "$BIN_DIR/kubectl" --kubeconfig "$repo/.cluster/kubeconfig" "$@"; }
DEPLOYMENTS=(orchestrator orchestrator-api)

"$here/image.sh"
existed=$(kubectl -n orchestrator get deployment orchestrator -o name 2>/dev/null || true)
echo "kubectl apply -k hack/deploy/"
kubectl apply -k "$here/deploy" | sed 's/^/  /'
kubectl wait --for=condition=Established crd/adhoccommands.orchestrator.dev --timeout=60s >/dev/null
"$here/wait-accepted.sh" "$BIN_DIR/kubectl" "$repo/.cluster/kubeconfig"  # the sample below must work
if [ -n "$existed" ]; then
  # Same tag, new image: new pods.
  for d in "${DEPLOYMENTS[@]}"; do kubectl -n orchestrator rollout restart "deployment/$d" >/dev/null; done
fi
for d in "${DEPLOYMENTS[@]}"; do
  kubectl -n orchestrator rollout status "deployment/$d" --timeout=180s
done
cat <<TEXT

orchestrator is running in the local cluster (namespace orchestrator, on real-node-0):
  export KUBECONFIG=$repo/.cluster/kubeconfig
  kubectl apply -f kubernetes/samples/zen.yaml && kubectl wait --for=condition=Finished adhoc/zen
  kubectl get adhoc

The REST API (Service orchestrator-svc), acting with a token of a ServiceAccount that may run commands:
  kubectl create serviceaccount adhoc-user
  kubectl create rolebinding adhoc-user --clusterrole=edit --serviceaccount=default:adhoc-user
  TOKEN=\$(kubectl create token adhoc-user)
  kubectl -n orchestrator port-forward svc/orchestrator-svc 8080:80 >/dev/null &
  curl -s --retry 10 --retry-connrefused -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
    -X POST localhost:8080/jobs -d '{"cmd": "python3 -c \\"import this\\""}'
TEXT

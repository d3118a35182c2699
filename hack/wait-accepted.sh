#!/usr/bin/env bash
# Waits until the API server accepts an AdhocCommand (a server-side dry run), for at most SECONDS.
# Established is not yet usable: the admission policies that match AdhocCommands learn the kind's
# schema a few seconds later (longer on a busy machine), and until then a create answers 503
# "Resource kind ... not found". Any other refusal fails at once, with its message.
# Usage: hack/wait-accepted.sh KUBECTL KUBECONFIG [SECONDS]   (make deploy, the test harness)
set -euo pipefail
kubectl=$1 kubeconfig=$2 deadline=$((SECONDS + ${3:-120}))
probe='{"apiVersion": "orchestrator.dev/v1alpha1", "kind": "AdhocCommand",
  "metadata": {"name": "install-probe", "namespace": "default"}, "spec": {"command": "true"}}'
until refused=$("$kubectl" --kubeconfig "$kubeconfig" create --dry-run=server -o name -f - <<<"$probe" 2>&1 >/dev/null); do
  if [[ $refused != *"can be a delay"* || $SECONDS -ge $deadline ]]; then
    echo "a dry-run AdhocCommand was refused: $refused" >&2
    exit 1
  fi
  sleep 1
done

#!/usr/bin/env python3
"""make demo: the operator (as its own ServiceAccount, with the local cluster's settings from
hack/deploy/config.yaml) runs the Zen of Python sample, unchanged, on the local cluster's real
node and shows its status and the output read back from its logs ConfigMap.
Expects `make cluster-up` to have run. Run from the repository's root: python -m hack.demo"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import yaml

from hack.harness import (  # the demo runs the operator as the tests do
    LOCAL_KUBECONFIG,
    REPO,
    Cluster,
    Operator,
    bin_dir,
    service_account_kubeconfig,
)
from hack.local_settings import local_settings
from orchestrator.model.output import output_of

NAMESPACE = "demo"


def step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def main() -> int:
    cluster = Cluster(LOCAL_KUBECONFIG, str(bin_dir() / "kubectl"), local=True)
    step("installing the CRD, namespace and RBAC (kubernetes/)")
    cluster.install_operator_prerequisites()
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "labels": {"pod-security.kubernetes.io/enforce": "restricted"}},
        }
    )

    state = Path(os.environ.get("ORCH_CLUSTER_STATE", "/tmp/orchestrator-cluster"))
    step("starting the operator as ServiceAccount orchestrator/orchestrator (log: .cluster/logs/operator-demo.log)")
    kubeconfig = service_account_kubeconfig(cluster, state / "operator-demo.kubeconfig")
    operator = Operator(cluster, kubeconfig, REPO / ".cluster/logs/operator-demo.log", local_settings())
    operator.start()
    try:
        step("kubectl apply -f kubernetes/samples/zen.yaml (the operator's defaults put it on real-node-0)")
        sample = yaml.safe_load((REPO / "kubernetes/samples/zen.yaml").read_text())
        print(yaml.safe_dump(sample, sort_keys=False), end="")
        cluster.kubectl("-n", NAMESPACE, "delete", "adhoc", "zen", "--ignore-not-found", "--wait=true")
        print(cluster.apply(sample, NAMESPACE).stdout, end="")
        step("kubectl wait --for=condition=Finished adhoc/zen")
        print(
            cluster.kubectl("-n", NAMESPACE, "wait", "--for=condition=Finished", "adhoc/zen", "--timeout=300s").stdout,
            end="",
        )
        step("kubectl get adhoc -o wide")
        print(cluster.kubectl("-n", NAMESPACE, "get", "adhoc", "-o", "wide").stdout, end="")
        print(
            cluster.kubectl(
                "-n", NAMESPACE, "get", "pods", "-l", "orchestrator.dev/adhoccommand=zen", "-o", "wide"
            ).stdout,
            end="",
        )
        status = json.loads(cluster.kubectl("-n", NAMESPACE, "get", "adhoc", "zen", "-o", "json").stdout)["status"]
        step("status")
        for key in ("phase", "exitCode", "reason", "jobName", "podName", "duration", "logs"):
            if key in status:
                print(f"  {key}: {status[key]}")
        configmap = status["logs"]["configMap"]
        step(f"the stored output (kubectl get configmap {configmap} -o jsonpath='{{.data.output}}')")
        cm = json.loads(cluster.kubectl("-n", NAMESPACE, "get", "configmap", configmap, "-o", "json").stdout)
        output = output_of(cm).decode("utf-8", "replace")
        print(output, end="" if output.endswith("\n") else "\n")
    finally:
        operator.stop()
    step("done: `make run` keeps an operator running; `make cluster-down` stops the cluster")
    return 0 if status.get("phase") == "Succeeded" else 1


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"(demo took {time.monotonic() - started:.0f}s)")
    sys.exit(code)

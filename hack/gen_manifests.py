#!/usr/bin/env python3
"""make manifests: kubernetes/ rendered from the Helm chart, the one hand-written source of the
install (as cert-manager renders its static manifests from its chart).

Every file there is written here: the objects the chart renders; the kustomizations that list
them; the tls Component's patches, the difference between the chart's render with and without
api.tls.secretName; and the Namespace, which the chart leaves to `helm install
--create-namespace` (Helm cannot own the namespace its release lives in).

`helm template` with the chart's defaults (release orchestrator in namespace orchestrator, the
CRD left to crds/), each object written to the file kubectl apply -k reads, Helm's own
bookkeeping (its labels, the config checksum) left out: what kubectl applies never claims Helm
manages it, and its selectors stay those of earlier releases. tests/cluster/test_chart.py checks
the committed files are this render.

  python hack/gen_manifests.py HELM [OUT_DIR]
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
# chart template -> file under kubernetes/
FILES = {
    "rbac.yaml": "rbac.yaml",
    "config.yaml": "config.yaml",
    "operator.yaml": "deployment.yaml",
    "api.yaml": "api.yaml",
    "networkpolicy.yaml": "networkpolicy.yaml",
    "pdb.yaml": "disruption-budget.yaml",
    "admission.yaml": "admission.yaml",
}
HELM_ONLY = re.compile(
    r"^\s*(helm\.sh/chart|helm\.sh/resource-policy|checksum/config"
    r"|app\.kubernetes\.io/(managed-by|instance|version|part-of)):.*\n",
    re.M,
)
# Optional kustomize Components, each rendered as if the cluster served one API: (directory under
# kubernetes/, chart template, --api-versions).
MAP = "admissionregistration.k8s.io/{}/MutatingAdmissionPolicy"
COMPONENTS = (
    ("requested-by", "requested-by.yaml", MAP.format("v1")),  # Kubernetes 1.36 and later
    ("requested-by/v1beta1", "requested-by.yaml", MAP.format("v1beta1")),  # 1.34-1.35, feature gate on
)
COMPONENT = """# A kustomize Component: {what}. Use it from your own kustomization:
#   resources: [<this repository>/kubernetes]
#   components: [<this repository>/kubernetes/{where}]
# Rendered from charts/orchestrator by make manifests (hack/gen_manifests.py): edit the chart.
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
- {file}
"""
WHAT = {
    "requested-by": "stamps orchestrator.dev/requested-by on every new run (Kubernetes 1.36 and later)",
    "requested-by/v1beta1": (
        "stamps orchestrator.dev/requested-by on every new run, on Kubernetes 1.34 or 1.35 with the\n"
        "# feature gate MutatingAdmissionPolicy and --runtime-config admissionregistration.k8s.io/v1beta1=true"
    ),
}
# The Prometheus Operator's objects (off in the chart's defaults), for kubectl users: kind -> file.
MONITORING = {"ServiceMonitor": "monitoring/servicemonitor.yaml", "PrometheusRule": "monitoring/alerts.yaml"}
MONITORING_ON = ("--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.prometheusRule.enabled=true")
SOURCE = re.compile(r"^# Source: orchestrator/templates/(\S+)\n", re.M)
NO_CRD = ("--set", "crds.install=false")  # crds/ holds it (make crd)
HEADER = "# Rendered from charts/orchestrator by make manifests (hack/gen_manifests.py): edit the chart.\n"


def without_empty_maps(text: str) -> str:
    """Drops a `labels:` or `annotations:` left with nothing under it."""
    lines = text.split("\n")
    kept = []
    for i, line in enumerate(lines):
        key = line.strip()
        if key in ("labels:", "annotations:"):
            indent = len(line) - len(line.lstrip())
            following = next((n for n in lines[i + 1 :] if n.strip()), "")
            if len(following) - len(following.lstrip()) <= indent:
                continue
        kept.append(line)
    return "\n".join(kept)


def documents(helm: str, *args: str) -> list[tuple[str, str]]:
    """(chart template, object) of each object `helm template` renders, without Helm's own."""
    out = subprocess.run(
        [helm, "template", "orchestrator", str(REPO / "charts/orchestrator"), "-n", "orchestrator", *NO_CRD, *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = []
    for doc in out.split("\n---\n"):
        match = SOURCE.search(doc)
        if match is not None:
            body = without_empty_maps(HELM_ONLY.sub("", SOURCE.sub("", doc))).strip("\n")
            found.append((match.group(1), body + "\n"))
    return found


def render(helm: str) -> dict[str, str]:
    """Each file under kubernetes/ the chart makes, by its path there."""
    files: dict[str, list[str]] = {name: [] for name in FILES.values()}
    for template, body in documents(helm):
        if template in FILES:
            files[FILES[template]].append(body)
    rendered = {name: HEADER + "---\n".join(docs) for name, docs in files.items()}
    for where, template, api in COMPONENTS:
        docs = [body for source, body in documents(helm, "--api-versions", api) if source == template]
        rendered[f"{where}/{template}"] = HEADER + "---\n".join(docs)
        rendered[f"{where}/kustomization.yaml"] = COMPONENT.format(what=WHAT[where], where=where, file=template)
    monitoring: dict[str, list[str]] = {name: [] for name in MONITORING.values()}
    for body in (body for _, body in documents(helm, *MONITORING_ON)):
        kind = re.search(r"^kind: (\S+)$", body, re.M)
        if kind is not None and kind.group(1) in MONITORING:
            monitoring[MONITORING[kind.group(1)]].append(body)
    rendered |= {name: HEADER + "---\n".join(docs) for name, docs in monitoring.items()}
    return rendered


NAMESPACE = """apiVersion: v1
kind: Namespace
metadata:
  name: orchestrator
  labels:
    # The operator's own pod meets the restricted standard; enforce it.
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/warn: restricted
"""
KUSTOMIZATION = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
"""
ROOT = """# kubectl apply -k kubernetes/   installs the CRD, namespace, RBAC, the operator and the REST API.
# Every file here is rendered from the Helm chart (charts/orchestrator, the one hand-written
# source) by `make manifests`, which also writes orchestrator.yml beside it, for kubectl apply -f.
"""
POLICY = """# Optional: refuse AdhocCommands that ask for a privileged pod, added capabilities or a hostPath
# volume, in every namespace, whatever its Pod Security labels (a ValidatingAdmissionPolicy, GA
# since Kubernetes 1.30). Without it, only namespaces labelled
# pod-security.kubernetes.io/enforce=restricted (or baseline) keep such runs out.
#   kubectl apply -k kubernetes/policy/      (the chart: --set policy.restrictPods=true)
# Rendered from charts/orchestrator by make manifests (hack/gen_manifests.py): edit the chart.
"""
MONITORING_KUSTOMIZATION = """\
# For clusters with the Prometheus Operator (its CRDs): the operator's /metrics scraped, and
# alerts on what matters. kubectl apply -k kubernetes/monitoring/
# (kept out of kubernetes/kustomization.yaml: without those CRDs it cannot apply). Both files
# are rendered from the chart (metrics.serviceMonitor, metrics.prometheusRule) by make manifests.
"""
TLS = """# A kustomize Component: the REST API serves HTTPS. Use it from your own kustomization:
#   resources: [<this repository>/kubernetes]
#   components: [<this repository>/kubernetes/tls]
# First put a certificate for orchestrator-svc.orchestrator.svc (and any name you expose it
# under) in a TLS Secret, e.g. from cert-manager, or:
#   kubectl -n orchestrator create secret tls orchestrator-api-tls --cert=tls.crt --key=tls.key
# uvicorn reads its settings from UVICORN_* variables: UVICORN_SSL_CERTFILE, UVICORN_SSL_KEYFILE.
# The patches are what the chart changes with api.tls.secretName=orchestrator-api-tls, rendered
# by make manifests (hack/gen_manifests.py): edit the chart.
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
"""
TLS_ON = ("--set", "api.tls.secretName=orchestrator-api-tls")


def _pointer(path: tuple[str | int, ...]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def json_patch(old: Any, new: Any, path: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    """RFC 6902 operations that turn `old` into `new`: maps key by key, lists element by element
    when only changed or grown in one place (so a patch adds an env entry, not a whole list),
    anything else replaced."""
    if isinstance(old, dict) and isinstance(new, dict):
        ops: list[dict[str, Any]] = [{"op": "remove", "path": _pointer((*path, k))} for k in old if k not in new]
        for key, value in new.items():
            if key not in old:
                ops.append({"op": "add", "path": _pointer((*path, key)), "value": value})
            else:
                ops += json_patch(old[key], value, (*path, key))
        return ops
    if isinstance(old, list) and isinstance(new, list) and old != new:
        if len(old) == len(new):
            return [op for i, (a, b) in enumerate(zip(old, new, strict=True)) for op in json_patch(a, b, (*path, i))]
        head = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)))
        tail = len(old) - head
        if len(new) > len(old) and old[head:] == new[len(new) - tail :]:
            grown = new[head : len(new) - tail]
            at: list[str | int] = ["-"] * len(grown) if tail == 0 else list(range(head, head + len(grown)))
            return [{"op": "add", "path": _pointer((*path, i)), "value": v} for i, v in zip(at, grown, strict=True)]
    if old != new:
        return [{"op": "replace", "path": _pointer(path), "value": new}]
    return []


def tls_component(helm: str) -> str:
    """The tls Component: a JSON patch for each object the chart renders otherwise with TLS."""

    def by_name(args: tuple[str, ...]) -> dict[tuple[str, str], Any]:
        found = {}
        for _, body in documents(helm, *args):
            obj = yaml.safe_load(body)
            found[obj["kind"], obj["metadata"]["name"]] = obj
        return found

    plain, tls = by_name(()), by_name(TLS_ON)
    assert plain.keys() == tls.keys(), "api.tls adds or removes objects: a patch cannot say that"
    text = TLS
    for kind, name in sorted(plain):
        ops = json_patch(plain[kind, name], tls[kind, name])
        if ops:
            patch = yaml.safe_dump(ops, default_flow_style=None, sort_keys=False, width=120)
            text += f"- target: {{kind: {kind}, name: {name}}}\n  patch: |-\n"
            text += "".join(f"    {line}\n" for line in patch.rstrip("\n").split("\n"))
    return text


def listing(header: str, files: list[str]) -> str:
    return header + KUSTOMIZATION + "".join(f"- {name}\n" for name in files)


def kustomizations(helm: str) -> dict[str, str]:
    """The Namespace, the kustomizations listing the rendered files, the optional pod policy and
    the tls Component."""
    policy = [body for source, body in documents(helm, "--set", "policy.restrictPods=true") if source == "policy.yaml"]
    return {
        "namespace.yaml": NAMESPACE,
        "kustomization.yaml": listing(ROOT, ["../crds", "namespace.yaml", *FILES.values()]),
        "policy/restrict-pods.yaml": HEADER + "---\n".join(policy),
        "policy/kustomization.yaml": listing(POLICY, ["restrict-pods.yaml"]),
        "monitoring/kustomization.yaml": listing(
            MONITORING_KUSTOMIZATION, [name.removeprefix("monitoring/") for name in MONITORING.values()]
        ),
        "tls/kustomization.yaml": tls_component(helm),
    }


def main() -> int:
    helm = sys.argv[1]
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else REPO / "kubernetes"
    for name, text in (render(helm) | kustomizations(helm)).items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

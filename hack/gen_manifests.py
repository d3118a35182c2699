#!/usr/bin/env python3
"""make manifests: kubernetes/ rendered from the Helm chart, the one hand-written source of the
install (as cert-manager renders its static manifests from its chart).

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


def main() -> int:
    helm = sys.argv[1]
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else REPO / "kubernetes"
    for name, text in render(helm).items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

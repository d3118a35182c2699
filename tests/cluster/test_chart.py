"""The Helm chart (charts/orchestrator) and kubernetes/ install the same thing: both rendered and
compared on what matters; helm lint, kube-score (hack/score.sh: no CRITICAL or WARNING beyond
its documented exceptions) and the chart's refusals of bad values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hack.harness import REPO, Cluster, helm_path, versions

CHART = REPO / "charts" / "orchestrator"
# Labels and annotations only Helm adds (its bookkeeping, checksum/config rolls the pods).
HELM_ONLY = {
    "app.kubernetes.io/instance",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/version",
    "app.kubernetes.io/part-of",
    "helm.sh/chart",
    "checksum/config",
    "helm.sh/resource-policy",
}


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm_path()), *args], capture_output=True, text=True, check=check)


def without_helm_bookkeeping(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {k: without_helm_bookkeeping(v) for k, v in value.items() if k not in HELM_ONLY}
        return {k: v for k, v in kept.items() if not (k in ("labels", "annotations") and v == {})}
    if isinstance(value, list):
        return [without_helm_bookkeeping(v) for v in value]
    return value


Key = tuple[str, str, str]  # kind, name, namespace ("" for a cluster's)


def objects(text: str) -> dict[Key, Any]:
    """Rendered manifests by kind, name and namespace, without Helm's bookkeeping. The objects' own
    app.kubernetes.io/name label is the chart's only (selectors and pod labels are compared)."""
    found = {}
    for doc in yaml.safe_load_all(text):
        if doc:
            doc["metadata"].get("labels", {}).pop("app.kubernetes.io/name", None)
            meta = doc["metadata"]
            found[doc["kind"], meta["name"], meta.get("namespace", "")] = without_helm_bookkeeping(doc)
    return found


def rendered(*values: str) -> dict[Key, Any]:
    # --skip-tests: `helm test`'s hook (templates/tests/) is the chart's own, not part of the install.
    return objects(helm("template", "orchestrator", str(CHART), "-n", "orchestrator", "--skip-tests", *values).stdout)


def kustomized(cluster: Cluster, path: Path) -> dict[Key, Any]:
    return objects(cluster.kubectl("kustomize", str(path)).stdout)


def assert_same(chart: dict[Key, Any], kustomize: dict[Key, Any]) -> None:
    # The chart creates no Namespace: `helm install --create-namespace` does.
    namespace = ("Namespace", "orchestrator", "")
    assert set(kustomize) - set(chart) == {namespace}
    assert set(chart) == set(kustomize) - {namespace}
    for key in sorted(chart):
        assert chart[key] == kustomize[key], f"{key} differs between charts/orchestrator and kubernetes/"


def test_kubernetes_is_rendered_from_the_chart(tmp_path: Path):
    """The chart is the one hand-written source of the install: kubernetes/ is what make manifests
    renders from it, file by file."""
    subprocess.run([sys.executable, str(REPO / "hack/gen_manifests.py"), str(helm_path()), str(tmp_path)], check=True)
    files = sorted(tmp_path.rglob("*.yaml"))
    assert files
    for file in files:
        name = file.relative_to(tmp_path)
        assert (REPO / "kubernetes" / name).read_text() == file.read_text(), f"kubernetes/{name}: make manifests"
    # And nothing of the install is written by hand beside it (samples and the Argo CD check are
    # not the install; orchestrator.yml is kubectl kustomize's, test_manifests checks it).
    made = {str(file.relative_to(tmp_path)) for file in files}
    committed = {
        str(file.relative_to(REPO / "kubernetes"))
        for file in (REPO / "kubernetes").rglob("*.yaml")
        if file.relative_to(REPO / "kubernetes").parts[0] not in ("samples", "gitops")
    }
    assert committed == made, f"hand-written beside the render: {sorted(committed - made)}"


def test_the_chart_installs_what_kubectl_apply_k_installs(cluster: Cluster):
    """kubectl apply -k kubernetes/ (the render plus the Namespace and the CRD) installs what the
    chart with its defaults does (release orchestrator in namespace orchestrator), object by object."""
    assert_same(rendered(), kustomized(cluster, REPO / "kubernetes"))


def test_the_charts_tls_is_the_tls_component(cluster: Cluster, tmp_path: Path):
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    base = os.path.relpath(REPO / "kubernetes", overlay)
    (overlay / "kustomization.yaml").write_text(f"resources: [{base}]\ncomponents: [{base}/tls]\n")
    chart = rendered("--set", "api.tls.secretName=orchestrator-api-tls")  # HTTPS on 443 without asking
    assert_same(chart, kustomized(cluster, overlay))
    [port] = chart["Service", "orchestrator-svc", "orchestrator"]["spec"]["ports"]
    assert (port["name"], port["port"]) == ("https", 443)


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_the_chart_stamps_requested_by_where_the_cluster_can_as_the_component_does(
    cluster: Cluster, tmp_path: Path, version: str
):
    """helm install detects MutatingAdmissionPolicy and stamps requested-by with it; kubectl users
    add kubernetes/requested-by (1.36 on) or its v1beta1 (1.34-1.35 with the feature gate)."""
    component = "requested-by" if version == "v1" else "requested-by/v1beta1"
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    base = os.path.relpath(REPO / "kubernetes", overlay)
    (overlay / "kustomization.yaml").write_text(f"resources: [{base}]\ncomponents: [{base}/{component}]\n")
    chart = rendered("--api-versions", f"admissionregistration.k8s.io/{version}/MutatingAdmissionPolicy")
    assert_same(chart, kustomized(cluster, overlay))
    stamp = chart["MutatingAdmissionPolicy", "orchestrator-requested-by", ""]
    assert stamp["apiVersion"] == f"admissionregistration.k8s.io/{version}"
    assert not [k for k in rendered() if k[0] == "MutatingAdmissionPolicy"]  # a cluster without it: none


def test_the_charts_pod_policy_is_kubernetes_policy(cluster: Cluster):
    chart = {k: v for k, v in rendered("--set", "policy.restrictPods=true").items() if "restrict-pods" in k[1]}
    assert chart and chart == kustomized(cluster, REPO / "kubernetes/policy")
    assert not [k for k in rendered() if "restrict-pods" in k[1]]  # off unless asked for


def test_the_secret_guard_names_the_releases_service_account():
    """The operator's Secret rights come with the policy that narrows them, for any release."""
    chart = objects(helm("template", "acme", str(CHART), "-n", "tools").stdout)
    policy = chart["ValidatingAdmissionPolicy", "acme-orchestrator-output-secrets", ""]
    [condition] = policy["spec"]["matchConditions"]
    assert condition["expression"] == 'request.userInfo.username == "system:serviceaccount:tools:acme-orchestrator"'
    binding = chart["ValidatingAdmissionPolicyBinding", "acme-orchestrator-output-secrets", ""]
    assert binding["spec"] == {"policyName": "acme-orchestrator-output-secrets", "validationActions": ["Deny"]}
    assert ("ServiceAccount", "acme-orchestrator", "tools") in chart


def test_the_charts_crd_is_the_generated_one():
    """make crd writes both; the chart carries a copy because Helm reads files inside it only."""
    generated = (REPO / "crds/adhoccommands.orchestrator.dev.yaml").read_text()
    assert (CHART / "files/adhoccommands.orchestrator.dev.yaml").read_text() == generated
    [crd] = [v for (kind, _, _), v in rendered().items() if kind == "CustomResourceDefinition"]
    assert crd["spec"] == yaml.safe_load(generated)["spec"]
    kinds = {kind for kind, _, _ in rendered("--set", "crds.install=false")}
    assert "CustomResourceDefinition" not in kinds and "Deployment" in kinds


def test_namespaced_rbac_grants_nothing_cluster_wide():
    chart = rendered("--set", "rbac.scope=namespaces", "--set", "rbac.watchNamespaces={team-a,team-b}")
    assert "ClusterRoleBinding" not in {kind for kind, _, _ in chart}
    # The only ClusterRoles left are the users' aggregated ones (rbac.aggregateToUserRoles).
    assert {name for kind, name, _ in chart if kind == "ClusterRole"} == {
        "orchestrator-adhoccommands-edit",
        "orchestrator-adhoccommands-view",
        "orchestrator-adhoccommands-approve",
    }
    roles = {namespace for kind, _, namespace in chart if kind == "RoleBinding"}
    assert roles == {"team-a", "team-b", "orchestrator"}  # orchestrator: the Lease
    [operator] = chart["Deployment", "orchestrator", "orchestrator"]["spec"]["template"]["spec"]["containers"]
    assert "command" not in operator  # the image's entry point has kopf watch ORCHESTRATOR_NAMESPACES
    assert {"name": "ORCHESTRATOR_NAMESPACES", "value": "team-a,team-b"} in operator["env"]


@pytest.mark.parametrize(
    ("values", "says"),
    [
        (["--set", "rbac.scope=everything"], "/rbac/scope"),
        (["--set", "rbac.scope=namespaces"], "rbac.scope=namespaces needs rbac.watchNamespaces"),
        (["--set", "rbac.watchNamespaces={Team_A}"], "/rbac/watchNamespaces/0"),
        (["--set", "operator.podDefaults.nodeSelectr.pool=batch"], "nodeSelectr"),
        (["--set", "operator.replicas=0"], "/operator/replicas"),
        # A typo anywhere is refused, not silently ignored.
        (["--set", "operater.replicas=3"], "'operater' not allowed"),
        (["--set", "api.tls.secretname=x"], "'secretname' not allowed"),
        (["--set", "metrics.serviceMonitor.enable=true"], "'enable' not allowed"),
        (["--set", "operator.defaultTimeoutSeconds=0"], "/operator/defaultTimeoutSeconds"),
    ],
)
def test_bad_values_are_refused_naming_the_value(values: list[str], says: str):
    result = helm("template", "orchestrator", str(CHART), *values, check=False)
    assert result.returncode != 0 and says in result.stderr, result.stderr


def test_helm_lint_and_kube_score(cluster: Cluster):
    """make score: helm lint --strict, then kube-score on both installs and the chart's modes."""
    result = subprocess.run(["make", "-s", "score"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout
    assert "no CRITICAL or WARNING beyond the documented exceptions" in result.stdout


def test_the_charts_artifact_hub_metadata_says_what_is_true(installed: Cluster):
    """What Artifact Hub shows of the chart: its license is the repository's, its image the one
    make image builds, and its AdhocCommand example is one the API server accepts."""
    annotations = yaml.safe_load((CHART / "Chart.yaml").read_text())["annotations"]
    assert annotations["artifacthub.io/license"] == "Apache-2.0"
    assert "Apache License" in (REPO / "LICENSE").read_text().split("\n", 3)[1]
    [image] = yaml.safe_load(annotations["artifacthub.io/images"])
    assert image["image"] == versions("OPERATOR_IMAGE")
    [crd] = yaml.safe_load(annotations["artifacthub.io/crds"])
    assert (
        crd["name"]
        == yaml.safe_load((REPO / "crds/adhoccommands.orchestrator.dev.yaml").read_text())["metadata"]["name"]
    )
    for example in yaml.safe_load(annotations["artifacthub.io/crdsExamples"]):
        installed.kubectl("apply", "--dry-run=server", "-n", "default", "-f", "-", input=yaml.safe_dump(example))


def test_the_uids_may_be_left_to_the_platform_as_openshift_wants():
    """OpenShift's restricted-v2 SCC refuses a pod that pins a uid outside the namespace's range:
    with podSecurity.runAsUser and operator.commandRunAsUser null, nothing pins one."""
    chart = rendered("--set", "podSecurity.runAsUser=null", "--set", "operator.commandRunAsUser=null")
    for name in ("orchestrator", "orchestrator-api"):
        pod = chart["Deployment", name, "orchestrator"]["spec"]["template"]["spec"]
        assert "runAsUser" not in pod["securityContext"] and pod["securityContext"]["runAsNonRoot"] is True
        assert not [c for c in pod["containers"] if "runAsUser" in c.get("securityContext", {})]
    [operator] = chart["Deployment", "orchestrator", "orchestrator"]["spec"]["template"]["spec"]["containers"]
    assert {"name": "ORCHESTRATOR_RUN_AS_USER", "value": "platform"} in operator["env"]
    default = rendered()["Deployment", "orchestrator", "orchestrator"]["spec"]["template"]["spec"]
    assert default["securityContext"]["runAsUser"] == 10001


def test_json_logs_are_a_value_away():
    for fmt in ("json", "plain"):  # plain was once the default that passed nothing: full lines
        chart = rendered("--set", f"operator.logFormat={fmt}")
        [operator] = chart["Deployment", "orchestrator", "orchestrator"]["spec"]["template"]["spec"]["containers"]
        assert f"--log-format={fmt}" in operator["args"]
    [full] = rendered()["Deployment", "orchestrator", "orchestrator"]["spec"]["template"]["spec"]["containers"]
    assert not [a for a in full["args"] if a.startswith("--log-format")]  # the entry point's default
    assert "PrometheusRule" not in {kind for kind, _, _ in rendered()}  # off unless asked for

"""The manifests in kubernetes/ are accepted by the real API server as one `kubectl apply -k`."""

from __future__ import annotations

import os

import yaml

from hack.harness import REPO, Cluster, runner_image


def test_kubectl_apply_k_kubernetes_is_valid(installed: Cluster):
    result = installed.kubectl("apply", "--dry-run=server", "-k", str(REPO / "kubernetes"))
    applied = result.stdout
    for thing in (
        "customresourcedefinition.apiextensions.k8s.io/adhoccommands.orchestrator.dev",
        "namespace/orchestrator",
        "serviceaccount/orchestrator",
        "clusterrole.rbac.authorization.k8s.io/orchestrator",
        "deployment.apps/orchestrator",
        "deployment.apps/orchestrator-api",
        "service/orchestrator-svc",
    ):
        assert thing in applied, applied


def test_samples_are_valid_adhoccommands(installed: Cluster, namespace: str):
    result = installed.kubectl("-n", namespace, "apply", "--dry-run=server", "-k", str(REPO / "kubernetes/samples"))
    assert result.stdout.count("adhoccommand.orchestrator.dev/") == 3


def test_operator_and_api_pods_would_meet_the_restricted_standard(installed: Cluster):
    # The orchestrator namespace enforces restricted: a server-side dry run of the Deployments'
    # pod templates as pods would be refused if they did not meet it.
    for path in ("kubernetes/deployment.yaml", "kubernetes/api.yaml"):
        docs = [d for d in yaml.safe_load_all((REPO / path).read_text()) if d]
        for doc in docs:
            if doc["kind"] == "ServiceAccount":  # pods are admitted only with their ServiceAccount
                installed.apply(doc)
        for doc in docs:
            if doc["kind"] == "Deployment":
                template = doc["spec"]["template"]
                pod = {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": f"check-{doc['metadata']['name']}",
                        "namespace": "orchestrator",
                        "labels": template["metadata"]["labels"],
                    },
                    "spec": template["spec"],
                }
                result = installed.kubectl(
                    "apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump(pod), check=False
                )
                assert result.returncode == 0 and "violate" not in result.stderr, result.stderr


def test_the_one_file_install_is_kubernetes_rendered(cluster: Cluster):
    """kubernetes/orchestrator.yml (kubectl apply -f) is what kubectl kustomize makes of kubernetes/."""
    rendered = list(yaml.safe_load_all(cluster.kubectl("kustomize", str(REPO / "kubernetes")).stdout))
    shipped = list(yaml.safe_load_all((REPO / "kubernetes/orchestrator.yml").read_text()))
    assert shipped == rendered, "kubernetes/orchestrator.yml is stale: run make manifests"


def test_local_settings_name_the_runner_image_the_node_has():
    """hack/deploy/config.yaml (make deploy, make run, make demo) names the image hack/images.sh builds."""
    config = yaml.safe_load((REPO / "hack/deploy/config.yaml").read_text())
    assert config["data"]["defaultImage"] == runner_image()
    placement = yaml.safe_load(config["data"]["podDefaults"])
    assert placement["nodeSelector"] == {"orchestrator.dev/node": "real"}


def test_the_tls_component_serves_the_api_over_https(installed: Cluster, tmp_path):
    """kubernetes/tls, used as its comment says, is accepted and turns the API to HTTPS."""
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    base = os.path.relpath(REPO / "kubernetes", overlay)
    (overlay / "kustomization.yaml").write_text(f"resources: [{base}]\ncomponents: [{base}/tls]\n")
    rendered = list(yaml.safe_load_all(installed.kubectl("kustomize", str(overlay)).stdout))
    [api] = [d for d in rendered if d["kind"] == "Deployment" and d["metadata"]["name"] == "orchestrator-api"]
    container = api["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["UVICORN_SSL_CERTFILE"] == "/etc/orchestrator/tls/tls.crt"
    assert container["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    [service] = [d for d in rendered if d["kind"] == "Service" and d["metadata"]["name"] == "orchestrator-svc"]
    assert service["spec"]["ports"][0]["port"] == 443
    result = installed.kubectl("apply", "--dry-run=server", "-k", str(overlay))
    assert "deployment.apps/orchestrator-api" in result.stdout


def test_applying_the_installed_manifests_again_changes_nothing(installed: Cluster):
    """What the API server defaults is written out (a rule's `scope: "*"`): else every apply
    replaces the list that holds it, `kubectl apply` says "configured" each time, and a GitOps
    tool sees a change that is none."""
    for part in ("namespace.yaml", "rbac.yaml", "admission.yaml", "requested-by/v1beta1/requested-by.yaml"):
        result = installed.kubectl("apply", "-f", str(REPO / "kubernetes" / part))
        changed = [line for line in result.stdout.splitlines() if not line.endswith(" unchanged")]
        assert not changed, f"{part}: {changed}"

"""The REST API of the project's first days, against the local cluster, acting as its callers."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from orchestrator.api.app import create_app
from tests.cluster.helpers import wait_phase
from tests.harness import REPO, Cluster, kubeconfig_for, wait_until

PORT = 18081
pytestmark = pytest.mark.usefixtures("operator")


@dataclass
class Api:
    url: str
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="session")
def rest_api(installed: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The service, started with a kubeconfig that names the cluster and holds no credentials."""
    kubeconfig = kubeconfig_for(installed, tmp_path_factory.mktemp("api") / "kubeconfig", {})
    log = (REPO / ".cluster/logs/rest-api-test.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "orchestrator.api.app:create_app",
         "--host", "127.0.0.1", "--port", str(PORT)],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)}, stdout=log, stderr=subprocess.STDOUT,
    )

    def up() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/", timeout=2) as r:
                return r.status == 200
        except OSError:
            assert process.poll() is None, "the REST API exited: see .cluster/logs/rest-api-test.log"
            return False

    wait_until(up, 60, "the REST API")
    yield Api(f"http://127.0.0.1:{PORT}", process)
    process.terminate()
    process.wait(timeout=30)


def token_for(cluster: Cluster, namespace: str, name: str, role: str | None) -> str:
    cluster.kubectl("-n", namespace, "create", "serviceaccount", name)
    if role:
        cluster.kubectl("-n", namespace, "create", "rolebinding", f"{name}-{role}", f"--clusterrole={role}",
                        f"--serviceaccount={namespace}:{name}")
    return cluster.kubectl("-n", namespace, "create", "token", name).stdout.strip()


@pytest.fixture
def user(installed: Cluster, namespace: str) -> dict[str, str]:
    """A namespace editor (the built-in edit role, which AdhocCommands aggregate into)."""
    return {"Authorization": f"Bearer {token_for(installed, namespace, 'api-user', 'edit')}"}


def test_health(rest_api: Api):
    assert httpx.get(f"{rest_api.url}/").json() == {"status": "alive"}


def test_original_flow(rest_api: Api, simulated: Cluster, namespace: str, user, sim_output):
    sim_output(namespace, b"Hello from the REST API\n")
    api = httpx.Client(base_url=rest_api.url, headers=user, timeout=30)
    created = api.post("/jobs", json={"cmd": "echo Hello from the REST API", "namespace": namespace,
                                      "env": {"WHO": "rest"}, "retries": 1, "timeoutSeconds": 60})
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    assert job_id.startswith("job-") and created.json()["spec"]["command"] == "echo Hello from the REST API"

    listed = api.get("/jobs", params={"namespace": namespace}).json()
    assert [item["id"] for item in listed["items"]] == [job_id]

    details = api.get(f"/jobs/{job_id}", params={"namespace": namespace}).json()
    assert details["kind"] == "AdhocCommand" and details["spec"]["env"] == [{"name": "WHO", "value": "rest"}]

    wait_phase(simulated, namespace, job_id)
    status = api.get(f"/jobs/{job_id}/status", params={"namespace": namespace}).json()
    assert status["phase"] == "Succeeded" and status["exitCode"] == 0

    logs = api.get(f"/jobs/{job_id}/logs", params={"namespace": namespace})
    assert logs.status_code == 200 and logs.headers["content-type"].startswith("text/plain")
    assert logs.text == "Hello from the REST API\n"

    summary = api.get("/jobs", params={"namespace": namespace}).json()["items"][0]
    assert summary["phase"] == "Succeeded" and summary["succeeded"] == 1 and summary["startTime"]
    assert {c["type"] for c in summary["conditions"]} >= {"Complete", "Finished"}

    assert api.delete(f"/jobs/{job_id}", params={"namespace": namespace}).status_code == 200
    assert api.get(f"/jobs/{job_id}", params={"namespace": namespace}).status_code == 404


def test_logs_while_running_come_from_the_pod(rest_api: Api, simulated: Cluster, namespace: str, user,
                                              sim_output):
    sim_output(namespace, b"still going\n")
    api = httpx.Client(base_url=rest_api.url, headers=user, timeout=30)
    body = {"cmd": "sleep 600", "namespace": namespace}
    job_id = api.post("/jobs", json=body).json()["id"]
    simulated.kubectl("-n", namespace, "patch", "adhoc", job_id, "--type=merge", "-p",
                      '{"spec":{"podMetadata":{"annotations":{"sim.orchestrator.dev/duration":"600s"}}}}')
    wait_phase(simulated, namespace, job_id, ("Running",))
    assert api.get(f"/jobs/{job_id}/logs", params={"namespace": namespace}).text == "still going\n"


def test_pages(rest_api: Api, namespace: str, user):
    api = httpx.Client(base_url=rest_api.url, headers=user, timeout=30)
    ids = {api.post("/jobs", json={"cmd": f"echo {i}", "namespace": namespace}).json()["id"] for i in range(3)}
    first = api.get("/jobs", params={"namespace": namespace, "limit": 2}).json()
    assert len(first["items"]) == 2 and first["continue"]
    second = api.get("/jobs", params={"namespace": namespace, "limit": 2, "continue": first["continue"]}).json()
    assert len(second["items"]) == 1 and second.get("continue") is None
    assert {i["id"] for i in first["items"] + second["items"]} == ids


def test_no_token_is_401(rest_api: Api, namespace: str):
    for method, path in [("GET", "/jobs"), ("POST", "/jobs"), ("GET", "/jobs/x"), ("DELETE", "/jobs/x")]:
        response = httpx.request(method, f"{rest_api.url}{path}", json={"cmd": "true"})
        assert response.status_code == 401, (method, path)
        assert "bearer token" in response.json()["error"]
    bad = httpx.get(f"{rest_api.url}/jobs", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401


def test_token_without_rights_is_403_and_sees_nothing(rest_api: Api, installed: Cluster, namespace: str, user):
    httpx.post(f"{rest_api.url}/jobs", headers=user, json={"cmd": "true", "namespace": namespace})
    nobody = {"Authorization": f"Bearer {token_for(installed, namespace, 'nobody', None)}"}
    listed = httpx.get(f"{rest_api.url}/jobs", params={"namespace": namespace}, headers=nobody)
    assert listed.status_code == 403 and "items" not in listed.json()
    assert "cannot list" in listed.json()["error"]
    created = httpx.post(f"{rest_api.url}/jobs", headers=nobody, json={"cmd": "true", "namespace": namespace})
    assert created.status_code == 403
    assert installed.list("adhoc", namespace).__len__() == 1  # only the editor's


@pytest.mark.parametrize("body, field", [
    ({}, "body.cmd"),
    ({"cmd": ""}, "body.cmd"),
    ({"cmd": 5}, "body.cmd"),
    ({"command": "ls"}, "body.command"),
    ({"cmd": "ls", "retries": -1}, "body.retries"),
    ({"cmd": "ls", "timeoutSeconds": 0}, "body.timeoutSeconds"),
    ({"cmd": "ls", "env": {"A": 1}}, "body.env.A"),
    ({"cmd": "ls", "namespace": "Not_A_Namespace"}, "body.namespace"),
])
def test_bad_body_is_422_naming_the_field(rest_api: Api, user, body, field):
    response = httpx.post(f"{rest_api.url}/jobs", headers=user, json=body)
    assert response.status_code == 422
    assert field in response.json()["fields"] and field in response.json()["error"]


def test_unknown_id_is_404(rest_api: Api, namespace: str, user):
    for path in ("/jobs/no-such-job", "/jobs/no-such-job/status", "/jobs/no-such-job/logs"):
        response = httpx.get(f"{rest_api.url}{path}", params={"namespace": namespace}, headers=user)
        assert response.status_code == 404 and "no-such-job" in response.json()["error"]


def test_openapi_is_served(rest_api: Api):
    spec = httpx.get(f"{rest_api.url}/openapi.json").json()
    assert {"/", "/jobs", "/jobs/{job_id}", "/jobs/{job_id}/status", "/jobs/{job_id}/logs"} <= set(spec["paths"])


SCHEMA = schemathesis.openapi.from_dict(create_app().openapi())


@SCHEMA.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_finds_no_server_error(case, rest_api: Api, user):
    response = case.call(base_url=rest_api.url, headers=user)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
    assert rest_api.process.poll() is None, "the REST API crashed"

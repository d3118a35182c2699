"""The REST API of the project's first days, against the local cluster, acting as its callers."""

from __future__ import annotations

import functools
import json
import ssl
import subprocess
import time

import httpx
import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from hack.harness import Cluster, RestApi, token_for, wait_until
from orchestrator.rest.app import create_app
from tests.cluster.helpers import ON_REAL_NODE, OPERATOR_DEFAULT_TIMEOUT, adhoc, wait_phase

pytestmark = pytest.mark.usefixtures("operator")


@pytest.fixture
def user(installed: Cluster, namespace: str) -> dict[str, str]:
    """A namespace editor (the built-in edit role, which AdhocCommands aggregate into)."""
    return {"Authorization": f"Bearer {token_for(installed, namespace, 'api-user', 'edit')}"}


def test_health(rest_api: RestApi):
    assert httpx.get(f"{rest_api.url}/").json() == {"status": "alive"}


def test_ready_when_the_kubernetes_api_answers(rest_api: RestApi):
    """The pod's readiness probe (GET / is its liveness): no token needed, none held."""
    response = httpx.get(f"{rest_api.url}/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})


def test_original_flow(rest_api: RestApi, simulated: Cluster, namespace: str, user, sim_output):
    sim_output(namespace, b"Hello from the REST API\n")
    api = httpx.Client(base_url=rest_api.url, headers=user, timeout=30)
    created = api.post(
        "/jobs",
        json={
            "cmd": "echo Hello from the REST API",
            "namespace": namespace,
            "env": {"WHO": "rest"},
            "retries": 1,
            "timeoutSeconds": 60,
        },
    )
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    assert job_id.startswith("job-") and created.json()["spec"]["command"] == "echo Hello from the REST API"

    listed = api.get("/jobs", params={"namespace": namespace}).json()
    assert [item["job"] for item in listed] == [job_id]  # a JSON array keyed `job`, as the original

    details = api.get(f"/jobs/{job_id}", params={"namespace": namespace}).json()
    assert details["kind"] == "AdhocCommand" and details["spec"]["env"] == [{"name": "WHO", "value": "rest"}]

    wait_phase(simulated, namespace, job_id)
    status = api.get(f"/jobs/{job_id}/status", params={"namespace": namespace}).json()
    assert status["phase"] == "Succeeded" and status["exitCode"] == 0

    logs = api.get(f"/jobs/{job_id}/logs", params={"namespace": namespace})
    assert logs.status_code == 200 and logs.headers["content-type"].startswith("text/plain")
    assert logs.text == "Hello from the REST API\n"

    [summary] = api.get("/jobs", params={"namespace": namespace}).json()
    assert summary["phase"] == "Succeeded" and summary["succeeded"] == 1 and summary["startTime"]
    assert summary["completionTime"] and summary["active"] == 0 and summary["ready"] == 0
    assert {c["type"] for c in summary["conditions"]} >= {"Complete", "Finished"}

    assert api.delete(f"/jobs/{job_id}", params={"namespace": namespace}).status_code == 200
    assert api.get(f"/jobs/{job_id}", params={"namespace": namespace}).status_code == 404


def test_a_rest_run_gets_the_operators_defaults(rest_api: RestApi, simulated: Cluster, namespace: str, user):
    """As the proof of concept's Jobs had a deadline: a run that names none gets the operator's
    defaultTimeoutSeconds (the tests' operator sets it), one that names its own keeps it."""
    api = httpx.Client(base_url=rest_api.url, headers=user, timeout=30, params={"namespace": namespace})
    plain = api.post("/jobs", json={"cmd": "true"}).json()["id"]
    own = api.post("/jobs", json={"cmd": "true", "timeoutSeconds": 60}).json()["id"]
    for run, deadline in ((plain, OPERATOR_DEFAULT_TIMEOUT), (own, 60)):
        job = wait_until(functools.partial(simulated.get, "job", f"{run}-1", namespace), 60, f"the Job of {run}")
        assert job["spec"]["activeDeadlineSeconds"] == deadline


def test_logs_while_running_come_from_the_pod(rest_api: RestApi, simulated: Cluster, namespace: str, user, sim_output):
    sim_output(namespace, b"still going\n")
    api = httpx.Client(base_url=rest_api.url, headers=user, timeout=30)
    body = {"cmd": "sleep 600", "namespace": namespace}
    job_id = api.post("/jobs", json=body).json()["id"]
    simulated.kubectl(
        "-n",
        namespace,
        "patch",
        "adhoc",
        job_id,
        "--type=merge",
        "-p",
        '{"spec":{"podMetadata":{"annotations":{"sim.orchestrator.dev/duration":"600s"}}}}',
    )
    wait_phase(simulated, namespace, job_id, ("Running",))
    assert api.get(f"/jobs/{job_id}/logs", params={"namespace": namespace}).text == "still going\n"


def test_rerun_runs_the_same_command_again_with_all_it_says(
    rest_api: RestApi, simulated: Cluster, namespace: str, user
):
    """POST /jobs/{id}/rerun: the web page's Rerun. The new run takes the same `from`, env,
    volumes and exec-form args (not a shell command rebuilt from the cmd column); asking again
    before it ended is 409, since a spec change then would replace the run under way."""
    simulated.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [{"name": "web", "image": "app:1", "env": [{"name": "MODE", "value": "prod"}]}]
                    },
                },
            },
        },
        namespace,
    )
    spec = {
        "args": ["migrate", "--to", "head; rm -rf /"],
        "env": [{"name": "LEVEL", "value": "debug"}],
        "volumes": [{"name": "scratch", "emptyDir": {}}],
        "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
        "from": {"kind": "Deployment", "name": "web"},
    }
    simulated.apply(adhoc("migrate", **spec), namespace)
    wait_phase(simulated, namespace, "migrate")
    first = simulated.must_get("job", "migrate-1", namespace)["spec"]["template"]["spec"]  # deleted by run 2
    api = httpx.Client(base_url=rest_api.url, headers=user, timeout=30, params={"namespace": namespace})

    # The caller's own rights decide: a viewer of the namespace may read the run, not rerun it.
    viewer = {"Authorization": f"Bearer {token_for(simulated, namespace, 'viewer', 'view')}"}
    refused = httpx.post(f"{rest_api.url}/jobs/migrate/rerun", headers=viewer, params={"namespace": namespace})
    assert refused.status_code == 403, refused.text

    again = api.post("/jobs/migrate/rerun")
    assert again.status_code == 200, again.text
    assert again.json()["metadata"]["generation"] == 2 and again.json()["spec"]["args"] == spec["args"]
    refused = api.post("/jobs/migrate/rerun")  # its status still tells of run 1
    assert refused.status_code == 409 and "has not finished" in refused.json()["error"], refused.text
    assert api.post("/jobs/nothing-here/rerun").status_code == 404

    status = wait_phase(simulated, namespace, "migrate", generation=2)
    assert status["phase"] == "Succeeded" and [h["generation"] for h in status["history"]] == [1]
    second = simulated.must_get("job", "migrate-2", namespace)["spec"]["template"]["spec"]
    [container] = second["containers"]
    assert (
        container["image"] == "app:1" and container["command"] == spec["args"] and "args" not in container
    )  # exec form, no shell
    assert {e["name"]: e["value"] for e in container["env"]} == {"MODE": "prod", "LEVEL": "debug"}
    assert [v["name"] for v in second["volumes"]] == ["scratch"]
    assert second["containers"] == first["containers"] and second["volumes"] == first["volumes"]


def test_request_metrics_count_each_route_by_its_template(rest_api: RestApi, namespace: str, user):
    """What an operator's dashboard graphs: requests by route (its template, never a run's id),
    method and status, and their durations, on the metrics port; the probes are left out."""

    metrics = f"http://127.0.0.1:{rest_api.env['ORCHESTRATOR_API_METRICS_PORT']}/metrics"

    def counted() -> dict[tuple[str, str, str], float]:
        text = httpx.get(metrics).text
        found = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "orchestrator_api_http_requests_total":
                    labels = sample.labels
                    found[labels["handler"], labels["method"], labels["status"]] = sample.value
        return found

    before = counted()
    api = httpx.Client(base_url=rest_api.url, headers=user, timeout=30, params={"namespace": namespace})
    assert api.post("/jobs", json={"cmd": "true"}).status_code == 201
    assert api.get("/jobs/no-such-run").status_code == 404
    assert httpx.get(f"{rest_api.url}/readyz").status_code == 200
    after = counted()
    grew = {key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key, 0)}
    assert grew == {("/jobs", "POST", "201"): 1, ("/jobs/{run_id}", "GET", "404"): 1}
    durations = httpx.get(metrics).text
    assert 'orchestrator_api_http_request_duration_seconds_count{handler="/jobs",method="POST"}' in durations


def test_pages_follow_the_link_header(rest_api: RestApi, namespace: str, user):
    api = httpx.Client(base_url=rest_api.url, headers=user, timeout=30)
    # POST takes the namespace from ?namespace= as well as from the body.
    ids = {api.post("/jobs", params={"namespace": namespace}, json={"cmd": f"echo {i}"}).json()["id"] for i in range(3)}
    first = api.get("/jobs", params={"namespace": namespace, "limit": 2})
    assert len(first.json()) == 2 and first.links["next"]["url"]
    second = api.get(first.links["next"]["url"])  # RFC 8288: the next page's whole URL
    assert len(second.json()) == 1 and "link" not in second.headers  # the last page has none
    assert {i["job"] for i in first.json() + second.json()} == ids


def test_follow_streams_the_output_while_it_runs_and_ends_with_the_run(
    rest_api: RestApi, real_node: Cluster, namespace: str, user
):
    """curl -N '/jobs/ID/logs?follow=true': lines arrive as they are printed, and the stream ends
    when the command does (a real command on the real node)."""
    api = httpx.Client(base_url=rest_api.url, headers=user, timeout=30)
    job_id = "counting"
    real_node.apply(
        adhoc(job_id, command="for i in 1 2 3 4 5; do echo line $i; sleep 2; done", **ON_REAL_NODE), namespace
    )
    arrivals: list[tuple[float, str]] = []
    started = time.monotonic()
    with api.stream(
        "GET",
        f"/jobs/{job_id}/logs",
        params={"namespace": namespace, "follow": "true"},
        timeout=httpx.Timeout(30, read=120),
    ) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        for line in response.iter_lines():
            if line:
                arrivals.append((time.monotonic() - started, line))
    assert [line for _, line in arrivals] == [f"line {i}" for i in range(1, 6)]
    # Streamed as printed, not all at the end: the last lines arrive about 2 s apart.
    assert arrivals[4][0] - arrivals[2][0] >= 3, arrivals
    assert wait_phase(real_node, namespace, job_id)["phase"] == "Succeeded"
    # A finished run: the stored output, then the end.
    again = api.get(f"/jobs/{job_id}/logs", params={"namespace": namespace, "follow": "true"})
    assert again.text == "".join(f"line {i}\n" for i in range(1, 6))


def test_no_token_is_401(rest_api: RestApi, namespace: str):
    for method, path in [("GET", "/jobs"), ("POST", "/jobs"), ("GET", "/jobs/x"), ("DELETE", "/jobs/x")]:
        response = httpx.request(method, f"{rest_api.url}{path}", json={"cmd": "true"})
        assert response.status_code == 401, (method, path)
        assert "bearer token" in response.json()["error"]
    bad = httpx.get(f"{rest_api.url}/jobs", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401


def test_token_without_rights_is_403_and_sees_nothing(rest_api: RestApi, installed: Cluster, namespace: str, user):
    httpx.post(f"{rest_api.url}/jobs", headers=user, json={"cmd": "true", "namespace": namespace})
    nobody = {"Authorization": f"Bearer {token_for(installed, namespace, 'nobody', None)}"}
    listed = httpx.get(f"{rest_api.url}/jobs", params={"namespace": namespace}, headers=nobody)
    assert listed.status_code == 403 and isinstance(listed.json(), dict)
    assert "cannot list" in listed.json()["error"]
    created = httpx.post(f"{rest_api.url}/jobs", headers=nobody, json={"cmd": "true", "namespace": namespace})
    assert created.status_code == 403
    assert installed.list("adhoc", namespace).__len__() == 1  # only the editor's


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "body.cmd"),
        ({"cmd": ""}, "body.cmd"),
        ({"cmd": 5}, "body.cmd"),
        ({"command": "ls"}, "body.command"),
        ({"cmd": "ls", "retries": -1}, "body.retries"),
        ({"cmd": "ls", "timeoutSeconds": 0}, "body.timeoutSeconds"),
        ({"cmd": "ls", "env": {"A": 1}}, "body.env.A"),
        ({"cmd": "ls", "namespace": "Not_A_Namespace"}, "body.namespace"),
    ],
)
def test_bad_body_is_422_naming_the_field(rest_api: RestApi, user, body, field):
    response = httpx.post(f"{rest_api.url}/jobs", headers=user, json=body)
    assert response.status_code == 422
    assert field in response.json()["fields"] and field in response.json()["error"]


def test_unknown_id_is_404(rest_api: RestApi, namespace: str, user):
    for path in ("/jobs/no-such-job", "/jobs/no-such-job/status", "/jobs/no-such-job/logs"):
        response = httpx.get(f"{rest_api.url}{path}", params={"namespace": namespace}, headers=user)
        assert response.status_code == 404 and "no-such-job" in response.json()["error"]


def test_openapi_is_served_and_describes_the_answers(rest_api: RestApi, namespace: str, user):
    """A client generated from /openapi.json gets typed AdhocCommands: a real answer of the
    cluster validates against the schema the description gives for it."""
    spec = httpx.get(f"{rest_api.url}/openapi.json").json()
    assert {"/", "/jobs", "/jobs/{run_id}", "/jobs/{run_id}/status", "/jobs/{run_id}/logs"} <= set(spec["paths"])
    created = httpx.post(f"{rest_api.url}/jobs", headers=user, json={"cmd": "true", "namespace": namespace}, timeout=30)
    assert created.status_code == 201, created.text
    jsonschema.validate(created.json(), spec["components"]["schemas"]["AdhocCommand"])
    with pytest.raises(jsonschema.ValidationError):  # the schema says something: a wrong type fails it
        jsonschema.validate(
            {**created.json(), "spec": {"command": ["not", "a", "string"]}},
            spec["components"]["schemas"]["AdhocCommand"],
        )


SCHEMA = schemathesis.openapi.from_dict(create_app().openapi())


@SCHEMA.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_finds_no_server_error(case, rest_api: RestApi, user):
    response = case.call(base_url=rest_api.url, headers=user)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
    assert rest_api.process is not None and rest_api.process.poll() is None, "the REST API crashed"


ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=40,
)
# What a hostile client sends: bodies nested far deeper than any parser's recursion, strings
# around the 256 KiB limit, thousands of env entries, and anything beside a valid command.
BODIES = st.one_of(
    st.integers(1, 200_000).map(lambda d: ('{"cmd": ' + "[" * d + "]" * d + "}").encode()),
    st.integers(1, 100_000).map(lambda d: ('{"a":' * d + "1" + "}" * d).encode()),
    st.tuples(st.integers(1, 400_000), st.sampled_from(["x", "\u20ac", "\\"])).map(
        lambda t: json.dumps({"cmd": t[1] * t[0]}).encode()
    ),
    st.integers(200, 20_000).map(
        lambda n: json.dumps({"cmd": "true", "env": [{"name": f"V{i}", "value": "v"} for i in range(n)]}).encode()
    ),
    ANY_JSON.map(lambda v: json.dumps({"cmd": "true", "env": v}).encode()),
)


@given(body=BODIES, chunked=st.booleans())
@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_fuzz_large_and_nested_bodies_get_a_4xx(body: bytes, chunked: bool, rest_api: RestApi, user, namespace):
    """Sent whole (Content-Length) or chunked: always an answer that says what is wrong, never a
    500 or a crash."""
    content = iter([body[i : i + 65536] for i in range(0, len(body), 65536)]) if chunked else body
    response = httpx.post(
        f"{rest_api.url}/jobs",
        params={"namespace": namespace},
        headers={**user, "Content-Type": "application/json"},
        content=content,
        timeout=60,
    )
    assert response.status_code in (201, 400, 413, 422), f"{len(body)} bytes: {response.status_code} {response.text}"
    if response.status_code != 201:
        assert response.json().get("error") or response.json().get("detail"), response.text
    assert rest_api.process is not None and rest_api.process.poll() is None, "the REST API crashed"


def test_https_when_given_a_certificate(installed: Cluster, namespace: str, user, tmp_path):
    """UVICORN_SSL_CERTFILE / UVICORN_SSL_KEYFILE (as kubernetes/tls sets them): HTTPS only."""
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    trust = ssl.create_default_context(cafile=str(cert))
    trust = ssl.create_default_context(cafile=str(cert))
    api = RestApi(
        installed,
        tmp_path,
        18443,
        {"UVICORN_SSL_CERTFILE": str(cert), "UVICORN_SSL_KEYFILE": str(key)},
        scheme="https",
        verify=trust,
    )
    api.start()
    try:
        listed = httpx.get(f"{api.url}/jobs", params={"namespace": namespace}, headers=user, verify=trust)
        assert listed.status_code == 200 and listed.json() == []
        with pytest.raises(httpx.HTTPError):  # no clear-text HTTP beside it: a token never goes plain
            httpx.get("http://127.0.0.1:18443/jobs", headers=user, timeout=5).raise_for_status()
    finally:
        api.stop()

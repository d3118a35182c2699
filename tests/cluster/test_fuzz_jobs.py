"""What users send, fuzzed: AdhocCommand specs generated from the CRD's own schema go through the
Job builder, which returns a Job or refuses with InvalidSpec, never anything else; the API server
takes each Job on a server-side dry run or refuses it as invalid (the run's JobRejected, naming
the field), never with a server error."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import httpx
import schemathesis
import yaml
from hypothesis import HealthCheck, given, seed, settings

from hack.harness import REPO, Cluster
from orchestrator.kube import credentials
from orchestrator.model.config import Config
from orchestrator.model.jobs import InvalidSpec, job_for
from orchestrator.model.paths import JOBS, path

EXAMPLES = 300


def generator_schema(schema: Any) -> Any:
    """The CRD's structural schema as plain JSON Schema: unknown fields are pruned by the API
    server, so none are generated; int-or-string as anyOf; the CEL rule as oneOf."""
    if isinstance(schema, list):
        return [generator_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: generator_schema(v) for k, v in schema.items() if not k.startswith("x-kubernetes") and k != "description"}
    if schema.get("x-kubernetes-int-or-string"):
        string = {"type": "string", **({"pattern": schema["pattern"]} if "pattern" in schema else {})}
        out = {"anyOf": [{"type": "integer"}, string]}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def specs() -> list[dict[str, Any]]:
    crd = yaml.safe_load((REPO / "crds/adhoccommands.orchestrator.dev.yaml").read_text())
    spec = generator_schema(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"])
    spec["oneOf"] = [{"required": ["command"]}, {"required": ["args"]}]
    body = {"required": True, "content": {"application/json": {"schema": spec}}}
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "AdhocCommand spec", "version": "1"},
        "paths": {"/spec": {"post": {"requestBody": body, "responses": {"200": {"description": "ok"}}}}},
    }
    found: list[dict[str, Any]] = []

    @seed(2026)
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(schemathesis.openapi.from_dict(doc)["/spec"]["POST"].as_strategy())
    def collect(case: Any) -> None:
        if isinstance(case.body, dict):
            found.append(case.body)

    collect()
    return found


def test_generated_specs_become_jobs_the_api_server_takes_or_a_clear_refusal(installed: Cluster, namespace: str):
    jobs, refused, broken = [], 0, []
    for index, spec in enumerate(specs()):
        meta = {"name": f"fuzz-{index}", "namespace": namespace, "uid": f"00000000-0000-0000-0000-{index:012d}"}
        adhoc = {"apiVersion": "orchestrator.dev/v1alpha1", "kind": "AdhocCommand", "metadata": meta, "spec": spec}
        try:
            jobs.append(job_for(adhoc, Config(image="busybox")))
        except InvalidSpec:
            refused += 1
        except Exception as exc:  # the builder must never fail otherwise
            broken.append(f"{type(exc).__name__}: {exc} for {json.dumps(spec)[:300]}")
    assert not broken, "\n".join(broken[:5])
    assert len(jobs) + refused >= EXAMPLES // 2 and jobs, (len(jobs), refused)

    # As the operator sends them: one POST each, here with dryRun (nothing is created).
    info = credentials.login(credentials.Source(kubeconfig=str(installed.kubeconfig)))
    with httpx.Client(base_url=info.server, verify=info.as_ssl_context(), headers=info.as_http_headers()) as http:
        answers = Counter(
            http.post(path(*JOBS, namespace), params={"dryRun": "All"}, json=job, timeout=30).status_code
            for job in jobs
        )
    # 422 Invalid or 400 BadRequest: the run ends JobRejected with the API server's message.
    assert set(answers) <= {201, 400, 422} and answers[201] > 0, answers
    print(f"{len(jobs) + refused} specs: {refused} InvalidSpec; the API server answered {dict(answers)}")

"""The Argo CD health check, run by a real Lua interpreter on statuses the operator computes."""

from pathlib import Path

import lupa
import pytest

from orchestrator.model.status import status_from

from .factories import adhoc, condition, job, pod, terminated

SCRIPT = (Path(__file__).parents[2] / "kubernetes/gitops/adhoccommand-health.lua").read_text()
NOW = "2026-01-01T09:00:00Z"


def health(obj):
    lua = lupa.LuaRuntime(unpack_returned_tuples=True)

    def to_lua(v):
        return (
            lua.table_from({k: to_lua(x) for k, x in v.items()} if isinstance(v, dict) else [to_lua(x) for x in v])
            if isinstance(v, dict | list)
            else v
        )

    lua.globals().obj = to_lua(obj)
    result = lua.execute(SCRIPT)
    return result["status"], result["message"]


def with_status(owner, status):
    return {**owner, "status": status}


def test_no_status_yet_is_progressing():
    assert health(adhoc())[0] == "Progressing"


def test_running_is_progressing():
    owner = adhoc()
    assert health(with_status(owner, status_from(owner, job(owner, active=1), [pod()], None, NOW)))[0] == "Progressing"


def test_succeeded_is_healthy():
    owner = adhoc()
    j = job(owner, succeeded=1, conditions=[condition("Complete")])
    status, message = health(with_status(owner, status_from(owner, j, [pod(state=terminated(0))], None, NOW)))
    assert status == "Healthy" and "exit code 0" in message


def test_failed_is_degraded_with_the_reason():
    owner = adhoc()
    j = job(owner, failed=1, conditions=[condition("Failed", reason="BackoffLimitExceeded")])
    status, message = health(
        with_status(owner, status_from(owner, j, [pod(state=terminated(137, "OOMKilled"))], None, NOW))
    )
    assert status == "Degraded" and "137" in message and "OOMKilled" in message


def test_suspended():
    owner = adhoc({"command": "x", "suspend": True})
    assert health(with_status(owner, status_from(owner, job(owner, suspend=True), [], None, NOW)))[0] == "Suspended"


@pytest.mark.parametrize("observed", [1, 2])
def test_status_of_an_older_generation_is_progressing(observed):
    owner = adhoc(generation=3)
    old = {"observedGeneration": observed, "phase": "Succeeded"}
    assert health(with_status(owner, old))[0] == "Progressing"

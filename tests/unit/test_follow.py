"""Following a run's output (GET /jobs/{id}/logs?follow=true) through its states, against a
scripted stand-in for the Kubernetes API."""

from __future__ import annotations

import pytest

from orchestrator.kube import follow
from orchestrator.kube.errors import ApiError


def state(phase: str, pod: str | None = None, configmap: str | None = None) -> dict:
    status: dict = {"phase": phase}
    if pod:
        status["podName"] = pod
    if configmap:
        status["logs"] = {"configMap": configmap}
    return {"status": status}


class Scripted:
    """Pod logs by pod name (bytes, or an error to raise); the stored output of a ConfigMap."""

    def __init__(self, logs: dict, stored: bytes = b"") -> None:
        self.logs, self.stored = logs, stored
        self.followed: list[str] = []
        self.limits: list[int] = []

    async def follow_pod_log(self, token, namespace, pod):
        self.followed.append(pod)
        result = self.logs[pod]
        if isinstance(result, list) and result and isinstance(result[0], Exception):
            raise result.pop(0)
        for chunk in result:
            yield chunk

    async def stored_output(self, token, namespace, logs):
        return self.stored if (logs or {}).get("configMap") else None

    async def pod_log(self, token, namespace, pod, limit_bytes):
        self.limits.append(limit_bytes)
        result = self.logs[pod]
        if isinstance(result, Exception):
            raise result
        return b"".join(result)[:limit_bytes]


async def collect(api: Scripted, states: list[dict], monkeypatch) -> bytes:
    async def no_wait(_):
        return None

    monkeypatch.setattr(follow.asyncio, "sleep", no_wait)
    first, rest = states[0], iter(states[1:])

    async def fetch():
        return next(rest)

    return b"".join([chunk async for chunk in follow.followed_output(api, "t", "ns", first, fetch)])


async def test_a_running_command_streams_then_ends_with_the_run(monkeypatch):
    api = Scripted({"p1": [b"line 1\n", b"line 2\n"]}, stored=b"line 1\nline 2\n")
    states = [state("Running", "p1"), state("Succeeded", "p1", "x-logs")]
    assert await collect(api, states, monkeypatch) == b"line 1\nline 2\n"  # not twice


async def test_a_finished_run_gives_its_stored_output(monkeypatch):
    api = Scripted({}, stored=b"done\n")
    assert await collect(api, [state("Succeeded", "p1", "x-logs")], monkeypatch) == b"done\n"
    assert api.followed == []


async def test_a_pending_run_is_waited_for_and_each_attempt_followed(monkeypatch):
    api = Scripted(
        {"p1": [ApiError(400, "container is waiting to start"), b"try 1\n"], "p2": [b"try 2\n"]}, stored=b"try 2\n"
    )
    states = [
        state("Pending"),
        state("Pending", "p1"),
        state("Running", "p1"),
        state("Running", "p2"),
        state("Failed", "p2", "x-logs"),
    ]
    assert await collect(api, states, monkeypatch) == b"try 1\ntry 2\n"


async def test_a_pod_gone_before_it_was_read_gives_the_stored_output(monkeypatch):
    api = Scripted({"p1": [ApiError(404, "pods p1 not found")]}, stored=b"kept\n")
    states = [state("Running", "p1"), state("Succeeded", "p1", "x-logs")]
    assert await collect(api, states, monkeypatch) == b"kept\n"


async def test_other_errors_end_the_stream_with_them(monkeypatch):
    api = Scripted({"p1": [ApiError(403, "forbidden")]})
    with pytest.raises(ApiError):
        await collect(api, [state("Running", "p1")], monkeypatch)


async def test_a_status_of_the_previous_spec_is_waited_past(monkeypatch):
    api = Scripted({"p2": [b"new\n"]}, stored=b"old\n")
    lagging = {**state("Succeeded", "p1", "x-logs"), "metadata": {"generation": 2}}
    lagging["status"]["observedGeneration"] = 1
    current = {**state("Running", "p2"), "metadata": {"generation": 2}}
    current["status"]["observedGeneration"] = 2
    done = {**state("Succeeded", "p2", "x-logs"), "metadata": {"generation": 2}}
    done["status"]["observedGeneration"] = 2
    assert await collect(api, [lagging, current, done], monkeypatch) == b"new\n"  # not the old run's


@pytest.mark.parametrize(
    ("adhoc", "logs", "stored", "output"),
    [
        (
            {"status": {"phase": "Succeeded", "podName": "p1", "logs": {"configMap": "x-logs"}}},
            {},
            b"kept\n",
            b"kept\n",
        ),
        ({"status": {"phase": "Running", "podName": "p1"}}, {"p1": [b"so far\n"]}, b"", b"so far\n"),
        # ended, its output not stored (a conflict): what the pod printed, while it is there
        ({"status": {"phase": "Failed", "podName": "p1"}}, {"p1": [b"last words\n"]}, b"", b"last words\n"),
        ({"status": {"phase": "Pending", "podName": "p1"}}, {"p1": ApiError(400, "waiting to start")}, b"", b""),
        ({"status": {"phase": "Failed", "podName": "p1"}}, {"p1": ApiError(404, "gone")}, b"", b""),
        ({"status": {"phase": "Pending"}}, {}, b"", b""),
    ],
)
async def test_the_output_now_is_the_stored_one_or_the_pods_so_far(adhoc, logs, stored, output):
    assert await follow.current_output(Scripted(logs, stored=stored), "t", "ns", adhoc) == output


async def test_a_running_pods_log_is_read_up_to_what_the_run_keeps():
    api = Scripted({"p1": [b"y\n" * 100]})
    adhoc = {"spec": {"logs": {"maxBytes": 10}}, "status": {"phase": "Running", "podName": "p1"}}
    assert await follow.current_output(api, "t", "ns", adhoc) == b"y\n" * 5 and api.limits == [10]


async def test_a_refusal_is_not_hidden():
    api = Scripted({"p1": ApiError(403, "forbidden")})
    with pytest.raises(ApiError):
        await follow.current_output(api, "t", "ns", {"status": {"phase": "Running", "podName": "p1"}})

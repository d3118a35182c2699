"""A run's output, for the REST API's GET /jobs/{id}/logs and `kubectl adhoc logs`: as it stands
(stored once the run ended, else what its pod printed so far), or followed as it is written,
ending when the run ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from orchestrator.kube.errors import ApiError
from orchestrator.model.spec import FINISHED_PHASES, max_bytes

POLL_SECONDS = 1.0  # how often a run that has no pod to follow yet is looked at again

Fetch = Callable[[], Awaitable[dict[str, Any]]]


class LogSource(Protocol):
    """What following needs of the Kubernetes API: Upstream, or a unit test's scripted one."""

    def follow_pod_log(self, token: str, namespace: str, pod: str) -> AsyncIterator[bytes]: ...
    async def stored_output(self, token: str, namespace: str, logs: dict[str, Any] | None) -> bytes | None: ...
    async def pod_log(self, token: str, namespace: str, pod: str, limit_bytes: int) -> bytes: ...


async def current_output(api: LogSource, token: str, namespace: str, adhoc: dict[str, Any]) -> bytes:
    """The output now: the stored one once the run ended; else what its latest pod printed so
    far, at most the bytes spec.logs.maxBytes keeps; nothing before a pod started (or once it
    is gone without a stored output)."""
    status = adhoc.get("status") or {}
    if status.get("phase") in FINISHED_PHASES:
        stored = await api.stored_output(token, namespace, status.get("logs"))
        if stored is not None:
            return stored
    if status.get("podName"):
        try:
            return await api.pod_log(token, namespace, status["podName"], max_bytes(adhoc.get("spec") or {}))
        except ApiError as err:
            if err.status not in (400, 404):  # not started yet, or gone
                raise
    return b""


async def followed_output(
    api: LogSource, token: str, namespace: str, first: dict[str, Any], fetch: Fetch
) -> AsyncIterator[bytes]:
    """Streams each attempt's pod log while it runs; a run that had finished before (or whose
    pods are gone) gives its stored output. Ends once the run has finished."""
    adhoc, followed = first, set()
    while True:
        status = adhoc.get("status") or {}
        pod = status.get("podName")
        if status.get("observedGeneration", 0) < (adhoc.get("metadata") or {}).get("generation", 0):
            pass  # the spec just changed: wait for the status of its run
        elif status.get("phase") in FINISHED_PHASES:
            if not pod or pod not in followed:
                stored = await api.stored_output(token, namespace, status.get("logs"))
                if stored is not None:
                    yield stored
            return
        elif pod and pod not in followed:
            try:
                async for chunk in api.follow_pod_log(token, namespace, pod):
                    yield chunk
                followed.add(pod)
                adhoc = await fetch()
                continue
            except ApiError as err:
                if err.status == 404:
                    followed.discard(pod)  # gone: the stored output tells what it printed
                elif err.status != 400:  # 400: its container has not started yet
                    raise
        await asyncio.sleep(POLL_SECONDS)
        adhoc = await fetch()

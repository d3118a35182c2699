"""GET /jobs/{id}/logs?follow=true: a run's output as it is written, ending when the run ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from orchestrator.kube.errors import ApiError
from orchestrator.model.spec import FINISHED_PHASES

POLL_SECONDS = 1.0  # how often a run that has no pod to follow yet is looked at again

Fetch = Callable[[], Awaitable[dict[str, Any]]]


class LogSource(Protocol):
    """What following needs of the Kubernetes API: Upstream, or a unit test's scripted one."""

    def follow_pod_log(self, token: str, namespace: str, pod: str) -> AsyncIterator[bytes]: ...
    async def stored_output(self, token: str, namespace: str, logs: dict[str, Any] | None) -> bytes | None: ...


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

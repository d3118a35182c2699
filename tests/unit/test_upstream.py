"""The REST API's readiness: unready, saying why, while the Kubernetes API cannot be reached."""

from __future__ import annotations

import socket

from orchestrator.kube.caller import Upstream
from orchestrator.kube.credentials import Target


async def test_an_unreachable_kubernetes_api_is_said():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    upstream = Upstream.for_callers(Target(f"https://127.0.0.1:{port}", True))
    try:
        problem = await upstream.reachable()
    finally:
        await upstream.close()
    assert problem is not None and problem.startswith("the Kubernetes API could not be reached")

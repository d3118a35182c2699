"""A small async Kubernetes client for the benchmark: raw JSON and watches, logged in through the
operator's own credentials module (any kubeconfig)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from orchestrator.kube import credentials


class KubeClient:
    def __init__(self, kubeconfig: Path) -> None:
        info = credentials.login(credentials.Source(kubeconfig=str(kubeconfig)))
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        self.http = httpx.AsyncClient(
            base_url=info.server,
            verify=info.as_ssl_context(),
            timeout=120,
            limits=limits,
            headers=info.as_http_headers(),
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(path, json=body)
        response.raise_for_status()
        return response.json()

    async def delete_all(self, path: str) -> None:
        """Deletes every object under path in one request (a delete collection)."""
        response = await self.http.delete(path, timeout=600)
        response.raise_for_status()

    async def list(self, path: str, **params: Any) -> dict[str, Any]:
        response = await self.http.get(path, params=params)
        response.raise_for_status()
        return response.json()

    async def watch(self, path: str, resource_version: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Yields (type, object) from resource_version on, until the caller stops."""
        params = {
            "watch": "1",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "false",
            "timeoutSeconds": "3600",
        }
        async with self.http.stream("GET", path, params=params, timeout=None) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if line:
                    event = json.loads(line)
                    yield event["type"], event["object"]

"""A small async Kubernetes client for the benchmark: admin client certificate, raw JSON, watches."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import yaml


class KubeClient:
    def __init__(self, kubeconfig: Path) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        context = next(c for c in config["contexts"] if c["name"] == config["current-context"])["context"]
        cluster = next(c for c in config["clusters"] if c["name"] == context["cluster"])["cluster"]
        user = next(u for u in config["users"] if u["name"] == context["user"])["user"]
        ctx = ssl.create_default_context(cafile=cluster["certificate-authority"])
        ctx.load_cert_chain(user["client-certificate"], user["client-key"])
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        self.http = httpx.AsyncClient(base_url=cluster["server"], verify=ctx, timeout=120, limits=limits)

    async def close(self) -> None:
        await self.http.aclose()

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(path, json=body)
        response.raise_for_status()
        return response.json()

    async def list(self, path: str, **params: Any) -> dict[str, Any]:
        response = await self.http.get(path, params=params)
        response.raise_for_status()
        return response.json()

    async def watch(self, path: str, resource_version: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Yields (type, object) from resource_version on, until the caller stops."""
        params = {"watch": "1", "resourceVersion": resource_version, "allowWatchBookmarks": "false",
                  "timeoutSeconds": "3600"}
        async with self.http.stream("GET", path, params=params, timeout=None) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if line:
                    event = json.loads(line)
                    yield event["type"], event["object"]

"""Every call the operator makes to the Kubernetes API (the one module that does I/O)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import kr8s
import kr8s.asyncio

from orchestrator import GROUP, PLURAL, VERSION
from orchestrator.output import BoundedOutput

FIELD_MANAGER = "orchestrator"
TRANSIENT_STATUS = {409, 429, 500, 502, 503, 504}
LOG_READ_TIMEOUT = 60.0

Obj = dict[str, Any]


class ApiError(Exception):
    """An API call failed; `transient` ones are worth retrying."""

    def __init__(self, status: int, message: str, reason: str = "") -> None:
        super().__init__(f"{status} {reason}: {message}".strip())
        self.status = status
        self.reason = reason
        self.message = message

    @property
    def namespace_ending(self) -> bool:
        """Refused because the namespace is being deleted: nothing there needs doing any more."""
        return self.status == 403 and "being terminated" in self.message

    @property
    def transient(self) -> bool:
        return self.status in TRANSIENT_STATUS or self.status == 0


def _error_from(exc: Exception) -> ApiError:
    response = getattr(exc, "response", None)
    if isinstance(response, httpx.Response):
        try:
            body = response.json()
            return ApiError(response.status_code, body.get("message", ""), body.get("reason", ""))
        except (ValueError, AttributeError, httpx.ResponseNotRead):
            return ApiError(response.status_code, str(exc))
    return ApiError(0, f"{type(exc).__name__}: {exc}")  # connection errors and time-outs


class Kube:
    def __init__(self, api: Any) -> None:
        self.api = api

    @classmethod
    async def connect(cls) -> Kube:
        return cls(await kr8s.asyncio.api())

    async def _call(
        self,
        method: str,
        url: str,
        *,
        base: str = "",
        version: str = "v1",
        namespace: str | None = None,
        body: Obj | None = None,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
    ) -> Obj:
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs["content"] = json.dumps(body)
            kwargs["headers"] = {"Content-Type": content_type}
        if params:
            kwargs["params"] = params
        try:
            async with self.api.call_api(
                method, version=version, base=base, namespace=namespace, url=url, **kwargs
            ) as response:
                return response.json() if response.content else {}
        except (kr8s.ServerError, httpx.HTTPError) as exc:
            raise _error_from(exc) from exc

    # Lists

    async def list_all(self, base: str, version: str, plural: str, label_selector: str = "",
                       page: int = 500) -> AsyncIterator[Obj]:
        """Every object of a kind in all namespaces, a page at a time (bounded memory)."""
        params = {"limit": str(page)}
        if label_selector:
            params["labelSelector"] = label_selector
        while True:
            result = await self._call("GET", plural, base=base, version=version, params=params)
            for item in result.get("items") or []:
                yield item
            cont = (result.get("metadata") or {}).get("continue")
            if not cont:
                return
            params["continue"] = cont

    # Jobs

    async def create_job(self, job: Obj) -> Obj:
        return await self._call(
            "POST", "jobs", base="/apis/batch", namespace=job["metadata"]["namespace"], body=job
        )

    async def get_job(self, namespace: str, name: str) -> Obj | None:
        try:
            return await self._call("GET", f"jobs/{name}", base="/apis/batch", namespace=namespace)
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    async def patch_job(self, namespace: str, name: str, patch: Obj) -> Obj:
        return await self._call(
            "PATCH", f"jobs/{name}", base="/apis/batch", namespace=namespace, body=patch,
            content_type="application/merge-patch+json",
        )

    async def delete_job(self, namespace: str, name: str, uid: str) -> None:
        """Deletes one Job (only that exact object) and lets the garbage collector take its pods."""
        options = {"propagationPolicy": "Background", "preconditions": {"uid": uid}}
        try:
            await self._call("DELETE", f"jobs/{name}", base="/apis/batch", namespace=namespace, body=options)
        except ApiError as err:
            if err.status not in (404, 409):  # gone already, or a different object by now
                raise

    # AdhocCommands

    async def patch_status(self, namespace: str, name: str, patch: Obj) -> Obj:
        return await self._call(
            "PATCH", f"{PLURAL}/{name}/status", base=f"/apis/{GROUP}", version=VERSION,
            namespace=namespace, body={"status": patch}, content_type="application/merge-patch+json",
        )

    async def delete_adhoc(self, namespace: str, name: str, uid: str) -> None:
        options = {"propagationPolicy": "Background", "preconditions": {"uid": uid}}
        try:
            await self._call(
                "DELETE", f"{PLURAL}/{name}", base=f"/apis/{GROUP}", version=VERSION,
                namespace=namespace, body=options,
            )
        except ApiError as err:
            if err.status not in (404, 409):
                raise

    # Output

    async def read_log(self, namespace: str, pod: str, container: str, sink: BoundedOutput) -> None:
        """Streams a container's whole log into `sink`, which keeps only a bounded part."""
        try:
            async with self.api.call_api(
                "GET", version="v1", namespace=namespace, url=f"pods/{pod}/log",
                params={"container": container}, stream=True, timeout=LOG_READ_TIMEOUT,
            ) as response:
                async for chunk in response.aiter_bytes():
                    sink.feed(chunk)
        except (kr8s.ServerError, httpx.HTTPError) as exc:
            raise _error_from(exc) from exc

    async def apply_configmap(self, configmap: Obj) -> Obj:
        """Creates or replaces the ConfigMap in one request (server-side apply)."""
        meta = configmap["metadata"]
        return await self._call(
            "PATCH", f"configmaps/{meta['name']}", namespace=meta["namespace"], body=configmap,
            content_type="application/apply-patch+yaml",
            params={"fieldManager": FIELD_MANAGER, "force": "true"},
        )

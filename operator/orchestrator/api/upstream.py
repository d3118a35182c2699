"""The Kubernetes API, called with the caller's own bearer token (the service's only I/O)."""

from __future__ import annotations

import base64
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from orchestrator import GROUP, PLURAL, VERSION

IN_CLUSTER_CA = Path("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt")
ROOT_CA_MOUNT = Path("/etc/orchestrator/kube-root-ca/ca.crt")  # the kube-root-ca.crt ConfigMap


class UpstreamError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Target:
    """Where the API server is and how to trust it; never whose credentials to use."""

    server: str
    ssl_context: ssl.SSLContext | bool


def target_from_env() -> Target:
    """In a pod: the kubernetes service and the cluster's root CA; else the current kubeconfig cluster."""
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    if host:
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        ca = ROOT_CA_MOUNT if ROOT_CA_MOUNT.exists() else IN_CLUSTER_CA
        return Target(f"https://{host}:{port}", ssl.create_default_context(cafile=str(ca)))
    path = Path(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0]).expanduser()
    config = yaml.safe_load(path.read_text())
    context_name = config.get("current-context")
    context = next(c["context"] for c in config["contexts"] if c["name"] == context_name)
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    if cluster.get("insecure-skip-tls-verify"):
        return Target(cluster["server"], False)
    ctx = ssl.create_default_context()
    if cluster.get("certificate-authority-data"):
        ctx.load_verify_locations(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    elif cluster.get("certificate-authority"):
        ca = Path(cluster["certificate-authority"])
        ctx.load_verify_locations(cafile=str(ca if ca.is_absolute() else path.parent / ca))
    return Target(cluster["server"], ctx)


class Upstream:
    def __init__(self, target: Target) -> None:
        self.client = httpx.AsyncClient(base_url=target.server, verify=target.ssl_context, timeout=30.0)

    async def close(self) -> None:
        await self.client.aclose()

    async def _request(self, token: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        try:
            response = await self.client.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise UpstreamError(502, f"the Kubernetes API could not be reached: {exc}") from exc
        if response.status_code >= 400:
            try:
                message = response.json().get("message") or response.reason_phrase
            except ValueError:
                message = response.text or response.reason_phrase
            raise UpstreamError(response.status_code, message)
        return response

    @staticmethod
    def _adhoc_path(namespace: str, name: str = "") -> str:
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}"
        return f"{path}/{name}" if name else path

    async def create(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        namespace = body["metadata"]["namespace"]
        return (await self._request(token, "POST", self._adhoc_path(namespace), json=body)).json()

    async def list(self, token: str, namespace: str, limit: int, cont: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if cont:
            params["continue"] = cont
        return (await self._request(token, "GET", self._adhoc_path(namespace), params=params)).json()

    async def get(self, token: str, namespace: str, name: str) -> dict[str, Any]:
        return (await self._request(token, "GET", self._adhoc_path(namespace, name))).json()

    async def delete(self, token: str, namespace: str, name: str) -> None:
        await self._request(token, "DELETE", self._adhoc_path(namespace, name),
                            json={"propagationPolicy": "Background"})

    async def configmap(self, token: str, namespace: str, name: str) -> dict[str, Any]:
        return (await self._request(token, "GET", f"/api/v1/namespaces/{namespace}/configmaps/{name}")).json()

    async def pod_log(self, token: str, namespace: str, pod: str, limit_bytes: int) -> bytes:
        response = await self._request(
            token, "GET", f"/api/v1/namespaces/{namespace}/pods/{pod}/log",
            params={"container": "command", "limitBytes": limit_bytes},
        )
        return response.content

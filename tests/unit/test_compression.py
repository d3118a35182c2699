"""Who asks the API server to gzip its answers: not the operator nor the REST API, which run beside
it (gzip costs the API server more CPU than the bytes are worth there); the kubectl plugin,
often far from its cluster, does (a small stand-in server records what each sends)."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from orchestrator.kube.caller import Upstream
from orchestrator.kube.client import Kube
from orchestrator.kube.credentials import Login, Source, Target
from orchestrator.operator.handlers import login


@pytest.fixture
async def api():
    asked: list[str] = []

    async def jobs(request: web.Request) -> web.Response:
        asked.append(request.headers.get("Accept-Encoding", ""))
        return web.json_response({"metadata": {"resourceVersion": "1"}, "items": []})

    app = web.Application()
    app.router.add_get("/apis/batch/v1/namespaces/ns/jobs", jobs)
    server = TestServer(app)
    await server.start_server()
    yield f"http://127.0.0.1:{server.port}", asked
    await server.close()


async def operator_lists(url: str) -> None:
    kube = await Kube.connect(lambda: Login(server=url, scheme="Bearer", token="t"))
    async for _ in kube.list_pages("/apis/batch/v1/namespaces/ns/jobs", {}, False):
        pass
    await kube.close()


async def rest_api_lists(url: str) -> None:
    upstream = Upstream.for_callers(Target(url, None))
    await upstream.transport.json("GET", "/apis/batch/v1/namespaces/ns/jobs", token="t")
    await upstream.close()


async def plugin_lists(url: str, tmp_path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: '{url}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    upstream = Upstream.logged_in(Source(kubeconfig=str(kubeconfig)))
    await upstream.transport.json("GET", "/apis/batch/v1/namespaces/ns/jobs")
    await upstream.close()


@pytest.mark.parametrize(
    "client, gzip",
    [(operator_lists, False), (rest_api_lists, False), (plugin_lists, True)],
    ids=["operator", "REST API", "kubectl plugin"],
)
async def test_who_asks_for_gzip(api, tmp_path, client, gzip):
    url, asked = api
    await (client(url, tmp_path) if client is plugin_lists else client(url))
    assert len(asked) == 1 and ("gzip" in asked[0]) == gzip, asked


def test_kopfs_own_session_asks_for_answers_as_they_are(monkeypatch):
    monkeypatch.setattr("orchestrator.kube.credentials.login", lambda: Login(server="https://k", token="t"))
    headers = login().as_http_headers()
    assert headers["Accept-Encoding"] == "identity" and headers["Authorization"] == "Bearer t"

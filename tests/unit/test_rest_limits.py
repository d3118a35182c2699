"""What the REST API refuses before any work: no token, a body too large, too many streams.

Edge cases against the ASGI app in-process, with a stand-in for the Kubernetes API that records
every call (the REST flow against the real cluster is in tests/cluster/test_rest_api.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from orchestrator.kube.caller import Upstream
from orchestrator.kube.credentials import Target
from orchestrator.kube.transport import Transport
from orchestrator.rest.app import create_app
from orchestrator.rest.limits import MAX_BODY_BYTES

TOKEN = {"Authorization": "Bearer t"}


class Recording(Upstream):
    """Answers as a cluster with one running run would; counts what reaches it."""

    def __init__(self, max_streams: int = 100) -> None:
        super().__init__(Transport(Target("https://127.0.0.1:9", True)), max_streams=max_streams)
        self.calls: list[str] = []
        self.release = asyncio.Event()
        self.following = 0
        self.all_following = asyncio.Event()  # set once max_streams streams are open

    async def create(self, token, body):
        self.calls.append("create")
        return {**body, "metadata": {**body["metadata"], "name": "job-1"}}

    async def list(self, token, namespace, limit, cont):
        self.calls.append("list")
        return {"items": [], "metadata": {"continue": "next-page"}}

    async def get(self, token, namespace, name):
        self.calls.append("get")
        meta = {"name": name, "namespace": namespace, "generation": 1}
        phase = "Succeeded" if self.release.is_set() else "Running"
        return {"metadata": meta, "spec": {}, "status": {"phase": phase, "observedGeneration": 1, "podName": "p"}}

    async def follow_pod_log(self, token, namespace, pod) -> AsyncIterator[bytes]:
        self.following += 1
        if self.following == self.max_streams:
            self.all_following.set()
        yield b"started\n"
        await self.release.wait()


@pytest.fixture
async def api():
    """The app served by uvicorn on a free local port (httpx's in-process transport would buffer
    whole responses, and a stream never ends)."""
    app = create_app("default")
    upstream = Recording(max_streams=3)
    app.state.upstream = upstream
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning", forwarded_allow_ips="*")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield client, upstream
    upstream.release.set()
    server.should_exit = True
    await serving
    await upstream.close()


async def test_no_token_is_401_before_the_body_is_read(api):
    client, upstream = api
    response = await client.post("/jobs", content=b'{"cmd": broken', headers={"Content-Type": "application/json"})
    assert response.status_code == 401 and "bearer token" in response.json()["error"]
    assert response.headers["www-authenticate"] == "Bearer"
    assert upstream.calls == []


async def test_a_body_over_the_limit_is_413_by_its_length(api):
    client, upstream = api
    body = json.dumps({"cmd": "x" * (MAX_BODY_BYTES + 1)})
    response = await client.post("/jobs", content=body, headers={**TOKEN, "Content-Type": "application/json"})
    assert response.status_code == 413 and str(MAX_BODY_BYTES) in response.json()["error"]
    assert upstream.calls == []


async def test_a_streamed_body_over_the_limit_is_413_as_it_arrives(api):
    client, upstream = api

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        yield b'{"cmd": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    response = await client.post("/jobs", content=chunks(), headers={**TOKEN, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert upstream.calls == []


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({f"V{i}": "x" for i in range(257)}, "body.env"),
        ({"A": "x" * 32769}, "body.env.A"),
        ({"A=B": "x"}, "body.env.A=B"),
        ({"N" * 257: "x"}, "body.env"),
    ],
)
async def test_env_is_bounded(api, env, field):
    client, upstream = api
    response = await client.post("/jobs", json={"cmd": "env", "env": env}, headers=TOKEN)
    assert response.status_code == 422, response.text
    assert any(f.startswith(field) for f in response.json()["fields"]), response.json()
    assert upstream.calls == []


@pytest.mark.parametrize("depth", [100, 50_000])
async def test_deeply_nested_bodies_are_refused_not_500(api, depth):
    client, upstream = api
    body = '{"cmd": "x", "env": ' + "[" * depth + "]" * depth + "}"
    response = await client.post("/jobs", content=body, headers={**TOKEN, "Content-Type": "application/json"})
    assert response.status_code in (400, 422), response.text[:200]  # too deep to parse: 400
    assert upstream.calls == []


async def test_streams_beyond_the_cap_are_429_and_other_calls_go_on(api):
    client, upstream = api
    url = "/jobs/run/logs?follow=true"

    async def follow() -> int:
        async with client.stream("GET", url, headers=TOKEN) as response:
            if response.status_code == 200:
                async for _ in response.aiter_bytes():
                    break  # the first chunk: it streams
            else:
                await response.aread()
            return response.status_code

    held = [asyncio.create_task(hold(client, url)) for _ in range(3)]
    await asyncio.wait_for(upstream.all_following.wait(), 5)
    assert upstream.streams_open == 3
    assert await follow() == 429
    listed = await asyncio.wait_for(client.get("/jobs", headers=TOKEN), 1)
    assert listed.status_code == 200
    upstream.release.set()
    await asyncio.gather(*held)
    assert upstream.streams_open == 0  # each stream gave its place back


async def hold(client: httpx.AsyncClient, url: str) -> None:
    async with client.stream("GET", url, headers=TOKEN) as response:
        assert response.status_code == 200
        async for _ in response.aiter_bytes():
            pass


async def test_behind_a_tls_ingress_the_next_page_link_says_https(api):
    """The Deployments set FORWARDED_ALLOW_IPS (uvicorn's own setting): X-Forwarded-Proto counts."""
    client, _ = api
    response = await client.get("/jobs", headers={**TOKEN, "X-Forwarded-Proto": "https", "Host": "runs.example"})
    assert response.links["next"]["url"].startswith("https://runs.example/jobs?")


async def test_no_swagger_ui_from_a_cdn_unless_asked_for(api):
    client, _ = api
    assert (await client.get("/docs")).status_code == 404
    assert (await client.get("/redoc")).status_code == 404
    assert "/jobs" in (await client.get("/openapi.json")).json()["paths"]


async def test_whoami_needs_a_token(api):
    client, _ = api
    assert (await client.get("/whoami")).status_code == 401

"""Kube fetches a rejected credential again (edge cases, against a small stand-in API server)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from orchestrator.kube.client import Kube
from orchestrator.kube.credentials import Login
from orchestrator.kube.errors import ApiError


class Tokens:
    """A credential source: hands out the tokens in order, like an exec plugin run anew."""

    def __init__(self, server: str, *tokens: str) -> None:
        self.server, self.tokens, self.calls = server, list(tokens), 0

    def __call__(self) -> Login:
        token = self.tokens[min(self.calls, len(self.tokens) - 1)]
        self.calls += 1
        return Login(server=self.server, scheme="Bearer", token=token)


@pytest.fixture
async def api():
    """Accepts only the token in `valid`; counts requests by the token they carried."""
    seen: list[str] = []
    state: dict[str, Any] = {"valid": "new", "seen": seen}

    async def job(request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        state["seen"].append(token)
        await asyncio.sleep(0.01)
        if token != state["valid"]:
            return web.json_response({"reason": "Unauthorized", "message": "Unauthorized"}, status=401)
        return web.json_response({"metadata": {"name": "j"}})

    app = web.Application()
    app.router.add_get("/apis/batch/v1/namespaces/ns/jobs/j", job)
    server = TestServer(app)
    await server.start_server()
    yield f"http://127.0.0.1:{server.port}", state
    await server.close()


async def test_a_rejected_token_is_fetched_again_once_for_all_calls(api):
    url, _state = api
    tokens = Tokens(url, "old", "new")
    kube = await Kube.connect(tokens)
    session = kube.transport._session()
    jobs = await asyncio.gather(*[kube.get_job("ns", "j") for _ in range(10)])
    assert all(j == {"metadata": {"name": "j"}} for j in jobs)
    assert tokens.calls == 2  # the first login and one more, not one per rejected call
    assert kube.transport._calls is session  # same connections: watches under way go on
    await kube.close()


async def test_a_credential_that_stays_rejected_is_an_error_not_a_loop(api):
    url, state = api
    state["valid"] = "never-issued"
    tokens = Tokens(url, "a", "b", "c")
    kube = await Kube.connect(tokens)
    with pytest.raises(ApiError) as err:
        await kube.get_job("ns", "j")
    assert err.value.status == 401 and not err.value.transient
    assert state["seen"] == ["a", "b"] and tokens.calls == 2
    await kube.close()


async def test_a_callers_refused_token_is_their_401_never_a_login_of_its_own(api):
    """A token a caller brings (the REST API acting for them) that the API server refuses is
    answered 401 as it is: the transport never fetches or sends its own credential instead."""
    url, state = api
    tokens = Tokens(url, "new")
    kube = await Kube.connect(tokens)
    with pytest.raises(ApiError) as err:
        await kube.transport.json("GET", "/apis/batch/v1/namespaces/ns/jobs/j", token="tenant-token")
    assert err.value.status == 401
    assert state["seen"] == ["tenant-token"] and tokens.calls == 1  # one request, no second login
    await kube.close()

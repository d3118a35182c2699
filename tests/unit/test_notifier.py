"""The notification webhook, played by a local aiohttp server: events arrive once, a failing
receiver is retried with backoff, a dead one is given up on, and a run never waits."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import REGISTRY

from orchestrator.model import notify
from orchestrator.model.config import Config
from orchestrator.operator.notifier import Notifier

from .factories import adhoc

ENDED = {"observedGeneration": 1, "phase": "Succeeded", "exitCode": 0, "reason": "Completed"}


def counted(result: str) -> float:
    return REGISTRY.get_sample_value("orchestrator_notifications_total", {"result": result}) or 0.0


@pytest.fixture
async def receiver():
    """Answers each POST with the next status of `answers` (200 once they run out)."""
    state: dict[str, Any] = {"answers": [], "got": [], "types": []}

    async def hook(request: web.Request) -> web.Response:
        state["got"].append(await request.json())
        state["types"].append(request.headers.get("Content-Type"))
        return web.Response(status=state["answers"].pop(0) if state["answers"] else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state["url"] = f"http://127.0.0.1:{port}/hook"
    yield state
    await runner.cleanup()


async def deliver(notifier: Notifier, until) -> None:
    task = asyncio.create_task(notifier.run())
    try:
        for _ in range(500):
            if until():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("not delivered in 5 s")
    finally:
        task.cancel()


def no_wait(slept: list[float]):
    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    return sleep


async def test_a_finished_run_arrives_once_as_a_cloudevent(receiver):
    notifier = Notifier(Config(notify_url=receiver["url"]))
    notifier.tell(notify.FINISHED, adhoc(), ENDED, "done\n")
    await deliver(notifier, lambda: receiver["got"])
    [event] = receiver["got"]
    assert event["type"] == "dev.orchestrator.run.finished" and event["data"]["outputTail"] == "done\n"
    assert receiver["types"] == ["application/cloudevents+json"]


async def test_a_receiver_that_fails_twice_gets_it_on_the_third_try(receiver):
    receiver["answers"] = [500, 500]
    slept: list[float] = []
    retried, sent = counted("retried"), counted("sent")
    notifier = Notifier(Config(notify_url=receiver["url"], notify_format="slack"), sleep=no_wait(slept))
    notifier.tell(notify.FINISHED, adhoc(), ENDED, None)
    await deliver(notifier, lambda: len(receiver["got"]) == 3 and not notifier.queue and counted("sent") > sent)
    assert slept == [1.0, 2.0]  # backoff
    assert receiver["got"][0] == receiver["got"][2] and set(receiver["got"][2]) == {"text"}
    assert counted("retried") - retried == 2


async def test_a_dead_receiver_is_given_up_on_and_nothing_waits_for_it():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    slept: list[float] = []
    failed = counted("failed")
    notifier = Notifier(Config(notify_url=f"http://127.0.0.1:{port}/hook"), attempts=3, sleep=no_wait(slept))
    for _ in range(3):
        notifier.tell(notify.FINISHED, adhoc(), ENDED, None)  # returns at once, whatever the receiver does
    await deliver(notifier, lambda: counted("failed") - failed == 3)
    assert slept == [1.0, 2.0] * 3


def test_past_its_limit_the_queue_drops_the_oldest():
    notifier = Notifier(Config(notify_url="https://hooks.example/x"))
    dropped = counted("dropped")
    for generation in range(1005):
        ended = {**ENDED, "observedGeneration": generation + 1}
        notifier.tell(notify.FINISHED, adhoc(generation=generation + 1), ended, None)
    assert len(notifier.queue) == 1000 and counted("dropped") - dropped == 5
    assert notifier.queue[0]["data"]["generation"] == 6

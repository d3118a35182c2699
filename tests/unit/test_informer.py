"""The informer: a paged listing, a watch resumed after it ends, listed again on 410 Gone,
bookmarks that move the resume point, and a backoff with jitter after errors (a scripted
stand-in for the API, no cluster)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from orchestrator.kube import informer as kube_module
from orchestrator.kube.connection import Expired
from orchestrator.kube.errors import ApiError
from orchestrator.kube.informer import Informer


def obj(name: str, version: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "uid": name, "resourceVersion": version}}


class ScriptedKube:
    """Lists serve `listings` in turn; each watch plays the next script: events, or an exception
    to raise. When the scripts run out, the watch blocks until the test ends."""

    def __init__(self, listings: list[list[dict[str, Any]]], watches: list[list[Any]]) -> None:
        self.listings, self.watches = listings, watches
        self.watched_from: list[str] = []
        self.lists = 0
        self.done = asyncio.Event()

    async def list_pages(self, url, selector, metadata_only):
        items = self.listings[min(self.lists, len(self.listings) - 1)]
        self.lists += 1
        yield {"metadata": {"resourceVersion": f"list-{self.lists}"}, "items": items}

    async def watch(self, url, since, selector, metadata_only):
        self.watched_from.append(since)
        if not self.watches:
            self.done.set()
            await asyncio.Event().wait()
        for step in self.watches.pop(0):
            if isinstance(step, Exception):
                raise step
            yield step


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(kube_module, "_sleep", sleep)
    return slept


async def run(kube: ScriptedKube) -> tuple[list[tuple[str | None, str]], list[set[str]]]:
    events: list[tuple[str | None, str]] = []
    listed: list[set[str]] = []
    informer = Informer(
        kube,
        "/x",
        {},
        False,
        on_event=lambda t, o: events.append((t, o["metadata"]["name"])),
        on_listed=listed.append,
        key=lambda o: o["metadata"]["name"],
    )
    await informer.list()
    task = asyncio.create_task(informer.follow())
    await asyncio.wait_for(kube.done.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return events, listed


async def test_watch_resumes_where_it_ended(sleeps):
    kube = ScriptedKube([[obj("a", "1")]], [[("ADDED", obj("b", "5"))], [("MODIFIED", obj("b", "6"))]])
    events, _ = await run(kube)
    assert events == [(None, "a"), ("ADDED", "b"), ("MODIFIED", "b")]
    assert kube.watched_from == ["list-1", "5", "6"]  # each resume starts after what was seen
    assert kube.lists == 1


async def test_bookmarks_move_the_resume_point_unseen(sleeps):
    kube = ScriptedKube([[]], [[("BOOKMARK", obj("", "40"))], []])
    events, _ = await run(kube)
    assert events == []
    assert kube.watched_from == ["list-1", "40", "40"]


async def test_410_gone_lists_again_and_says_what_is_gone(sleeps):
    kube = ScriptedKube([[obj("a", "1"), obj("b", "1")], [obj("b", "9")]], [[Expired("list-1")]])
    events, listed = await run(kube)
    assert events == [(None, "a"), (None, "b"), ("LISTED", "b")]
    assert listed == [{"a", "b"}, {"b"}]  # a is gone
    assert kube.watched_from == ["list-1", "list-2"]


async def test_errors_back_off_doubling_with_jitter_then_reset(sleeps):
    down = ApiError(0, "connection refused")
    kube = ScriptedKube([[]], [[down], [down], [down], [("ADDED", obj("a", "2"))], [down]])
    await run(kube)
    assert len(sleeps) == 4
    first, second, third, after_success = sleeps
    assert 0.5 <= first <= 1.0 and 1.0 <= second <= 2.0 and 2.0 <= third <= 4.0
    assert 0.5 <= after_success <= 1.0  # an event that came through resets the backoff


async def test_an_object_that_cannot_be_taken_in_is_skipped_not_the_end_of_the_others(sleeps, caplog):
    """A strange object (one the callback raises on) is logged and skipped, in a listing and in
    the watch: the others still come, the watch goes on from where it was, nothing is relisted."""
    kube = ScriptedKube(
        [[obj("a", "1"), obj("bad", "1"), obj("c", "1")]],
        [[("ADDED", obj("bad", "2")), ("ADDED", obj("d", "3"))]],
    )
    events: list[tuple[str | None, str]] = []
    listed: list[set[str]] = []

    def on_event(event_type: str | None, o: dict[str, Any]) -> None:
        if o["metadata"]["name"] == "bad":
            raise KeyError("status")
        events.append((event_type, o["metadata"]["name"]))

    informer = Informer(kube, "/x", {}, False, on_event, listed.append, key=lambda o: o["metadata"]["name"])
    await informer.relist()
    task = asyncio.create_task(informer.follow())
    await asyncio.wait_for(kube.done.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert events == [(None, "a"), (None, "c"), ("ADDED", "d")]
    assert listed == [{"a", "c"}]  # the skipped one is not counted as held
    assert kube.lists == 1 and kube.watched_from == ["list-1", "3"]
    assert sum("skipped /bad" in r.getMessage() for r in caplog.records) == 2


async def test_a_listing_that_breaks_is_retried_like_an_api_error(sleeps):
    """An answer that could not be read (not an API error) backs off and lists again; before, it
    ended the informer, and with it every run's view of that kind."""

    class Breaking(ScriptedKube):
        async def list_pages(self, url, selector, metadata_only):
            self.lists += 1
            if self.lists == 1:
                raise ValueError("truncated JSON")
            yield {"metadata": {"resourceVersion": "7"}, "items": [obj("a", "7")]}

    kube = Breaking([[]], [])
    listed: list[set[str]] = []
    informer = Informer(kube, "/x", {}, False, lambda t, o: None, listed.append, key=lambda o: o["metadata"]["name"])
    await asyncio.wait_for(informer.relist(), 5)
    assert kube.lists == 2 and listed == [{"a"}] and len(sleeps) == 1

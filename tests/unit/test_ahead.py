"""kube/ahead.py: a list's next page asked for while the caller takes in the one before it."""

from __future__ import annotations

import asyncio

import pytest

from orchestrator.kube.ahead import one_ahead


class Pages:
    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count, self.fail_at, self.closed = count, fail_at, False
        self.asked: list[int] = []

    async def __call__(self):
        try:
            for page in range(self.count):
                self.asked.append(page)
                await asyncio.sleep(0)
                if page == self.fail_at:
                    raise RuntimeError(f"page {page}")
                yield page
        finally:
            self.closed = True


async def test_every_page_comes_in_order_the_next_one_already_asked_for():
    pages = Pages(3)
    seen = []
    async for page in one_ahead(pages()):
        await asyncio.sleep(0.01)  # the caller takes its time with each page
        seen.append((page, list(pages.asked)))
    assert seen == [(0, [0, 1]), (1, [0, 1, 2]), (2, [0, 1, 2])]
    assert pages.closed


async def test_an_error_comes_with_the_page_it_was_for():
    pages = Pages(3, fail_at=1)
    seen = []
    with pytest.raises(RuntimeError, match="page 1"):
        async for page in one_ahead(pages()):
            seen.append(page)
    assert seen == [0]


async def test_a_caller_that_stops_early_leaves_no_page_asked_for_behind():
    pages = Pages(5)
    ahead = one_ahead(pages())
    assert await anext(ahead) == 0
    await ahead.aclose()
    await asyncio.sleep(0)
    assert pages.closed and pages.asked in ([0], [0, 1])  # the next page asked for, or not yet
    assert not [t for t in asyncio.all_tasks() if "anext" in repr(t) and not t.done()]

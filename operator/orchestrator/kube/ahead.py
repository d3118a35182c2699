"""A list's next page asked for while the caller takes in the one before it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TypeVar

T = TypeVar("T")


async def one_ahead(pages: AsyncIterator[T]) -> AsyncGenerator[T, None]:
    """Yields what `pages` yields, asking it for the next item as soon as one is handed over: the
    API server encodes page N+1 while the caller takes in page N. Paged one after the other, at
    100,000 runs the two took turns, each idle about half of a start. Two pages are held at once."""
    next_page = asyncio.ensure_future(anext(pages))
    try:
        while True:
            try:
                page = await next_page
            except StopAsyncIteration:
                return
            next_page = asyncio.ensure_future(anext(pages))
            yield page
    finally:
        if not next_page.done():
            next_page.cancel()  # the caller stopped early: the page asked for is not wanted (its
            # cancellation ends `pages` where it waits)
        else:
            if not next_page.cancelled():
                next_page.exception()  # retrieved: an error of a page not wanted is not reported
            if isinstance(pages, AsyncGenerator):
                await pages.aclose()

"""Informers: a kind's objects kept in view by a paged LIST, then a WATCH, resumed."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Protocol

from orchestrator.kube.connection import Expired
from orchestrator.kube.errors import ApiError
from orchestrator.model.objects import Obj

RETRY_DELAY = 1.0
log = logging.getLogger(__name__)

_sleep = asyncio.sleep  # tests replace it to see the delays


async def _backoff(delay: float) -> float:
    """Sleeps about `delay` seconds; returns the next delay (doubling, at most 30 s). The jitter
    keeps many watchers that failed together (an API server restart) from coming back in step."""
    await _sleep(delay * random.uniform(0.5, 1.0))
    return min(delay * 2, 30.0)


class ListWatch(Protocol):
    """What an Informer needs of the API: Kube, or the unit tests' scripted stand-in."""

    def list_pages(self, url: str, selector: Mapping[str, str], metadata_only: bool) -> AsyncIterator[Obj]: ...
    def watch(
        self, url: str, since: str, selector: Mapping[str, str], metadata_only: bool
    ) -> AsyncIterator[tuple[str, Obj]]: ...


class Informer:
    """Keeps a callback told of every object of one kind: a paged LIST, then a WATCH from the list's
    resource version, resumed after disconnects and listed again when the version expired.

    on_event(type, object): type None for the first listing, "LISTED" for a later one (objects that
    may have changed unseen), else the watch event's type. on_listed(keys) after each listing, with
    key(object) of every object it held: the rest are gone.
    """

    def __init__(
        self,
        kube: ListWatch,
        url: str,
        selector: Mapping[str, str],
        metadata_only: bool,
        on_event: Callable[[str | None, Obj], None],
        on_listed: Callable[[set[str]], None],
        key: Callable[[Obj], str],
    ) -> None:
        self.kube = kube
        self.key = key
        self.url = url
        self.selector = selector
        self.metadata_only = metadata_only
        self.on_event = on_event
        self.on_listed = on_listed
        self.version = ""
        self.listings = 0

    async def list(self) -> None:
        event_type = None if self.listings == 0 else "LISTED"
        seen: set[str] = set()
        async for page in self.kube.list_pages(self.url, self.selector, self.metadata_only):
            self.version = page["metadata"]["resourceVersion"]
            for item in page.get("items") or []:
                try:
                    key = self.key(item)
                    self.on_event(event_type, item)
                except Exception:
                    _skipped(self.url, item)
                    continue  # not counted as listed: a later listing or event tries it again
                seen.add(key)
            del page  # keep one page in memory at a time
        self.listings += 1
        self.on_listed(seen)

    async def follow(self) -> None:
        """Runs until cancelled; list() must have run once."""
        delay = RETRY_DELAY
        while True:
            try:
                async for event_type, obj in self.kube.watch(self.url, self.version, self.selector, self.metadata_only):
                    self.version = (obj.get("metadata") or {}).get("resourceVersion") or self.version
                    if event_type != "BOOKMARK":
                        try:
                            self.on_event(event_type, obj)
                        except Exception:
                            _skipped(self.url, obj)
                    delay = RETRY_DELAY
            except Expired:
                log.info("watch of %s expired at %s: listing again", self.url, self.version)
                await self.relist()
            except ApiError as err:
                log.warning("watch of %s failed, resuming in %.0fs: %s", self.url, delay, err)
                delay = await _backoff(delay)
            except Exception:  # an answer that cannot be read must not end the watch: start afresh
                log.exception("watch of %s broke: listing again in %.0fs", self.url, delay)
                delay = await _backoff(delay)
                await self.relist()

    async def relist(self) -> None:
        """Lists, again and again after failures (backing off), until a listing succeeds: an
        answer that could not be read is retried as an API error is, never the end of it."""
        delay = RETRY_DELAY
        while True:
            try:
                await self.list()
                return
            except ApiError as err:
                log.warning("listing %s failed, again in %.0fs: %s", self.url, delay, err)
            except Exception:
                log.exception("listing %s broke, again in %.0fs", self.url, delay)
            delay = await _backoff(delay)


def _skipped(url: str, obj: object) -> None:
    """One object the operator could not take in: said, and skipped, so one strange object
    never stops the listing or the watch of all the others."""
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    name = f"{meta.get('namespace') or ''}/{meta.get('name') or ''}" if isinstance(meta, dict) else repr(obj)[:80]
    log.exception("%s: skipped %s, which could not be taken in", url, name)

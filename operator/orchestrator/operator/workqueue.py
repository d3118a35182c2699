"""Runs one reconciliation at a time per AdhocCommand, in the background, with retries."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from orchestrator.kube.errors import ApiError

log = logging.getLogger(__name__)

Reconcile = Callable[[str], Awaitable[float | None]]  # returns: seconds until it wants to run again


WORKERS = 32  # reconciliations at once; the rest wait their turn (as many as the API connections)
FORBIDDEN = 403
RETRY_LATER = 60.0  # seconds before trying again after the retries of a transient error ran out


class Queue:
    """Runs reconcile(key) once at a time per key, in the background; events that come meanwhile
    fold into one rerun. Transient API errors are retried with a bounded exponential backoff,
    then again every minute.

    A settle time lets a burst of Job and Pod updates (created, running, ended, counted) become
    one status write instead of one each. Only keys with work under way hold a task.
    """

    def __init__(
        self,
        work: Reconcile,
        retries: int,
        on_give_up: Callable[[str, Exception], None],
        workers: int = WORKERS,
        retry_later: float = RETRY_LATER,
    ) -> None:
        self.work = work
        self.retry_later = retry_later
        self.retries = retries
        self.on_give_up = on_give_up
        self._workers = asyncio.Semaphore(workers)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._dirty: set[str] = set()
        self._held: dict[str, asyncio.Event] = {}  # keys whose reconcile asked to wait: wake them
        self._settling: dict[str, asyncio.Event] = {}  # keys in their settle time: an end wakes them
        self._closing = asyncio.Event()

    def submit(self, key: str, settle: float = 0.0) -> None:
        """Reconciles `key` soon, after `settle` seconds in which further submits fold into this one.
        A submit without settle ends a settle under way: nothing that follows is worth waiting for."""
        if key in self._tasks:
            self._dirty.add(key)
            if not settle and key in self._settling:
                self._settling[key].set()
            if key in self._held:  # a held-back status may now be a final one: look again at once
                self._held[key].set()
            return
        if settle:
            self._settling[key] = asyncio.Event()
        task = asyncio.create_task(self._run(key, settle), name=f"reconcile {key}")
        self._tasks[key] = task
        # Also when done, for a task cancelled before its first step, which never runs _run's
        # finally (the finally stays: a submit between a task's end and its callbacks folds into
        # a task that no longer runs).
        task.add_done_callback(functools.partial(self._done, key))

    def _done(self, key: str, task: asyncio.Task[Any]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
            self._settling.pop(key, None)

    def __len__(self) -> int:
        """Keys with work under way or waiting (held back, retried, settling)."""
        return len(self._tasks)

    def cancel_all(self) -> None:
        """Stops all work at once (leadership lost): reconciliations under way are cancelled."""
        self._dirty.clear()
        for task in list(self._tasks.values()):
            task.cancel()

    async def drain(self) -> None:
        """Waits until no work is under way (for tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def close(self) -> None:
        """Lets the writes under way finish and drops what only waits (a status held back, a
        retry later): at shutdown, the next start reconciles everything anyway."""
        self._closing.set()
        await self.drain()

    async def _pause(self, seconds: float, woken: asyncio.Event | None = None) -> bool:
        """Sleeps, or less when `woken` is set; False when the queue closed meanwhile."""
        waits = [asyncio.ensure_future(e.wait()) for e in (self._closing, woken) if e is not None]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        return not self._closing.is_set()

    async def _hold(self, key: str, seconds: float) -> bool:
        """Waits the seconds a reconciliation asked for (a status held back, a retry later), or
        until the key changes again: a change may make the status final, written at once (the
        reconciliation says how long to wait again otherwise). False when the queue closed."""
        if key in self._dirty:  # it changed while it was being reconciled
            return not self._closing.is_set()
        self._held[key] = asyncio.Event()
        try:
            return await self._pause(seconds, self._held[key])
        finally:
            del self._held[key]

    async def _run(self, key: str, settle: float) -> None:
        try:
            if settle:
                try:
                    if not await self._pause(settle, self._settling[key]):
                        return
                finally:
                    self._settling.pop(key, None)
            while not self._closing.is_set():
                self._dirty.discard(key)
                again = await self._attempt(key)
                if again:
                    if not await self._hold(key, again):
                        return
                    continue
                if key not in self._dirty:
                    return
        except Exception as err:  # never lose the task silently: say what broke
            log.exception("reconciling %s failed", key)
            self.on_give_up(key, err)
        finally:
            current = asyncio.current_task()
            if current is not None:
                self._done(key, current)

    async def _attempt(self, key: str) -> float | None:
        delay = 0.5
        for attempt in range(self.retries + 1):
            try:
                async with self._workers:
                    return await self.work(key)
            except ApiError as err:
                # 403 too, for a while: an API server that just started refuses everything until
                # its RBAC caches are filled. A lasting 403 is given up on, said once.
                if not err.transient and err.status != FORBIDDEN:
                    self.on_give_up(key, err)
                    return None
                if attempt == self.retries:  # say so, and keep coming back: the run must not be lost
                    self.on_give_up(key, err)
                    return self.retry_later if err.transient else None
                log.info("retrying %s in %.1fs after %s", key, delay, err)
            if not await self._pause(delay):
                return None
            delay = min(delay * 2, 30.0)
        return None

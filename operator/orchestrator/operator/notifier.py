"""Tells the notification webhook (ORCHESTRATOR_NOTIFY_URL) of runs that await approval and of
runs that finished: in the
background, retried with backoff, never blocking or changing a run. One sender at a time; a
queue of at most QUEUE_MAX events, the oldest dropped (and counted) past that."""

from __future__ import annotations

import asyncio
import collections
import logging
import uuid
from collections.abc import Awaitable, Callable

import aiohttp

from orchestrator.model import notify
from orchestrator.model.config import Config
from orchestrator.model.objects import Obj, timestamp
from orchestrator.operator import metrics

log = logging.getLogger(__name__)
ATTEMPTS = 5
FIRST_DELAY = 1.0  # seconds before the second attempt; doubling
QUEUE_MAX = 1000
POST_TIMEOUT = aiohttp.ClientTimeout(total=10.0)


class Notifier:
    def __init__(
        self,
        config: Config,
        attempts: int = ATTEMPTS,
        first_delay: float = FIRST_DELAY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.url, self.form = config.notify_url, config.notify_format
        self.attempts, self.first_delay, self.sleep = attempts, first_delay, sleep
        self.queue: collections.deque[Obj] = collections.deque(maxlen=QUEUE_MAX)
        self.waiting = asyncio.Event()

    def tell(self, event_type: str, adhoc: Obj, status: Obj, tail: str | None) -> None:
        """A run ended or waits for approval (notify.FINISHED, notify.AWAITING_APPROVAL): its
        event is queued, and this returns at once."""
        data = notify.run_data(adhoc, status, tail)
        self._queue(notify.payload(self.form, event_type, data, str(uuid.uuid4()), timestamp()))

    def _queue(self, body: Obj) -> None:
        if len(self.queue) == self.queue.maxlen:
            metrics.NOTIFICATIONS.labels("dropped").inc()  # the oldest goes
        self.queue.append(body)
        self.waiting.set()

    async def run(self) -> None:
        """Sends what is queued, one at a time, until cancelled."""
        async with aiohttp.ClientSession(timeout=POST_TIMEOUT) as session:
            while True:
                await self.waiting.wait()
                while self.queue:
                    await self._send(session, self.queue.popleft())
                self.waiting.clear()

    async def _send(self, session: aiohttp.ClientSession, body: Obj) -> None:
        content_type = "application/json" if self.form == "slack" else "application/cloudevents+json"
        delay = self.first_delay
        for attempt in range(1, self.attempts + 1):
            problem = ""
            try:
                async with session.post(self.url, json=body, headers={"Content-Type": content_type}) as response:
                    if response.status < 300:
                        metrics.NOTIFICATIONS.labels("sent").inc()
                        return
                    problem = f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if attempt < self.attempts:
                metrics.NOTIFICATIONS.labels("retried").inc()
                await self.sleep(delay)
                delay *= 2
        metrics.NOTIFICATIONS.labels("failed").inc()
        log.warning("the notification webhook refused an event %d times (%s): dropped", self.attempts, problem)

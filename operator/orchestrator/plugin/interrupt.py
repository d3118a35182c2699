"""Ctrl-C for a command a user waits on: asyncio.run, except that Ctrl-C never waits on the work.

asyncio.run answers Ctrl-C by cancelling the main task and waiting until it ends, then waits again
for every task left. A cancellation lost in a library (or a connection that will not close) then
keeps the user at a silent terminal for good: `kubectl adhoc run` printed the command's output
and never its question. Here the work gets GRACE_SECONDS to wind down; what is still running after
that is dropped with the event loop, and a second Ctrl-C stops waiting at once."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
GRACE_SECONDS = 2.0


def run_interruptible(main: Coroutine[Any, Any, T], grace: float = GRACE_SECONDS) -> T:
    """`main`'s result; KeyboardInterrupt once Ctrl-C was pressed (whatever `main` did after)."""
    loop = asyncio.new_event_loop()
    task = loop.create_task(main)
    interrupted = False
    deadline: list[asyncio.TimerHandle] = []

    def on_sigint() -> None:
        nonlocal interrupted
        if interrupted:  # pressed again: stop waiting for the work
            loop.stop()
            return
        interrupted = True
        task.cancel()
        deadline.append(loop.call_later(grace, loop.stop))

    task.add_done_callback(lambda _: loop.stop())
    loop.add_signal_handler(signal.SIGINT, on_sigint)
    try:
        loop.run_forever()
        if interrupted:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: asyncio would log it as never retrieved
            raise KeyboardInterrupt
        return task.result()
    finally:
        loop.remove_signal_handler(signal.SIGINT)  # back to Python's default: KeyboardInterrupt
        for handle in deadline:
            handle.cancel()
        _close(loop, grace)


def _close(loop: asyncio.AbstractEventLoop, grace: float) -> None:
    """What asyncio.run does at the end (cancel what is left, close async generators and the
    thread pool), each given `grace` seconds; then the loop is closed with anything left."""
    left = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in left:
        task.cancel()
    steps: list[Any] = [asyncio.wait(left, timeout=grace)] if left else []
    steps += [loop.shutdown_asyncgens(), loop.shutdown_default_executor()]
    for step in steps:
        with contextlib.suppress(Exception):
            loop.run_until_complete(asyncio.wait_for(step, grace))
    # A task that ignored its cancellation is dropped: asyncio would report it at exit, to a user
    # who already has their answer.
    loop.set_exception_handler(lambda _loop, _context: None)
    loop.close()

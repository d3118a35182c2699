"""Ctrl-C in kubectl adhoc: the user gets the terminal back within the grace, whatever the work does
with its cancellation. Each case runs in a child process that sends itself SIGINT (as a terminal
does), so that a handler that is not there fails the case instead of stopping the test run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

PREAMBLE = """
import asyncio, os, signal, sys
from orchestrator.plugin.interrupt import run_interruptible

def ctrl_c(after):
    asyncio.get_running_loop().call_later(after, os.kill, os.getpid(), signal.SIGINT)

async def forever():
    await asyncio.Event().wait()
"""

CASES = {
    # The work ends by itself: its result, no interruption.
    "ends": """
async def work():
    await asyncio.sleep(0.05)
    return 7
""",
    # Cancelled as asyncio means it: the work's clean-up runs, then the interruption.
    "cooperates": """
async def work():
    ctrl_c(0.1)
    try:
        await forever()
    finally:
        print("cleaned up", flush=True)
""",
    # A library that loses the cancellation and waits on: the interruption after the grace.
    "swallows": """
async def work():
    ctrl_c(0.1)
    try:
        await forever()
    except asyncio.CancelledError:
        pass
    await forever()
""",
    # The cancellation turned into an error (as a timer of an HTTP client may): still Ctrl-C.
    "fails": """
async def work():
    ctrl_c(0.1)
    try:
        await forever()
    except asyncio.CancelledError:
        raise TimeoutError from None
""",
    # It ends, but leaves a task behind that ignores being cancelled: the result, within the grace,
    # and nothing said about the task.
    "straggler": """
async def stubborn():
    while True:
        try:
            await forever()
        except asyncio.CancelledError:
            pass

async def work():
    asyncio.get_running_loop().create_task(stubborn())
    await asyncio.sleep(0.05)
    return 3
""",
}

RUN = """
try:
    print("result", run_interruptible(work(), grace=float(sys.argv[1])), flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def run_case(name: str, grace: float) -> tuple[subprocess.CompletedProcess[str], float]:
    script = PREAMBLE + textwrap.dedent(CASES[name]) + RUN
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script, str(grace)], capture_output=True, text=True, timeout=30)
    return done, time.monotonic() - started


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("ends", ["result 7"]),
        ("cooperates", ["cleaned up", "interrupted"]),
        ("swallows", ["interrupted"]),
        ("fails", ["interrupted"]),
        ("straggler", ["result 3"]),
    ],
)
def test_ctrl_c_gives_the_terminal_back_within_the_grace(case: str, says: list[str]):
    done, _ = run_case(case, grace=1.0)  # one that never gave the terminal back times out (30 s)
    assert (done.returncode, done.stdout.splitlines(), done.stderr) == (0, says, "")


def test_a_work_that_stops_in_time_is_not_kept_for_the_whole_grace():
    _, fast = run_case("cooperates", grace=20.0)
    assert fast < 15, fast  # the grace is a limit, not a wait

"""python -m orchestrator.operator: the operator, kopf hosting its handlers (handlers.py).

What `kopf run --all-namespaces -m orchestrator.operator.handlers` does, with the namespaces
taken from ORCHESTRATOR_NAMESPACES (so kopf watches exactly those the operator may act in), and
one thing kopf's command line cannot pass: its per-object memory. kopf keeps a record of every
object it has seen until the object is deleted (about 1.1 KiB each: a copy of the memo, an
error throttler, daemon and index records), for daemons, timers, indexes and the progress of
changing handlers. AdhocCommands use none of these (one event handler feeding the operator's
own cache and queue), so each event gets a fresh record that is not kept: 110 MiB fewer at
100,000 finished runs. And kopf reads its lists and watch events with orjson (faster_json),
its list's next page on its way while it takes in one (pages_ahead).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import types
from collections.abc import AsyncIterator
from typing import Any

import kopf

# kopf has no public name for the container of those records; kopf is pinned (requirements.txt),
# and tests/unit/test_operator_main.py checks that a record is still not kept.
from kopf._core.reactor.inventory import ResourceMemories, ResourceMemory

from orchestrator import tune_gc
from orchestrator.kube.ahead import one_ahead
from orchestrator.kube.transport import parse_responses_with
from orchestrator.model import config


class Unremembered(ResourceMemories):
    """kopf's per-object records, made for each event and never kept."""

    async def recall(self, raw_body: Any, *, ephemeral: bool = False, **options: Any) -> ResourceMemory:
        return await super().recall(raw_body, ephemeral=True, **options)


def faster_json() -> None:
    """kopf parses the pages of its lists (aiohttp's response.json()) and every line of its
    watches (json.loads in kopf's api module) with the standard library's json; orjson reads the
    same JSON three to four times faster. Started with 50,000 finished runs, kopf's list parsing
    was 11% of the operator's CPU. The operator's own calls parse with orjson already (transport.py).
    """
    try:
        import orjson
    except ImportError:  # an install without it: the standard library, as kopf does
        return
    from kopf._cogs.clients import api as kopf_api  # pinned, as above; checked by the same test file

    kopf_api.json = types.SimpleNamespace(loads=orjson.loads, dumps=json.dumps)  # type: ignore[assignment]
    parse_responses_with(orjson.loads)


def pages_ahead() -> None:
    """kopf lists a page of AdhocCommands, hands its objects over, and only then asks for the
    next: at 100,000 runs the API server and the operator took turns, each idle about half the
    time. Its pages come one ahead now, as the operator's own lists do (kube/ahead.py)."""
    from kopf._cogs.clients import fetching  # pinned, as above; checked by the same test file

    fetch = fetching.fetch_objs
    if getattr(fetch, "one_ahead", False):
        return

    def fetch_objs(**kwargs: Any) -> AsyncIterator[Any]:
        return one_ahead(fetch(**kwargs))

    fetch_objs.one_ahead = True  # type: ignore[attr-defined]
    fetching.fetch_objs = fetch_objs


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.operator", description=__doc__.split("\n")[0])
    parser.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        help="a namespace to watch (repeated); default: ORCHESTRATOR_NAMESPACES, else all",
    )
    parser.add_argument("-A", "--all-namespaces", action="store_true", help="watch all namespaces (the default)")
    parser.add_argument(
        "-L", "--liveness", help="where kopf answers the liveness probe, e.g. http://0.0.0.0:8080/healthz"
    )
    parser.add_argument("--log-format", choices=("plain", "full", "json"), default="full")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    if not args.namespace and not args.all_namespaces:
        args.namespace = list(config.namespaces_from(os.environ.get(config.NAMESPACES_ENV) or ""))
    if args.namespace and args.all_namespaces:
        parser.error("either --namespace or --all-namespaces, not both")
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    kopf.configure(verbose=args.verbose, log_format=kopf.LogFormat[args.log_format.upper()])
    faster_json()
    pages_ahead()
    from orchestrator.operator import handlers  # noqa: F401  (registers the handlers with kopf)

    tune_gc()
    operator = kopf.operator(
        clusterwide=not args.namespace,
        namespaces=args.namespace,
        liveness_endpoint=args.liveness,
        memories=Unremembered(),
    )
    try:
        import uvloop  # as kopf run uses it when installed
    except ImportError:
        asyncio.run(operator)
    else:
        uvloop.run(operator)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""make bench-rest: the REST API under load, beside the same requests sent straight to the API
server with the same user's token.

The mix: two thirds POST /jobs (one AdhocCommand each), one third GET /jobs (a page of 50), sent
at a fixed concurrency; the operator does not run (nothing else competes), so what is measured is
the thin proxy's cost. Rounds alternate which side goes first (machines here are noisy). Prints a
table and writes it, with the date and the machine, to bench/results/rest.md and rest.json.

  python -m bench.rest --requests 1500 --concurrency 200 --rounds 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.bench import cluster_pids
from bench.cost import cpu_seconds, machine_busy_seconds
from hack.harness import LOCAL_KUBECONFIG, REPO, Cluster, RestApi, bin_dir, token_for
from orchestrator.kube import credentials
from orchestrator.model.paths import ADHOCS, path

CPU_COLUMNS = ("kube-apiserver", "etcd", "rest-api", "client", "machine")
Send = Callable[[aiohttp.ClientSession, int], Awaitable[int]]


@dataclass
class Result:
    side: str
    requests: int
    seconds: float
    errors: Counter[str]
    latencies: list[float]
    cpu_ms: dict[str, float] = field(default_factory=dict)  # CPU a request, by process

    @property
    def rate(self) -> float:
        return (self.requests - sum(self.errors.values())) / self.seconds

    def row(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "side": self.side,
            "requests": self.requests,
            "errors": dict(self.errors),
            "rate_per_s": round(self.rate, 1),
            "p50_s": round(statistics.median(ordered), 3),
            "p99_s": round(ordered[int(len(ordered) * 0.99) - 1], 3),
            "cpu_ms_per_request": self.cpu_ms,
        }


async def load(side: str, client: aiohttp.ClientSession, send: Send, requests: int, concurrency: int) -> Result:
    """Sends `requests` requests, at most `concurrency` at once; every one is counted."""
    errors: Counter[str] = Counter()
    latencies: list[float] = []
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < requests:
            index, next_index = next_index, next_index + 1
            started = time.monotonic()
            try:
                status = await send(client, index)
                if status >= 400:
                    errors[f"HTTP {status}"] += 1
            except (aiohttp.ClientError, TimeoutError) as exc:
                errors[type(exc).__name__] += 1
            latencies.append(time.monotonic() - started)

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(side, requests, time.monotonic() - started, errors, latencies)


def body(namespace: str) -> dict[str, Any]:
    return {"cmd": "true", "namespace": namespace}


async def call(client: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> int:
    """One request, its whole answer read; its status."""
    async with client.request(method, url, **kwargs) as response:
        await response.read()
        return response.status


def rest_sender(namespace: str) -> Send:
    async def send(client: aiohttp.ClientSession, index: int) -> int:
        if index % 3 == 2:
            return await call(client, "GET", "/jobs", params={"namespace": namespace, "limit": "50"})
        return await call(client, "POST", "/jobs", json=body(namespace))

    return send


def direct_sender(namespace: str) -> Send:
    """What the REST API itself sends for the same requests."""
    from orchestrator.rest.models import NewRun, adhoc_from

    adhoc = adhoc_from(NewRun(cmd="true"), namespace)

    async def send(client: aiohttp.ClientSession, index: int) -> int:
        if index % 3 == 2:
            return await call(client, "GET", path(*ADHOCS, namespace), params={"limit": "50"})
        return await call(client, "POST", path(*ADHOCS, namespace), json=adhoc)

    return send


async def one_round(cluster: Cluster, api: RestApi, args: argparse.Namespace, first: str) -> list[Result]:
    results = []
    for side in (first, "direct" if first == "rest" else "rest"):
        namespace = f"bench-rest-{uuid.uuid4().hex[:6]}"
        cluster.kubectl("create", "namespace", namespace)
        try:
            token = token_for(cluster, namespace, "loader", "edit")
            headers = {"Authorization": f"Bearer {token}"}
            if side == "rest":
                base, tls, send = api.url, None, rest_sender(namespace)
            else:
                target = credentials.target(credentials.Source(kubeconfig=str(cluster.kubeconfig)))
                base, tls, send = target.server, target.ssl_context, direct_sender(namespace)
            # aiohttp, not httpx: a load generator lighter per request (httpx's own CPU was the
            # bottleneck of the first version of this benchmark).
            client = aiohttp.ClientSession(
                base_url=base,
                headers=headers,
                connector=aiohttp.TCPConnector(limit=args.concurrency, ssl=tls if tls is not None else True),
                timeout=aiohttp.ClientTimeout(total=120),
            )
            async with client:
                await load(side, client, send, 30, 10)  # warm the connections and caches
                assert api.process is not None
                before = cpu_snapshot(api.process.pid)
                result = await load(side, client, send, args.requests, args.concurrency)
                after = cpu_snapshot(api.process.pid)
                result.cpu_ms = {k: round((after[k] - before[k]) * 1000 / args.requests, 2) for k in before}
                if side == "direct":
                    del result.cpu_ms["rest-api"]
                results.append(result)
        finally:
            # Waited for: a namespace's deletion in the background would cost the next side.
            cluster.kubectl("delete", "namespace", namespace, "--timeout=300s", check=False)
    return results


def cpu_snapshot(rest_pid: int) -> dict[str, float]:
    """CPU seconds so far of the API server, etcd, the REST API, this process and the machine."""
    pids = cluster_pids()
    return {
        "kube-apiserver": cpu_seconds(pids["kube-apiserver"]),
        "etcd": cpu_seconds(pids["etcd"]),
        "rest-api": cpu_seconds(rest_pid),
        "client": cpu_seconds(os.getpid()),
        "machine": machine_busy_seconds(),
    }


def free_port() -> int:
    """A port nothing listens on (a REST API left running elsewhere must not be measured)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def machine() -> str:
    cpus = os.cpu_count()
    memory = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    return f"{platform.machine()}, {cpus} cores, {memory} GiB, Python {platform.python_version()}"


def write(results: list[Result], args: argparse.Namespace) -> str:
    by_side = {side: [r for r in results if r.side == side] for side in ("rest", "direct")}
    rates = {side: statistics.median(r.rate for r in rs) for side, rs in by_side.items()}
    summary = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": machine(),
        "requests": args.requests,
        "concurrency": args.concurrency,
        "rounds": [r.row() for r in results],
        "ratio": round(rates["rest"] / rates["direct"], 2),
        "dropped": sum(sum(r.errors.values()) for r in by_side["rest"]),
    }
    lines = [
        f"# REST API under load ({summary['date']}, {summary['machine']})",
        "",
        f"{args.requests} requests a round (2/3 POST /jobs, 1/3 GET /jobs) at concurrency {args.concurrency};",
        "direct: the same requests to the API server with the same token. No operator running.",
        "",
        "| side | requests | errors | req/s | p50 s | p99 s | CPU ms a request: API server / etcd / REST API / "
        "client / machine |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {row['side']} | {row['requests']} | {sum(row['errors'].values()) or 0} {row['errors'] or ''} | "
            f"{row['rate_per_s']} | {row['p50_s']} | {row['p99_s']} | "
            + " / ".join(str(row["cpu_ms_per_request"].get(k, "-")) for k in CPU_COLUMNS)
            + " |"
            for row in summary["rounds"]
        ),
        "",
        f"REST rate / direct rate (medians): **{summary['ratio']}**; requests dropped by the REST API: "
        f"**{summary['dropped']}**.",
    ]
    text = "\n".join(lines) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "rest.md").write_text(text)
    (args.out / "rest.json").write_text(json.dumps(summary, indent=2) + "\n")
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1500, help="requests a round, per side")
    parser.add_argument("--concurrency", type=int, default=200, help="requests in flight at once")
    parser.add_argument("--rounds", type=int, default=2, help="rounds; each alternates which side goes first")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results", help="where results go")
    args = parser.parse_args()
    cluster = Cluster(LOCAL_KUBECONFIG, str(bin_dir() / "kubectl"), local=True)
    cluster.install_operator_prerequisites()
    api = RestApi(cluster, Path(os.environ.get("TMPDIR", "/tmp")), free_port())
    api.start()
    try:
        results: list[Result] = []
        for index in range(args.rounds):
            results += asyncio.run(one_round(cluster, api, args, "rest" if index % 2 == 0 else "direct"))
    finally:
        api.stop()
    print(write(results, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

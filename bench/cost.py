"""What a batch of runs costs the control plane, from the API server's own /metrics and /proc,
every client counted (the operator, the Job controller, the scheduler, the node, the benchmark's
own watches, alike for both variants): requests by verb and resource, and the CPU of every
process of the cluster, the operator, the benchmark itself and the whole machine (on 2 cores a
burst keeps the machine busy, so its wall time follows the CPU all of them spend a run). Bytes
are kept in the results' JSON but not shown: the API server sizes reads' responses and watch
events (apiserver_response_sizes, apiserver_watch_events_sizes) in ways that do not follow who
was sent what (one run gave a plain Job's pods 52 KB and ours none, the next the reverse), and
never the bodies of writes' answers."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

CLOCK = os.sysconf("SC_CLK_TCK")
Row = tuple[str, float, float]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK


def machine_busy_seconds() -> float:
    """CPU time the machine spent on anything but idling and waiting for I/O, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / CLOCK


def request_key(labels: dict[str, str]) -> str:
    resource = labels.get("resource", "")
    if labels.get("subresource"):
        resource += "/" + labels["subresource"]
    return f"{labels.get('verb', '?')} {resource or labels.get('path', '?')}"


@dataclass
class Snapshot:
    requests: Counter[str] = field(default_factory=Counter)
    response_bytes: Counter[str] = field(default_factory=Counter)
    cpu: dict[str, float] = field(default_factory=dict)

    @classmethod
    def take(cls, metrics_text: str, pids: dict[str, int]) -> Snapshot:
        snap = cls()
        for family in text_string_to_metric_families(metrics_text):
            for sample in family.samples:
                if sample.name == "apiserver_request_total":
                    snap.requests[request_key(sample.labels)] += int(sample.value)  # counts, sent as floats
                elif sample.name == "apiserver_response_sizes_sum" and sample.labels.get("verb") != "WATCH":
                    snap.response_bytes[request_key(sample.labels)] += int(sample.value)
                elif sample.name == "apiserver_watch_events_sizes_sum":
                    snap.response_bytes[request_key({**sample.labels, "verb": "WATCH"})] += int(sample.value)
        for name, pid in pids.items():
            try:
                snap.cpu[name] = cpu_seconds(pid)
            except (FileNotFoundError, ProcessLookupError):
                pass  # not running (the real node's parts when the cluster has none)
        snap.cpu["machine"] = machine_busy_seconds()
        return snap


def per_run(before: Snapshot, after: Snapshot, runs: int) -> dict[str, Any]:
    """The difference, per run: totals, CPU in ms, and requests and KB by verb and resource."""
    requests = after.requests - before.requests
    sizes = after.response_bytes - before.response_bytes
    return {
        "requests": sum(requests.values()) / runs,
        "response_kb": sum(sizes.values()) / runs / 1024,
        "cpu_ms": {
            name: (after.cpu[name] - before.cpu[name]) * 1000 / runs for name in after.cpu if name in before.cpu
        },
        "by_request": {
            key: {"requests": requests[key] / runs, "kb": sizes[key] / runs / 1024}
            for key in sorted(requests, key=lambda k: -requests[k])
        },
    }


def compared(ours: dict[str, Any], plain: dict[str, Any], top: int = 12) -> list[Row]:
    """(request, ours per run, plain per run) where they differ most."""
    empty = {"requests": 0.0}
    rows = [
        (key, ours["by_request"].get(key, empty)["requests"], plain["by_request"].get(key, empty)["requests"])
        for key in set(ours["by_request"]) | set(plain["by_request"])
    ]
    rows.sort(key=lambda r: -abs(r[1] - r[2]))
    return [r for r in rows if abs(r[1] - r[2]) >= 0.01][:top]

"""Rotated trios of bursts (pure): the order, which trios stand, and their medians.

A burst's wall time on this 2-core machine moves by 15-20% from one minute to the next, and
whatever runs first or after another's leftovers pays for it. So each measurement is a trio of
the same burst as ours (the operator), plain Jobs and the floor (each plain Job with an
AdhocCommand beside it and the operator stopped), in the orders ABC, BCA, CAB; a trio whose
plain burst is more than 15% off the trios' median plain burst is voided (the machine was busy
with something else); the figures are the medians of the trios that stand, with their range.

The CPU figures are the cluster's processes and the operator's, never the benchmark's own
(its creates and watches): what a run costs the cluster, not what measuring it costs.
"""

from __future__ import annotations

import statistics
from typing import Any

VARIANTS = ("ours", "plain", "floor")
ROTATIONS = (("ours", "plain", "floor"), ("plain", "floor", "ours"), ("floor", "ours", "plain"))
VOID_SHIFT = 0.15
NOT_THE_CLUSTER = ("machine", "benchmark")  # the whole machine includes the benchmark's CPU


def orders(count: int) -> list[tuple[str, ...]]:
    """The order of the variants in each of `count` trios."""
    return [ROTATIONS[i % len(ROTATIONS)] for i in range(count)]


def cluster_cpu_ms(cost: dict[str, Any]) -> float:
    """CPU a run of the cluster's processes and the operator, the benchmark's left out."""
    return sum(ms for name, ms in cost["cpu_ms"].items() if name not in NOT_THE_CLUSTER)


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def voided(trios: list[dict[str, Any]]) -> list[bool]:
    """Whether each trio's plain burst is more than VOID_SHIFT off the median plain burst."""
    middle = statistics.median(t["plain"]["total_s"] for t in trios)
    return [abs(t["plain"]["total_s"] - middle) > VOID_SHIFT * middle for t in trios]


def figures(trio: dict[str, Any]) -> dict[str, float]:
    """One trio's figures: wall-time ratios to plain Jobs, and CPU a run of the cluster."""
    ours, plain, floor = (trio[v] for v in VARIANTS)
    return {
        "total_ratio": ours["total_s"] / plain["total_s"],
        "floor_ratio": floor["total_s"] / plain["total_s"],
        "ours_cpu_ms": cluster_cpu_ms(ours["cost"]),
        "plain_cpu_ms": cluster_cpu_ms(plain["cost"]),
        "floor_cpu_ms": cluster_cpu_ms(floor["cost"]),
        "above_floor_ms": cluster_cpu_ms(ours["cost"]) - cluster_cpu_ms(floor["cost"]),
        "operator_ms": ours["cost"]["cpu_ms"].get("operator", 0.0),
        "benchmark_ms": ours["cost"]["cpu_ms"].get("benchmark", 0.0),
    }


def summary(trios: list[dict[str, Any]]) -> dict[str, Any]:
    """The medians and ranges over the trios that stand (the median plain trio always does)."""
    void = voided(trios)
    each = [figures(t) for t in trios]
    standing = [f for f, v in zip(each, void, strict=True) if not v]
    return {
        "trios": len(trios),
        "voided": sum(void),
        **{key: spread([f[key] for f in standing]) for key in standing[0]},
    }


def median_trio(trios: list[dict[str, Any]]) -> dict[str, Any]:
    """The standing trio whose ours/plain ratio is the median (the lower of two): its bursts'
    latencies stand for the run in the table."""
    void = voided(trios)
    standing = sorted((figures(t)["total_ratio"], i) for i, t in enumerate(trios) if not void[i])
    return trios[standing[(len(standing) - 1) // 2][1]]

"""A small run of the benchmark: it measures, prints its table and writes its results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hack.harness import REPO, Cluster, Operator


def test_bench_smoke_run(simulated: Cluster, operator: Operator, tmp_path: Path):
    operator.stop()  # the benchmark runs its own operator: never two at once
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.bench",
                "--burst",
                "10",
                "--populations",
                "30",
                "--single",
                "1",
                "--trios",
                "2",
                "--warm-up",
                "5",
                "--requests",
                "20",
                "--openloop",
                "5",
                "--openloop-count",
                "10",
                "--timeout",
                "300",
                "--out",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=900,
            cwd=REPO,
        )
    finally:
        operator.start()
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "burst of 10: all finished, ours" in result.stdout
    assert "30 present: restart to idle" in result.stdout
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["burst"]["count"] == 10 and results["api"]["writes_per_run"] > 0
    burst_cpu = results["cost"]["ours"]["cpu_ms"]
    assert burst_cpu["machine"] > burst_cpu["kube-apiserver"] > 0 and burst_cpu["operator"] > 0
    assert "CPU of all processes of the machine" in result.stdout
    assert 0 <= results["burst"]["job_done_to_done_p50_s"] < 60  # the output read after the Job ended
    open_loop = results["openloop"]  # 10 runs created 5 a second: about 2 s of creates
    assert open_loop["count"] == 10 and 0 <= open_loop["lag_p50_s"] <= open_loop["lag_p99_s"] < 60
    assert "open loop, 10 runs at 5/s" in result.stdout
    assert results["floor"]["total_s"] > 0 and "floor: plain Jobs, each with an AdhocCommand" in result.stdout
    trios = results["trials"]  # rotated: the second trio starts where the first went second
    assert [t["order"] for t in trios] == [["ours", "plain", "floor"], ["plain", "floor", "ours"]]
    assert len({t[v]["namespace"] for t in trios for v in ("ours", "plain", "floor")}) == 6  # fresh each
    summary = results["cost"]["summary"]
    assert summary["ours_cpu_ms"]["median"] > 0 and summary["operator_ms"]["median"] > 0
    assert results["cost"]["above_floor_ms"] == summary["above_floor_ms"]["median"]
    assert "trios: CPU a run above the floor" in result.stdout
    # What a run's own requests cost, each kind alone: 20 of a kind are within the noise of the
    # idle seconds taken off, so only that each was measured, for every process of the cluster.
    requests = results["requests"]
    kinds = ("output read", "ConfigMap", "status patch", "success event")
    assert requests["count"] == 20 and all({"kube-apiserver", "etcd", "total_ms"} <= set(requests[k]) for k in kinds)
    assert len(requests["rounds"]) == 3 and all(set(r) == set(kinds) for r in requests["rounds"])
    assert "CPU a run above the floor: the operator + its requests + the rest" in result.stdout
    assert results["restart"][0]["writes_after_restart"] == 0  # a restart changes nothing
    assert 0 < results["restart"][0]["idle_rss_mib"] <= results["restart"][0]["peak_rss_mib"]
    assert (tmp_path / "latency.png").stat().st_size > 1000
    assert "| measure" in (tmp_path / "results.md").read_text()

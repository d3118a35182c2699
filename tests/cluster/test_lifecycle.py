"""make cluster-up / cluster-down as a user meets them; these run last (they stop the cluster)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, Cluster, bin_dir

pytestmark = pytest.mark.lifecycle
STATE = Path(os.environ.get("ORCH_CLUSTER_STATE", "/tmp/orchestrator-cluster"))
PORTS = (23790, 23800, 16443, 10357, 10359, 10247)


def cluster_sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / "hack/cluster.sh"), *args], capture_output=True, text=True, timeout=600)


def our_processes() -> list[int]:
    prefix = str(bin_dir()) + "/"
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")[0].decode()
            except OSError:
                continue
            if cmdline.startswith(prefix):
                found.append(int(entry.name))
    return found


def listening(port: int) -> bool:
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True).stdout
    return bool(out.strip())


def test_second_cluster_up_says_it_is_up(simulated: Cluster):
    result = cluster_sh("up")
    assert result.returncode == 0 and "already up" in result.stderr


def test_cluster_up_recovers_from_a_killed_cluster(simulated: Cluster):
    # What a session's end does: every process killed at once, no cleanup.
    for pid in our_processes():
        os.kill(pid, signal.SIGKILL)
    result = cluster_sh("up")
    assert result.returncode == 0, result.stderr
    assert "clearing what an earlier cluster left" in result.stderr
    node = simulated.get("node", "kwok-node-0")
    assert {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"] == "True"


def test_cluster_down_leaves_no_process_port_or_state(simulated: Cluster):
    assert our_processes()
    result = cluster_sh("down")
    assert result.returncode == 0, result.stderr
    assert our_processes() == []
    assert [p for p in PORTS if listening(p)] == []
    assert not STATE.exists()
    assert cluster_sh("status").returncode != 0

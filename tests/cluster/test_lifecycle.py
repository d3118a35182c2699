"""make cluster-up / cluster-down as a user meets them; these run last (they stop the cluster)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import pytest

from hack.harness import REPO, Cluster, bin_dir, wait_until
from tests.cluster.test_real_node import real

pytestmark = pytest.mark.lifecycle
STATE = Path(os.environ.get("ORCH_CLUSTER_STATE", "/tmp/orchestrator-cluster"))
PORTS = (23790, 23800, 16443, 10357, 10359, 10247, 10250, 10248)
SYSCTLS = ("vm.overcommit_memory", "kernel.panic", "kernel.panic_on_oops", "net.ipv4.ip_forward")


def cluster_sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / "hack/cluster.sh"), *args], capture_output=True, text=True, timeout=600)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def our_processes() -> list[int]:
    """The cluster's processes: our binaries, containerd and its shims, and the pods' processes."""
    prefix = str(bin_dir()) + "/"
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            line = cmdline(int(entry.name))
            if line.startswith(prefix) or str(STATE / "containerd") in line:
                found.add(int(entry.name))
    for procs in Path("/sys/fs/cgroup/pids").glob("kubepods/**/cgroup.procs"):
        found.update(int(p) for p in procs.read_text().split())
    return sorted(found)


def listening(port: int) -> bool:
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True).stdout
    return bool(out.strip())


def sysctls() -> dict[str, str]:
    return {s: subprocess.run(["sysctl", "-n", s], capture_output=True, text=True).stdout.strip() for s in SYSCTLS}


def test_second_cluster_up_says_it_is_up(simulated: Cluster):
    result = cluster_sh("up")
    assert result.returncode == 0 and "already up" in result.stderr


def test_cluster_up_recovers_from_a_killed_cluster(simulated: Cluster, real_node: Cluster, operator, namespace: str):
    # A command runs on the real node when the session ends: everything is killed, no cleanup.
    real_node.apply(real("forever", command="sleep 3600"), namespace)
    wait_until(
        lambda: [p for p in real_node.list("pods", namespace) if p["status"].get("phase") == "Running"],
        120,
        "the command to run",
    )
    for pid in our_processes():
        with contextlib.suppress(ProcessLookupError):  # it ended by itself meanwhile
            os.kill(pid, signal.SIGKILL)
    result = cluster_sh("up")
    assert result.returncode == 0, result.stderr
    assert "clearing what an earlier cluster left" in result.stderr
    for node in ("kwok-node-0", "real-node-0"):
        status = simulated.must_get("node", node)["status"]
        assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "True", node


def test_cluster_down_undoes_everything(simulated: Cluster, real_node: Cluster):
    before = dict(line.split("=", 1) for line in (STATE / "sysctls.saved").read_text().split())
    assert our_processes()
    result = cluster_sh("down")
    assert result.returncode == 0, result.stderr
    assert our_processes() == []
    assert [p for p in PORTS if listening(p)] == []
    assert not STATE.exists()
    assert sysctls() == before
    assert str(STATE) not in Path("/proc/self/mountinfo").read_text()
    assert list(Path("/sys/fs/cgroup").glob("*/kubepods")) == []
    assert subprocess.run(["ip", "link", "show", "cni0"], capture_output=True).returncode != 0
    chains = subprocess.run(["iptables", "-S"], capture_output=True, text=True).stdout
    assert "KUBE-" not in chains
    nat = subprocess.run(["iptables", "-t", "nat", "-S"], capture_output=True, text=True).stdout
    assert "KUBE-" not in nat and "ORCH-APISERVER" not in nat  # the pods' path to the API server
    assert "orchestrator local cluster" not in Path("/etc/hosts").read_text()
    assert not Path("/var/lib/kubelet").exists() and not list(Path("/run/netns").glob("cni-*"))
    assert cluster_sh("status").returncode != 0

"""Commands that really run: the local cluster's kubelet + containerd + runc node."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hack.harness import Cluster, wait_until
from orchestrator.model.spec import LOGS_MAX_BYTES_DEFAULT
from tests.cluster.helpers import ON_REAL_NODE, adhoc, conditions, status_of, stored_output, wait_phase

pytestmark = pytest.mark.usefixtures("operator")


def real(name: str, **spec: Any) -> dict[str, Any]:
    return adhoc(name, **ON_REAL_NODE, **spec)


def test_zen_of_python_is_stored(real_node: Cluster, namespace: str):
    real_node.apply(real("zen", command='python3 -c "import this"'), namespace)
    status = wait_phase(real_node, namespace, "zen", timeout=120)
    assert status["phase"] == "Succeeded" and status["exitCode"] == 0 and status["reason"] == "Completed"
    output = stored_output(real_node, namespace, "zen").decode()
    assert output.startswith("The Zen of Python, by Tim Peters\n")
    assert "Beautiful is better than ugly." in output
    [pod] = real_node.list("pods", namespace)
    assert pod["spec"]["nodeName"] == "real-node-0"


@pytest.mark.parametrize("code", [1, 3, 42])
def test_exit_codes(real_node: Cluster, namespace: str, code: int):
    real_node.apply(real("exits", command=f"echo leaving; exit {code}"), namespace)
    status = wait_phase(real_node, namespace, "exits", timeout=120)
    assert status["phase"] == "Failed" and status["exitCode"] == code and status["reason"] == "Error"
    assert conditions(status)["Finished"]["status"] == "True"
    assert stored_output(real_node, namespace, "exits") == b"leaving\n"


def test_stdout_and_stderr_are_both_captured(real_node: Cluster, namespace: str):
    real_node.apply(real("both", command="echo to-stdout; echo to-stderr >&2; echo again"), namespace)
    wait_phase(real_node, namespace, "both", timeout=120)
    lines = stored_output(real_node, namespace, "both").decode().splitlines()
    assert sorted(lines) == ["again", "to-stderr", "to-stdout"]


def test_command_reads_its_env_and_args_form(real_node: Cluster, namespace: str):
    real_node.apply(
        real(
            "env",
            args=["python3", "-c", "import os; print(os.environ['GREETING'], os.getuid())"],
            env=[{"name": "GREETING", "value": "hello from env"}],
        ),
        namespace,
    )
    status = wait_phase(real_node, namespace, "env", timeout=120)
    assert status["phase"] == "Succeeded"
    assert stored_output(real_node, namespace, "env") == b"hello from env 65532\n"  # non-root by default


def test_timeout_kills_the_command(real_node: Cluster, namespace: str):
    real_node.apply(real("sleepy", command="echo started; sleep 600", timeoutSeconds=3), namespace)
    status = wait_phase(real_node, namespace, "sleepy", timeout=120)
    assert status["phase"] == "Failed" and status["reason"] == "DeadlineExceeded"


def test_memory_limit_ends_as_oomkilled(real_node: Cluster, namespace: str):
    grow = "import sys; blocks = []\nwhile True: blocks.append(bytearray(16 * 2**20))"
    real_node.apply(
        real(
            "hungry",
            args=["python3", "-c", grow],
            resources={"limits": {"memory": "64Mi"}, "requests": {"memory": "64Mi"}},
        ),
        namespace,
    )
    status = wait_phase(real_node, namespace, "hungry", timeout=120)
    assert status["phase"] == "Failed" and status["reason"] == "OOMKilled" and status["exitCode"] == 137


def test_ten_mib_of_output_is_cut_with_the_marker(real_node: Cluster, namespace: str):
    size = 10 * 2**20
    # containerd 1.6 can drop the last tens of KiB of a container that exits right after a burst
    # of output (they never reach its log file); a second's pause lets it write them all.
    real_node.apply(real("loud", command=f"yes 0123456789abcdef | head -c {size}; sleep 1"), namespace)
    status = wait_phase(real_node, namespace, "loud", timeout=180)
    assert status["phase"] == "Succeeded"
    assert status["logs"]["bytes"] == size and status["logs"]["truncated"] is True
    stored = stored_output(real_node, namespace, "loud")
    assert len(stored) == status["logs"]["storedBytes"] <= LOGS_MAX_BYTES_DEFAULT
    head, left_out, tail = re.split(rb"\n\[orchestrator: (\d+) bytes of output left out\]\n", stored)
    assert head.startswith(b"0123456789abcdef\n0123456789abcdef\n")
    assert int(left_out) == size - len(head) - len(tail)


def test_missing_image_says_why_it_waits(real_node: Cluster, namespace: str):
    real_node.apply(real("noimage", command="true", image="localhost/orchestrator/does-not-exist:1"), namespace)

    def waiting() -> dict[str, Any] | None:
        status = status_of(real_node, namespace, "noimage")
        reason = status.get("reason")
        return status if reason in ("ErrImageNeverPull", "ImagePullBackOff", "ErrImagePull") else None

    status = wait_until(waiting, 120, "an image pull reason in the status")
    assert status["phase"] == "Pending" and "does-not-exist" in status["message"]
    assert conditions(status)["Reconciling"]["status"] == "True"


def test_a_mounted_secret_and_a_scratch_volume(real_node: Cluster, namespace: str):
    """A backup's way: its credentials from a Secret's file, its work in an emptyDir."""
    real_node.kubectl("-n", namespace, "create", "secret", "generic", "db", "--from-literal=password=s3cret")
    volumes = [{"name": "db", "secret": {"secretName": "db"}}, {"name": "scratch", "emptyDir": {}}]
    mounts = [{"name": "db", "mountPath": "/etc/db", "readOnly": True}, {"name": "scratch", "mountPath": "/scratch"}]
    command = "cp /etc/db/password /scratch/copy && cat /scratch/copy"
    real_node.apply(real("backup", command=command, volumes=volumes, volumeMounts=mounts), namespace)
    status = wait_phase(real_node, namespace, "backup", timeout=120)
    assert status["phase"] == "Succeeded", status
    assert stored_output(real_node, namespace, "backup") == b"s3cret"

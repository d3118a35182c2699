"""Use cases of one-off runs on the real node: cancel a runaway command and keep what it printed,
start at a set time (across an operator restart), fail at once on an exit code that says so."""

from __future__ import annotations

import hashlib
import itertools
import re
import subprocess
from datetime import UTC, datetime, timedelta

from hack.harness import Cluster, Operator, wait_until
from orchestrator.model.objects import parse_time, timestamp
from tests.cluster.helpers import ON_REAL_NODE, adhoc, status_of, stored_output, wait_phase, wait_reason
from tests.cluster.test_kubectl_adhoc import adhoc_cli, plugin_env

COUNTING = "for i in $(seq 100); do echo $i; sleep 1; done"


def test_a_cancelled_command_ends_cancelled_with_its_first_lines_kept_and_no_pod_left(
    real_node: Cluster, operator: Operator, namespace: str
):
    real_node.apply(adhoc("runaway", command=COUNTING, **ON_REAL_NODE), namespace)
    wait_until(  # it really runs: three lines printed
        lambda: len(real_node.kubectl("-n", namespace, "logs", "job/runaway-1", check=False).stdout.split()) >= 3,
        90,
        "three lines of output",
    )
    # kubectl's own flags before the command, as kubectl users type them.
    global_flags = [real_node.kubectl_path, "adhoc", "--kubeconfig", str(real_node.kubeconfig), "-n", namespace]
    cancelled = subprocess.run([*global_flags, "cancel", "runaway"], capture_output=True, text=True, env=plugin_env())
    assert cancelled.returncode == 0 and cancelled.stdout == "adhoccommand/runaway cancelled\n", cancelled.stderr
    status = wait_phase(real_node, namespace, "runaway", timeout=90)
    assert (status["phase"], status["reason"]) == ("Failed", "Cancelled"), status
    lines = stored_output(real_node, namespace, "runaway").decode().split()
    assert lines[:3] == ["1", "2", "3"] and len(lines) < 100, lines
    wait_until(lambda: not real_node.list("pods", namespace), 60, "no pod left")
    history = adhoc_cli(real_node, namespace, "history", "runaway")
    row = history.stdout.splitlines()[1].split()  # generation 2: the cancel, run-neutral, changed the spec
    assert row[:3] == [str(status["observedGeneration"]), "Failed", "Cancelled"], history.stdout
    again = adhoc_cli(real_node, namespace, "cancel", "runaway")
    assert again.returncode == 1 and "has finished already" in again.stderr


def test_a_run_starts_at_its_time_across_an_operator_restart(real_node: Cluster, operator: Operator, namespace: str):
    start_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=20)
    real_node.apply(adhoc("at-two", command="echo on time", startAt=timestamp(start_at), **ON_REAL_NODE), namespace)
    waiting = wait_reason(real_node, namespace, "at-two", "Scheduled")
    assert waiting["phase"] == "Pending" and not real_node.list("jobs", namespace), waiting
    operator.kill()  # gone in between: the time is in the AdhocCommand, not in the process
    operator.start()
    status = wait_phase(real_node, namespace, "at-two", timeout=90)
    assert status["phase"] == "Succeeded", status
    created = parse_time(real_node.must_get("job", "at-two-1", namespace)["metadata"]["creationTimestamp"])
    assert start_at <= created <= start_at + timedelta(seconds=2), (start_at, created)
    assert stored_output(real_node, namespace, "at-two") == b"on time\n"


def test_an_exit_code_the_pod_failure_policy_names_fails_at_once_whatever_the_retries(
    real_node: Cluster, operator: Operator, namespace: str
):
    policy = {
        "rules": [{"action": "FailJob", "onExitCodes": {"containerName": "command", "operator": "In", "values": [3]}}]
    }
    real_node.apply(
        adhoc("no-retry", command="echo bad input; exit 3", retries=3, podFailurePolicy=policy, **ON_REAL_NODE),
        namespace,
    )
    status = wait_phase(real_node, namespace, "no-retry", timeout=90)
    assert (status["phase"], status["exitCode"], status["attempt"]) == ("Failed", 3, 1), status
    assert len(real_node.list("pods", namespace)) == 1  # no second attempt
    assert status_of(real_node, namespace, "no-retry")["logs"]["storedBytes"] == len(b"bad input\n")


def test_a_run_leaves_a_receipt_the_digest_that_ran_its_outputs_hash_and_its_result(
    real_node: Cluster, operator: Operator, namespace: str
):
    command = """echo '3 rows fixed'; printf '{"fixed": 3}' > /dev/termination-log"""
    real_node.apply(adhoc("receipt", command=command, **ON_REAL_NODE), namespace)
    status = wait_phase(real_node, namespace, "receipt", timeout=90)
    assert status["phase"] == "Succeeded", status
    assert status["result"] == '{"fixed": 3}'
    assert status["logs"]["sha256"] == hashlib.sha256(b"3 rows fixed\n").hexdigest()
    assert re.fullmatch(r".+@sha256:[0-9a-f]{64}|sha256:[0-9a-f]{64}", status["imageID"]), status["imageID"]


def test_a_run_for_kueue_waits_queued_in_a_suspended_job_until_admitted(
    real_node: Cluster, operator: Operator, namespace: str
):
    """Kueue itself is not installed here: the test admits the Job as Kueue does, by resuming it."""
    real_node.apply(adhoc("queued", command="echo admitted", queueName="batch", **ON_REAL_NODE), namespace)
    status = wait_reason(real_node, namespace, "queued", "Queued")
    assert status["phase"] == "Pending" and "LocalQueue batch" in status["message"], status
    held = real_node.must_get("job", "queued-1", namespace)
    assert held["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "batch" and held["spec"]["suspend"] is True
    assert not real_node.list("pods", namespace)
    real_node.kubectl("-n", namespace, "patch", "job", "queued-1", "--type=merge", "-p", '{"spec":{"suspend":false}}')
    status = wait_phase(real_node, namespace, "queued", timeout=90)
    assert status["phase"] == "Succeeded" and stored_output(real_node, namespace, "queued") == b"admitted\n"


def test_runs_of_one_concurrency_key_never_overlap_and_go_in_creation_order_across_a_kill(
    real_node: Cluster, operator: Operator, namespace: str
):
    names = ["migrate-a", "migrate-b", "migrate-c"]
    for name in names:  # created in this order (and, within one second, names break the tie)
        real_node.apply(
            adhoc(name, command="sleep 2; echo done", concurrencyKey="orders-db", **ON_REAL_NODE), namespace
        )
    wait_until(lambda: status_of(real_node, namespace, "migrate-a").get("phase") == "Running", 90, "the first run")
    queued = wait_reason(real_node, namespace, "migrate-c", "Queued")
    assert "concurrencyKey orders-db" in queued["message"], queued
    operator.kill()  # between runs: what runs and what waits is in the cluster, not in the process
    operator.start()
    ended = [wait_phase(real_node, namespace, name, timeout=120) for name in names]
    assert [s["phase"] for s in ended] == ["Succeeded"] * 3, ended
    spans = [(parse_time(s["startTime"]), parse_time(s["completionTime"])) for s in ended]
    for (_, earlier_end), (later_start, _) in itertools.pairwise(spans):
        assert later_start >= earlier_end, spans  # one at a time, a before b before c

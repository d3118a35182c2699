"""The notification webhook (ORCHESTRATOR_NOTIFY_URL): the tests' operator posts to a receiver
on this machine; each run that finishes is told once, with how it ended and its output's end."""

from __future__ import annotations

from hack.harness import Cluster, Operator, WebhookReceiver, wait_until
from tests.cluster.helpers import adhoc, sim, wait_phase


def test_each_finished_run_is_told_once_even_to_a_receiver_that_fails_at_first(
    operator: Operator, simulated: Cluster, namespace: str, sim_output, notifications: WebhookReceiver
):
    sim_output(namespace, b"line 1\nline 2\n")
    notifications.refusals[f"{namespace}/flaky"] = 2  # 500 twice, then accepted
    simulated.apply(adhoc("passes", command="true"), namespace)
    simulated.apply(adhoc("fails", command="exit 2", podMetadata=sim(exit_code="2")), namespace)
    simulated.apply(adhoc("flaky", command="true"), namespace)
    for name in ("passes", "fails", "flaky"):
        wait_phase(simulated, namespace, name)

    events = wait_until(lambda: len(notifications.of(namespace)) >= 3 and notifications.of(namespace), 60, "3 events")
    by_name = {event["data"]["name"]: event for event in events}
    assert sorted(by_name) == ["fails", "flaky", "passes"] and len(events) == 3, events
    passed = by_name["passes"]
    assert passed["specversion"] == "1.0" and passed["type"] == "dev.orchestrator.run.finished"
    assert passed["source"] == f"/apis/orchestrator.dev/v1alpha1/namespaces/{namespace}/adhoccommands/passes"
    assert passed["data"]["phase"] == "Succeeded" and passed["data"]["exitCode"] == 0
    assert passed["data"]["outputTail"] == "line 1\nline 2\n" and passed["data"]["generation"] == 1
    assert (by_name["fails"]["data"]["phase"], by_name["fails"]["data"]["exitCode"]) == ("Failed", 2)
    assert notifications.attempts[f"{namespace}/flaky"] == 3

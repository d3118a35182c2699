"""Leader election's decisions (pure): when to create, renew, take or wait for the Lease."""

from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.model.objects import micro_timestamp as micro_time
from orchestrator.operator.leader import LEASE_DURATION, decide, held_by

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


def lease(holder: str, renewed_ago: float, duration: int = LEASE_DURATION) -> dict:
    return {
        "metadata": {"name": "orchestrator", "namespace": "orchestrator", "resourceVersion": "7"},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": duration,
            "renewTime": micro_time(NOW - timedelta(seconds=renewed_ago)),
            "leaseTransitions": 2,
        },
    }


@pytest.mark.parametrize(
    ("current", "action"),
    [
        (None, "create"),
        (lease("me", 5), "renew"),
        (lease("me", 60), "renew"),  # ours even if late: renew it
        (lease("other", 5), "wait"),  # held and fresh
        (lease("other", 14.9), "wait"),
        (lease("other", 15), "take"),  # expired: the holder is gone
        (lease("", 1), "take"),  # released on a clean shutdown
        (lease("other", 2, duration=1), "take"),
        ({"spec": {"holderIdentity": "other"}}, "take"),  # no times at all
    ],
)
def test_decide(current, action):
    assert decide(current, "me", NOW) == action


def test_taking_counts_a_transition_and_keeps_the_version_for_a_safe_update():
    taken = held_by(lease("other", 30), "me", NOW, "orchestrator", "orchestrator", "take")
    assert taken["spec"]["holderIdentity"] == "me" and taken["spec"]["leaseTransitions"] == 3
    assert taken["metadata"]["resourceVersion"] == "7"  # the update is refused if someone wrote first
    assert taken["spec"]["renewTime"] == taken["spec"]["acquireTime"] == micro_time(NOW)
    renewed = held_by(lease("me", 1), "me", NOW, "orchestrator", "orchestrator", "renew")
    assert renewed["spec"]["leaseTransitions"] == 2 and "acquireTime" not in renewed["spec"]
    created = held_by(None, "me", NOW, "orchestrator", "orchestrator", "create")
    assert created["kind"] == "Lease" and created["spec"]["leaseTransitions"] == 0
